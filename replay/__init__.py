"""jetkube replay: snapshots, backup and restore, point-in-time views, incident replay (issue 5)."""
