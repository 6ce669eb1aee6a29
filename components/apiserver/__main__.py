"""`python -m components.apiserver`: run one API server replica (the supervisor starts it)."""

from __future__ import annotations

import argparse
import sys

from components.apiserver.server import ApiServer, ApiServerConfig
from components.runtime import add_bus_arguments, configure_logging, run, run_guarded


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="jetkube-apiserver")
    add_bus_arguments(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=6443)
    p.add_argument("--service-cidr", default="10.96.0.0/12")
    p.add_argument("--reuse-port", action="store_true", help="let several replicas share the port")
    p.add_argument("--consistent-reads", action="store_true",
                   help="reads wait for the log's last revision (needed when several replicas serve a cluster)")
    p.add_argument("--history", type=int, default=64, help="versions kept per object")
    p.add_argument("--deleted-horizon", type=float, default=3600.0,
                   help="seconds a deleted object's versions stay readable (0: forever)")
    p.add_argument("--compact-every", type=float, default=300.0, help="seconds between compactions (0: never)")
    p.add_argument("--default-not-ready-toleration-seconds", type=int, default=300,
                   help="tolerationSeconds added to new pods for the not-ready NoExecute taint")
    p.add_argument("--default-unreachable-toleration-seconds", type=int, default=300,
                   help="tolerationSeconds added to new pods for the unreachable NoExecute taint")
    a = p.parse_args(argv)
    configure_logging("apiserver")
    server = ApiServer(ApiServerConfig(nats_url=a.nats, prefix=a.prefix, host=a.host, port=a.port,
                                       service_cidr=a.service_cidr, reuse_port=a.reuse_port, consistent_reads=a.consistent_reads,
                                       history=a.history, deleted_horizon=a.deleted_horizon,
                                       compact_every=a.compact_every,
                                       not_ready_toleration_seconds=a.default_not_ready_toleration_seconds,
                                       unreachable_toleration_seconds=a.default_unreachable_toleration_seconds))

    return run(run_guarded(server))


if __name__ == "__main__":
    sys.exit(main())
