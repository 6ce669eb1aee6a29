"""Object metadata helpers shared by every writer: timestamps, generated names, pod QoS.

Pure functions; the API server calls them while admitting a write.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone
from typing import Any

_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' generateName alphabet: no vowels


def rfc3339(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def generate_name(base: str, rng: random.Random | None = None) -> str:
    r = rng or random
    return base + "".join(r.choice(_NAME_ALPHABET) for _ in range(5))


def qos_class(pod_spec: dict[str, Any]) -> str:
    """Kubernetes' pod QoS: BestEffort (no requests or limits anywhere), Guaranteed (every
    container limits cpu and memory with requests equal to limits), else Burstable."""
    containers = list(pod_spec.get("containers") or []) + list(pod_spec.get("initContainers") or [])
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        limits = res.get("limits") or {}
        requests = res.get("requests") or {}
        if limits or requests:
            any_set = True
        for r in ("cpu", "memory"):
            if r not in limits or (r in requests and str(requests[r]) != str(limits[r])):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"
