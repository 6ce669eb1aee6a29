"""ObjectMeta validation (apimachinery ValidateObjectMeta plus core's finalizer rule).

Name and generateName against the kind's name format, namespace presence and format, labels,
annotations, owner references, finalizers. Immutability of name/namespace/uid on update is the
API server's job (it never lets them change), so it is not repeated here.
"""

from __future__ import annotations

from core.errors import Cause
from core.schema import formats
from core.schema.causes import each, forbidden, invalid, nonnegative, required
from core.schema.meta import ObjectMeta
from core.schema.rules.common import validate_annotations, validate_labels

STANDARD_FINALIZERS = ("kubernetes", "orphan", "foregroundDeletion")


def validate_object_meta(meta: ObjectMeta, *, namespaced: bool, name_fn: formats.NameFn,
                         path: str = "metadata") -> list[Cause]:
    out: list[Cause] = []
    if meta.generate_name:
        out += each(f"{path}.generateName", meta.generate_name, name_fn(meta.generate_name, True))
    if not meta.name:
        if not meta.generate_name:
            out.append(required(f"{path}.name", "name or generateName is required"))
    else:
        out += each(f"{path}.name", meta.name, name_fn(meta.name, False))
    if namespaced:
        if not meta.namespace:
            out.append(required(f"{path}.namespace"))
        else:
            out += each(f"{path}.namespace", meta.namespace, formats.name_is_dns_label(meta.namespace, False))
    elif meta.namespace:
        out.append(forbidden(f"{path}.namespace", "not allowed on this type"))
    out += nonnegative(f"{path}.generation", meta.generation)
    out += validate_labels(meta.labels, f"{path}.labels")
    out += validate_annotations(meta.annotations, f"{path}.annotations")
    out += _owner_references(meta, f"{path}.ownerReferences")
    out += _finalizers(meta.finalizers, f"{path}.finalizers")
    return out


def _owner_references(meta: ObjectMeta, path: str) -> list[Cause]:
    out: list[Cause] = []
    controllers: list[str] = []
    for ref in meta.owner_references or []:
        version = ref.api_version.split("/")[-1] if ref.api_version else ""
        if not version:
            out.append(invalid(f"{path}.apiVersion", ref.api_version, "version must not be empty"))
        if not ref.kind:
            out.append(invalid(f"{path}.kind", ref.kind, "kind must not be empty"))
        if not ref.name:
            out.append(invalid(f"{path}.name", ref.name, "name must not be empty"))
        if not ref.uid:
            out.append(invalid(f"{path}.uid", ref.uid, "uid must not be empty"))
        if ref.controller:
            controllers.append(f"{ref.kind}/{ref.name}")
    if len(controllers) > 1:
        out.append(invalid(path, [r.model_dump(by_alias=True, exclude_none=True) for r in meta.owner_references or []],
                           "Only one reference can have Controller set to true. Found \"true\" in references for "
                           + " and ".join(controllers)))
    return out


def _finalizers(finalizers: list[str] | None, path: str) -> list[Cause]:
    out: list[Cause] = []
    for name in finalizers or []:
        out += each(path, name, formats.is_qualified_name(name))
    if finalizers and "orphan" in finalizers and "foregroundDeletion" in finalizers:
        out.append(invalid(path, finalizers, "finalizer orphan and foregroundDeletion cannot be both set"))
    for i, name in enumerate(finalizers or []):
        out += standard_finalizer(name, f"{path}[{i}]")
    return out


def standard_finalizer(name: str, path: str) -> list[Cause]:
    """core's validateKubeFinalizerName: a bare name must be one Kubernetes itself uses."""
    if "/" not in name and name not in STANDARD_FINALIZERS:
        return [invalid(path, name, "name is neither a standard finalizer name nor is it fully qualified")]
    return []


def validate_finalizer_name(name: str, path: str) -> list[Cause]:
    return each(path, name, formats.is_qualified_name(name)) + standard_finalizer(name, path)
