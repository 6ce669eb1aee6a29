"""apps/v1 validation: Deployment, ReplicaSet, DaemonSet, StatefulSet, ControllerRevision, and
their /status writes.

Ported from k8s.io/kubernetes pkg/apis/apps/validation. One deliberate difference: an unknown
strategy type is reported at `spec.strategy.type` (`spec.updateStrategy.type`) with the bad string,
where Kubernetes prints the whole strategy struct at `spec.strategy`.
"""

from __future__ import annotations

from typing import Any

from core.errors import Cause
from core.schema import apps_v1 as m
from core.schema.causes import (
    forbidden, go_int_or_string, go_label_selector, immutable, invalid, nonnegative, not_supported, required,
)
from core.schema.core_v1 import PodTemplateSpec
from core.schema.meta import LabelSelector
from core.schema.rules.common import (
    Subject, as_dict, int_or_percent_value, is_not_more_than_100_percent, selector_convertible, selector_dict,
    selector_matches, semantic_equal, validate_label_selector, validate_positive_int_or_percent,
)
from core.schema.rules.core_v1 import validate_pvc_spec, workload_template_rules
from core.schema.rules.pod import validate_pod_template

STS_UPDATABLE = ("replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit",
                 "persistentVolumeClaimRetentionPolicy", "minReadySeconds")


def _selector(sel: LabelSelector | None, what: str, path: str = "spec.selector") -> list[Cause]:
    if sel is None:
        return [required(path)]
    out = validate_label_selector(sel, path)
    if sel.is_empty():
        out.append(invalid(path, go_label_selector(selector_dict(sel)), f"empty selector is invalid for {what}"))
    return out


def template_for_selector(template: PodTemplateSpec, sel: LabelSelector | None, path: str) -> list[Cause]:
    """The selector must select the pods the template makes (skipped for an empty selector)."""
    if not selector_convertible(sel):
        return [invalid("spec.selector", go_label_selector(selector_dict(sel)), "invalid label selector")]
    if sel is not None and sel.is_empty():
        return []
    if not selector_matches(sel, template.metadata.labels):
        return [invalid(f"{path}.metadata.labels", template.metadata.labels,
                        "`selector` does not match template `labels`")]
    return []


def _selector_immutable(s: Subject) -> list[Cause]:
    new, old = selector_dict(s.model.spec.selector), selector_dict(s.old_model.spec.selector)
    if s.updating and not semantic_equal(new, old):
        return [immutable("spec.selector", go_label_selector(new))]
    return []


def _replica_set_template(spec: Any, path: str = "spec.template") -> list[Cause]:
    out = template_for_selector(spec.template, spec.selector, path)
    if out and out[0].field == "spec.selector":
        return out
    out += validate_pod_template(spec.template, path)
    return out + workload_template_rules(spec.template, path, "ReplicaSet")


# ---- Deployment -----------------------------------------------------------------------------


def deployment(s: Subject) -> list[Cause]:
    spec: m.DeploymentSpec = s.model.spec
    out = nonnegative("spec.replicas", spec.replicas)
    out += _selector(spec.selector, "deployment")
    out += _replica_set_template(spec)
    out += _deployment_strategy(spec.strategy)
    out += nonnegative("spec.minReadySeconds", spec.min_ready_seconds)
    out += nonnegative("spec.revisionHistoryLimit", spec.revision_history_limit)
    if spec.progress_deadline_seconds is not None:
        out += nonnegative("spec.progressDeadlineSeconds", spec.progress_deadline_seconds)
        if spec.progress_deadline_seconds <= spec.min_ready_seconds:
            out.append(invalid("spec.progressDeadlineSeconds", spec.progress_deadline_seconds,
                               "must be greater than minReadySeconds"))
    return out + (_selector_immutable(s) if s.updating else [])


def _deployment_strategy(strategy: m.DeploymentStrategy) -> list[Cause]:
    path = "spec.strategy"
    if strategy.type == "Recreate":
        if strategy.rolling_update is not None:
            return [forbidden(f"{path}.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")]
        return []
    if strategy.type == "RollingUpdate":
        ru = strategy.rolling_update
        if ru is None:
            return [required(f"{path}.rollingUpdate", "this should be defaulted and never be nil")]
        p = f"{path}.rollingUpdate"
        out = validate_positive_int_or_percent(ru.max_unavailable, f"{p}.maxUnavailable")
        out += validate_positive_int_or_percent(ru.max_surge, f"{p}.maxSurge")
        if int_or_percent_value(ru.max_unavailable) == 0 and int_or_percent_value(ru.max_surge) == 0:
            out.append(invalid(f"{p}.maxUnavailable", go_int_or_string(ru.max_unavailable),
                               "may not be 0 when `maxSurge` is 0"))
        return out + is_not_more_than_100_percent(ru.max_unavailable, f"{p}.maxUnavailable")
    return [not_supported(f"{path}.type", strategy.type, ("Recreate", "RollingUpdate"))]


# ---- ReplicaSet, DaemonSet ------------------------------------------------------------------------


def replica_set(s: Subject) -> list[Cause]:
    spec: m.ReplicaSetSpec = s.model.spec
    out = nonnegative("spec.replicas", spec.replicas)
    out += nonnegative("spec.minReadySeconds", spec.min_ready_seconds)
    out += _selector(spec.selector, "deployment")
    out += _replica_set_template(spec)
    return out + (_selector_immutable(s) if s.updating else [])


def daemon_set(s: Subject) -> list[Cause]:
    spec: m.DaemonSetSpec = s.model.spec
    out = validate_label_selector(spec.selector, "spec.selector")
    if selector_convertible(spec.selector) and not selector_matches(spec.selector, spec.template.metadata.labels):
        out.append(invalid("spec.template.metadata.labels", spec.template.metadata.labels,
                           "`selector` does not match template `labels`"))
    if spec.selector is not None and spec.selector.is_empty():
        out.append(invalid("spec.selector", go_label_selector(selector_dict(spec.selector)),
                           "empty selector is invalid for daemonset"))
    out += validate_pod_template(spec.template, "spec.template")
    if spec.template.spec.restart_policy != "Always":
        out.append(not_supported("spec.template.spec.restartPolicy", spec.template.spec.restart_policy, ("Always",)))
    if spec.template.spec.active_deadline_seconds is not None:
        out.append(invalid("spec.template.spec.activeDeadlineSeconds", spec.template.spec.active_deadline_seconds,
                           "activeDeadlineSeconds in DaemonSet is not Supported"))
    out += nonnegative("spec.minReadySeconds", spec.min_ready_seconds)
    out += _daemon_set_strategy(spec.update_strategy)
    out += nonnegative("spec.revisionHistoryLimit", spec.revision_history_limit)
    return out + (_selector_immutable(s) if s.updating else [])


def _daemon_set_strategy(strategy: m.DaemonSetUpdateStrategy) -> list[Cause]:
    path = "spec.updateStrategy"
    if strategy.type == "OnDelete":
        return []
    if strategy.type != "RollingUpdate":
        return [not_supported(f"{path}.type", strategy.type, ("RollingUpdate", "OnDelete"))]
    ru = strategy.rolling_update
    if ru is None:
        return [required(f"{path}.rollingUpdate")]
    p = f"{path}.rollingUpdate"
    out = validate_positive_int_or_percent(ru.max_unavailable, f"{p}.maxUnavailable")
    out += validate_positive_int_or_percent(ru.max_surge, f"{p}.maxSurge")
    out += is_not_more_than_100_percent(ru.max_unavailable, f"{p}.maxUnavailable")
    out += is_not_more_than_100_percent(ru.max_surge, f"{p}.maxSurge")
    has_unavailable = int_or_percent_value(ru.max_unavailable) not in (0, None)
    has_surge = int_or_percent_value(ru.max_surge) not in (0, None)
    if has_unavailable and has_surge:
        out.append(invalid(f"{p}.maxSurge", go_int_or_string(ru.max_surge),
                           "may not be set when maxUnavailable is non-zero"))
    elif not has_unavailable and not has_surge:
        out.append(required(f"{p}.maxUnavailable", "cannot be 0 when maxSurge is 0"))
    return out


# ---- StatefulSet, ControllerRevision ----------------------------------------------------------


def stateful_set(s: Subject) -> list[Cause]:
    spec: m.StatefulSetSpec = s.model.spec
    out: list[Cause] = []
    if not spec.pod_management_policy:
        out.append(required("spec.podManagementPolicy"))
    elif spec.pod_management_policy not in ("OrderedReady", "Parallel"):
        out.append(invalid("spec.podManagementPolicy", spec.pod_management_policy, "must be 'OrderedReady' or 'Parallel'"))
    out += _stateful_set_strategy(spec.update_strategy)
    out += nonnegative("spec.replicas", spec.replicas)
    if spec.ordinals is not None:
        out += nonnegative("spec.ordinals.start", spec.ordinals.start)
    out += _selector(spec.selector, "statefulset")
    out += template_for_selector(spec.template, spec.selector, "spec.template")
    claims = frozenset(c.metadata.name for c in spec.volume_claim_templates or [])
    out += validate_pod_template(spec.template, "spec.template", claim_volumes=claims)
    if spec.template.spec.restart_policy != "Always":
        out.append(not_supported("spec.template.spec.restartPolicy", spec.template.spec.restart_policy, ("Always",)))
    if spec.template.spec.active_deadline_seconds is not None:
        out.append(invalid("spec.template.spec.activeDeadlineSeconds", spec.template.spec.active_deadline_seconds,
                           "must not be specified"))
    out += nonnegative("spec.minReadySeconds", spec.min_ready_seconds)
    out += nonnegative("spec.revisionHistoryLimit", spec.revision_history_limit)
    for i, claim in enumerate(spec.volume_claim_templates or []):
        out += validate_pvc_spec(claim.spec, f"spec.volumeClaimTemplates[{i}].spec")
    if s.updating:
        new = {k: v for k, v in (s.raw.get("spec") or {}).items() if k not in STS_UPDATABLE}
        old = {k: v for k, v in ((s.old_raw or {}).get("spec") or {}).items() if k not in STS_UPDATABLE}
        if not semantic_equal(new, old):
            out.append(forbidden("spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                                         "'template', 'updateStrategy', 'revisionHistoryLimit', "
                                         "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"))
    return out


def _stateful_set_strategy(strategy: m.StatefulSetUpdateStrategy) -> list[Cause]:
    path = "spec.updateStrategy"
    if not strategy.type:
        return [required(path)]
    if strategy.type == "OnDelete":
        if strategy.rolling_update is not None:
            return [invalid(f"{path}.rollingUpdate", strategy.rolling_update.model_dump(by_alias=True, exclude_none=True),
                            "only allowed for updateStrategy 'RollingUpdate'")]
        return []
    if strategy.type != "RollingUpdate":
        return [not_supported(f"{path}.type", strategy.type, ("RollingUpdate", "OnDelete"))]
    ru = strategy.rolling_update
    if ru is None:
        return []
    p = f"{path}.rollingUpdate"
    out = nonnegative(f"{p}.partition", ru.partition)
    if ru.max_unavailable is not None:
        out += validate_positive_int_or_percent(ru.max_unavailable, f"{p}.maxUnavailable")
        if int_or_percent_value(ru.max_unavailable) == 0:
            out.append(invalid(f"{p}.maxUnavailable", go_int_or_string(ru.max_unavailable), "must be greater than zero"))
        out += is_not_more_than_100_percent(ru.max_unavailable, f"{p}.maxUnavailable")
    return out


def controller_revision(s: Subject) -> list[Cause]:
    rev: m.ControllerRevision = s.model
    out: list[Cause] = []
    if rev.data is None:
        out.append(required("data", "data is mandatory"))
    out += nonnegative("revision", rev.revision)
    if s.updating and not semantic_equal(s.raw.get("data"), (s.old_raw or {}).get("data")):
        out.append(immutable("data", rev.data))
    return out


# ---- status ---------------------------------------------------------------------------------------

_STATUS_COUNTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # kind: (non-negative counters, counters that may not exceed status.replicas)
    "Deployment": (("replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas",
                    "collisionCount", "observedGeneration"), ("updatedReplicas", "readyReplicas", "availableReplicas")),
    "ReplicaSet": (("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas", "observedGeneration"),
                   ("fullyLabeledReplicas", "readyReplicas", "availableReplicas")),
    "StatefulSet": (("replicas", "readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas",
                     "observedGeneration", "collisionCount"),
                    ("readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas")),
    "DaemonSet": (("currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady",
                   "observedGeneration", "updatedNumberScheduled", "numberAvailable", "numberUnavailable",
                   "collisionCount"), ()),
}


def status(s: Subject) -> list[Cause]:
    counters, bounded = _STATUS_COUNTS.get(s.kind.kind, ((), ()))
    st = as_dict(s.raw.get("status"))
    out: list[Cause] = []
    for key in counters:
        value = st.get(key)
        if isinstance(value, int):
            out += nonnegative(f"status.{key}", value)
    raw_replicas = st.get("replicas")
    replicas: int = raw_replicas if isinstance(raw_replicas, int) else 0
    for key in bounded:
        value = st.get(key)
        if isinstance(value, int) and value > replicas:
            out.append(invalid(f"status.{key}", value, "cannot be greater than status.replicas"))
    ready, available = st.get("readyReplicas"), st.get("availableReplicas")
    if s.kind.kind in ("Deployment", "ReplicaSet") and isinstance(ready, int) and isinstance(available, int) \
            and available > ready:
        out.append(invalid("status.availableReplicas", available, "cannot be greater than readyReplicas"))
    old = (s.old_raw or {}).get("status") or {}
    new_cc, old_cc = st.get("collisionCount"), old.get("collisionCount") if isinstance(old, dict) else None
    if isinstance(old_cc, int) and (not isinstance(new_cc, int) or new_cc < old_cc):
        out.append(invalid("status.collisionCount", new_cc if isinstance(new_cc, int) else 0, "cannot be decremented"))
    return out
