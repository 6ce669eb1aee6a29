"""The writes workload controllers make on what they own, with the Events Kubernetes records.

`ObjectControl` creates and deletes dependents (pods, ReplicaSets, Jobs, PVCs) on behalf of an
owner and records `SuccessfulCreate` / `FailedCreate` / `SuccessfulDelete` / `FailedDelete` on
the owner, as Kubernetes' controllers do; it adopts orphans and releases objects that stopped
matching (ownerReferences changed by a merge patch at the revision the decision was read at, so
a concurrent change makes it a 409 and the key is retried on a fresher view).

A create refused by the API server (a 4xx other than a conflict: quota, validation, a
terminating namespace) raises `CreateFailed` after the Event, so the caller can lower its
expectations and back off.
"""

from __future__ import annotations

from typing import Any

from bus.apiclient import ApiClient, ApiReplyError
from bus.recorder import EventRecorder
from core.workload import name_of, uid_of, with_owner, without_owner

Obj = dict[str, Any]

# The kinds controllers make, with the resource name the bus API wants.
RESOURCES = {"Pod": "pods", "ReplicaSet": "replicasets.apps", "Job": "jobs.batch",
             "PersistentVolumeClaim": "persistentvolumeclaims", "ControllerRevision": "controllerrevisions.apps"}


class CreateFailed(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class ObjectControl:
    def __init__(self, api: ApiClient, recorder: EventRecorder) -> None:
        self.api = api
        self.recorder = recorder

    async def create(self, owner: Obj, body: Obj, *, namespace: str = "", event: bool = True) -> Obj:
        kind = str(body.get("kind", "Pod"))
        ns = namespace or str((owner.get("metadata") or {}).get("namespace", ""))
        try:
            made = await self.api.create(RESOURCES[kind], ns, body)
        except ApiReplyError as e:
            msg = str(e.status.get("message", e))
            self.recorder.record(owner, "Warning", "FailedCreate", f"Error creating: {msg}")
            raise CreateFailed(e.code, msg) from e
        if event:
            self.recorder.record(owner, "Normal", "SuccessfulCreate", f"Created {kind.lower()}: {name_of(made)}")
        return made

    async def delete(self, owner: Obj, obj: Obj, *, kind: str = "Pod", propagation: str | None = None,
                     event: bool = True) -> bool:
        """Delete `obj` (only that incarnation: uid precondition). False if it was already gone."""
        md = obj.get("metadata") or {}
        try:
            await self.api.delete(RESOURCES[kind], str(md.get("namespace", "")), str(md.get("name", "")),
                                  uid=uid_of(obj) or None, propagation=propagation)
        except ApiReplyError as e:
            if e.code in (404, 409):  # gone, or replaced by another object of that name
                return False
            if event:
                self.recorder.record(owner, "Warning", "FailedDelete",
                                     f"Error deleting: {e.status.get('message', e)}")
            raise
        if event:
            self.recorder.record(owner, "Normal", "SuccessfulDelete", f"Deleted {kind.lower()}: {name_of(obj)}")
        return True

    async def adopt(self, owner_ref: Obj, obj: Obj, *, kind: str = "Pod") -> Obj | None:
        """Make `owner_ref` the controller of `obj`; None if `obj` changed or went away meanwhile."""
        return await self._set_refs(obj, with_owner(obj, owner_ref), kind)

    async def release(self, owner_uid: str, obj: Obj, *, kind: str = "Pod") -> Obj | None:
        return await self._set_refs(obj, without_owner(obj, owner_uid), kind)

    async def _set_refs(self, obj: Obj, refs: list[Obj], kind: str) -> Obj | None:
        md = obj.get("metadata") or {}
        patch = {"metadata": {"ownerReferences": refs or None, "resourceVersion": md.get("resourceVersion"),
                              "uid": md.get("uid")}}
        try:
            return await self.api.patch(RESOURCES[kind], str(md.get("namespace", "")), str(md.get("name", "")), patch)
        except ApiReplyError as e:
            if e.code in (404, 409, 422):
                return None
            raise
