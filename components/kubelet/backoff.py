"""Restart and retry back-off, as Kubernetes' flowcontrol.Backoff computes it. Pure.

An entry holds the current delay and when it was last advanced. A failed container may start
again once `delay` has passed since it finished; each restart doubles the delay up to the cap.
An entry not advanced for twice the cap (10 minutes with the default 5-minute cap: a container
that ran that long) has expired, and the next failure starts again from the base delay.
Times are plain seconds, so tests drive it with a fake clock.
"""

from __future__ import annotations

from dataclasses import dataclass

BASE = 10.0
CAP = 300.0


@dataclass(frozen=True)
class Backoff:
    delay: float
    updated: float


@dataclass(frozen=True)
class BackoffPolicy:
    base: float = BASE
    cap: float = CAP

    def expired(self, entry: Backoff | None, now: float) -> bool:
        return entry is None or now - entry.updated > 2 * self.cap

    def next(self, entry: Backoff | None, now: float) -> Backoff:
        """The entry after one more failure at `now`: base delay when fresh, else doubled (capped)."""
        if entry is None or self.expired(entry, now):
            return Backoff(self.base, now)
        return Backoff(min(entry.delay * 2, self.cap), now)

    def waiting(self, entry: Backoff | None, since: float, now: float) -> float:
        """Seconds still to wait after an event at `since` (a container's finish); 0 when free to go."""
        if entry is None or self.expired(entry, since):
            return 0.0
        return max(0.0, since + entry.delay - now)
