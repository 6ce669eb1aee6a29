"""Object metadata helpers shared by every writer: timestamps and generated names.

Pure functions; the API server calls them while admitting a write.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone

_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' generateName alphabet: no vowels


def rfc3339(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_name(base: str, rng: random.Random | None = None) -> str:
    r = rng or random
    return base + "".join(r.choice(_NAME_ALPHABET) for _ in range(5))

