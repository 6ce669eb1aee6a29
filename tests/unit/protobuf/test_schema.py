"""The message table against itself and against jetkube's field catalog (core/schema/catalog.json).

The catalog (from the Kubernetes client's models) knows every JSON field of every served kind.
Walking the table and the catalog together from each kind checks that every JSON name the decoder
can produce is a real field of the right type, and that the messages the brief requires in full
(ObjectMeta, PodSpec, Container, …) decode every field the catalog has.
"""

from __future__ import annotations

from typing import Any

from core.protobuf import schema
from core.protobuf.schema import KINDS, MESSAGES
from core.schema.catalog import catalog

# Table kind → the catalog's type string.
_SIMPLE = {schema.STRING: "string", schema.BOOL: "bool", schema.INT32: "int32", schema.INT64: "int64",
           schema.BYTES: "bytes", schema.TIME: "time", schema.QUANTITY: "quantity", schema.INTSTR: "intstr",
           schema.FIELDSV1: "any"}
_MAPS = {schema.STRING: {"map[string]"}, schema.BYTES: {"map[bytes]"},
         # a Quantity is a string in JSON; the catalog types one status ResourceList as map[string]
         schema.QUANTITY: {"resourcelist", "map[quantity]", "map[string]"}}

# Where the table follows the protobuf type and the catalog (from the Python client) differs.
KIND_EXCEPTIONS = {
    ("SleepAction", "seconds"): "int64 in generated.proto and Go; the client model says int32",
}

_NEWER = "newer than the generated.proto the table was read from: its field number is not known here"
# Catalog fields the table does not decode, and why. Every other reachable catalog field decodes.
# A body that carries one of them reports it as an unknown field number.
NOT_DECODED: dict[tuple[str, str], str] = {
    (t, n): _NEWER for t, n in [
        ("V1PodSpec", "evictionResponders"), ("V1PodSpec", "schedulingGroup"), ("V1JobSpec", "scheduling"),
        ("V1ClusterTrustBundleProjection", "user"), ("V1ConfigMapVolumeSource", "defaultUser"),
        ("V1ContainerStatus", "user"), ("V1DownwardAPIVolumeFile", "user"),
        ("V1DownwardAPIVolumeSource", "defaultUser"), ("V1EmptyDirVolumeSource", "mode"), ("V1GRPCAction", "mode"),
        ("V1HTTPGetAction", "protocol"), ("V1KeyToPath", "user"), ("V1PersistentVolumeClaimStatus", "healthStatus"),
        ("V1PodCertificateProjection", "user"), ("V1PodStatus", "nodeAllocatableResourceClaimStatuses"),
        ("V1PodStatus", "volumeHealth"), ("V1ProjectedVolumeSource", "defaultUser"),
        ("V1SecretVolumeSource", "defaultUser"), ("V1ServiceAccountTokenProjection", "user"),
        ("V1VolumeMount", "bindMountOptions"),
    ]
}
NOT_DECODED.update({
    (t, n): "status detail kubectl never sends; skipped (reported as unknown if present)" for t, n in [
        ("V1ContainerStatus", "allocatedResourcesStatus"), ("V1PodStatus", "extendedResourceClaimStatus"),
        ("V1VolumeMountStatus", "volumeStatus"),
    ]
})
MUST_BE_COMPLETE = {
    "V1ObjectMeta", "V1LabelSelector", "V1LabelSelectorRequirement", "V1OwnerReference", "V1PodTemplateSpec",
    "V1PodSpec", "V1Container", "V1ContainerPort", "V1EnvVar", "V1EnvVarSource", "V1EnvFromSource",
    "V1ResourceRequirements", "V1VolumeMount", "V1Probe", "V1Lifecycle", "V1LifecycleHandler",
    "V1SecurityContext", "V1PodSecurityContext", "V1Volume", "V1EmptyDirVolumeSource", "V1HostPathVolumeSource",
    "V1ConfigMapVolumeSource", "V1SecretVolumeSource", "V1PersistentVolumeClaimVolumeSource",
    "V1Deployment", "V1DeploymentSpec", "V1DeploymentStrategy", "V1RollingUpdateDeployment", "V1ReplicaSet",
    "V1ReplicaSetSpec", "V1Job", "V1JobSpec", "V1CronJob", "V1CronJobSpec", "V1JobTemplateSpec", "V1Service",
    "V1ServiceSpec", "V1ServicePort", "V1ConfigMap", "V1Secret", "V1Namespace", "V1ServiceAccount",
    "V1Ingress", "V1IngressSpec", "V1IngressRule", "V1HTTPIngressPath", "V1IngressBackend",
}


def _fields(message: str) -> dict[str, schema.Field]:
    """JSON name → field, with inline (embedded) messages flattened as JSON flattens them."""
    out: dict[str, schema.Field] = {}
    for f in MESSAGES[message].values():
        if f.kind == schema.INLINE:
            assert f.ref is not None
            out.update(_fields(f.ref))
        else:
            out[f.json] = f
    return out


def _walk() -> tuple[list[str], dict[str, set[str]]]:
    """(problems, catalog type → JSON names decoded for it) over everything reachable from KINDS."""
    cat = catalog()
    problems: list[str] = []
    decoded: dict[str, set[str]] = {}
    pairs: dict[str, str] = {}  # message → catalog type, to catch one message mapped to two types
    todo: list[tuple[str, str]] = []
    for (api_version, kind), root in [*KINDS.items(), *((("v1", k), m) for k, m in schema.ANY_VERSION.items())]:
        cat_root = cat.root(api_version, kind)
        if cat_root is None:
            problems.append(f"{api_version}/{kind}: not in the catalog (not a served kind)")
            continue
        todo.append((root, cat_root))
    seen: set[tuple[str, str]] = set()
    while todo:
        message, cat_type = todo.pop()
        if (message, cat_type) in seen:
            continue
        seen.add((message, cat_type))
        if pairs.setdefault(message, cat_type) != cat_type and not _same_shape(pairs[message], cat_type):
            problems.append(f"{message} maps to both {pairs[message]} and {cat_type}")
        cat_fields = cat.type(cat_type).fields
        for name, f in _fields(message).items():
            want = cat_fields.get(name)
            where = f"{message}.{name} ({cat_type})"
            if want is None:
                problems.append(f"{where}: not a field of {cat_type}")
                continue
            decoded.setdefault(cat_type, set()).add(name)
            item = want[2:] if want.startswith("[]") else want
            if f.repeated != want.startswith("[]"):
                problems.append(f"{where}: repeated={f.repeated} but the catalog says {want}")
            if f.kind == schema.MESSAGE:
                assert f.ref is not None
                if item not in cat.types:
                    problems.append(f"{where}: message {f.ref} but the catalog says {want}")
                else:
                    todo.append((f.ref, item))
            elif f.kind == schema.MAP:
                assert f.ref is not None
                if want not in _MAPS[f.ref]:
                    problems.append(f"{where}: map of {f.ref} but the catalog says {want}")
            elif _SIMPLE[f.kind] != item and (message, name) not in KIND_EXCEPTIONS:
                problems.append(f"{where}: {f.kind} but the catalog says {want}")
    return problems, decoded


def _same_shape(a: str, b: str) -> bool:
    """Two catalog types with the same fields (e.g. core's and discovery's EndpointPort)."""
    cat = catalog()
    return cat.type(a).fields == cat.type(b).fields


def test_table_is_sound() -> None:
    assert schema.check_table() == []


def test_every_message_is_reachable_from_a_kind() -> None:
    reachable: set[str] = set()
    todo = [*KINDS.values(), *schema.ANY_VERSION.values()]
    while todo:
        name = todo.pop()
        if name in reachable:
            continue
        reachable.add(name)
        todo.extend(f.ref for f in MESSAGES[name].values() if f.kind in (schema.MESSAGE, schema.INLINE) and f.ref)
    assert set(MESSAGES) - reachable == set()


def test_table_agrees_with_the_catalog() -> None:
    problems, _ = _walk()
    assert problems == []


def test_required_messages_decode_every_catalog_field() -> None:
    _, decoded = _walk()
    cat = catalog()
    missing: list[str] = []
    for cat_type in sorted(MUST_BE_COMPLETE):
        assert cat_type in decoded or cat_type in cat.types, cat_type
        for name in cat.type(cat_type).fields:
            if name in ("apiVersion", "kind") or (cat_type, name) in NOT_DECODED:
                continue
            if name not in decoded.get(cat_type, set()):
                missing.append(f"{cat_type}.{name}")
    assert missing == []


def test_not_decoded_list_is_current() -> None:
    """An entry leaves NOT_DECODED once its field is decoded (or leaves the catalog)."""
    _, decoded = _walk()
    cat = catalog()
    stale = [(t, n) for t, n in NOT_DECODED if n in decoded.get(t, set()) or n not in cat.type(t).fields]
    stale += [k for k in KIND_EXCEPTIONS if k[0] not in MESSAGES or k[1] not in _fields(k[0])]
    assert stale == []


def test_everything_reachable_reports_coverage() -> None:
    """Not a requirement, a record: how much of each reachable catalog type the table decodes."""
    _, decoded = _walk()
    cat = catalog()
    gaps: dict[str, Any] = {}
    for cat_type, names in decoded.items():
        rest = set(cat.type(cat_type).fields) - names - {"apiVersion", "kind"}
        if rest:
            gaps[cat_type] = sorted(rest)
    # The only gaps anywhere are the ones NOT_DECODED explains.
    assert gaps == {t: sorted(n for tt, n in NOT_DECODED if tt == t) for t, _ in NOT_DECODED}


def test_not_decoded_fields_are_reported_when_present() -> None:
    """A field the table lacks is an unknown field number, not silently lost."""
    from core.protobuf import decode_with_unknown
    from tests.unit.protobuf.pb import envelope, ln, meta, msg

    # VolumeMount field 8 is not in the table (bindMountOptions or whatever a newer kubectl puts there)
    body = envelope("v1", "Pod", meta("p") + msg(2, msg(2, ln(1, "c"), msg(9, ln(1, "v"), ln(3, "/v"), ln(8, "x")))))
    _, unknown = decode_with_unknown(body)
    assert unknown == ["spec.containers[0].volumeMounts[0].#8"]
