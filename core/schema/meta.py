"""Typed views shared by every API group: the base model, ObjectMeta, label selectors.

Models mirror Kubernetes' Go structs for the fields admission reads: a Go value field is a Python
field with its zero value as default ("" / 0 / False), a Go pointer is `X | None`. Unmodelled
fields are kept (`extra="allow"`), JSON names are the aliases, and types are strict, so parsing a
dict that passed `core.fields.decode_errors` always succeeds. The stored object stays the dict:
models are for reading, never dumped back.
"""

from __future__ import annotations

from typing import Any, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr
from pydantic.alias_generators import to_camel

IntOrStr = Union[StrictInt, StrictStr]
QuantityValue = Union[StrictStr, StrictInt, StrictFloat]
ResourceList = dict[str, QuantityValue]
StrMap = dict[str, str]


class KModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_camel, strict=True,
                              protected_namespaces=())


M = TypeVar("M", bound=KModel)


def drop_nulls(value: Any) -> Any:
    """JSON null means "unset" to Kubernetes' decoder; drop it before parsing."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value if v is not None]
    return value


def parse(model: type[M], obj: dict[str, Any]) -> M:
    return model.model_validate(drop_nulls(obj))


class OwnerReference(KModel):
    api_version: str = ""
    kind: str = ""
    name: str = ""
    uid: str = ""
    controller: bool | None = None
    block_owner_deletion: bool | None = None


class ObjectMeta(KModel):
    name: str = ""
    generate_name: str = ""
    namespace: str = ""
    uid: str = ""
    resource_version: str = ""
    generation: int = 0
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None
    deletion_grace_period_seconds: int | None = None
    labels: StrMap | None = None
    annotations: StrMap | None = None
    owner_references: list[OwnerReference] | None = None
    finalizers: list[str] | None = None


class LabelSelectorRequirement(KModel):
    key: str = ""
    operator: str = ""
    values: list[str] | None = None


class LabelSelector(KModel):
    match_labels: StrMap | None = None
    match_expressions: list[LabelSelectorRequirement] | None = None

    def is_empty(self) -> bool:
        return not self.match_labels and not self.match_expressions


class Resource(KModel):
    """Any top-level object: apiVersion, kind, metadata."""

    api_version: str = ""
    kind: str = ""
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)


class ObjectReference(KModel):
    api_version: str = ""
    kind: str = ""
    name: str = ""
    namespace: str = ""
    uid: str = ""
    field_path: str = ""
    resource_version: str = ""


class LocalObjectReference(KModel):
    name: str = ""
