"""Printers for workload kinds: Deployments, ReplicaSets, ReplicationControllers, DaemonSets,
StatefulSets, ControllerRevisions, Jobs, CronJobs and HorizontalPodAutoscalers.

Columns and cells follow Kubernetes' `pkg/printers/internalversion` (v1.32). Replica counts missing
from `status` print as 0; a missing `spec.replicas` prints as 1, Kubernetes' default.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .common import (
    AGE, CONTAINERS, IMAGES, NAME, Cells, Column, Obj, Printer, age, bool_ptr, format_label_selector,
    format_labels, human_duration, layout_containers, meta, parse_time, selector_string, since, spec, status,
    template_containers, wide_selector,
)


def _int(value: Any, default: int = 0) -> int:
    return default if value is None else int(value)


# --- Deployments ---------------------------------------------------------------------------------

def _deployment_cells(d: Obj, now: datetime) -> Cells:
    st = status(d)
    names, images = layout_containers(template_containers(d))
    return [
        meta(d).get("name", ""),
        f"{_int(st.get('readyReplicas'))}/{_int(spec(d).get('replicas'), 1)}",
        _int(st.get("updatedReplicas")), _int(st.get("availableReplicas")), age(d, now),
        names, images, selector_string(spec(d).get("selector")),
    ]


DEPLOYMENT = Printer(
    (
        NAME,
        Column("Ready", description="Number of the pod with ready state"),
        Column("Up-to-date", description="Total number of non-terminated pods targeted by this deployment that "
                                         "have the desired template spec."),
        Column("Available", description="Total number of available pods (ready for at least minReadySeconds) "
                                        "targeted by this deployment."),
        AGE, CONTAINERS, IMAGES,
        wide_selector("Label selector for pods. Existing ReplicaSets whose pods are selected by this will be "
                      "the ones affected by this deployment."),
    ),
    _deployment_cells,
)

# --- ReplicaSets and ReplicationControllers ------------------------------------------------------

_REPLICA_COLUMNS = (
    NAME,
    Column("Desired", type="integer", description="Replicas is the number of desired replicas."),
    Column("Current", type="integer", description="Replicas is the most recently observed number of replicas."),
    Column("Ready", type="integer", description="The number of ready replicas for this replica set."),
    AGE, CONTAINERS, IMAGES,
)


def _replica_set_cells(rs: Obj, now: datetime) -> Cells:
    st = status(rs)
    names, images = layout_containers(template_containers(rs))
    return [
        meta(rs).get("name", ""), _int(spec(rs).get("replicas"), 1), _int(st.get("replicas")),
        _int(st.get("readyReplicas")), age(rs, now), names, images, format_label_selector(spec(rs).get("selector")),
    ]


def _replication_controller_cells(rc: Obj, now: datetime) -> Cells:
    """Like a ReplicaSet, but its selector is a plain label map."""
    cells = _replica_set_cells(rc, now)
    cells[-1] = format_labels(spec(rc).get("selector"))
    return cells


REPLICASET = Printer(
    (*_REPLICA_COLUMNS, wide_selector("Selector is a label query over pods that should match the replica count.")),
    _replica_set_cells,
)
REPLICATIONCONTROLLER = Printer(
    (*_REPLICA_COLUMNS, wide_selector("Selector is a label query over pods that should match the Replicas count.")),
    _replication_controller_cells,
)

# --- DaemonSets and StatefulSets -----------------------------------------------------------------

def _daemon_set_cells(ds: Obj, now: datetime) -> Cells:
    st = status(ds)
    template_spec: Mapping[str, Any] = (spec(ds).get("template") or {}).get("spec") or {}
    names, images = layout_containers(template_containers(ds))
    return [
        meta(ds).get("name", ""), _int(st.get("desiredNumberScheduled")), _int(st.get("currentNumberScheduled")),
        _int(st.get("numberReady")), _int(st.get("updatedNumberScheduled")), _int(st.get("numberAvailable")),
        format_labels(template_spec.get("nodeSelector")), age(ds, now),
        names, images, format_label_selector(spec(ds).get("selector")),
    ]


DAEMONSET = Printer(
    (
        NAME,
        Column("Desired", type="integer", description="The total number of nodes that should be running the daemon pod."),
        Column("Current", type="integer", description="The number of nodes that are running at least 1 daemon pod."),
        Column("Ready", type="integer", description="The number of nodes that should be running the daemon pod "
                                                    "and have one or more of the daemon pod running and ready."),
        Column("Up-to-date", type="integer", description="The total number of nodes that are running updated daemon pod"),
        Column("Available", type="integer", description="The number of nodes that should be running the daemon pod "
                                                        "and have one or more of the daemon pod running and available."),
        Column("Node Selector", description="NodeSelector is a selector which must be true for the pod to fit on a node."),
        AGE, CONTAINERS, IMAGES,
        wide_selector("A label query over pods that are managed by the daemon set."),
    ),
    _daemon_set_cells,
)


def _stateful_set_cells(sts: Obj, now: datetime) -> Cells:
    names, images = layout_containers(template_containers(sts))
    ready = f"{_int(status(sts).get('readyReplicas'))}/{_int(spec(sts).get('replicas'), 1)}"
    return [meta(sts).get("name", ""), ready, age(sts, now), names, images]


STATEFULSET = Printer(
    (NAME, Column("Ready", description="Number of the pod with ready state"), AGE, CONTAINERS, IMAGES),
    _stateful_set_cells,
)

# --- ControllerRevisions -------------------------------------------------------------------------

def _controller_revision_cells(cr: Obj, now: datetime) -> Cells:
    controller = "<none>"
    for ref in meta(cr).get("ownerReferences") or []:
        if ref.get("controller"):
            group = str(ref.get("apiVersion", "")).rpartition("/")[0]
            kind = str(ref.get("kind", ""))
            group_kind = f"{kind}.{group}" if group else kind
            controller = f"{group_kind.lower()}/{ref.get('name', '')}" if kind else str(ref.get("name", ""))
            break
    return [meta(cr).get("name", ""), controller, _int(cr.get("revision")), age(cr, now)]


CONTROLLERREVISION = Printer(
    (NAME, Column("Controller", description="Controller of the object"),
     Column("Revision", description="Revision indicates the revision of the state represented by Data."), AGE),
    _controller_revision_cells,
)

# --- Jobs and CronJobs ---------------------------------------------------------------------------

def _job_condition(job: Obj, ctype: str) -> bool:
    for cond in status(job).get("conditions") or []:
        if cond.get("type") == ctype:
            return cond.get("status") == "True"
    return False


def job_status(job: Obj) -> str:
    """`Complete`, `Failed`, `Terminating`, `Suspended`, `FailureTarget` or `Running`, in that precedence."""
    if _job_condition(job, "Complete"):
        return "Complete"
    if _job_condition(job, "Failed"):
        return "Failed"
    if meta(job).get("deletionTimestamp"):
        return "Terminating"
    if _job_condition(job, "Suspended"):
        return "Suspended"
    if _job_condition(job, "FailureTarget"):
        return "FailureTarget"
    return "Running"


def _job_cells(job: Obj, now: datetime) -> Cells:
    sp, st = spec(job), status(job)
    succeeded = _int(st.get("succeeded"))
    if sp.get("completions") is not None:
        completions = f"{succeeded}/{sp['completions']}"
    elif _int(sp.get("parallelism")) > 1:
        completions = f"{succeeded}/1 of {sp['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    start, end = parse_time(st.get("startTime")), parse_time(st.get("completionTime"))
    duration = "" if start is None else human_duration((end or now) - start)
    template = sp.get("template") or {}
    names, images = layout_containers((template.get("spec") or {}).get("containers") or [])
    return [
        meta(job).get("name", ""), job_status(job), completions, duration, age(job, now),
        names, images, format_label_selector(sp.get("selector")),
    ]


JOB = Printer(
    (
        NAME,
        Column("Status", description="Status of the job."),
        Column("Completions", description="The number of pods which reached phase Succeeded."),
        Column("Duration", description="Time required to complete the job."),
        AGE, CONTAINERS, IMAGES,
        wide_selector("A label query over pods that should match the pod count."),
    ),
    _job_cells,
)


def _cron_job_cells(cj: Obj, now: datetime) -> Cells:
    sp = spec(cj)
    job_spec = (sp.get("jobTemplate") or {}).get("spec") or {}
    names, images = layout_containers(((job_spec.get("template") or {}).get("spec") or {}).get("containers") or [])
    last = status(cj).get("lastScheduleTime")
    return [
        meta(cj).get("name", ""), sp.get("schedule", ""), sp.get("timeZone") or "<none>", bool_ptr(sp.get("suspend")),
        len(status(cj).get("active") or []), since(last, now) if last else "<none>", age(cj, now),
        names, images, format_label_selector(job_spec.get("selector")),
    ]


CRONJOB = Printer(
    (
        NAME,
        Column("Schedule", description="The schedule in Cron format."),
        Column("Timezone", description="The time zone name for the given schedule."),
        Column("Suspend", type="boolean", description="This flag tells the controller to suspend subsequent executions."),
        Column("Active", type="integer", description="A list of pointers to currently running jobs."),
        Column("Last Schedule", description="Information when was the last time the job was successfully scheduled."),
        AGE, CONTAINERS, IMAGES,
        wide_selector("A label query over pods that should match the pod count."),
    ),
    _cron_job_cells,
)

# --- HorizontalPodAutoscalers --------------------------------------------------------------------

def _current(statuses: list[Mapping[str, Any]], i: int, key: str) -> Mapping[str, Any]:
    """`status.currentMetrics[i].<key>.current`, empty when the autoscaler has not measured it yet."""
    if i >= len(statuses):
        return {}
    return (statuses[i].get(key) or {}).get("current") or {}


def _format_metric(metric: Mapping[str, Any], statuses: list[Mapping[str, Any]], i: int) -> str:
    key = {"Resource": "resource", "ContainerResource": "containerResource", "Pods": "pods",
           "Object": "object", "External": "external"}.get(metric.get("type", ""))
    if key is None:
        return "<unknown type>"
    source = metric.get(key) or {}
    target = source.get("target") or {}
    current = _current(statuses, i, key)
    if key in ("resource", "containerResource"):
        name = source.get("name", "")
        if target.get("averageValue") is not None:
            return f"{name}: {current.get('averageValue', '<unknown>')}/{target['averageValue']}"
        now_pct = f"{current['averageUtilization']}%" if current.get("averageUtilization") is not None else "<unknown>"
        goal = f"{target['averageUtilization']}%" if target.get("averageUtilization") is not None else "<auto>"
        return f"{name}: {now_pct}/{goal}"
    if key == "pods":
        return f"{current.get('averageValue', '<unknown>')}/{target.get('averageValue', '')}"
    if target.get("averageValue") is not None:
        return f"{current.get('averageValue', '<unknown>')}/{target['averageValue']} (avg)"
    return f"{current.get('value', '<unknown>')}/{target.get('value', '')}"


def format_hpa_metrics(hpa: Obj) -> str:
    """`formatHPAMetrics` for autoscaling/v2: `cpu: 12%/50%`, at most two, then ` + N more...`."""
    specs = spec(hpa).get("metrics") or []
    if not specs:
        return "<none>"
    statuses = list(status(hpa).get("currentMetrics") or [])
    parts = [_format_metric(m, statuses, i) for i, m in enumerate(specs)]
    if len(parts) > 2:
        return ", ".join(parts[:2]) + f" + {len(parts) - 2} more..."
    return ", ".join(parts)


def _hpa_cells(hpa: Obj, now: datetime) -> Cells:
    sp = spec(hpa)
    ref = sp.get("scaleTargetRef") or {}
    min_pods = str(sp["minReplicas"]) if sp.get("minReplicas") is not None else "<unset>"
    return [
        meta(hpa).get("name", ""), f"{ref.get('kind', '')}/{ref.get('name', '')}", format_hpa_metrics(hpa),
        min_pods, _int(sp.get("maxReplicas")), _int(status(hpa).get("currentReplicas")), age(hpa, now),
    ]


HORIZONTALPODAUTOSCALER = Printer(
    (
        NAME,
        Column("Reference", description="reference to scaled resource"),
        Column("Targets", description="the metrics used to calculate the desired replica count"),
        Column("MinPods", description="the lower limit for the number of pods that can be set by the autoscaler"),
        Column("MaxPods", description="the upper limit for the number of pods that can be set by the autoscaler"),
        Column("Replicas", description="current number of replicas of pods managed by this autoscaler"),
        AGE,
    ),
    _hpa_cells,
)
