"""Pod validation: metadata names and labels, containers, ports, probes, resources, volumes,
scheduling fields, and the pod update rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from core.defaults import apply_defaults
from core.validation import validate, validate_status_update

from .helpers import SEED_POD, admit, fields, kind, load, one, pod
from .test_fields import RICH_POD

SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                 "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                 "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
             "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')")


def causes_of(obj: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c.field, c.message) for c in admit(obj)]


def test_seed_pod_and_rich_pod_are_valid() -> None:
    assert admit(load(SEED_POD)) == []
    assert admit(copy.deepcopy(RICH_POD)) == []


# ---- metadata ---------------------------------------------------------------------------------------


def test_bad_pod_name_gives_kubernetes_cause() -> None:
    obj = pod()
    obj["metadata"]["name"] = "My_Pod"
    cause = one(admit(obj))
    assert (cause.field, cause.message, cause.reason) == (
        "metadata.name", f'Invalid value: "My_Pod": {SUBDOMAIN_MSG}', "FieldValueInvalid")


def test_name_required_unless_generate_name() -> None:
    obj = pod()
    del obj["metadata"]["name"]
    cause = one(admit(obj))
    assert (cause.field, cause.message, cause.reason) == (
        "metadata.name", "Required value: name or generateName is required", "FieldValueRequired")
    obj["metadata"]["generateName"] = "web-"
    assert admit(obj) == []
    obj["metadata"]["generateName"] = "Web-"
    assert fields(admit(obj)) == ["metadata.generateName"]


def test_long_names_and_namespace() -> None:
    obj = pod()
    obj["metadata"]["name"] = "a" * 254
    assert causes_of(obj) == [("metadata.name", f'Invalid value: "{"a" * 254}": must be no more than 253 characters')]
    obj = pod()
    del obj["metadata"]["namespace"]
    assert causes_of(obj) == [("metadata.namespace", "Required value")]
    obj["metadata"]["namespace"] = "Team.A"
    assert fields(admit(obj)) == ["metadata.namespace"]


@pytest.mark.parametrize(("labels", "expected"), [
    ({"app": "web", "example.com/tier": "front_end.1"}, []),
    ({"bad key": "x"}, ["metadata.labels"]),
    ({"a/b/c": "x"}, ["metadata.labels"]),
    ({"/x": "x"}, ["metadata.labels"]),
    ({"app": "-web"}, ["metadata.labels"]),
    ({"app": "x" * 64}, ["metadata.labels"]),
    ({"app": ""}, []),
])
def test_label_syntax(labels: dict[str, str], expected: list[str]) -> None:
    obj = pod()
    obj["metadata"]["labels"] = labels
    assert fields(admit(obj)) == expected


def test_label_messages_are_kubernetes() -> None:
    obj = pod()
    obj["metadata"]["labels"] = {"app": "-web"}
    assert one(admit(obj)).message == (
        'Invalid value: "-web": a valid label must be an empty string or consist of alphanumeric characters, '
        "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  "
        "or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
    obj["metadata"]["labels"] = {"example.com/": "x"}
    first, second = admit(obj)
    assert first.message == 'Invalid value: "example.com/": name part must be non-empty'
    assert second.message.startswith('Invalid value: "example.com/": name part must consist of alphanumeric')


def test_annotations_owner_references_and_finalizers() -> None:
    obj = pod()
    obj["metadata"].update(annotations={"Example.COM/Key": "ok", "bad key": "x"},
                           ownerReferences=[{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs"}],
                           finalizers=["example.com/x", "custom"])
    assert causes_of(obj) == [
        ("metadata.annotations", 'Invalid value: "bad key": name part must consist of alphanumeric characters, '
         "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  "
         "or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"),
        ("metadata.ownerReferences.uid", 'Invalid value: "": uid must not be empty'),
        ("metadata.finalizers[1]", 'Invalid value: "custom": name is neither a standard finalizer name nor is it '
                                   "fully qualified"),
    ]
    obj["metadata"]["annotations"] = {"big": "x" * (256 * 1024)}
    obj["metadata"].pop("ownerReferences"), obj["metadata"].pop("finalizers")
    assert causes_of(obj) == [("metadata.annotations", "Too long: may not be more than 262144 bytes")]


# ---- containers ----------------------------------------------------------------------------------------


def test_containers_required() -> None:
    assert causes_of(pod(containers=[])) == [("spec.containers", "Required value")]


def test_container_name_image_and_uniqueness() -> None:
    obj = pod(containers=[{"name": "web", "image": "a"}, {"name": "web", "image": ""}, {"name": "Bad.Name", "image": "b"},
                          {"image": "c"}])
    assert causes_of(obj) == [
        ("spec.containers[1].image", "Required value"),
        ("spec.containers[1].name", 'Duplicate value: "web"'),
        ("spec.containers[2].name", 'Invalid value: "Bad.Name": ' + LABEL_MSG),
        ("spec.containers[3].name", "Required value"),
    ]


def test_init_container_names_must_not_clash_with_containers() -> None:
    obj = pod(initContainers=[{"name": "app", "image": "busybox", "readinessProbe": {"exec": {"command": ["x"]}}}])
    assert causes_of(obj) == [
        ("spec.initContainers[0].name", 'Duplicate value: "app"'),
        ("spec.initContainers[0].readinessProbe", "Forbidden: may not be set for init containers"),
    ]


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("imagePullPolicy", "Sometimes",
     'Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"'),
    ("terminationMessagePolicy", "Never",
     'Unsupported value: "Never": supported values: "File", "FallbackToLogsOnError"'),
])
def test_container_enums(field: str, value: str, expected: str) -> None:
    obj = pod()
    obj["spec"]["containers"][0][field] = value
    assert causes_of(obj) == [(f"spec.containers[0].{field}", expected)]


@pytest.mark.parametrize(("spec_field", "value", "expected"), [
    ("restartPolicy", "Sometimes", 'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'),
    ("dnsPolicy", "Google", 'Unsupported value: "Google": supported values: "ClusterFirstWithHostNet", '
                            '"ClusterFirst", "Default", "None"'),
    ("activeDeadlineSeconds", 0, "Invalid value: 0: must be between 1 and 2147483647, inclusive"),
    ("preemptionPolicy", "Always", 'Unsupported value: "Always": supported values: "Never", "PreemptLowerPriority"'),
    ("hostname", "a.b", 'Invalid value: "a.b": must not contain dots'),
    ("nodeName", "Node_1", f'Invalid value: "Node_1": {SUBDOMAIN_MSG}'),
])
def test_pod_spec_fields(spec_field: str, value: Any, expected: str) -> None:
    assert causes_of(pod(**{spec_field: value})) == [(f"spec.{spec_field}", expected)]


@pytest.mark.parametrize(("ports", "expected"), [
    ([{"containerPort": 80, "name": "http"}, {"containerPort": 443, "name": "https", "protocol": "UDP"}], []),
    ([{"containerPort": 0}], [("spec.containers[0].ports[0].containerPort", "Required value")]),
    ([{"containerPort": 70000}],
     [("spec.containers[0].ports[0].containerPort", "Invalid value: 70000: must be between 1 and 65535, inclusive")]),
    ([{"containerPort": 80, "hostPort": -1}],
     [("spec.containers[0].ports[0].hostPort", "Invalid value: -1: must be between 1 and 65535, inclusive")]),
    ([{"containerPort": 80, "protocol": "HTTP"}],
     [("spec.containers[0].ports[0].protocol", 'Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"')]),
    ([{"containerPort": 80, "name": "http"}, {"containerPort": 81, "name": "http"}],
     [("spec.containers[0].ports[1].name", 'Duplicate value: "http"')]),
    ([{"containerPort": 80, "name": "a-very-long-port-name"}],
     [("spec.containers[0].ports[0].name", 'Invalid value: "a-very-long-port-name": must be no more than 15 characters')]),
    ([{"containerPort": 80, "name": "8080"}],
     [("spec.containers[0].ports[0].name", 'Invalid value: "8080": must contain at least one letter (a-z)')]),
    ([{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81, "hostPort": 8080}],
     [("spec.containers[0].ports[1].hostPort", 'Duplicate value: "/TCP/8080"')]),
])
def test_container_ports(ports: list[dict[str, Any]], expected: list[tuple[str, str]]) -> None:
    obj = pod()
    obj["spec"]["containers"][0]["ports"] = ports
    assert causes_of(obj) == expected


def test_env_rules() -> None:
    obj = pod()
    obj["spec"]["containers"][0]["env"] = [
        {"name": "OK", "value": "1"}, {"name": "", "value": "x"}, {"name": "A=B"},
        {"name": "BOTH", "value": "v", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NONE", "valueFrom": {}},
        {"name": "KEY", "valueFrom": {"secretKeyRef": {"name": "s"}}},
    ]
    assert causes_of(obj) == [
        ("spec.containers[0].env[1].name", "Required value"),
        ("spec.containers[0].env[2].name", 'Invalid value: "A=B": a valid environment variable name must consist '
                                           "only of printable ASCII characters other than '='"),
        ("spec.containers[0].env[3].valueFrom", 'Invalid value: "": may not be specified when `value` is not empty'),
        ("spec.containers[0].env[4].valueFrom", 'Invalid value: "": must specify one of: `fieldRef`, '
                                                "`resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"),
        ("spec.containers[0].env[5].valueFrom.secretKeyRef.key", "Required value"),
    ]


def test_resources() -> None:
    obj = pod()
    obj["spec"]["containers"][0]["resources"] = {
        "limits": {"cpu": "500m", "memory": "128Mi", "nvidia.com/gpu": 1},
        "requests": {"cpu": "1", "memory": "-1", "gpu": "1", "nvidia.com/gpu": 2}}
    assert causes_of(obj) == [
        ("spec.containers[0].resources.requests", 'Invalid value: "1": must be less than or equal to cpu limit of 500m'),
        ("spec.containers[0].resources.requests[memory]", 'Invalid value: "-1": must be greater than or equal to 0'),
        ("spec.containers[0].resources.requests[gpu]", 'Invalid value: "gpu": must be a standard resource for containers'),
        ("spec.containers[0].resources.requests", 'Invalid value: "2": must be equal to nvidia.com/gpu limit of 1'),
    ]
    ok = pod()
    ok["spec"]["containers"][0]["resources"] = {"limits": {"cpu": 1, "memory": "1Gi"}, "requests": {"cpu": "0.5"}}
    assert admit(ok) == []


def test_probes() -> None:
    obj = pod()
    c = obj["spec"]["containers"][0]
    c["livenessProbe"] = {"exec": {"command": ["true"]}, "httpGet": {"port": 80}, "successThreshold": 2}
    c["readinessProbe"] = {"periodSeconds": -1}
    c["startupProbe"] = {"httpGet": {"port": 0, "scheme": "FTP"}}
    assert causes_of(obj) == [
        ("spec.containers[0].livenessProbe.httpGet", "Forbidden: may not specify more than 1 handler type"),
        ("spec.containers[0].livenessProbe.successThreshold", "Invalid value: 2: must be 1"),
        ("spec.containers[0].readinessProbe", "Required value: must specify a handler type"),
        ("spec.containers[0].readinessProbe.periodSeconds", "Invalid value: -1: must be greater than or equal to 0"),
        ("spec.containers[0].startupProbe.httpGet.port", "Invalid value: 0: must be between 1 and 65535, inclusive"),
        ("spec.containers[0].startupProbe.httpGet.scheme", 'Unsupported value: "FTP": supported values: "HTTP", "HTTPS"'),
    ]


def test_volumes_and_mounts() -> None:
    obj = pod(volumes=[{"name": "data", "emptyDir": {}}, {"name": "data", "emptyDir": {}},
                       {"name": "two", "emptyDir": {}, "hostPath": {"path": "/x"}},
                       {"name": "cfg", "configMap": {"defaultMode": 1000}},
                       {"name": "claim", "persistentVolumeClaim": {}}])
    obj["spec"]["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/d"},
                                                    {"name": "missing", "mountPath": "/d"}, {"name": "data"}]
    assert causes_of(obj) == [
        ("spec.volumes[1].name", 'Duplicate value: "data"'),
        ("spec.volumes[2].emptyDir", "Forbidden: may not specify more than 1 volume type"),
        ("spec.volumes[3].configMap.name", "Required value"),
        ("spec.volumes[3].configMap.defaultMode",
         "Invalid value: 1000: must be a number between 0 and 0777 (octal), both inclusive"),
        ("spec.volumes[4].persistentVolumeClaim.claimName", "Required value"),
        ("spec.containers[0].volumeMounts[1].name", 'Not found: "missing"'),
        ("spec.containers[0].volumeMounts[1].mountPath", 'Invalid value: "/d": must be unique'),
        ("spec.containers[0].volumeMounts[2].mountPath", "Required value"),
    ]


def test_tolerations_and_spread_constraints() -> None:
    obj = pod(tolerations=[{"key": "a", "operator": "Maybe"}, {"operator": "Equal", "value": "x"},
                           {"key": "b", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 5},
                           {"key": "c", "effect": "Sometimes"}],
              topologySpreadConstraints=[{"maxSkew": 0, "topologyKey": "", "whenUnsatisfiable": "Maybe"}])
    assert causes_of(obj) == [
        ("spec.tolerations[0].operator", 'Unsupported value: "Maybe": supported values: "Equal", "Exists"'),
        ("spec.tolerations[1].operator", 'Invalid value: "Equal": operator must be Exists when `key` is empty, which '
                                         'means "match all values and all keys"'),
        ("spec.tolerations[2].effect", "Invalid value: \"NoSchedule\": effect must be 'NoExecute' when "
                                       "`tolerationSeconds` is set"),
        ("spec.tolerations[3].effect", 'Unsupported value: "Sometimes": supported values: "NoSchedule", '
                                       '"PreferNoSchedule", "NoExecute"'),
        ("spec.topologySpreadConstraints[0].maxSkew", "Invalid value: 0: must be greater than zero"),
        ("spec.topologySpreadConstraints[0].topologyKey", "Required value: can not be empty"),
        ("spec.topologySpreadConstraints[0].whenUnsatisfiable",
         'Unsupported value: "Maybe": supported values: "DoNotSchedule", "ScheduleAnyway"'),
    ]


def test_ephemeral_containers_cannot_be_set_on_create() -> None:
    obj = pod(ephemeralContainers=[{"name": "debug", "image": "busybox"}])
    assert causes_of(obj) == [("spec.ephemeralContainers", "Forbidden: cannot be set on create")]


def test_wrong_types_reach_validate_as_type_causes() -> None:
    obj = pod()
    obj["spec"]["containers"] = "nginx"
    causes = validate(kind("Pod"), obj)
    assert [c.reason for c in causes] == ["FieldValueTypeInvalid"]


# ---- updates ---------------------------------------------------------------------------------------------


def running_pod() -> dict[str, Any]:
    obj = pod(activeDeadlineSeconds=100, tolerations=[{"key": "k", "operator": "Exists", "effect": "NoExecute",
                                                       "tolerationSeconds": 60}])
    apply_defaults(kind("Pod"), obj)
    return obj


def test_allowed_pod_updates() -> None:
    old = running_pod()
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "nginx:1.26"
    new["spec"]["activeDeadlineSeconds"] = 50
    new["spec"]["tolerations"][0]["tolerationSeconds"] = 30
    new["spec"]["tolerations"].append({"key": "extra", "operator": "Exists"})
    new["metadata"]["labels"] = {"new": "label"}
    assert validate(kind("Pod"), new, old) == []


def test_forbidden_pod_update() -> None:
    old = running_pod()
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "protocol": "TCP"}]
    cause = one(validate(kind("Pod"), new, old))
    assert (cause.field, cause.reason) == ("spec", "FieldValueForbidden")
    assert cause.message == (
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing "
        "tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)")


@pytest.mark.parametrize(("change", "expected"), [
    (lambda s: s["containers"].append({"name": "b", "image": "b", "imagePullPolicy": "Always",
                                       "terminationMessagePolicy": "File"}),
     [("spec.containers", "Forbidden: pod updates may not add or remove containers")]),
    (lambda s: s.update(activeDeadlineSeconds=200),
     [("spec.activeDeadlineSeconds", "Invalid value: 200: must be less than or equal to previous value")]),
    (lambda s: s.pop("activeDeadlineSeconds"),
     [("spec.activeDeadlineSeconds", "Invalid value: null: must not update from a positive integer to nil value")]),
    (lambda s: s["tolerations"].pop(0),
     [("spec.tolerations", "Forbidden: existing toleration can not be modified except its tolerationSeconds")]),
    (lambda s: s["containers"][0].update(image=" nginx"),
     [("spec.containers[0].image", 'Invalid value: " nginx": must not have leading or trailing whitespace')]),
    (lambda s: s.update(terminationGracePeriodSeconds=5),
     [("spec", "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
               "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
               "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
               "previously negative)")]),
])
def test_pod_update_rules(change: Any, expected: list[tuple[str, str]]) -> None:
    old = running_pod()
    new = copy.deepcopy(old)
    change(new["spec"])
    assert [(c.field, c.message) for c in validate(kind("Pod"), new, old)] == expected


def test_negative_grace_may_become_one() -> None:
    old = running_pod()
    old["spec"]["terminationGracePeriodSeconds"] = -1
    new = copy.deepcopy(old)
    new["spec"]["terminationGracePeriodSeconds"] = 1
    assert validate(kind("Pod"), new, old) == []


def test_pod_status_updates() -> None:
    old = running_pod()
    new = copy.deepcopy(old)
    new["status"] = {"phase": "Running", "podIP": "10.1.0.4", "podIPs": [{"ip": "10.1.0.4"}], "hostIP": "192.168.0.1"}
    assert validate_status_update(kind("Pod"), new, old) == []
    new["status"]["podIPs"] = [{"ip": "10.1.0.999"}]
    new["spec"]["nodeName"] = "n1"
    assert fields(validate_status_update(kind("Pod"), new, old)) == [
        "status.nodeName", "status.podIPs[0]", "status.podIPs[0]"]


def test_update_compares_against_the_defaulted_old_version() -> None:
    stored = pod()  # written before defaulting existed: no defaults at all
    new = copy.deepcopy(stored)
    new["spec"]["containers"][0]["image"] = "nginx:1.26"
    apply_defaults(kind("Pod"), new)
    assert validate(kind("Pod"), new, stored) == []
    assert stored == pod(), "validation never mutates its inputs"
