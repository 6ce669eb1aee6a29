"""PodInfo: what the scheduler reads from a pod, and which pods are its to place."""

from __future__ import annotations

import copy

from components.scheduler.podinfo import (controller_uid, gated, host_ports, parse_pod, responsible,
                                          scheduling_relevant)
from core.podresources import Resources
from tests.unit.scheduler.helpers import pod_obj


def test_parse_pod() -> None:
    obj = pod_obj("p", ns="ns", cpu="250m", memory="1Gi", owner="rs-1", priority=7, preemption_policy="Never",
                  ports=[{"containerPort": 80, "hostPort": 8080, "hostIP": "10.0.0.1", "protocol": "UDP"}])
    info = parse_pod(obj)
    assert info.key == ("ns", "p") and info.namespace == "ns" and info.name == "p" and info.uid == "uid-ns-p"
    assert info.requests == Resources(250, 1024 ** 3, 0, 1)
    assert info.non_zero == Resources(250, 1024 ** 3, 0, 1)
    assert info.ports == (("10.0.0.1", "UDP", 8080),)
    assert info.owner_uid == "rs-1" and info.priority == 7 and info.preempt_never
    assert info.obj is obj and info.node_name == ""


def test_host_ports_default_address_and_protocol_and_skip_unset() -> None:
    spec = {"containers": [{"ports": [{"containerPort": 80}, {"containerPort": 81, "hostPort": 0},
                                      {"containerPort": 82, "hostPort": 9082}]},
                           {"ports": [{"containerPort": 53, "hostPort": 53, "protocol": "UDP"}]}],
            "initContainers": [{"ports": [{"containerPort": 1, "hostPort": 1}]}]}
    assert host_ports(spec) == (("0.0.0.0", "TCP", 9082), ("0.0.0.0", "UDP", 53))


def test_controller_uid_only_from_the_controller_reference() -> None:
    assert controller_uid({"ownerReferences": [{"uid": "a"}, {"uid": "b", "controller": True}]}) == "b"
    assert controller_uid({"ownerReferences": [{"uid": "a", "controller": False}]}) == ""
    assert controller_uid({}) == ""


def test_same_shape_for_pods_the_filters_cannot_tell_apart() -> None:
    a = parse_pod(pod_obj("a", cpu="1", owner="rs"))
    b = parse_pod(pod_obj("b", cpu="1000m", owner="other", ns="x"))
    assert a.shape == b.shape
    assert parse_pod(pod_obj("c", cpu="2")).shape != a.shape
    assert parse_pod(pod_obj("d", cpu="1", node_selector={"z": "a"})).shape != a.shape
    assert parse_pod(pod_obj("e", cpu="1", tolerations=[])).shape != a.shape


def test_responsible_for_pending_pods_of_this_scheduler() -> None:
    obj = pod_obj("p")
    assert responsible(obj)
    obj["spec"].pop("schedulerName")
    assert responsible(obj)  # none named: the default scheduler's
    assert not responsible(pod_obj("p", node_name="n1"))
    other = pod_obj("p")
    other["spec"]["schedulerName"] = "custom"
    assert not responsible(other) and responsible(other, "custom")
    deleting = pod_obj("p")
    deleting["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    assert not responsible(deleting)
    done = pod_obj("p")
    done["status"]["phase"] = "Failed"
    assert not responsible(done)


def test_gated() -> None:
    obj = pod_obj("p")
    assert not gated(obj)
    obj["spec"]["schedulingGates"] = [{"name": "wait"}]
    assert gated(obj)


def test_scheduling_relevant_changes() -> None:
    old = pod_obj("p")
    status_only = copy.deepcopy(old)
    status_only["status"]["conditions"] = [{"type": "PodScheduled", "status": "False"}]
    status_only["metadata"]["resourceVersion"] = "2"
    assert not scheduling_relevant(old, status_only)
    labels = copy.deepcopy(old)
    labels["metadata"]["labels"] = {"a": "b"}
    assert scheduling_relevant(old, labels)
    spec = copy.deepcopy(old)
    spec["spec"]["tolerations"] = []
    assert scheduling_relevant(old, spec)
