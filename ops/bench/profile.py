"""Sampling the API server with py-spy while the create benchmark runs.

Two samplers attach at once: one writes the flamegraph SVG, the other raw collapsed stacks, which
`top_functions` folds into the busiest functions by self and by total time and into areas (which
module or package the time belongs to). py-spy is optional (`pip install py-spy`).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bus.process import die_with_parent

_LINE = re.compile(r"\s*\((?P<file>[^()]*?)(?::\d+)?\)\s*$")


def py_spy_binary() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    if beside.exists():
        return str(beside)
    return shutil.which("py-spy")


def frame_name(frame: str) -> str:
    """`handle (components/apiserver/http.py:71)` → `handle (components/apiserver/http.py)`;
    site-packages paths are shortened to the package path."""
    m = _LINE.search(frame)
    if not m:
        return frame.strip()
    func = frame[: m.start()].strip()
    path = m.group("file")
    for marker in ("site-packages/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            if marker == "/lib/python3":
                path = "stdlib:" + path.split("/", 1)[-1]
            break
    else:
        if "/work/main/" in path:
            path = path.split("/work/main/", 1)[1]
    return f"{func} ({path})"


# Frames every sample passes through (interpreter start-up, the event loop's own dispatch):
# they would top every "total" list and say nothing.
_SCAFFOLD = re.compile(r"^(_run_module_as_main|_run_code|<module>|main|run|Runner\.run|BaseEventLoop\.\w+|"
                       r"Handle\._run|Context\.run) \((<frozen runpy>|asyncio/[\w/]+\.py|[\w/]*__main__\.py)\)$")


def _is_stdlib(frame: str) -> bool:
    path = frame.rsplit("(", 1)[-1].rstrip(")")
    if path.startswith(("stdlib:", "<frozen")):
        return True
    top = path.split("/", 1)[0].removesuffix(".py")
    return top in sys.stdlib_module_names


def area(frames: list[str]) -> str:
    """Who a sample's time belongs to: the innermost frame that is neither standard library nor
    event-loop scaffolding (so a socket write counts for the code that asked for it) — our modules
    by file, third-party code by package; what is left is the event loop itself."""
    for f in reversed(frames):
        if _is_stdlib(f) or _SCAFFOLD.match(f) or f.endswith("(<string>)"):
            continue
        path = f.rsplit("(", 1)[-1].rstrip(")")
        if path.startswith(("components/", "core/", "bus/", "ops/", "replay/")):
            return path
        return path.split("/", 1)[0].removesuffix(".py")
    return "event loop (asyncio: epoll, callbacks, task steps)"


_ROOTS = ("_run_module_as_main (", "_bootstrap (threading.py", "<module> (")


@dataclass
class Folded:
    samples: int = 0
    complete: int = 0  # samples whose stack reaches the thread's first frame
    self_top: list[tuple[str, float]] = field(default_factory=list)
    total_top: list[tuple[str, float]] = field(default_factory=list)
    areas: list[tuple[str, float]] = field(default_factory=list)


def top_functions(collapsed: str, n: int = 15) -> Folded:
    """From py-spy's raw (collapsed) output: the `n` functions with the largest share of samples
    as the innermost frame (self) and anywhere on the stack (total, start-up and event-loop
    scaffolding left out), and the share of every area (see `area`).

    Non-blocking sampling reads a running interpreter, so some stacks are cut short at the outer
    end (their innermost frames are right): self and area shares count every sample, totals only
    the complete stacks."""
    self_c: Counter[str] = Counter()
    total_c: Counter[str] = Counter()
    area_c: Counter[str] = Counter()
    samples = complete = 0
    for line in collapsed.splitlines():
        line = line.rstrip()
        if not line or " " not in line:
            continue
        stack, _, count_s = line.rpartition(" ")
        try:
            count = int(count_s)
        except ValueError:
            continue
        frames = [frame_name(f) for f in stack.split(";") if f]
        if not frames:
            continue
        samples += count
        self_c[frames[-1]] += count
        area_c[area(frames)] += count
        if frames[0].startswith(_ROOTS):
            complete += count
            for f in set(frames):
                if not _SCAFFOLD.match(f):
                    total_c[f] += count
    if not samples:
        return Folded()

    def share(c: Counter[str], k: int, of: int) -> list[tuple[str, float]]:
        return [(name, cnt / of) for name, cnt in c.most_common(k)] if of else []

    return Folded(samples, complete, share(self_c, n, samples), share(total_c, n, complete), share(area_c, n, samples))


@dataclass
class Profile:
    svg: Path
    raw: Path
    folded: Folded | None = None
    errors: list[str] = field(default_factory=list)


async def record(pid: int, out_dir: Path, seconds: float, *, name: str = "apiserver-creates",
                 rate: int = 200) -> Profile:
    """Sample `pid` for `seconds`; the SVG and the collapsed stacks land in `out_dir`."""
    binary = py_spy_binary()
    out_dir.mkdir(parents=True, exist_ok=True)
    prof = Profile(svg=out_dir / f"{name}.svg", raw=out_dir / f"{name}.txt")
    if binary is None:
        prof.errors.append("py-spy is not installed (.venv/bin/pip install py-spy)")
        return prof
    # Non-blocking: py-spy reads the target's memory without stopping it. Blocking mode gives whole
    # stacks but stops the process at its next return from the kernel, which piles samples onto
    # whatever follows a syscall (uuid4's getrandom, epoll, socket writes: 5x their real share here).
    common = ["record", "--pid", str(pid), "--duration", str(max(1, round(seconds))), "--rate", str(rate),
              "--nonblocking"]
    procs = []
    for fmt, path in (("flamegraph", prof.svg), ("raw", prof.raw)):
        procs.append(await asyncio.create_subprocess_exec(
            binary, *common, "--format", fmt, "--output", str(path), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, preexec_fn=die_with_parent))
    try:
        outs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), seconds + 60)
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
    for p, (out, _) in zip(procs, outs):
        if p.returncode != 0:
            prof.errors.append(f"py-spy exit {p.returncode}: {out.decode(errors='replace').strip()[-300:]}")
    if prof.raw.exists():
        prof.folded = top_functions(prof.raw.read_text(errors="replace"))
    return prof
