"""The API server: Kubernetes REST over HTTPS and a request/reply API over the bus, both through one admission path onto the log."""
