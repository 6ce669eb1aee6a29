"""Builders for kubelet unit tests: pods as the API server stores them, runtime observations."""

from __future__ import annotations

from typing import Any

from components.kubelet.decide import spec_hash
from core.podstatus import CREATED, EXITED, PENDING, READY, RUNNING, ContainerObs, PodObs, SandboxObs

NOW = 1_800_000_000.0
UID = "0123456789abcdef"


def container(name: str = "c", **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "busybox:latest", "imagePullPolicy": "IfNotPresent", **extra}


def pod(*containers: dict[str, Any], init: list[dict[str, Any]] | None = None, restart: str = "Always",
        status: dict[str, Any] | None = None, deleting: int | None = None, **spec: Any) -> dict[str, Any]:
    md: dict[str, Any] = {"name": "p", "namespace": "ns", "uid": UID, "resourceVersion": "5"}
    if deleting is not None:
        md["deletionTimestamp"] = "2027-01-15T08:00:00Z"
        md["deletionGracePeriodSeconds"] = deleting
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": md,
                            "spec": {"nodeName": "n1", "restartPolicy": restart,
                                     "containers": list(containers) or [container()],
                                     "terminationGracePeriodSeconds": 30, **spec},
                            "status": status if status is not None else {"phase": "Pending", "qosClass": "BestEffort"}}
    if init:
        body["spec"]["initContainers"] = init
    return body


def sandbox(attempt: int = 0, state: str = READY, ip: str = "10.0.0.2", **extra: Any) -> SandboxObs:
    return SandboxObs(f"sb{attempt}", attempt, state, ip=ip, created_at=NOW - 100, **extra)


def running(name: str = "c", attempt: int = 0, *, spec: dict[str, Any] | None = None, init: bool = False,
            started: float = NOW - 50, sandbox_attempt: int = 0) -> ContainerObs:
    return ContainerObs(f"{name}-{attempt}", name, attempt, RUNNING, init=init, sandbox_attempt=sandbox_attempt,
                        hash=spec_hash(spec if spec is not None else container(name)), image="busybox:latest",
                        image_id="sha256:abc", started_at=started)


def exited(name: str = "c", attempt: int = 0, code: int = 0, *, spec: dict[str, Any] | None = None,
           init: bool = False, started: float = NOW - 50, finished: float = NOW - 5, reason: str = "",
           message: str = "", sandbox_attempt: int = 0) -> ContainerObs:
    return ContainerObs(f"{name}-{attempt}", name, attempt, EXITED, init=init, sandbox_attempt=sandbox_attempt,
                        hash=spec_hash(spec if spec is not None else container(name)), image="busybox:latest",
                        image_id="sha256:abc", started_at=started, finished_at=finished, exit_code=code,
                        reason=reason or ("Completed" if code == 0 else "Error"), message=message)


def created(name: str = "c", attempt: int = 0) -> ContainerObs:
    return ContainerObs(f"{name}-{attempt}", name, attempt, CREATED, hash=spec_hash(container(name)))


def obs(*items: SandboxObs | ContainerObs) -> PodObs:
    return PodObs(tuple(i for i in items if isinstance(i, SandboxObs)),
                  tuple(i for i in items if isinstance(i, ContainerObs)))


__all__ = ["NOW", "UID", "PENDING", "container", "pod", "sandbox", "running", "exited", "created", "obs"]
