"""jetkube ops: the `jetkube` command — bring-up and supervision, kubeconfig, benchmarks, examples."""
