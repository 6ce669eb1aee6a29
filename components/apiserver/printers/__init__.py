"""Server-side table printers: for each resource, the columns `kubectl get` shows and how to fill them.

The API server answers `Accept: …;as=Table;g=meta.k8s.io` with rows built here (see `tables.py`).
`printer_for(group, resource)` returns the printer of a resource, or the NAME/AGE default that
Kubernetes uses for kinds without their own columns. Pure code: dicts in, cells out.
"""

from __future__ import annotations

from .common import DEFAULT_PRINTER, Column, Printer, human_duration
from .core import (
    CONFIGMAP, ENDPOINTS, EVENT, NAMESPACE, NODE, PERSISTENTVOLUME, PERSISTENTVOLUMECLAIM, SECRET, SERVICE,
    SERVICEACCOUNT,
)
from .misc import ENDPOINTSLICE, INGRESS, LEASE
from .pods import POD, pod_summary
from .workloads import (
    CONTROLLERREVISION, CRONJOB, DAEMONSET, DEPLOYMENT, HORIZONTALPODAUTOSCALER, JOB, REPLICASET,
    REPLICATIONCONTROLLER, STATEFULSET,
)

# Keyed by (group, resource): the group decides, not the version (autoscaling/v1 and v2 print alike).
PRINTERS: dict[tuple[str, str], Printer] = {
    ("", "pods"): POD,
    ("", "services"): SERVICE,
    ("", "nodes"): NODE,
    ("", "namespaces"): NAMESPACE,
    ("", "events"): EVENT,
    ("", "configmaps"): CONFIGMAP,
    ("", "secrets"): SECRET,
    ("", "serviceaccounts"): SERVICEACCOUNT,
    ("", "endpoints"): ENDPOINTS,
    ("", "persistentvolumes"): PERSISTENTVOLUME,
    ("", "persistentvolumeclaims"): PERSISTENTVOLUMECLAIM,
    ("", "replicationcontrollers"): REPLICATIONCONTROLLER,
    ("apps", "deployments"): DEPLOYMENT,
    ("apps", "replicasets"): REPLICASET,
    ("apps", "daemonsets"): DAEMONSET,
    ("apps", "statefulsets"): STATEFULSET,
    ("apps", "controllerrevisions"): CONTROLLERREVISION,
    ("batch", "jobs"): JOB,
    ("batch", "cronjobs"): CRONJOB,
    ("autoscaling", "horizontalpodautoscalers"): HORIZONTALPODAUTOSCALER,
    ("networking.k8s.io", "ingresses"): INGRESS,
    ("discovery.k8s.io", "endpointslices"): ENDPOINTSLICE,
    ("coordination.k8s.io", "leases"): LEASE,
}


def printer_for(group: str, resource: str) -> Printer:
    """The printer for a resource; NAME and AGE for anything without its own."""
    return PRINTERS.get((group, resource), DEFAULT_PRINTER)


__all__ = ["Column", "DEFAULT_PRINTER", "PRINTERS", "Printer", "human_duration", "pod_summary", "printer_for"]
