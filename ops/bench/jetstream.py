"""The reference: raw JetStream compare-and-swap creates from one Python process.

A nats-server is started for the bench (free port, temp store, same stream configuration as the
cluster's objects stream). Each measurement publishes N creates — a ConfigMap-sized JSON body,
the headers `bus.jetstream.JetStreamLog.append` sends, `Nats-Expected-Last-Subject-Sequence: 0`,
every message to its own subject — into a fresh stream:

- `publish_async`: nats-py's pipelined publish, futures awaited at the end;
- `concurrent`: many tasks each awaiting `js.publish` (request/reply) in turn;
- `sequential`: one `js.publish` at a time (acked appends, the latency-bound floor).

The best pipelined rate is the reference the API server's create rate is compared with.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import orjson
from nats.js import JetStreamContext

from bus.server import NatsServer
from bus.streams import StreamSpec, provision, specs
from core.keys import ObjectKey
from core.kinds import Stream

MODES = ("publish_async", "concurrent", "sequential")
PIPELINED = ("publish_async", "concurrent")


@dataclass
class RawResult:
    mode: str
    count: int
    seconds: float
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0


def configmap_body(name: str, namespace: str = "default") -> bytes:
    """What the API server appends for a small ConfigMap (after admission)."""
    return orjson.dumps({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "uid": str(uuid.uuid4()),
                     "creationTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        "data": {"key": "value", "bench": "jetkube bench payload of a modest size"},
    })


def _headers() -> dict[str, str]:
    # The headers JetStreamLog.append sends for a create (nats-py adds Nats-Expected-Stream).
    return {"Nats-Expected-Last-Subject-Sequence": "0", "Jk-Op": "ADDED", "Jk-Actor": "bench",
            "Jk-Request": uuid.uuid4().hex[:16]}


def _note(res: RawResult, e: BaseException) -> None:
    res.errors += 1
    if len(res.error_samples) < 3:
        res.error_samples.append(repr(e))


async def _publish_async(js: JetStreamContext, spec: StreamSpec, msgs: list[tuple[str, bytes]]) -> RawResult:
    res = RawResult("publish_async", 0, 0.0)
    t0 = time.perf_counter()
    futures = [await js.publish_async(subj, data, stream=spec.name, headers=_headers()) for subj, data in msgs]
    outcomes = await asyncio.gather(*futures, return_exceptions=True)
    res.seconds = time.perf_counter() - t0
    for o in outcomes:
        if isinstance(o, BaseException):
            _note(res, o)
        else:
            res.count += 1
    return res


async def _concurrent(js: JetStreamContext, spec: StreamSpec, msgs: list[tuple[str, bytes]], workers: int) -> RawResult:
    res = RawResult("concurrent", 0, 0.0)
    it = iter(msgs)

    async def worker() -> None:
        for subj, data in it:
            try:
                await js.publish(subj, data, stream=spec.name, headers=_headers())
                res.count += 1
            except Exception as e:  # noqa: BLE001 — counted and reported
                _note(res, e)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    res.seconds = time.perf_counter() - t0
    return res


async def _sequential(js: JetStreamContext, spec: StreamSpec, msgs: list[tuple[str, bytes]]) -> RawResult:
    res = RawResult("sequential", 0, 0.0)
    t0 = time.perf_counter()
    for subj, data in msgs:
        try:
            await js.publish(subj, data, stream=spec.name, headers=_headers())
            res.count += 1
        except Exception as e:  # noqa: BLE001
            _note(res, e)
    res.seconds = time.perf_counter() - t0
    return res


async def measure(js: JetStreamContext, mode: str, n: int, *, tag: str, workers: int = 256) -> RawResult:
    """One measurement of `mode` with `n` creates into a fresh stream (deleted afterwards)."""
    spec = specs(f"bench{tag}")[Stream.OBJECTS]
    await provision(js, spec)
    try:
        msgs = [(spec.subjects.subject(ObjectKey("", "configmaps", "default", f"cm-{i}")),
                 configmap_body(f"cm-{i}")) for i in range(n)]
        if mode == "publish_async":
            res = await _publish_async(js, spec, msgs)
        elif mode == "concurrent":
            res = await _concurrent(js, spec, msgs, workers)
        elif mode == "sequential":
            res = await _sequential(js, spec, msgs)
        else:
            raise ValueError(f"unknown mode {mode!r}")
        info = await js.stream_info(spec.name)
        if info.state.messages != res.count:
            _note(res, RuntimeError(f"stream holds {info.state.messages} messages, {res.count} acked"))
        return res
    finally:
        await js.delete_stream(spec.name)


async def run(store: Path, *, n_pipelined: int, n_sequential: int, runs: int, sync_always: bool = False,
              workers: int = 256, max_pending: int = 4000,
              on_result: Any = None) -> dict[str, list[RawResult]]:
    """Every mode `runs` times (interleaved, so drift hits all modes alike) on one nats-server."""
    out: dict[str, list[RawResult]] = {m: [] for m in MODES}
    async with NatsServer(store_dir=store, sync_always=sync_always) as server:
        nc = await nats.connect(server.url, name="jetkube-bench", max_reconnect_attempts=0)
        try:
            js = nc.jetstream(timeout=30, publish_async_max_pending=max_pending)
            await measure(js, "publish_async", min(n_pipelined, 500), tag="warm")  # warm the path up
            for r in range(runs):
                for mode in MODES:
                    n = n_sequential if mode == "sequential" else n_pipelined
                    res = await measure(js, mode, n, tag=f"{r}{mode[:3]}", workers=workers)
                    out[mode].append(res)
                    if on_result is not None:
                        on_result(res)
        finally:
            await nc.close()
    return out
