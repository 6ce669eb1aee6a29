"""Workload validation: the seed ReplicaSet's exact 422, Deployments, DaemonSets, StatefulSets, Jobs,
CronJobs, controller revisions, and selector immutability."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from core.defaults import apply_defaults
from core.errors import Cause, invalid
from core.validation import validate, validate_status_update

from .helpers import SEED_DEPLOYMENT_FIXED, SEED_RS, admit, deployment, fields, kind, load, one

SEED_CAUSE = Cause(
    field="spec.template.metadata.labels",
    message='Invalid value: map[string]string{"app":"nginx-container"}: `selector` does not match template `labels`',
    reason="FieldValueInvalid",
)


def test_seed_replica_set_gives_exactly_kubernetes_cause() -> None:
    causes = admit(load(SEED_RS))
    assert causes == [SEED_CAUSE]
    err = invalid("ReplicaSet", "myapp-rs", causes, "apps")
    assert err.code == 422
    assert err.message == ('ReplicaSet.apps "myapp-rs" is invalid: spec.template.metadata.labels: Invalid value: '
                           'map[string]string{"app":"nginx-container"}: `selector` does not match template `labels`')
    assert err.to_status()["details"]["causes"] == [SEED_CAUSE.to_dict()]


def test_seed_deployment_with_fixed_indentation_has_the_same_mistake() -> None:
    assert admit(load(SEED_DEPLOYMENT_FIXED)) == [SEED_CAUSE]


@pytest.mark.parametrize("text", [SEED_RS, SEED_DEPLOYMENT_FIXED])
def test_corrected_seed_workloads_pass(text: str) -> None:
    obj = load(text)
    obj["spec"]["selector"] = {"matchLabels": {"app": "nginx-container"}}
    assert admit(obj) == []


def test_missing_selector_gives_required_and_mismatch() -> None:
    obj = deployment()
    del obj["spec"]["selector"]
    causes = admit(obj)
    assert [(c.field, c.message) for c in causes] == [
        ("spec.selector", "Required value"),
        ("spec.template.metadata.labels", 'Invalid value: map[string]string{"app":"web"}: '
                                          "`selector` does not match template `labels`"),
    ]


def test_empty_selector_is_invalid() -> None:
    cause = one(admit(deployment(selector={})))
    assert cause.field == "spec.selector"
    assert cause.message == ("Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
                             "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment")


def test_match_expressions_select_templates() -> None:
    sel = {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]},
                                {"key": "canary", "operator": "DoesNotExist"}]}
    assert admit(deployment(selector=sel)) == []
    bad = {"matchExpressions": [{"key": "app", "operator": "Near", "values": ["web"]}]}
    causes = admit(deployment(selector=bad))
    assert fields(causes) == ["spec.selector.matchExpressions[0].operator", "spec.selector"]
    assert causes[1].message.endswith(": invalid label selector")
    no_values = {"matchExpressions": [{"key": "app", "operator": "In"}]}
    assert admit(deployment(selector=no_values))[0].message == (
        "Required value: must be specified when `operator` is 'In' or 'NotIn'")


def test_negative_replicas() -> None:
    cause = one(admit(deployment(replicas=-1)))
    assert (cause.field, cause.message, cause.reason) == (
        "spec.replicas", "Invalid value: -1: must be greater than or equal to 0", "FieldValueInvalid")


def test_unknown_strategy_type() -> None:
    cause = one(admit(deployment(strategy={"type": "Foo"})))
    assert (cause.field, cause.message, cause.reason) == (
        "spec.strategy.type", 'Unsupported value: "Foo": supported values: "Recreate", "RollingUpdate"',
        "FieldValueNotSupported")


def test_rolling_update_with_recreate_is_forbidden() -> None:
    cause = one(admit(deployment(strategy={"type": "Recreate", "rollingUpdate": {"maxSurge": 1}})))
    assert (cause.field, cause.message, cause.reason) == (
        "spec.strategy.rollingUpdate", "Forbidden: may not be specified when strategy `type` is 'Recreate'",
        "FieldValueForbidden")


@pytest.mark.parametrize(("rolling", "expected"), [
    ({"maxSurge": 0, "maxUnavailable": 0},
     [("spec.strategy.rollingUpdate.maxUnavailable",
       'Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0')]),
    ({"maxSurge": "0%", "maxUnavailable": "0%"},
     [("spec.strategy.rollingUpdate.maxUnavailable",
       'Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"0%"}: may not be 0 when `maxSurge` is 0')]),
    ({"maxUnavailable": "150%"},
     [("spec.strategy.rollingUpdate.maxUnavailable",
       'Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"150%"}: must not be greater than 100%')]),
    ({"maxSurge": "abc"},
     [("spec.strategy.rollingUpdate.maxSurge",
       'Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"abc"}: a valid percent string must be a numeric '
       "string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")]),
    ({"maxSurge": -1}, [("spec.strategy.rollingUpdate.maxSurge", "Invalid value: -1: must be greater than or equal to 0")]),
    ({"maxSurge": 3, "maxUnavailable": "100%"}, []),
])
def test_rolling_update_parameters(rolling: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    causes = admit(deployment(strategy={"type": "RollingUpdate", "rollingUpdate": rolling}))
    assert [(c.field, c.message) for c in causes] == expected


def test_progress_deadline_and_history() -> None:
    causes = admit(deployment(minReadySeconds=700, revisionHistoryLimit=-2))
    assert [(c.field, c.message) for c in causes] == [
        ("spec.revisionHistoryLimit", "Invalid value: -2: must be greater than or equal to 0"),
        ("spec.progressDeadlineSeconds", "Invalid value: 600: must be greater than minReadySeconds"),
    ]


def test_template_must_restart_always_and_have_no_deadline() -> None:
    obj = deployment()
    obj["spec"]["template"]["spec"].update(restartPolicy="OnFailure", activeDeadlineSeconds=5)
    causes = admit(obj)
    assert [(c.field, c.message) for c in causes] == [
        ("spec.template.spec.restartPolicy", 'Unsupported value: "OnFailure": supported values: "Always"'),
        ("spec.template.spec.activeDeadlineSeconds", "Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported"),
    ]


def test_template_pod_spec_is_validated_with_template_paths() -> None:
    obj = deployment()
    obj["spec"]["template"]["metadata"]["labels"]["bad key!"] = "x"
    obj["spec"]["selector"]["matchLabels"] = {"app": "web"}
    obj["spec"]["template"]["spec"]["containers"][0]["name"] = "Web"
    causes = admit(obj)
    assert fields(causes) == ["spec.template.labels", "spec.template.spec.containers[0].name"]


def test_selector_is_immutable_on_update() -> None:
    old = deployment()
    apply_defaults(kind("Deployment"), old)
    new = copy.deepcopy(old)
    new["spec"]["selector"] = {"matchLabels": {"app": "web", "tier": "x"}}
    new["spec"]["template"]["metadata"]["labels"]["tier"] = "x"
    cause = one(validate(kind("Deployment"), new, old))
    assert cause.field == "spec.selector"
    assert cause.message == ('Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"x"}, '
                             "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable")
    scaled = copy.deepcopy(old)
    scaled["spec"]["replicas"] = 10
    scaled["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
    assert validate(kind("Deployment"), scaled, old) == []


@pytest.mark.parametrize("kind_name", ["ReplicaSet", "DaemonSet"])
def test_other_selectors_are_immutable(kind_name: str) -> None:
    old: dict[str, Any] = {"apiVersion": "apps/v1", "kind": kind_name, "metadata": {"name": "x", "namespace": "default"},
           "spec": {"selector": {"matchLabels": {"a": "b"}},
                    "template": {"metadata": {"labels": {"a": "b", "c": "d"}},
                                 "spec": {"containers": [{"name": "c", "image": "i:1"}]}}}}
    assert admit(old) == []
    new = copy.deepcopy(old)
    new["spec"]["selector"]["matchLabels"]["c"] = "d"
    assert fields(validate(kind(kind_name), new, old)) == ["spec.selector"]


def test_replica_set_status_updates() -> None:
    rs = load(SEED_RS)
    rs["spec"]["selector"] = {"matchLabels": {"app": "nginx-container"}}
    apply_defaults(kind("ReplicaSet"), rs)
    new = copy.deepcopy(rs)
    new["status"] = {"replicas": 2, "readyReplicas": 3, "availableReplicas": 1, "observedGeneration": -1}
    causes = validate_status_update(kind("ReplicaSet"), new, rs)
    assert [(c.field, c.message) for c in causes] == [
        ("status.observedGeneration", "Invalid value: -1: must be greater than or equal to 0"),
        ("status.readyReplicas", "Invalid value: 3: cannot be greater than status.replicas"),
    ]
    new["status"] = {"replicas": 3, "readyReplicas": 3, "availableReplicas": 3, "fullyLabeledReplicas": 3}
    assert validate_status_update(kind("ReplicaSet"), new, rs) == []


def test_deployment_status_collision_count_cannot_decrease() -> None:
    old = deployment(); old["status"] = {"collisionCount": 2}
    new = deployment(); new["status"] = {"collisionCount": 1}
    assert one(validate_status_update(kind("Deployment"), new, old)).message == (
        "Invalid value: 1: cannot be decremented")


# ---- DaemonSet ------------------------------------------------------------------------------------


def daemon_set(**spec: Any) -> dict[str, Any]:
    body = {"selector": {"matchLabels": {"app": "agent"}},
            "template": {"metadata": {"labels": {"app": "agent"}},
                         "spec": {"containers": [{"name": "agent", "image": "agent:1"}]}}}
    body.update(spec)
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "kube-system"},
            "spec": body}


def test_daemon_set_valid_and_strategy_rules() -> None:
    assert admit(daemon_set()) == []
    assert admit(daemon_set(updateStrategy={"type": "OnDelete"})) == []
    assert [(c.field, c.message) for c in admit(daemon_set(updateStrategy={"type": "Sometimes"}))] == [
        ("spec.updateStrategy.type", 'Unsupported value: "Sometimes": supported values: "RollingUpdate", "OnDelete"')]
    both = daemon_set(updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}})
    assert one(admit(both)).message == ("Invalid value: intstr.IntOrString{Type:0, IntVal:1, StrVal:\"\"}: "
                                        "may not be set when maxUnavailable is non-zero")
    neither = daemon_set(updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}})
    assert (one(admit(neither)).field, one(admit(neither)).message) == (
        "spec.updateStrategy.rollingUpdate.maxUnavailable", "Required value: cannot be 0 when maxSurge is 0")


def test_daemon_set_selector_mismatch_and_missing() -> None:
    obj = daemon_set(selector={"matchLabels": {"app": "other"}})
    assert fields(admit(obj)) == ["spec.template.metadata.labels"]
    obj = daemon_set()
    del obj["spec"]["selector"]
    assert fields(admit(obj)) == ["spec.template.metadata.labels"]
    assert one(admit(daemon_set(selector={}))).message.endswith("empty selector is invalid for daemonset")


# ---- StatefulSet ------------------------------------------------------------------------------------


def stateful_set(**spec: Any) -> dict[str, Any]:
    body = {"serviceName": "db", "replicas": 3, "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}},
                         "spec": {"containers": [{"name": "db", "image": "postgres:16",
                                                  "volumeMounts": [{"name": "data", "mountPath": "/var/lib/pg"}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}
    body.update(spec)
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "default"},
            "spec": body}


def test_stateful_set_valid_and_enum_rules() -> None:
    obj = stateful_set()
    assert admit(obj) == []
    causes = admit(stateful_set(podManagementPolicy="Random", updateStrategy={"type": "Whenever"}))
    assert [(c.field, c.message) for c in causes] == [
        ("spec.podManagementPolicy", "Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'"),
        ("spec.updateStrategy.type", 'Unsupported value: "Whenever": supported values: "RollingUpdate", "OnDelete"'),
    ]
    partition = stateful_set(updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": -1}})
    assert one(admit(partition)).field == "spec.updateStrategy.rollingUpdate.partition"


def test_stateful_set_volume_claim_templates_are_validated() -> None:
    obj = stateful_set(volumeClaimTemplates=[{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}])
    assert fields(admit(obj)) == ["spec.volumeClaimTemplates[0].spec.resources[storage]"]


def test_stateful_set_updates_limited_to_known_fields() -> None:
    old = stateful_set()
    apply_defaults(kind("StatefulSet"), old)
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 5
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "postgres:17"
    assert validate(kind("StatefulSet"), new, old) == []
    new["spec"]["serviceName"] = "other"
    cause = one(validate(kind("StatefulSet"), new, old))
    assert cause.field == "spec"
    assert cause.message.startswith("Forbidden: updates to statefulset spec for fields other than 'replicas'")


# ---- Job and CronJob ----------------------------------------------------------------------------------


def job(**spec: Any) -> dict[str, Any]:
    body = {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl:5.34"}]}}}
    body.update(spec)
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "pi", "namespace": "default", "uid": "0b5b1f63-1d1c-4f6e-9d9a-8b8b8b8b8b8b"},
            "spec": body}


def test_job_with_generated_selector_passes() -> None:
    assert admit(job()) == []


def test_job_restart_policy_and_counts() -> None:
    obj = job(parallelism=-1, backoffLimit=-1)
    obj["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    causes = admit(obj)
    assert [(c.field, c.message) for c in causes] == [
        ("spec.parallelism", "Invalid value: -1: must be greater than or equal to 0"),
        ("spec.backoffLimit", "Invalid value: -1: must be greater than or equal to 0"),
        ("spec.template.spec.restartPolicy", 'Unsupported value: "Always": supported values: "OnFailure", "Never"'),
    ]


def test_job_without_uid_or_selector_is_invalid() -> None:
    obj = job()
    del obj["metadata"]["uid"]
    assert fields(admit(obj)) == ["spec.selector"]


def test_job_manual_selector_must_match() -> None:
    obj = job(manualSelector=True, selector={"matchLabels": {"app": "x"}})
    obj["spec"]["template"]["metadata"] = {"labels": {"app": "y"}}
    assert fields(admit(obj)) == ["spec.template.metadata.labels"]


def test_job_template_and_selector_are_immutable() -> None:
    old = job()
    apply_defaults(kind("Job"), old)
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "perl:6"
    new["spec"]["completions"] = 4
    assert fields(validate(kind("Job"), new, old)) == ["spec.completions", "spec.template"]
    ok = copy.deepcopy(old)
    ok["spec"]["suspend"] = True
    ok["spec"]["parallelism"] = 3
    assert validate(kind("Job"), ok, old) == []


def test_suspended_job_may_change_scheduling_directives() -> None:
    old = job(suspend=True)
    apply_defaults(kind("Job"), old)
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["nodeSelector"] = {"zone": "a"}
    assert validate(kind("Job"), new, old) == []


def cron_job(**spec: Any) -> dict[str, Any]:
    body = {"schedule": "*/5 * * * *",
            "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure",
                                                           "containers": [{"name": "c", "image": "busybox:1"}]}}}}}
    body.update(spec)
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick", "namespace": "default"},
            "spec": body}


def test_cron_job_valid() -> None:
    assert admit(cron_job()) == []
    assert admit(cron_job(schedule="@hourly", timeZone="Europe/Paris", concurrencyPolicy="Forbid")) == []


@pytest.mark.parametrize(("spec", "expected"), [
    ({"schedule": "every minute"},
     [("spec.schedule", 'Invalid value: "every minute": expected exactly 5 fields, found 2: [every minute]')]),
    ({"schedule": "61 * * * *"},
     [("spec.schedule", 'Invalid value: "61 * * * *": end of range (61) above maximum (59): 61')]),
    ({"schedule": "TZ=UTC 0 * * * *"},
     [("spec.schedule", 'Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead')]),
    ({"schedule": ""}, [("spec.schedule", "Required value")]),
    ({"concurrencyPolicy": "Sometimes"},
     [("spec.concurrencyPolicy", 'Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"')]),
    ({"timeZone": "Local"},
     [("spec.timeZone", 'Invalid value: "Local": timeZone must be an explicit time zone as defined in '
                        "https://www.iana.org/time-zones")]),
    ({"startingDeadlineSeconds": -5},
     [("spec.startingDeadlineSeconds", "Invalid value: -5: must be greater than or equal to 0")]),
])
def test_cron_job_errors(spec: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert [(c.field, c.message) for c in admit(cron_job(**spec))] == expected


def test_cron_job_name_and_job_template_rules() -> None:
    obj = cron_job()
    obj["metadata"]["name"] = "a" * 53
    assert one(admit(obj)).message == f'Invalid value: "{"a" * 53}": must be no more than 52 characters'
    obj = cron_job()
    obj["spec"]["jobTemplate"]["spec"]["selector"] = {"matchLabels": {"a": "b"}}
    assert fields(admit(obj)) == ["spec.jobTemplate.spec.selector"]


def test_controller_revision() -> None:
    rev = {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "web-5d8", "namespace": "default"},
           "revision": 2, "data": {"spec": {}}}
    assert admit(rev) == []
    changed = copy.deepcopy(rev)
    changed["data"] = {"spec": {"x": 1}}
    assert fields(validate(kind("ControllerRevision"), changed, rev)) == ["data"]
    missing = {"apiVersion": "apps/v1", "kind": "ControllerRevision",
               "metadata": {"name": "r", "namespace": "default"}, "revision": -1}
    assert [(c.field, c.message) for c in admit(missing)] == [
        ("data", "Required value: data is mandatory"),
        ("revision", "Invalid value: -1: must be greater than or equal to 0")]
