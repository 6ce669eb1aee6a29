"""Building blocks shared by every printer: columns, the printer record, and Kubernetes' formatting.

The helpers here reproduce what Kubernetes' `pkg/printers/internalversion` does to turn an object
into table cells — `duration.HumanDuration` for ages, `labels.FormatLabels`,
`metav1.FormatLabelSelector`, the comma-joined container names and images of `-o wide`. They take
plain JSON dicts (objects as stored) and return plain values; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

Obj = Mapping[str, Any]
Cells = list[Any]

NAME_DESCRIPTION = (
    "Name must be unique within a namespace. Is required when creating resources, although some "
    "resources may allow a client to request the generation of an appropriate name automatically. "
    "Name is primarily intended for creation idempotence and configuration definition. Cannot be "
    "updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
AGE_DESCRIPTION = (
    "CreationTimestamp is a timestamp representing the server time when this object was created. It "
    "is not guaranteed to be set in happens-before order across separate operations. Clients may not "
    "set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. "
    "Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
CONTAINERS_DESCRIPTION = "Names of each container in the template."
IMAGES_DESCRIPTION = "Images referenced by each container in the template."


@dataclass(frozen=True)
class Column:
    """One `TableColumnDefinition`. `priority` 1 columns are shown by kubectl only with `-o wide`."""

    name: str
    type: str = "string"
    format: str = ""
    description: str = ""
    priority: int = 0

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


NAME = Column("Name", format="name", description=NAME_DESCRIPTION)
AGE = Column("Age", description=AGE_DESCRIPTION)
CONTAINERS = Column("Containers", priority=1, description=CONTAINERS_DESCRIPTION)
IMAGES = Column("Images", priority=1, description=IMAGES_DESCRIPTION)


def wide_selector(description: str = "Label selector of the object.") -> Column:
    return Column("Selector", priority=1, description=description)


@dataclass(frozen=True)
class Printer:
    """How one resource is printed: its columns and a function giving one cell per column.

    `cells(obj, now)` always returns every column, wide ones included, as Kubernetes' server-side
    printers do (the API server prints with `Wide: true`; kubectl drops priority-1 columns itself).
    `conditions(obj)` gives the row's `conditions` (pods mark Succeeded/Failed rows `Completed`).
    """

    columns: tuple[Column, ...]
    cells: Callable[[Obj, datetime], Cells]
    conditions: Callable[[Obj], list[dict[str, Any]]] | None = field(default=None)

    def column_definitions(self) -> list[dict[str, Any]]:
        return [c.definition() for c in self.columns]


def name_age_cells(obj: Obj, now: datetime) -> Cells:
    return [meta(obj).get("name", ""), age(obj, now)]


DEFAULT_PRINTER = Printer((NAME, AGE), name_age_cells)


# --- object access -------------------------------------------------------------------------------

def meta(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def spec(obj: Obj) -> Mapping[str, Any]:
    return obj.get("spec") or {}


def status(obj: Obj) -> Mapping[str, Any]:
    return obj.get("status") or {}


def template_containers(obj: Obj) -> list[Mapping[str, Any]]:
    """`spec.template.spec.containers` of a workload (Deployment, ReplicaSet, Job, …)."""
    template = spec(obj).get("template") or {}
    return list((template.get("spec") or {}).get("containers") or [])


# --- time ----------------------------------------------------------------------------------------

def parse_time(value: str | None) -> datetime | None:
    """RFC 3339 (`2024-05-01T10:00:00Z`, MicroTime with fractions) → aware datetime; None if unset."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def human_duration(d: timedelta) -> str:
    """Kubernetes' `duration.HumanDuration`: `45s`, `3m2s`, `10m`, `5h3m`, `2d3h`, `400d`, `2y30d`."""
    micros = (d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds
    seconds = micros // 1_000_000 if micros >= 0 else -((-micros) // 1_000_000)  # truncate like Go
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def since(value: str | None, now: datetime) -> str:
    """`translateTimestampSince`: the human duration from `value` to `now`, `<unknown>` if unset."""
    t = parse_time(value)
    if t is None:
        return "<unknown>"
    return human_duration(now - t)


def age(obj: Obj, now: datetime) -> str:
    return since(meta(obj).get("creationTimestamp"), now)


# --- labels and selectors ------------------------------------------------------------------------

def format_labels(labels: Mapping[str, str] | None) -> str:
    """`labels.FormatLabels`: `a=1,b=2` sorted by key, `<none>` when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def selector_string(selector: Mapping[str, Any] | None) -> str:
    """A LabelSelector as `labels.Selector.String()` prints it (`""` for none or everything).

    Requirements are sorted by key; `In`/`NotIn` values are sorted, as Kubernetes does.
    """
    if not selector:
        return ""
    reqs: list[tuple[str, str]] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        reqs.append((key, f"{key}={value}"))
    for expr in selector.get("matchExpressions") or []:
        key = expr.get("key", "")
        op = expr.get("operator", "")
        values = ",".join(sorted(expr.get("values") or []))
        if op == "In":
            reqs.append((key, f"{key} in ({values})"))
        elif op == "NotIn":
            reqs.append((key, f"{key} notin ({values})"))
        elif op == "Exists":
            reqs.append((key, key))
        elif op == "DoesNotExist":
            reqs.append((key, f"!{key}"))
    reqs.sort(key=lambda r: r[0])
    return ",".join(text for _, text in reqs)


def format_label_selector(selector: Mapping[str, Any] | None) -> str:
    """`metav1.FormatLabelSelector`: the selector string, `<none>` when it is empty."""
    return selector_string(selector) or "<none>"


# --- containers ----------------------------------------------------------------------------------

def layout_containers(containers: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """`layoutContainerCells`: (`a,b`, `img-a,img-b`)."""
    names = ",".join(c.get("name", "") for c in containers)
    images = ",".join(c.get("image", "") for c in containers)
    return names, images


def load_balancer_ingress(lb_status: Mapping[str, Any] | None) -> str:
    """`loadBalancerStatusStringer` with `wide=True` (the server prints wide): sorted, unique IPs/hostnames."""
    found: set[str] = set()
    for ing in (lb_status or {}).get("ingress") or []:
        if ing.get("ip"):
            found.add(ing["ip"])
        elif ing.get("hostname"):
            found.add(ing["hostname"])
    return ",".join(sorted(found))


def list_with_more(items: list[str], more: bool, count: int, limit: int, empty: str = "<unset>") -> str:
    """`listWithMoreString`: `a,b,c + 2 more...`."""
    joined = ",".join(items)
    if more:
        return f"{joined} + {count - limit} more..."
    return joined or empty


def bool_ptr(value: Any) -> str:
    """`printBoolPtr`: `True`/`False`, `<unset>` when absent."""
    if value is None:
        return "<unset>"
    return "True" if value else "False"
