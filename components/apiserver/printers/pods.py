"""The Pod printer: Kubernetes' `printPod`, the most intricate of the table printers.

STATUS is not the phase alone: it is the pod's reason, the first failing or waiting init container
(`Init:0/2`, `Init:CrashLoopBackOff`), the last app container's waiting or terminated reason
(`ContainerCreating`, `CrashLoopBackOff`, `Completed`, `Error`), `SchedulingGated`, or `Terminating`
once a deletionTimestamp is set. RESTARTS carries the time of the last restart (`2 (5m ago)`).
Input is a Pod as stored (JSON dict); output is the row's cells and conditions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .common import AGE, NAME, Cells, Column, Obj, Printer, age, human_duration, meta, parse_time, spec, status

NODE_UNREACHABLE_REASON = "NodeLost"

COLUMNS = (
    NAME,
    Column("Ready", description="The aggregate readiness state of this pod for accepting traffic."),
    Column("Status", description="The aggregate status of the containers in this pod."),
    Column("Restarts", description="The number of times the containers in this pod have been restarted "
                                   "and when the last container in this pod has restarted."),
    AGE,
    Column("IP", priority=1, description="podIP address allocated to the pod."),
    Column("Node", priority=1, description="NodeName indicates in which node this pod is scheduled."),
    Column("Nominated Node", priority=1, description="nominatedNodeName is set only when this pod preempts "
                                                     "other pods on the node."),
    Column("Readiness Gates", priority=1, description="If specified, all readiness gates will be evaluated "
                                                      "for pod readiness."),
)


def _restartable(init_container: Obj | None) -> bool:
    """A sidecar: an init container with `restartPolicy: Always`."""
    return bool(init_container) and init_container.get("restartPolicy") == "Always"  # type: ignore[union-attr]


def _condition_true(st: Obj, ctype: str) -> bool:
    for cond in st.get("conditions") or []:
        if cond.get("type") == ctype:
            return cond.get("status") == "True"
    return False


def _last_terminated(container_status: Obj) -> datetime | None:
    terminated = (container_status.get("lastState") or {}).get("terminated")
    if not terminated:
        return None
    return parse_time(terminated.get("finishedAt"))


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _terminated_reason(terminated: Obj, prefix: str = "") -> str:
    if terminated.get("reason"):
        return prefix + terminated["reason"]
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{terminated.get('exitCode', 0)}"


def pod_summary(pod: Obj, now: datetime) -> tuple[str, str, str]:
    """(READY, STATUS, RESTARTS) exactly as `kubectl get pods` shows them."""
    sp, st = spec(pod), status(pod)
    containers = sp.get("containers") or []
    init_specs = {c.get("name"): c for c in sp.get("initContainers") or []}
    total = len(containers) + sum(1 for c in init_specs.values() if _restartable(c))
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    last_restart: datetime | None = None
    last_sidecar_restart: datetime | None = None

    phase = st.get("phase") or ""
    reason = st.get("reason") or phase
    for cond in st.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    initializing = False
    init_statuses = st.get("initContainerStatuses") or []
    for i, cs in enumerate(init_statuses):
        restarts += int(cs.get("restartCount") or 0)
        last_restart = _later(last_restart, _last_terminated(cs))
        sidecar = _restartable(init_specs.get(cs.get("name")))
        if sidecar:
            sidecar_restarts += int(cs.get("restartCount") or 0)
            last_sidecar_restart = _later(last_sidecar_restart, _last_terminated(cs))
        state = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and int(terminated.get("exitCode") or 0) == 0:
            continue
        if sidecar and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if terminated is not None:
            reason = _terminated_reason(terminated, "Init:")
        elif waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _condition_true(st, "Initialized"):
        restarts = sidecar_restarts
        last_restart = last_sidecar_restart
        has_running = False
        for cs in reversed(st.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount") or 0)
            last_restart = _later(last_restart, _last_terminated(cs))
            state = cs.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None:
                reason = _terminated_reason(terminated)
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(st, "Ready") else "NotReady"

    if meta(pod).get("deletionTimestamp"):
        if st.get("reason") == NODE_UNREACHABLE_REASON:
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"

    restarts_text = str(restarts)
    if restarts and last_restart is not None:
        restarts_text = f"{restarts} ({human_duration(now - last_restart)} ago)"
    return f"{ready}/{total}", reason, restarts_text


def _readiness_gates(pod: Obj) -> str:
    gates = spec(pod).get("readinessGates") or []
    if not gates:
        return "<none>"
    conditions = status(pod).get("conditions") or []
    true_count = 0
    for gate in gates:
        for cond in conditions:
            if cond.get("type") == gate.get("conditionType"):
                if cond.get("status") == "True":
                    true_count += 1
                break
    return f"{true_count}/{len(gates)}"


def pod_cells(pod: Obj, now: datetime) -> Cells:
    ready, reason, restarts = pod_summary(pod, now)
    st = status(pod)
    ips = st.get("podIPs") or []
    # Kubernetes reads podIPs only; podIP is the same address, accepted for writers that set just it.
    pod_ip = (ips[0].get("ip") if ips else "") or st.get("podIP") or "<none>"
    return [
        meta(pod).get("name", ""), ready, reason, restarts, age(pod, now),
        pod_ip,
        spec(pod).get("nodeName") or "<none>",
        st.get("nominatedNodeName") or "<none>",
        _readiness_gates(pod),
    ]


def pod_conditions(pod: Obj) -> list[dict[str, Any]]:
    """Succeeded/Failed pods get a `Completed` row condition (kubectl uses it to mark finished pods)."""
    phase = status(pod).get("phase")
    if phase == "Succeeded":
        message = "The pod has completed successfully."
    elif phase == "Failed":
        message = "The pod failed."
    else:
        return []
    return [{"type": "Completed", "status": "True", "reason": phase, "message": message}]


POD = Printer(COLUMNS, pod_cells, pod_conditions)
