"""Which container a logs/exec request means: the resolver the stream server calls.

(node, namespace, pod, container, previous) → a `StreamTarget` (the docker container id, the
spec's tty/stdin; `sim=True` for simulated nodes). Errors are the API's: NotFound when the pod is
not on this node, BadRequest when the container is not in the pod, has not started, or has no
previous terminated instance — with Kubernetes' messages, which kubectl prints as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import BadRequest, NotFound
from core.podstatus import CONTAINER_CREATING, CREATED, POD_INITIALIZING, ContainerObs, PodObs, Waiting


def pick_container(pod: Mapping[str, Any], container: str) -> tuple[dict[str, Any], bool]:
    """(the container's spec, whether it is an init container); BadRequest if the pod has none such."""
    spec = pod.get("spec") or {}
    name = (pod.get("metadata") or {}).get("name", "")
    apps = spec.get("containers") or []
    if not container:
        if len(apps) == 1:
            return dict(apps[0]), False
        names = " ".join(str(c.get("name", "")) for c in apps)
        raise BadRequest(f"a container name must be specified for pod {name}, choose one of: [{names}]")
    for c in apps:
        if c.get("name") == container:
            return dict(c), False
    for c in spec.get("initContainers") or []:
        if c.get("name") == container:
            return dict(c), True
    for c in spec.get("ephemeralContainers") or []:
        if c.get("name") == container:
            return dict(c), False
    raise BadRequest(f'container "{container}" is not valid for pod "{name}"')


def pick_instance(pod: Mapping[str, Any], obs: PodObs, name: str, init: bool, previous: bool,
                  reasons: Mapping[str, Waiting]) -> ContainerObs:
    """The container instance to stream from (the newest, or the last terminated one)."""
    pod_name = (pod.get("metadata") or {}).get("name", "")
    attempts = [a for a in obs.attempts(name, init=init) if a.state != CREATED]
    if previous:
        # As containerStatuses[].lastState says: the newest attempt when it exited and waits for a
        # restart, else the newest exited one before it.
        if attempts and attempts[0].exited and name in reasons:
            return attempts[0]
        for a in attempts[1:]:
            if a.exited:
                return a
        raise BadRequest(f'previous terminated container "{name}" in pod "{pod_name}" not found')
    if not attempts:
        default = POD_INITIALIZING if (pod.get("spec") or {}).get("initContainers") else CONTAINER_CREATING
        why = reasons.get(name, Waiting(default)).reason
        raise BadRequest(f'container "{name}" in pod "{pod_name}" is waiting to start: {why}')
    return attempts[0]


def pod_not_found(name: str) -> NotFound:
    return NotFound(f'pods "{name}" not found', kind="pods", name=name)

