"""The decoder on hand-built bodies: presence rules, typed values, unknown fields, bad input."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from core.errors import BadRequest, UnsupportedMediaType
from core.protobuf import decode, decode_with_unknown, supported_kinds
from tests.unit.protobuf.pb import entry, envelope, fixed32, fixed64, key, ln, meta, msg, varint, vi


def deployment(*spec: bytes, status: bytes = msg(3)) -> bytes:
    return envelope("apps/v1", "Deployment", meta("d") + msg(2, *spec) + status)


def pod(*spec: bytes, metadata: bytes | None = None) -> bytes:
    return envelope("v1", "Pod", (metadata if metadata is not None else meta("p")) + msg(2, *spec) + msg(3))


def container(name: str, *fields: bytes) -> bytes:
    return msg(2, ln(1, name), *fields)


def spec_of(body: bytes) -> Any:
    return decode(body)["spec"]


# ---------------------------------------------------------------- presence (proto2 + Go's omitempty)

def test_pointer_zero_is_kept_and_absent_pointer_is_omitted() -> None:
    assert spec_of(deployment(vi(1, 0)))["replicas"] == 0
    assert "replicas" not in spec_of(deployment())
    spec = spec_of(deployment(vi(6, 0), vi(9, 0)))  # revisionHistoryLimit, progressDeadlineSeconds: *int32
    assert (spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (0, 0)


def test_omitempty_value_zeros_are_dropped_nonzero_kept() -> None:
    spec = spec_of(deployment(vi(5, 0), vi(7, 0)))  # minReadySeconds, paused: values with omitempty
    assert "minReadySeconds" not in spec and "paused" not in spec
    spec = spec_of(deployment(vi(5, 10), vi(7, 1)))
    assert (spec["minReadySeconds"], spec["paused"]) == (10, True)


def test_kubectl_style_metadata_drops_go_zero_values() -> None:
    """Go writes generateName "", generation 0, an empty creationTimestamp… JSON has none of them."""
    obj = decode(envelope("v1", "ConfigMap", meta("c")))
    assert obj == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}


def test_no_omitempty_fields_keep_their_zero() -> None:
    # ContainerPort.containerPort has no omitempty; its hostPort has.
    spec = spec_of(pod(container("c", msg(6, ln(1, ""), vi(2, 0), vi(3, 0), ln(4, ""), ln(5, "")))))
    assert spec["containers"][0]["ports"] == [{"containerPort": 0}]


def test_explicit_false_pointer_bools_are_kept() -> None:
    body = envelope("v1", "ConfigMap", meta("c") + vi(4, 0))  # immutable: *bool false
    assert decode(body)["immutable"] is False
    body = envelope("v1", "ServiceAccount", meta("sa") + vi(4, 0))
    assert decode(body)["automountServiceAccountToken"] is False


def test_empty_messages_stay_as_empty_dicts() -> None:
    # strategy and status are Go values: written even when empty, and JSON shows {} for them.
    obj = decode(deployment(msg(4)))
    assert obj["spec"] == {"strategy": {}}
    assert obj["status"] == {}
    # an explicitly empty emptyDir is how a pod asks for an emptyDir volume
    spec = spec_of(pod(msg(1, ln(1, "scratch"), msg(2, msg(2)))))
    assert spec["volumes"] == [{"name": "scratch", "emptyDir": {}}]


def test_last_scalar_wins_and_repeated_singular_messages_merge() -> None:
    assert spec_of(deployment(vi(1, 3), vi(1, 5)))["replicas"] == 5
    # a second `strategy` merges into the first, as protobuf specifies
    spec = spec_of(deployment(msg(4, ln(1, "RollingUpdate")), msg(4, msg(2, msg(2, vi(1, 0), vi(2, 2))))))
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 2}}


# ---------------------------------------------------------------- typed values

def test_int_or_string() -> None:
    ru = msg(4, ln(1, "RollingUpdate"), msg(2, msg(1, vi(1, 1), vi(2, 0), ln(3, "25%")), msg(2, vi(1, 0), vi(2, 0))))
    strategy = spec_of(deployment(ru))["strategy"]
    assert strategy["rollingUpdate"] == {"maxUnavailable": "25%", "maxSurge": 0}  # pointer: 0 is kept
    # ServicePort.targetPort is a Go value: an unset (int 0) target port is omitted
    svc = envelope("v1", "Service", meta("s") + msg(2, msg(1, ln(1, ""), ln(2, "TCP"), vi(3, 80),
                                                            msg(4, vi(1, 0), vi(2, 0), ln(3, "")), vi(5, 0))))
    assert decode(svc)["spec"]["ports"] == [{"protocol": "TCP", "port": 80}]


def test_bad_int_or_string_type_is_400() -> None:
    with pytest.raises(BadRequest, match=r"spec\.strategy\.rollingUpdate\.maxSurge: int-or-string has unknown type 7"):
        decode(deployment(msg(4, msg(2, msg(2, vi(1, 7))))))


def test_negative_integers() -> None:
    body = pod(container("c"), vi(25, -5), msg(14, vi(2, -1)))  # priority int32, securityContext.runAsUser int64
    spec = spec_of(body)
    assert spec["priority"] == -5
    assert spec["securityContext"]["runAsUser"] == -1
    assert len(varint(-5)) == 10  # sign-extended on the wire, as Go writes it


def test_int64_extremes() -> None:
    spec = spec_of(pod(vi(5, 2**63 - 1), vi(4, -(2**63))))
    assert spec["activeDeadlineSeconds"] == 2**63 - 1
    assert spec["terminationGracePeriodSeconds"] == -(2**63)


def test_quantities_times_and_bytes() -> None:
    created = msg(8, vi(1, 1_700_000_000), vi(2, 123))
    deleted = msg(9, vi(1, 0))
    metadata = meta("p", entry(11, "app", "x")) + msg(1, created, deleted, vi(10, 0))
    # map<string, Quantity>: each entry's value is a Quantity message {string=1}
    body = pod(container("c", msg(8, entry(1, "cpu", ln(1, "500m")), entry(2, "memory", b""))), metadata=metadata)
    obj = decode(body)
    assert obj["metadata"]["creationTimestamp"] == "2023-11-14T22:13:20Z"
    assert obj["metadata"]["deletionTimestamp"] == "1970-01-01T00:00:00Z"
    assert obj["metadata"]["deletionGracePeriodSeconds"] == 0
    assert obj["metadata"]["labels"] == {"app": "x"}
    # a Quantity with no string is Go's zero quantity, "0"
    assert obj["spec"]["containers"][0]["resources"] == {"limits": {"cpu": "500m"}, "requests": {"memory": "0"}}
    secret = decode(envelope("v1", "Secret", meta("s") + entry(2, "bin", b"\x00\xff") + entry(2, "empty", b"")
                             + entry(4, "plain", "text") + ln(3, "Opaque") + vi(5, 0)))
    assert secret["data"] == {"bin": base64.b64encode(b"\x00\xff").decode(), "empty": ""}
    assert secret["stringData"] == {"plain": "text"}
    assert (secret["type"], secret["immutable"]) == ("Opaque", False)


def test_map_entry_without_key_or_value() -> None:
    obj = decode(envelope("v1", "ConfigMap", meta("c") + msg(2, ln(2, "v")) + msg(2, ln(1, "k"))))
    assert obj["data"] == {"": "v", "k": ""}


def test_packed_and_unpacked_repeated_integers() -> None:
    packed = ln(4, varint(4000) + varint(5000))
    unpacked = vi(4, 4000) + vi(4, 5000)
    for groups in (packed, unpacked):
        assert spec_of(pod(msg(14, groups)))["securityContext"]["supplementalGroups"] == [4000, 5000]


def test_managed_fields_v1_is_json() -> None:
    entry_ = msg(17, ln(1, "kubectl"), ln(2, "Update"), ln(3, "v1"), msg(4, vi(1, 86400)), ln(6, "FieldsV1"),
                 msg(7, ln(1, b'{"f:data":{".":{}}}')))
    obj = decode(envelope("v1", "ConfigMap", msg(1, ln(1, "c"), entry_)))
    assert obj["metadata"]["managedFields"] == [{
        "manager": "kubectl", "operation": "Update", "apiVersion": "v1", "time": "1970-01-02T00:00:00Z",
        "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {".": {}}}}]


def test_inline_structs_flatten_into_the_parent() -> None:
    probe = msg(10, msg(1, msg(2, ln(1, "/healthz"), msg(2, vi(1, 1), ln(3, "http")))), vi(2, 3))
    env = msg(7, ln(1, "A"), ln(2, ""), msg(3, msg(4, msg(1, ln(1, "sec")), ln(2, "k"), vi(3, 1))))
    spec = spec_of(pod(container("c", probe, env), msg(1, ln(1, "cfg"), msg(2, msg(19, msg(1, ln(1, "cm")),
                                                                                   vi(3, 0o644))))))
    c = spec["containers"][0]
    assert c["livenessProbe"] == {"httpGet": {"path": "/healthz", "port": "http"}, "initialDelaySeconds": 3}
    assert c["env"] == [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "k", "optional": True}}}]
    assert spec["volumes"] == [{"name": "cfg", "configMap": {"name": "cm", "defaultMode": 0o644}}]


def test_eviction_and_delete_options() -> None:
    body = envelope("policy/v1", "Eviction", meta("p") + msg(2, vi(1, 0), ln(5, "All"), ln(4, "Foreground")))
    assert decode(body) == {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "p"},
                            "deleteOptions": {"gracePeriodSeconds": 0, "dryRun": ["All"],
                                              "propagationPolicy": "Foreground"}}


def test_supported_kinds_cover_the_kubectl_create_commands() -> None:
    kinds = set(supported_kinds())
    assert {("apps/v1", "Deployment"), ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "Namespace"),
            ("v1", "Service"), ("v1", "ServiceAccount"), ("batch/v1", "Job"), ("batch/v1", "CronJob"),
            ("networking.k8s.io/v1", "Ingress"), ("policy/v1", "Eviction")} <= kinds


# ---------------------------------------------------------------- unknown fields

def test_unknown_field_numbers_are_skipped_and_reported_by_path() -> None:
    body = pod(
        container("a"),
        container("b", vi(77, 1), fixed32(78, 5)),
        msg(1, ln(1, "v"), msg(2, vi(99, 1))),     # inside the inline VolumeSource of volumes[0]
        fixed64(200, 1),
        metadata=meta("p", msg(11, ln(1, "k"), ln(2, "v"), vi(3, 9)), ln(15, "cluster")),
    )
    obj, unknown = decode_with_unknown(body)
    assert unknown == ["metadata.labels.#3", "metadata.#15", "spec.containers[1].#77", "spec.containers[1].#78",
                       "spec.volumes[0].#99", "spec.#200"]
    assert obj["spec"]["containers"] == [{"name": "a"}, {"name": "b"}]
    assert obj["metadata"] == {"name": "p", "labels": {"k": "v"}}
    assert decode(body) == obj


def test_top_level_unknown_field() -> None:
    _, unknown = decode_with_unknown(envelope("v1", "Namespace", meta("n") + ln(9, "x")))
    assert unknown == ["#9"]


# ---------------------------------------------------------------- the envelope and bad input

def test_unsupported_kind_message() -> None:
    with pytest.raises(UnsupportedMediaType) as e:
        decode(envelope("batch/v1", "Foo", b""))
    assert e.value.code == 415
    assert str(e.value) == ("protobuf bodies for batch/v1 Foo are not supported; "
                            "send JSON or YAML (kubectl create -f / apply -f)")


def test_known_kind_in_another_version_is_unsupported() -> None:
    with pytest.raises(UnsupportedMediaType, match="apps/v1beta2 Deployment"):
        decode(envelope("apps/v1beta2", "Deployment", b""))


def test_content_encoding_and_inner_content_type_are_415() -> None:
    with pytest.raises(UnsupportedMediaType, match="contentEncoding 'gzip'"):
        decode(envelope("v1", "ConfigMap", b"", encoding="gzip"))
    with pytest.raises(UnsupportedMediaType, match="application/json"):
        decode(envelope("v1", "ConfigMap", b"{}", content_type="application/json"))
    # naming protobuf itself is fine
    assert decode(envelope("v1", "ConfigMap", meta("c"), content_type="application/vnd.kubernetes.protobuf"))


def test_missing_magic_or_type_meta_is_400() -> None:
    with pytest.raises(BadRequest, match="magic"):
        decode(b'{"kind": "ConfigMap"}')
    with pytest.raises(BadRequest, match="no kind"):
        decode(envelope("v1", "", b""))
    with pytest.raises(BadRequest, match="no apiVersion"):
        decode(envelope("", "ConfigMap", b""))
    with pytest.raises(BadRequest, match="no kind"):
        decode(b"k8s\x00")


@pytest.mark.parametrize("body, match", [
    (b"k8s\x00" + key(1, 2) + varint(50) + b"short", "claims 50 bytes"),
    (b"k8s\x00\x0a", "truncated varint"),
    (b"k8s\x00" + key(2, 3), "wire type 3"),
    (b"k8s\x00" + key(1, 0) + varint(1), "must be length-delimited"),
])
def test_malformed_envelope_is_400(body: bytes, match: str) -> None:
    with pytest.raises(BadRequest, match=match):
        decode(body)


@pytest.mark.parametrize("raw, match", [
    (msg(1, vi(1, 5)), r"Deployment in version \"apps/v1\" cannot be decoded from protobuf: metadata\.name: "
                       r"expected a length-delimited string, got varint"),
    (msg(2, ln(1, "three")), r"spec\.replicas: expected a varint for int32, got length-delimited"),
    (msg(1, ln(1, b"\xff\xfe")), r"metadata\.name: string is not valid UTF-8"),
    (msg(2, msg(2, entry(1, "k", b"\xc3"))), r"spec\.selector\.matchLabels\[k\]: string is not valid UTF-8"),
    (msg(2) + key(3, 2) + varint(10), "claims 10 bytes"),
    (msg(2, key(1, 0) + b"\xff" * 11), "longer than 10 bytes"),
    (msg(2, key(1, 0) + b"\xff" * 9 + b"\x02"), "overflows 64 bits"),
    (msg(2, key(0, 0) + b"\x00"), "invalid field number 0"),
])
def test_malformed_message_is_400(raw: bytes, match: str) -> None:
    with pytest.raises(BadRequest, match=match) as e:
        decode(envelope("apps/v1", "Deployment", raw))
    assert e.value.code == 400
    assert "\n" not in e.value.message


def test_delete_options_decode_in_any_group_version() -> None:
    for api_version in ("v1", "apps/v1", "meta.k8s.io/v1"):
        body = envelope(api_version, "DeleteOptions", vi(1, 30) + msg(2, ln(1, "uid-1")) + ln(4, "Orphan"))
        assert decode(body) == {"apiVersion": api_version, "kind": "DeleteOptions", "gracePeriodSeconds": 30,
                                "preconditions": {"uid": "uid-1"}, "propagationPolicy": "Orphan"}


def test_scale() -> None:
    body = envelope("autoscaling/v1", "Scale", meta("web") + msg(2, vi(1, 4)) + msg(3, vi(1, 0), ln(2, "")))
    assert decode(body) == {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web"},
                            "spec": {"replicas": 4}, "status": {"replicas": 0}}


def test_time_edges() -> None:
    def created(*fields: bytes) -> Any:
        return decode(envelope("v1", "ConfigMap", msg(1, ln(1, "c"), msg(8, *fields))))["metadata"]
    assert created(vi(1, -62135596800)) == {"name": "c", "creationTimestamp": "0001-01-01T00:00:00Z"}
    latest = created(vi(1, 253402300799), vi(2, 999_999_999))
    assert latest == {"name": "c", "creationTimestamp": "9999-12-31T23:59:59Z"}  # seconds precision, as Go's JSON
    assert created() == {"name": "c"}  # Go's zero time is written as an empty message
    with pytest.raises(BadRequest, match="out of range"):
        created(vi(1, 2**62))
