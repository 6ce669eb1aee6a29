"""A container's environment and command line, as Kubernetes builds them. Pure.

`resolve_env` takes the container spec, the pod, and the ConfigMaps and Secrets it refers to (the
shell fetches them through the API first: `references` says which) and returns the ordered
variables: `envFrom` sources first (later ones win), then `env` (each value expanded with the
variables defined before it). `$(VAR)` expansion follows Kubernetes' rules: an unknown reference
stays as written, `$$` is a literal `$`. A missing ConfigMap, Secret or key raises `ConfigError`
with Kubernetes' message (the container waits with CreateContainerConfigError), unless the
reference is optional.

Not done: the Docker-links style service variables (`FOO_SERVICE_HOST`, enableServiceLinks).
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.schema.quantity import QuantityError, parse_quantity

Obj = Mapping[str, Any]


class ConfigError(Exception):
    """A container's configuration cannot be built; the message is Kubernetes' own."""


@dataclass(frozen=True)
class Sources:
    """ConfigMaps and Secrets by name; None means the API answered that it does not exist."""

    configmaps: Mapping[str, Obj | None] = field(default_factory=dict)
    secrets: Mapping[str, Obj | None] = field(default_factory=dict)


@dataclass(frozen=True)
class PodFacts:
    """What fieldRef and resourceFieldRef may read besides the pod itself."""

    pod_ip: str = ""
    host_ip: str = ""
    allocatable: Mapping[str, str] = field(default_factory=dict)


# -- references ----------------------------------------------------------------------------------
def references(container: Obj) -> tuple[set[str], set[str]]:
    """(configmap names, secret names) a container's env and envFrom refer to."""
    cms: set[str] = set()
    secrets: set[str] = set()
    for e in container.get("env") or []:
        vf = e.get("valueFrom") or {}
        if vf.get("configMapKeyRef"):
            cms.add(str(vf["configMapKeyRef"].get("name", "")))
        if vf.get("secretKeyRef"):
            secrets.add(str(vf["secretKeyRef"].get("name", "")))
    for src in container.get("envFrom") or []:
        if src.get("configMapRef"):
            cms.add(str(src["configMapRef"].get("name", "")))
        if src.get("secretRef"):
            secrets.add(str(src["secretRef"].get("name", "")))
    return cms, secrets


# -- expansion -----------------------------------------------------------------------------------
def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: known names replaced, unknown kept, `$$` → `$`."""
    out: list[str] = []
    i, n, checkpoint = 0, len(text), 0
    while i < n:
        if text[i] == "$" and i + 1 < n:
            out.append(text[checkpoint:i])
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                advance = 1
            elif nxt == "(":
                close = text.find(")", i + 2)
                if close == -1:
                    out.append("$(")
                    advance = 1
                else:
                    name = text[i + 2:close]
                    out.append(env[name] if name in env else f"$({name})")
                    advance = close - i
            else:
                out.append("$" + nxt)
                advance = 1
            i += advance
            checkpoint = i + 1
        i += 1
    out.append(text[checkpoint:])
    return "".join(out)


def command_line(container: Obj, env: Mapping[str, str]) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """(command, args) with $(VAR) expanded; None where the spec leaves the image's default."""
    cmd = container.get("command")
    args = container.get("args")
    return (tuple(expand(str(c), env) for c in cmd) if cmd is not None else None,
            tuple(expand(str(a), env) for a in args) if args is not None else None)


# -- values --------------------------------------------------------------------------------------
def _decode_secret(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return value


CONFIGMAP = "configmap"
SECRET = "secret"
_TITLE = {CONFIGMAP: "ConfigMap", SECRET: "Secret"}
_DECODE: dict[str, Callable[[str], str]] = {CONFIGMAP: str, SECRET: _decode_secret}


def _referenced(sources: Sources, kind: str, ref: Obj) -> Obj | None:
    """The ConfigMap or Secret a reference names; None when it is missing and optional."""
    name = str(ref.get("name", ""))
    obj = (sources.configmaps if kind == CONFIGMAP else sources.secrets).get(name)
    if obj is None and not ref.get("optional"):
        raise ConfigError(f'{kind} "{name}" not found')
    return obj


def _format_map(m: Mapping[str, Any]) -> str:
    """metadata.labels / annotations as a whole: `key="value"` lines, sorted (downward API format)."""
    return "\n".join(f'{k}="{_escape(str(v))}"' for k, v in sorted(m.items()))


def _escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def field_value(pod: Obj, path: str, facts: PodFacts) -> str:
    """A fieldRef's value (the paths Kubernetes supports for env and downward API volumes)."""
    md = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    for key in ("labels", "annotations"):
        prefix = f"metadata.{key}["
        if path.startswith(prefix) and path.endswith("]"):
            sub = path[len(prefix):-1].strip("'\"")
            return str((md.get(key) or {}).get(sub, ""))
        if path == f"metadata.{key}":
            return _format_map(md.get(key) or {})
    simple = {
        "metadata.name": md.get("name", ""),
        "metadata.namespace": md.get("namespace", ""),
        "metadata.uid": md.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", "") or spec.get("serviceAccount", ""),
        "status.podIP": facts.pod_ip,
        "status.podIPs": facts.pod_ip,
        "status.hostIP": facts.host_ip,
        "status.hostIPs": facts.host_ip,
    }
    return str(simple.get(path, ""))


def resource_value(pod: Obj, container: Obj, ref: Obj, facts: PodFacts) -> str:
    """A resourceFieldRef's value: the container's limit (node allocatable when unset) or request,
    divided by the divisor and rounded up, as Kubernetes' ExtractResourceValueByContainer does."""
    resource = str(ref.get("resource", ""))
    target = container
    if ref.get("containerName"):
        spec = pod.get("spec") or {}
        for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
            if c.get("name") == ref["containerName"]:
                target = c
    kind, _, name = resource.partition(".")
    resources = target.get("resources") or {}
    raw = (resources.get(kind) or {}).get(name)
    if raw is None and kind == "limits":
        raw = facts.allocatable.get(name)
    if raw is None:
        raw = 0
    try:
        value = parse_quantity(raw).value
        divisor = parse_quantity(ref.get("divisor") or "1").value
    except QuantityError:
        return "0"
    if divisor <= 0:
        divisor = parse_quantity("1").value
    return str(math.ceil(value / divisor))


# -- the environment -----------------------------------------------------------------------------
def resolve_env(container: Obj, pod: Obj, sources: Sources, facts: PodFacts) -> list[tuple[str, str]]:
    """The container's variables in order (envFrom first, then env); ConfigError on a missing source."""
    ns = (pod.get("metadata") or {}).get("namespace", "")
    env: dict[str, str] = {}
    for src in container.get("envFrom") or []:
        prefix = str(src.get("prefix") or "")
        kind, ref = (CONFIGMAP, src["configMapRef"]) if src.get("configMapRef") else (SECRET, src.get("secretRef"))
        if not ref:
            continue
        obj = _referenced(sources, kind, ref)
        if obj is None:
            continue
        for k, v in (obj.get("data") or {}).items():
            if k and "=" not in k:
                env[prefix + k] = _DECODE[kind](str(v))
    facts_env = facts
    for e in container.get("env") or []:
        name = str(e.get("name", ""))
        vf = e.get("valueFrom")
        if not vf:
            env[name] = expand(str(e.get("value") or ""), env)
            continue
        if vf.get("fieldRef"):
            env[name] = field_value(pod, str(vf["fieldRef"].get("fieldPath", "")), facts_env)
        elif vf.get("resourceFieldRef"):
            env[name] = resource_value(pod, container, vf["resourceFieldRef"], facts_env)
        elif vf.get("configMapKeyRef") or vf.get("secretKeyRef"):
            kind = CONFIGMAP if vf.get("configMapKeyRef") else SECRET
            ref = vf["configMapKeyRef"] if kind == CONFIGMAP else vf["secretKeyRef"]
            obj = _referenced(sources, kind, ref)
            if obj is None:
                continue
            key, data = str(ref.get("key", "")), obj.get("data") or {}
            if key not in data:
                if ref.get("optional"):
                    continue
                raise ConfigError(f"couldn't find key {key} in {_TITLE[kind]} {ns}/{ref.get('name', '')}")
            env[name] = _DECODE[kind](str(data[key]))
    return list(env.items())
