"""jetkube core: the pure model. Objects in, decisions out; no I/O anywhere below this package."""
