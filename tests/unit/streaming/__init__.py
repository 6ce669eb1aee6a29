"""Unit tests for the pure parts of logs/exec/attach: bus framing and credit, channel protocols,
Kubernetes' checks and options, docker's stream demultiplexing."""
