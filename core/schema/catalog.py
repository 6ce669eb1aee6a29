"""The wire schema of every served kind, loaded from the generated catalog.json.

catalog.json (written by ops/tools/gen_field_catalog.py from the kubernetes client's models) maps
`apiVersion/Kind` to a root type, and every type to its Go name and JSON fields. A field's type is
a string in a small grammar: `string`, `bool`, `int32`, `int64`, `float64`, `time`, `microtime`,
`quantity`, `intstr`, `bytes`, `any`, `resourcelist` (map of quantities), `[]T`, `map[T]` (string
keys), or a type name. `core.fields` walks objects against it; nothing else needs the client.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

_PRIMITIVE_GO = {
    "string": "string", "bool": "bool", "int32": "int32", "int64": "int64", "float64": "float64",
    "time": "v1.Time", "microtime": "v1.MicroTime", "quantity": "resource.Quantity",
    "intstr": "intstr.IntOrString", "bytes": "[]uint8", "any": "runtime.RawExtension",
    "resourcelist": "v1.ResourceList",
}


@dataclass(frozen=True)
class TypeInfo:
    name: str
    go: str  # package-qualified Go name, e.g. "v1.PodSpec"
    fields: dict[str, str]

    @property
    def struct(self) -> str:
        """The bare Go struct name Go's decoder prints ("PodSpec")."""
        return self.go.split(".", 1)[1]


class Catalog:
    def __init__(self, data: dict[str, Any]) -> None:
        self.kinds: dict[str, str] = dict(data["kinds"])
        self.types: dict[str, TypeInfo] = {
            name: TypeInfo(name, t["go"], dict(t["fields"])) for name, t in data["types"].items()
        }

    def root(self, api_version: str, kind: str) -> str | None:
        return self.kinds.get(f"{api_version}/{kind}")

    def type(self, name: str) -> TypeInfo:
        return self.types[name]

    def is_type(self, ref: str) -> bool:
        return ref in self.types

    def go_type(self, ref: str) -> str:
        """The Go type Go's decoder names in `… of type T`."""
        if ref.startswith("[]"):
            return "[]" + self.go_type(ref[2:])
        if ref.startswith("map[") and ref.endswith("]"):
            return "map[string]" + self.go_type(ref[4:-1])
        if ref in _PRIMITIVE_GO:
            return _PRIMITIVE_GO[ref]
        return self.types[ref].go


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    text = resources.files("core.schema").joinpath("catalog.json").read_text(encoding="utf-8")
    return Catalog(json.loads(text))
