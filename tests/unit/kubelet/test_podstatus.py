"""Pod status from runtime observations: container states, phase, conditions, the patch."""

from __future__ import annotations

from typing import Any

import pytest

from core.podstatus import (CRASH_LOOP, RUN_ERROR, PodObs, Waiting, container_status, phase, pod_status,
                            status_patch, timestamp)
from tests.unit.kubelet.helpers import NOW, container, exited, obs, pod, running, sandbox

T = timestamp(NOW)


def cs(o: PodObs, name: str = "c", *, init: bool = False, reasons: dict[str, Waiting] | None = None,
       restart: str = "Always", default: str = "ContainerCreating") -> dict[str, Any]:
    return container_status(container(name), o, reasons or {}, init=init, default_waiting=default,
                            restart_policy=restart)


def test_not_started_container_waits() -> None:
    assert cs(obs()) == {"name": "c", "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {},
                         "ready": False, "restartCount": 0, "image": "busybox:latest", "imageID": "",
                         "started": False}
    assert cs(obs(), default="PodInitializing")["state"] == {"waiting": {"reason": "PodInitializing"}}


def test_running_container() -> None:
    out = cs(obs(sandbox(), running()))
    assert out == {"name": "c", "state": {"running": {"startedAt": timestamp(NOW - 50)}}, "lastState": {},
                   "ready": True, "restartCount": 0, "image": "busybox:latest", "imageID": "sha256:abc",
                   "started": True, "containerID": "docker://c-0"}


def test_restarted_container_reports_the_previous_termination() -> None:
    out = cs(obs(exited(attempt=0, code=2), exited(attempt=1, code=1), running(attempt=2)))
    assert out["restartCount"] == 2 and out["containerID"] == "docker://c-2"
    assert out["lastState"]["terminated"]["exitCode"] == 1
    assert out["lastState"]["terminated"]["containerID"] == "docker://c-1"


def test_terminated_container() -> None:
    out = cs(obs(exited(code=0)), restart="Never")
    assert out["state"] == {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": timestamp(NOW - 50),
                                           "finishedAt": timestamp(NOW - 5), "containerID": "docker://c-0"}}
    assert not out["ready"] and not out["started"]
    oom = cs(obs(exited(code=137, reason="OOMKilled")), restart="Never")
    assert oom["state"]["terminated"]["reason"] == "OOMKilled"


def test_crash_looping_container_waits_with_its_reason() -> None:
    reasons = {"c": Waiting(CRASH_LOOP, "back-off 10s restarting failed container=c pod=p_ns(u)")}
    out = cs(obs(exited(attempt=0, code=1), exited(attempt=1, code=1)), reasons=reasons)
    assert out["state"] == {"waiting": {"reason": CRASH_LOOP, "message": reasons["c"].message}}
    assert out["lastState"]["terminated"]["containerID"] == "docker://c-1" and out["restartCount"] == 1


def test_start_error_with_never_is_a_termination_not_a_wait() -> None:
    failed = exited(code=128, reason="StartError", message='exec: "nosuch": executable file not found in $PATH')
    reasons = {"c": Waiting(RUN_ERROR, failed.message)}
    assert cs(obs(failed), reasons=reasons)["state"]["waiting"]["reason"] == RUN_ERROR
    term = cs(obs(failed), reasons=reasons, restart="Never")["state"]["terminated"]
    assert term["reason"] == "StartError" and term["exitCode"] == 128 and "nosuch" in term["message"]


def test_init_container_is_ready_once_it_succeeded() -> None:
    assert cs(obs(exited("i", init=True)), "i", init=True)["ready"] is True
    assert cs(obs(running("i", init=True)), "i", init=True)["ready"] is False
    assert cs(obs(exited("i", code=1, init=True)), "i", init=True, restart="Never")["ready"] is False


def test_image_is_reported_with_its_tag() -> None:
    spec = container("c", image="nginx")
    out = container_status(spec, obs(), {}, init=False, default_waiting="ContainerCreating")
    assert out["image"] == "nginx:latest"


def _s(state: dict[str, Any], last: dict[str, Any] | None = None, name: str = "c") -> dict[str, Any]:
    return {"name": name, "state": state, "lastState": last or {}}


RUN = {"running": {}}
OK = {"terminated": {"exitCode": 0}}
BAD = {"terminated": {"exitCode": 1}}
WAIT = {"waiting": {"reason": "X"}}


@pytest.mark.parametrize("restart,states,expected", [
    ("Always", [RUN], "Running"),
    ("Always", [WAIT], "Pending"),
    ("Always", [RUN, WAIT], "Pending"),
    ("Always", [OK], "Running"),
    ("OnFailure", [OK], "Succeeded"),
    ("OnFailure", [BAD], "Running"),
    ("Never", [OK, OK], "Succeeded"),
    ("Never", [OK, BAD], "Failed"),
    ("Never", [RUN, BAD], "Running"),
])
def test_phase(restart: str, states: list[dict[str, Any]], expected: str) -> None:
    names = [f"c{i}" for i in range(len(states))]
    spec = {"restartPolicy": restart, "containers": [{"name": n} for n in names]}
    assert phase(spec, [], [_s(st, name=n) for st, n in zip(states, names)]) == expected


def test_phase_waiting_after_a_crash_counts_as_stopped() -> None:
    spec = {"restartPolicy": "Always", "containers": [{"name": "c"}]}
    assert phase(spec, [], [_s(WAIT, BAD)]) == "Running"


def test_phase_with_init_containers() -> None:
    spec = {"restartPolicy": "Never", "initContainers": [{"name": "i"}], "containers": [{"name": "c"}]}
    app = [_s({"waiting": {"reason": "PodInitializing"}})]
    assert phase(spec, [_s(RUN, name="i")], app) == "Pending"
    assert phase(spec, [_s(BAD, name="i")], app) == "Failed"
    assert phase({**spec, "restartPolicy": "Always"}, [_s(WAIT, BAD, name="i")], app) == "Pending"


def test_pod_status_running() -> None:
    old = {"phase": "Pending", "qosClass": "BestEffort",
           "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": "2027-01-01T00:00:00Z"}]}
    st = pod_status(pod(status=old), obs(sandbox(), running()), reasons={}, host_ip="10.0.0.1", now=NOW)
    assert st["phase"] == "Running" and st["podIP"] == "10.0.0.2" and st["podIPs"] == [{"ip": "10.0.0.2"}]
    assert st["hostIP"] == "10.0.0.1" and st["hostIPs"] == [{"ip": "10.0.0.1"}] and st["startTime"] == T
    assert [(c["type"], c["status"]) for c in st["conditions"]] == [
        ("PodReadyToStartContainers", "True"), ("Initialized", "True"), ("Ready", "True"),
        ("ContainersReady", "True"), ("PodScheduled", "True")]
    assert st["conditions"][-1] == old["conditions"][0]
    assert "qosClass" not in st and "initContainerStatuses" not in st


def test_conditions_keep_their_transition_time_while_unchanged() -> None:
    since = "2027-01-01T00:00:00Z"
    old = {"phase": "Running", "startTime": since,
           "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": since},
                          {"type": "ContainersReady", "status": "True", "lastTransitionTime": since}]}
    st = pod_status(pod(status=old), obs(sandbox(), running()), reasons={}, host_ip="h", now=NOW)
    by = {c["type"]: c for c in st["conditions"]}
    assert by["Ready"]["lastTransitionTime"] == since and by["Initialized"]["lastTransitionTime"] == T
    assert st["startTime"] == since
    down = pod_status(pod(status=old), obs(sandbox(), exited(code=1)), reasons={}, host_ip="h", now=NOW)
    ready = next(c for c in down["conditions"] if c["type"] == "Ready")
    assert ready == {"type": "Ready", "status": "False", "lastProbeTime": None, "lastTransitionTime": T,
                     "reason": "ContainersNotReady", "message": "containers with unready status: [c]"}


def test_initializing_pod() -> None:
    p = pod(container("app"), init=[container("i1"), container("i2")])
    st = pod_status(p, obs(sandbox(), running("i1", init=True)), reasons={}, host_ip="h", now=NOW)
    assert st["phase"] == "Pending"
    init = next(c for c in st["conditions"] if c["type"] == "Initialized")
    assert init["message"] == "containers with incomplete status: [i1 i2]"
    assert st["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert [s["name"] for s in st["initContainerStatuses"]] == ["i1", "i2"]


def test_completed_pod_conditions_and_address() -> None:
    p = pod(restart="Never")
    st = pod_status(p, obs(sandbox(state="exited"), exited()), reasons={}, host_ip="h", now=NOW)
    assert st["phase"] == "Succeeded" and st["podIP"] == "10.0.0.2"
    by = {c["type"]: (c["status"], c.get("reason")) for c in st["conditions"]}
    assert by == {"PodReadyToStartContainers": ("False", None), "Initialized": ("True", "PodCompleted"),
                  "Ready": ("False", "PodCompleted"), "ContainersReady": ("False", "PodCompleted")}


def test_terminal_phase_never_goes_back() -> None:
    p = pod(status={"phase": "Failed", "podIP": "10.0.0.9"})
    st = pod_status(p, obs(sandbox(), running()), reasons={}, host_ip="h", now=NOW)
    assert st["phase"] == "Failed"


def test_rejected_pod() -> None:
    st = pod_status(pod(), obs(), reasons={}, host_ip="h", now=NOW,
                    rejected=Waiting("NodePorts", "Pod was rejected: Predicate NodePorts failed"))
    assert st == {"hostIP": "h", "hostIPs": [{"ip": "h"}], "startTime": T, "phase": "Failed",
                  "reason": "NodePorts", "message": "Pod was rejected: Predicate NodePorts failed",
                  "conditions": []}


def test_status_patch_has_only_changed_owned_fields() -> None:
    current = {"phase": "Pending", "qosClass": "BestEffort", "hostIP": "h"}
    desired = {"phase": "Running", "hostIP": "h", "qosClass": "Guaranteed", "podIP": "1.2.3.4"}
    assert status_patch(current, desired) == {"phase": "Running", "podIP": "1.2.3.4"}
    assert status_patch(desired, desired) == {}
