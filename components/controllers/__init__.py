"""The controller manager and its controllers (`python -m components.controllers`).

manager.py runs the controllers named on the command line over shared informers; base.py is what
each controller is given (context, worker loop, errors); workqueue.py and clock.py are the
deduplicating rate-limited queue and the time it runs on; informers.py shares informers and
indexes. Controllers: nodelifecycle.py (decisions in core/nodehealth.py).
"""
