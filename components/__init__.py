"""jetkube components: the running services, one package each; they never import each other."""
