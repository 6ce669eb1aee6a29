"""Unit tests for the API server's pure presentation modules."""
