"""The namespace controller's pure parts: which kinds a deletion empties, what a pass counts as
remaining, and the exact conditions Kubernetes writes on a terminating namespace."""

from __future__ import annotations

from typing import Any

from components.controllers.namespace import (
    CONDITION_TYPES,
    Content,
    content_kinds,
    deletion_conditions,
    requeue_delay,
    tally,
)
from core.kinds import REGISTRY, Kind

T0 = "2024-01-01T12:00:00Z"
T1 = "2024-01-01T12:00:05Z"


def kind(group: str, version: str, resource: str) -> Kind:
    k = REGISTRY.by_resource(group, version, resource)
    assert k is not None
    return k


def pod(name: str, *, grace: int | None = None, deleting_grace: int | None = None,
        finalizers: tuple[str, ...] = ()) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name}
    if deleting_grace is not None:
        md["deletionTimestamp"] = T0
        md["deletionGracePeriodSeconds"] = deleting_grace
    if finalizers:
        md["finalizers"] = list(finalizers)
    spec: dict[str, Any] = {}
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return {"metadata": md, "spec": spec}


def test_content_kinds_are_the_namespaced_kinds_but_events() -> None:
    names = {f"{k.resource}.{k.group}" for k in content_kinds()}
    assert "events." not in names
    assert {"pods.", "configmaps.", "secrets.", "services.", "replicasets.apps", "jobs.batch",
            "leases.coordination.k8s.io", "horizontalpodautoscalers.autoscaling"} <= names
    assert "namespaces." not in names and "nodes." not in names and "persistentvolumes." not in names


def test_tally_counts_objects_finalizers_and_pod_grace() -> None:
    c = Content()
    tally(c, kind("", "v1", "pods"), [pod("a", deleting_grace=20, finalizers=("x",)), pod("b", grace=45),
                                      pod("c", finalizers=("x", "y"))])
    tally(c, kind("", "v1", "configmaps"), [])
    tally(c, kind("apps", "v1", "replicasets"), [{"metadata": {"name": "r"}}])
    assert c.remaining == {"pods.": 3, "replicasets.apps": 1}
    assert c.finalizers == {"x": 2, "y": 1}
    assert c.estimate == 45.0  # pod c has the default 30, b asks for 45
    assert not c.empty
    assert Content().empty


def test_requeue_delay_is_bounded() -> None:
    assert requeue_delay(Content()) == 1.0
    assert requeue_delay(Content(estimate=3.0)) == 3.0
    assert requeue_delay(Content(estimate=30.0), cap=10.0) == 10.0


def ok(type_: str, reason: str, message: str, when: str = T0) -> dict[str, Any]:
    return {"type": type_, "status": "False", "lastTransitionTime": when, "reason": reason, "message": message}


ALL_OK = [
    ok("NamespaceDeletionDiscoveryFailure", "ResourcesDiscovered", "All resources successfully discovered"),
    ok("NamespaceDeletionGroupVersionParsingFailure", "ParsedGroupVersions",
       "All legacy kube types successfully parsed"),
    ok("NamespaceDeletionContentFailure", "ContentDeleted",
       "All content successfully deleted, may be waiting on finalization"),
    ok("NamespaceContentRemaining", "ContentRemoved", "All content successfully removed"),
    ok("NamespaceFinalizersRemaining", "ContentHasNoFinalizers", "All content-preserving finalizers finished"),
]


def test_conditions_when_everything_is_gone() -> None:
    assert deletion_conditions([], Content(), T0) == ALL_OK


def test_conditions_while_pods_remain() -> None:
    c = Content(remaining={"pods.": 2, "secrets.": 1}, finalizers={"example.com/hold": 1, "foregroundDeletion": 3})
    conds = deletion_conditions([], c, T0)
    assert [x["type"] for x in conds] == list(CONDITION_TYPES)
    assert conds[3] == {"type": "NamespaceContentRemaining", "status": "True", "lastTransitionTime": T0,
                        "reason": "SomeResourcesRemain",
                        "message": "Some resources are remaining: pods. has 2 resource instances, "
                                   "secrets. has 1 resource instances"}
    assert conds[4] == {"type": "NamespaceFinalizersRemaining", "status": "True", "lastTransitionTime": T0,
                        "reason": "SomeFinalizersRemain",
                        "message": "Some content in the namespace has finalizers remaining: example.com/hold in 1 "
                                   "resource instances, foregroundDeletion in 3 resource instances"}
    assert conds[:3] == ALL_OK[:3]


def test_conditions_on_failure() -> None:
    conds = deletion_conditions([], Content(failures=["pods.: 500 boom"]), T0)
    assert conds[2] == {"type": "NamespaceDeletionContentFailure", "status": "True", "lastTransitionTime": T0,
                        "reason": "ContentDeletionFailed",
                        "message": "Failed to delete all resource types, 1 remaining: pods.: 500 boom"}


def test_unchanged_conditions_keep_their_transition_time() -> None:
    first = deletion_conditions([], Content(remaining={"pods.": 2}), T0)
    again = deletion_conditions(first, Content(remaining={"pods.": 2}), T1)
    assert again == first
    fewer = deletion_conditions(first, Content(remaining={"pods.": 1}), T1)
    assert fewer[3]["lastTransitionTime"] == T1 and fewer[3]["message"].endswith("pods. has 1 resource instances")
    assert fewer[0]["lastTransitionTime"] == T0
    done = deletion_conditions(fewer, Content(), T1)
    assert done[3] == ok("NamespaceContentRemaining", "ContentRemoved", "All content successfully removed", T1)


def test_other_condition_types_are_kept() -> None:
    foreign = {"type": "Example", "status": "True", "reason": "R", "message": "m", "lastTransitionTime": T0}
    assert deletion_conditions([foreign], Content(), T0) == ALL_OK + [foreign]
