"""`python -m replay FILE [--from REV] [--to REV] ...`: run the replay sandbox over a recorded log
file and print the report as JSON on stdout.

`jetkube replay` runs this as a child process with PYTHONHASHSEED=0: the order of a set of strings
follows the hash seed, and with it the order in which controllers meet their work, so
two processes with different seeds could make the same decisions in a different order (and draw
different generated names). This entry refuses to run without a fixed seed.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import orjson
import structlog

from replay.archive import ArchiveError, read
from replay.sandbox import Options, replay
from replay.window import WindowError, from_archive


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m replay")
    p.add_argument("file")
    p.add_argument("--from", dest="start", type=int, default=None)
    p.add_argument("--to", dest="end", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scoring-strategy", default="LeastAllocated")
    p.add_argument("--controllers", default="", help="comma-separated (default: all)")
    p.add_argument("--node-tick", type=float, default=0.0)
    a = p.parse_args(argv)
    if os.environ.get("PYTHONHASHSEED") in (None, "", "random"):
        print("python -m replay: set PYTHONHASHSEED (jetkube replay does) so runs repeat exactly", file=sys.stderr)
        return 2
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    try:
        window = from_archive(read(Path(a.file)), a.start, a.end)
    except (ArchiveError, WindowError) as e:
        print(str(e), file=sys.stderr)
        return 1
    controllers = tuple(c for c in a.controllers.split(",") if c)
    outcome = replay(window, Options(seed=a.seed, controllers=controllers, scoring_strategy=a.scoring_strategy,
                                     node_tick=a.node_tick))
    sys.stdout.buffer.write(orjson.dumps(outcome.as_json(), option=orjson.OPT_INDENT_2) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
