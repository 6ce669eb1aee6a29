"""`make bench` (`python -m ops.bench`): jetkube's throughput and latency against a reference
measured in the same run.

- `jetstream` — the reference: raw pipelined compare-and-swap creates on a nats-server started
  for the bench (best of `publish_async` and many concurrent `js.publish`), and sequential acked
  appends.
- `creates` — ConfigMap creates over HTTP, 32 keep-alive clients in a separate load-generator
  process, against a cluster started the way `jetkube up` starts one; its ratio to the reference
  says how much of the log's write rate the API server delivers.
- `watch` — latency from a create to its event on 100 concurrent HTTP watches.
- `pods` — pod create→Running latency (seen by a watch) on one docker node; reference: docker
  alone creating and starting the same container.
- `scheduler` — 10,000 pods placed on 1,000 simulated nodes (pods/s); reference: the rate the
  same pods were created at; the resident memory of every process of the cluster at that scale.
- `deployment` — a 1,000-replica Deployment on 100 simulated nodes: seconds until fully available,
  seconds to roll it to a new image, reconciles/s; reference: the same number of bare pods
  created and Running without controllers.
- `restore` — a backup of 100,000 ConfigMaps restored to a serving API: archive read and checked,
  a fresh store written, an API server ready and listing them all (goal ≤ 10 s); reference: the
  same bodies published raw into a fresh stream.
- `pointintime` — the state at a revision near the end of a 1,000,000-event log, from the log's
  start and from a snapshot at 90% (goal ≤ 30 s; digests must agree); reference: a raw ordered
  consumer receiving the same messages.
- `backup` — HTTP creates/s while backups run back to back against creates/s without, on a
  cluster holding 20,000 ConfigMaps; the backups' seconds and size.

`report` holds the pure helpers (percentiles, medians, the table), `options` the command line,
`cluster` brings a cluster up and down, `load` is the load generator (`python -m ops.bench.load`)
and its launcher, `profile` drives py-spy (`--profile DIR`) and folds its samples, `timemachine`
holds the three time-machine benchmarks.
"""

BENCHMARKS = ("jetstream", "creates", "watch", "pods", "scheduler", "deployment", "restore", "pointintime",
              "backup")
