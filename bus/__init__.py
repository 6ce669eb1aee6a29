"""jetkube bus: everything that touches NATS — server launcher, connection, streams, the event log."""
