"""Logs, exec and attach end to end: the bus protocol, the API server, docker, kubectl, the Python client."""
