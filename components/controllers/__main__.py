"""`python -m components.controllers`: run the controller manager (the supervisor starts it)."""

from __future__ import annotations

import argparse
import sys

from components.controllers.manager import CONTROLLERS, ControllerManager, ManagerConfig, available
from components.runtime import add_bus_arguments, configure_logging, run, run_guarded


def _seconds(text: str) -> float:
    """A duration in seconds: `40`, `40s`, `500ms`, `5m` (Kubernetes' flags take Go durations)."""
    t = text.strip()
    for suffix, scale in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if t.endswith(suffix) and t[: -len(suffix)].replace(".", "", 1).isdigit():
            return float(t[: -len(suffix)]) * scale
    try:
        value = float(t)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r}") from e
    if value < 0:
        raise argparse.ArgumentTypeError(f"a duration cannot be negative: {text!r}")
    return value


def parse_args(argv: list[str] | None = None) -> ManagerConfig:
    p = argparse.ArgumentParser(prog="jetkube-controller-manager")
    add_bus_arguments(p)
    p.add_argument("--controllers", default=",".join(available()),
                   help=f"comma-separated controllers to run (known: {', '.join(CONTROLLERS)})")
    p.add_argument("--workers", type=int, default=4, help="concurrent reconciles per controller")
    p.add_argument("--node-monitor-grace-period", type=_seconds, default=40.0,
                   help="seconds without a node heartbeat before the node is marked Ready=Unknown")
    p.add_argument("--node-monitor-period", type=_seconds, default=5.0,
                   help="seconds between full passes over the nodes")
    p.add_argument("--node-startup-grace-period", type=_seconds, default=60.0,
                   help="seconds a node that never posted Ready is given before it is marked Unknown")
    a = p.parse_args(argv)
    names = tuple(n.strip() for n in a.controllers.split(",") if n.strip())
    unknown = [n for n in names if n not in CONTROLLERS]
    if unknown:
        p.error(f"unknown controllers: {', '.join(unknown)} (known: {', '.join(CONTROLLERS)})")
    if a.node_monitor_period <= 0:
        p.error("--node-monitor-period must be positive")
    return ManagerConfig(nats_url=a.nats, prefix=a.prefix, controllers=names, workers=max(a.workers, 1),
                         node_monitor_grace_period=a.node_monitor_grace_period,
                         node_monitor_period=a.node_monitor_period,
                         node_startup_grace_period=a.node_startup_grace_period)


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    configure_logging("controller-manager")
    manager = ControllerManager(config)

    return run(run_guarded(manager))


if __name__ == "__main__":
    sys.exit(main())
