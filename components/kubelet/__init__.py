"""The kubelet: the node agent. Registers its Node and heartbeat Lease, runs the pods bound to it
through a container runtime (docker, or simulated nodes for scale tests and replay sandboxes) and
reports their status.

Modules: `service.py` (the process), `node.py` (one node's async shell), `decide.py` (the pure
per-pod state machine), `core/podstatus.py` (pure status computation), `runtime.py` (the runtime
interface), `docker_runtime.py`, `sim_runtime.py`, and pure helpers: `backoff.py`, `envvars.py`,
`volumes.py`, `images.py`, `admission.py`, `ipam.py`, `containerspec.py`, `nodestatus.py`,
`resolve.py`; I/O helpers `mounts.py`, `hostinfo.py`; `workqueue.py`.
"""
