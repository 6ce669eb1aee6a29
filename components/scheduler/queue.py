"""The scheduling queue: which pending pod to place next, and when to try a failed one again.

Three places a waiting pod can be, as in Kubernetes' PriorityQueue:
- *active*: ready to be tried, highest `spec.priority` first, then first come first served;
- *backoff*: failed recently, waits 1 s after its first attempt, doubling per attempt up to
  10 s, then becomes active by itself;
- *unschedulable*: no node fit. It stays until the cluster changes in a way that might let it
  fit — a node added or changed, a pod removed — (`move_all`: back to active, or to backoff if
  its backoff has not run out), or until it has waited `flush_after` seconds (`flush`), so a
  missed signal never strands a pod.

A popped pod is in flight: it is in none of the three until the caller hands it back with
`unschedulable` or `backoff` (or drops it once bound). Updates and deletions from the log keep
the queue current. Time is passed in by the caller (seconds, monotonic), so tests drive a fake
clock. Pure: no asyncio.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from enum import Enum

from components.scheduler.podinfo import PodInfo, PodKey

INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 10.0
FLUSH_UNSCHEDULABLE_AFTER = 30.0


class Where(str, Enum):
    ACTIVE = "active"
    BACKOFF = "backoff"
    UNSCHEDULABLE = "unschedulable"


@dataclass(eq=False)
class QueuedPod:
    info: PodInfo
    attempts: int = 0  # scheduling attempts so far (incremented when popped)
    failed_at: float = 0.0  # when the last attempt failed: the start of its backoff
    queued_at: float = 0.0  # when it last entered the queue
    seq: int = 0  # arrival order among pods of equal priority
    where: Where | None = None  # None: in flight (popped)

    @property
    def key(self) -> PodKey:
        return self.info.key


class SchedulingQueue:
    def __init__(self, *, initial_backoff: float = INITIAL_BACKOFF, max_backoff: float = MAX_BACKOFF,
                 flush_after: float = FLUSH_UNSCHEDULABLE_AFTER) -> None:
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.flush_after = flush_after
        self._pods: dict[PodKey, QueuedPod] = {}  # every waiting pod, whatever its place
        self._active: list[tuple[int, int, PodKey]] = []  # (-priority, seq, key); stale entries skipped
        self._backoff: list[tuple[float, int, PodKey]] = []  # (ready at, seq, key); stale entries skipped
        self._unschedulable: dict[PodKey, QueuedPod] = {}
        self._seq = itertools.count()

    # -- reading ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._pods)

    def __contains__(self, key: object) -> bool:
        return key in self._pods

    def get(self, key: PodKey) -> QueuedPod | None:
        return self._pods.get(key)

    def counts(self) -> dict[str, int]:
        out = {w.value: 0 for w in Where}
        for qp in self._pods.values():
            if qp.where is not None:
                out[qp.where.value] += 1
        return out

    def backoff_duration(self, attempts: int) -> float:
        """1 s for the first attempt, doubling with each further one, capped."""
        d = self.initial_backoff
        for _ in range(1, attempts):
            d *= 2
            if d >= self.max_backoff:
                return self.max_backoff
        return min(d, self.max_backoff)

    def backoff_until(self, qp: QueuedPod) -> float:
        return qp.failed_at + self.backoff_duration(qp.attempts) if qp.attempts else 0.0

    def next_wakeup(self) -> float | None:
        """The earliest time something becomes active without outside help (None: nothing waits)."""
        self._prune_backoff()
        times = [self._backoff[0][0]] if self._backoff else []
        if self._unschedulable:  # in order of arrival, so the first has waited longest
            times.append(next(iter(self._unschedulable.values())).queued_at + self.flush_after)
        return min(times) if times else None

    # -- the log's changes --------------------------------------------------------------------
    def add(self, info: PodInfo, now: float) -> None:
        """A new pending pod, or a newer version of one already waiting (`update` semantics)."""
        qp = self._pods.get(info.key)
        if qp is not None:
            self.update(info, now, relevant=True)
            return
        qp = QueuedPod(info, queued_at=now)
        self._pods[info.key] = qp
        self._to_active(qp, now)

    def update(self, info: PodInfo, now: float, *, relevant: bool) -> None:
        """A waiting pod changed. Only `relevant` changes (spec, labels) move an unschedulable pod:
        a status-only change (our own condition write) cannot make it fit."""
        qp = self._pods.get(info.key)
        if qp is None:
            self.add(info, now)
            return
        reprioritise = qp.where is Where.ACTIVE and info.priority != qp.info.priority
        qp.info = info
        if reprioritise:
            self._to_active(qp, now)
        if relevant and qp.where is Where.UNSCHEDULABLE:
            self._move(qp, now)

    def delete(self, key: PodKey) -> QueuedPod | None:
        """The pod is gone, bound, or no longer ours."""
        qp = self._pods.pop(key, None)
        if qp is not None:
            self._unschedulable.pop(key, None)
            qp.where = None  # heap entries go stale and are skipped
        return qp

    # -- the scheduling loop ------------------------------------------------------------------
    def pop(self, now: float) -> QueuedPod | None:
        """The next pod to try (now in flight), or None if none is ready."""
        self._flush_backoff(now)
        while self._active:
            _, seq, key = heapq.heappop(self._active)
            qp = self._pods.get(key)
            if qp is None or qp.where is not Where.ACTIVE or qp.seq != seq:
                continue
            del self._pods[key]
            qp.where = None
            qp.attempts += 1
            return qp
        return None

    def unschedulable(self, qp: QueuedPod, now: float) -> None:
        """Hand back a pod no node fit: it waits for a change in the cluster."""
        qp.failed_at = now
        if not self._readmit(qp, now):
            return
        qp.where = Where.UNSCHEDULABLE
        self._unschedulable[qp.key] = qp

    def backoff(self, qp: QueuedPod, now: float) -> None:
        """Hand back a pod whose attempt failed for another reason (a binding that did not go
        through): it is retried when its backoff runs out."""
        qp.failed_at = now
        if self._readmit(qp, now):
            self._to_backoff(qp)

    def move_all(self, now: float) -> int:
        """The cluster changed: every unschedulable pod gets another chance. Returns how many."""
        moved = list(self._unschedulable.values())
        for qp in moved:
            self._move(qp, now)
        return len(moved)

    def flush(self, now: float) -> int:
        """Unschedulable pods that waited `flush_after` seconds get another chance anyway."""
        due = []
        for qp in self._unschedulable.values():  # in order of arrival: stop at the first not due
            if now - qp.queued_at < self.flush_after:
                break
            due.append(qp)
        for qp in due:
            self._move(qp, now)
        self._flush_backoff(now)
        return len(due)

    # -- inside ---------------------------------------------------------------------------------
    def _readmit(self, qp: QueuedPod, now: float) -> bool:
        if qp.key in self._pods:  # a newer version arrived from the log meanwhile: keep that one
            newer = self._pods[qp.key]
            newer.attempts = max(newer.attempts, qp.attempts)
            return False
        qp.queued_at = now
        self._pods[qp.key] = qp
        return True

    def _move(self, qp: QueuedPod, now: float) -> None:
        self._unschedulable.pop(qp.key, None)
        if self.backoff_until(qp) > now:
            self._to_backoff(qp)
        else:
            self._to_active(qp, now)

    def _to_active(self, qp: QueuedPod, now: float) -> None:
        self._unschedulable.pop(qp.key, None)
        qp.where = Where.ACTIVE
        qp.seq = next(self._seq)
        heapq.heappush(self._active, (-qp.info.priority, qp.seq, qp.key))

    def _to_backoff(self, qp: QueuedPod) -> None:
        self._unschedulable.pop(qp.key, None)
        qp.where = Where.BACKOFF
        qp.seq = next(self._seq)
        heapq.heappush(self._backoff, (self.backoff_until(qp), qp.seq, qp.key))

    def _live(self, key: PodKey, seq: int, where: Where) -> bool:
        qp = self._pods.get(key)
        return qp is not None and qp.where is where and qp.seq == seq

    def _prune_backoff(self) -> None:
        while self._backoff and not self._live(self._backoff[0][2], self._backoff[0][1], Where.BACKOFF):
            heapq.heappop(self._backoff)

    def _flush_backoff(self, now: float) -> None:
        while self._backoff:
            ready, seq, key = self._backoff[0]
            if not self._live(key, seq, Where.BACKOFF):
                heapq.heappop(self._backoff)
                continue
            if ready > now:
                break
            heapq.heappop(self._backoff)
            self._to_active(self._pods[key], now)
