"""The load generator: `python -m ops.bench.load {creates,watch} --url …`, one JSON line out.

It runs in its own process so that the client's CPU is not the API server's. Both workloads
are bounded in count and in time.

- `creates`: `--concurrency` keep-alive connections (aiohttp), each worker POSTing distinct
  ConfigMaps until `--count` are done or `--max-seconds` pass (after an untimed warm-up).
- `watch`: `--watchers` HTTP watches on ConfigMaps from one list's resourceVersion; once every
  watcher has seen a sync object, `--count` ConfigMaps are created at `--rate`/s (open loop: a
  slow reply does not delay the next create), each carrying its creation wall-clock time in
  `data.created`; every watcher records receive time − creation time per event.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from collections import Counter
from typing import Any

import aiohttp
import orjson

from ops.bench.report import summarize

JSON_CT = {"Content-Type": "application/json", "Accept": "application/json"}


def cpu_now() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def configmap(name: str, data: dict[str, str]) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})


def phase(name: str) -> None:
    """Tell the bench (reading our stdout) that the timed phase starts or ends."""
    sys.stdout.write(f"phase {name}\n")
    sys.stdout.flush()


def _ms(summary: dict[str, float]) -> dict[str, float]:
    return {k: round(v * 1000, 3) for k, v in summary.items()}


class Creator:
    """POSTs ConfigMaps and keeps score (latencies in seconds, errors by kind)."""

    def __init__(self, session: aiohttp.ClientSession, url: str, namespace: str) -> None:
        self.session = session
        self.collection = f"{url}/api/v1/namespaces/{namespace}/configmaps"
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()
        self.ok = 0

    async def create(self, name: str, data: dict[str, str] | None = None, *, record: bool = True) -> bool:
        body = configmap(name, data if data is not None else {"key": "value", "bench": "x" * 64})
        t0 = time.perf_counter()
        try:
            async with self.session.post(self.collection, data=body, headers=JSON_CT) as r:
                await r.read()
                status = r.status
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            self.errors[type(e).__name__] += 1
            return False
        if record:
            self.latencies.append(time.perf_counter() - t0)
        if status != 201:
            self.errors[f"HTTP {status}"] += 1
            return False
        self.ok += 1
        return True


async def run_creates(a: argparse.Namespace) -> dict[str, Any]:
    conn = aiohttp.TCPConnector(limit=a.concurrency, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:
        async def pump(creator: Creator, names: Any, deadline: float) -> None:
            for name in names:
                if time.perf_counter() > deadline:
                    return
                await creator.create(name)

        warm = Creator(session, a.url, a.namespace)
        names = iter(f"{a.prefix}-warm-{i}" for i in range(a.warmup))
        await asyncio.gather(*(pump(warm, names, time.perf_counter() + 60) for _ in range(a.concurrency)))

        creator = Creator(session, a.url, a.namespace)
        names = iter(f"{a.prefix}-{i}" for i in range(a.count))
        phase("start")
        cpu0, t0 = cpu_now(), time.perf_counter()
        await asyncio.gather(*(pump(creator, names, t0 + a.max_seconds) for _ in range(a.concurrency)))
        seconds = time.perf_counter() - t0
        cpu = cpu_now() - cpu0
        phase("end")
    return {"workload": "creates", "count": creator.ok, "attempted": creator.ok + sum(creator.errors.values()),
            "seconds": round(seconds, 4), "rate": creator.ok / seconds if seconds > 0 else 0.0,
            "errors": sum(creator.errors.values()), "error_kinds": dict(creator.errors),
            "warmup": {"count": warm.ok, "errors": sum(warm.errors.values())},
            "latency_ms": _ms(summarize(creator.latencies)), "concurrency": a.concurrency,
            "loadgen_cpu_seconds": round(cpu, 3), "timed_out": seconds >= a.max_seconds}


class Watcher:
    def __init__(self, index: int, prefix: str) -> None:
        self.index = index
        self.event_prefix = f"{prefix}-e-"
        self.sync_name = f"{prefix}-sync"
        self.synced = asyncio.Event()
        self.latencies: list[float] = []
        self.seen = 0
        self.other = 0
        self.error = ""

    async def run(self, session: aiohttp.ClientSession, url: str) -> None:
        try:
            async with session.get(url) as r:
                if r.status != 200:
                    self.error = f"HTTP {r.status}: {(await r.read())[:200]!r}"
                    return
                async for line in r.content:
                    now = time.time()
                    if not line.strip():
                        continue
                    ev = orjson.loads(line)
                    obj = ev.get("object") or {}
                    name = (obj.get("metadata") or {}).get("name", "")
                    if ev.get("type") == "ADDED" and name.startswith(self.event_prefix):
                        self.latencies.append(now - float(obj["data"]["created"]))
                        self.seen += 1
                    elif name == self.sync_name:
                        self.synced.set()
                    else:
                        self.other += 1
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 — reported in the results
            self.error = repr(e)


async def run_watch(a: argparse.Namespace) -> dict[str, Any]:
    base = f"{a.url}/api/v1/namespaces/{a.namespace}/configmaps"
    conn = aiohttp.TCPConnector(limit=0)
    duration = a.count / a.rate
    wtimeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
    async with aiohttp.ClientSession(connector=conn, timeout=wtimeout) as wsession, \
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=a.concurrency),
                                  timeout=aiohttp.ClientTimeout(total=30)) as csession:
        async with csession.get(f"{base}?limit=1", headers={"Accept": "application/json"}) as r:
            rv = (await r.json())["metadata"]["resourceVersion"]
        watch_url = f"{base}?watch=true&resourceVersion={rv}&timeoutSeconds={int(duration + a.settle + 120)}"
        watchers = [Watcher(i, a.prefix) for i in range(a.watchers)]
        tasks = [asyncio.create_task(w.run(wsession, watch_url)) for w in watchers]
        creator = Creator(csession, a.url, a.namespace)
        try:
            await asyncio.sleep(0.2)
            await creator.create(f"{a.prefix}-sync", {"sync": "1"}, record=False)
            try:
                await asyncio.wait_for(asyncio.gather(*(w.synced.wait() for w in watchers)), a.settle + 30)
            except asyncio.TimeoutError:
                pass
            synced = sum(w.synced.is_set() for w in watchers)
            creator.errors.clear()
            creator.ok = 0
            sem = asyncio.Semaphore(a.concurrency)

            async def one(i: int) -> None:
                async with sem:
                    await creator.create(f"{a.prefix}-e-{i}", {"created": f"{time.time():.6f}", "seq": str(i)})

            phase("start")
            cpu0, t0 = cpu_now(), time.perf_counter()
            pending = []
            for i in range(a.count):
                delay = t0 + i / a.rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                pending.append(asyncio.create_task(one(i)))
            await asyncio.gather(*pending)
            create_seconds = time.perf_counter() - t0
            want = creator.ok
            deadline = time.perf_counter() + a.settle
            while time.perf_counter() < deadline and any(w.seen < want and not w.error for w in watchers):
                await asyncio.sleep(0.05)
            cpu = cpu_now() - cpu0
            phase_seconds = time.perf_counter() - t0
            phase("end")
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    lat = [x for w in watchers for x in w.latencies]
    errors = Counter(w.error for w in watchers if w.error)
    return {"workload": "watch", "watchers": a.watchers, "synced_watchers": synced, "creates": creator.ok,
            "create_errors": dict(creator.errors), "create_seconds": round(create_seconds, 4),
            "achieved_rate": creator.ok / create_seconds if create_seconds > 0 else 0.0, "target_rate": a.rate,
            "events_expected": creator.ok * a.watchers, "events_received": len(lat),
            "latency_ms": _ms(summarize(lat)), "create_latency_ms": _ms(summarize(creator.latencies)),
            "watcher_errors": dict(errors), "loadgen_cpu_seconds": round(cpu, 3),
            "phase_seconds": round(phase_seconds, 4)}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ops.bench.load", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="workload", required=True)
    c = sub.add_parser("creates", help="ConfigMap creates from concurrent keep-alive clients")
    c.add_argument("--count", type=int, default=10_000)
    c.add_argument("--concurrency", type=int, default=32)
    c.add_argument("--max-seconds", type=float, default=60.0)
    c.add_argument("--warmup", type=int, default=500)
    w = sub.add_parser("watch", help="latency from create to event on many watches")
    w.add_argument("--watchers", type=int, default=100)
    w.add_argument("--rate", type=float, default=200.0, help="creates per second")
    w.add_argument("--count", type=int, default=1000, help="creates in all")
    w.add_argument("--concurrency", type=int, default=32, help="connections for the creates")
    w.add_argument("--settle", type=float, default=15.0, help="seconds to wait for the last events")
    for sp in (c, w):
        sp.add_argument("--url", required=True, help="API server base URL (http://127.0.0.1:PORT)")
        sp.add_argument("--namespace", default="default")
        sp.add_argument("--prefix", default="bench", help="name prefix of the ConfigMaps (distinct per run)")
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    if not a.url.startswith(("http://127.0.0.1:", "http://localhost:", "http://[::1]:")):
        print("the load generator only talks to a local API server", file=sys.stderr)
        return 2
    result = asyncio.run(run_creates(a) if a.workload == "creates" else run_watch(a))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())


# -- the bench's side: run the load generator as a child process ------------------------------

class LoadError(RuntimeError):
    """The load generator failed (its stderr tail is in the message)."""


async def spawn(argv: list[str], *, timeout: float,
                on_phase: Any = None) -> dict[str, Any]:
    """Run `python -m ops.bench.load <argv>` and return its JSON result. Lines `phase <name>` it
    prints on the way are passed to `on_phase(name)` (awaited if it returns an awaitable). The
    child is killed if this is cancelled or it overruns `timeout`."""
    from ops.bench.cluster import die_with_parent

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ops.bench.load", *argv, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, preexec_fn=die_with_parent)
    assert proc.stdout is not None and proc.stderr is not None
    err_task = asyncio.create_task(proc.stderr.read())
    result: dict[str, Any] | None = None

    async def read() -> None:
        nonlocal result
        assert proc.stdout is not None
        async for raw in proc.stdout:
            line = raw.decode(errors="replace").strip()
            if line.startswith("phase "):
                if on_phase is not None:
                    maybe = on_phase(line.split(" ", 1)[1])
                    if asyncio.iscoroutine(maybe):
                        await maybe
            elif line.startswith("{"):
                result = orjson.loads(line)
        await proc.wait()

    try:
        await asyncio.wait_for(read(), timeout)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        stderr = (await err_task).decode(errors="replace")
    if proc.returncode != 0 or result is None:
        tail = "\n    ".join(stderr.strip().splitlines()[-8:])
        raise LoadError(f"load generator {' '.join(argv[:1])} exited {proc.returncode}:\n    {tail}")
    return result
