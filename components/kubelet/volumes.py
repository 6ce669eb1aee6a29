"""Pod volumes and container mounts: what each volume holds and where it is mounted. Pure.

Every volume of a pod lives in a host directory under the kubelet's root dir,
`<root>/pods/<uid>/volumes/kubernetes.io~<kind>/<volume>` (hostPath volumes are the host path
itself). `plan_volume` says what a volume needs: an empty directory (emptyDir), a host path checked
or created by its type (hostPath), or files to write (configMap, secret, downwardAPI, projected),
and raises `MountError` with Kubernetes' message when it cannot be set up (a missing ConfigMap:
the pod stays ContainerCreating with a FailedMount Event). `container_mounts` maps a container's
volumeMounts (readOnly, subPath, subPathExpr) onto those directories; config volumes are always
mounted read-only. `mounts.py` does the I/O.

A persistentVolumeClaim volume is a node-local directory, `<root>/pvc/<namespace>/<claimName>`,
created on first use and never removed with the pod: the claim's data stays on the node and a pod
that comes back to it (a StatefulSet's `web-0` after a restart) finds it again. This is a
departure, a "local path" semantics: there is no provisioner, no PersistentVolume is bound, the
claim's status, capacity and access modes are not looked at, and a pod scheduled to another node
gets an empty directory there. `readOnly: true` on the volume source mounts it read-only.

Not done: ConfigMap/Secret updates are not propagated into running pods; emptyDir medium Memory
is an ordinary directory; other network volume types fail to mount.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass

from components.kubelet.envvars import Obj, PodFacts, Sources, expand, field_value, resource_value

DEFAULT_MODE = 0o644

KIND_DIRS = {"emptyDir": "kubernetes.io~empty-dir", "configMap": "kubernetes.io~configmap",
             "secret": "kubernetes.io~secret", "downwardAPI": "kubernetes.io~downward-api",
             "projected": "kubernetes.io~projected"}
CONFIG_KINDS = ("configMap", "secret", "downwardAPI", "projected")


class MountError(Exception):
    """A volume cannot be set up; the message follows Kubernetes' wording."""


@dataclass(frozen=True)
class File:
    path: str  # relative to the volume's directory
    data: bytes
    mode: int = DEFAULT_MODE


@dataclass(frozen=True)
class VolumePlan:
    name: str
    kind: str  # emptyDir, hostPath, configMap, secret, downwardAPI, projected
    host_path: str = ""  # hostPath only
    host_type: str = ""  # hostPath only: "", DirectoryOrCreate, Directory, FileOrCreate, File, Socket, …
    files: tuple[File, ...] = ()
    claim_dir: str = ""  # persistentVolumeClaim only: "<namespace>/<claimName>" under `<root>/pvc`
    source_read_only: bool = False  # persistentVolumeClaim's readOnly

    @property
    def read_only(self) -> bool:
        return self.kind in CONFIG_KINDS or self.source_read_only


def kind_of(volume: Obj) -> str:
    for kind in ("emptyDir", "hostPath", "configMap", "secret", "downwardAPI", "projected"):
        if volume.get(kind) is not None:
            return kind
    others = [k for k in volume if k != "name"]
    return others[0] if others else "emptyDir"


def references(pod: Obj) -> tuple[set[str], set[str]]:
    """(configmap names, secret names) the pod's volumes refer to."""
    cms: set[str] = set()
    secrets: set[str] = set()
    for v in (pod.get("spec") or {}).get("volumes") or []:
        if v.get("configMap"):
            cms.add(str(v["configMap"].get("name", "")))
        if v.get("secret"):
            secrets.add(str(v["secret"].get("secretName", "")))
        for src in (v.get("projected") or {}).get("sources") or []:
            if src.get("configMap"):
                cms.add(str(src["configMap"].get("name", "")))
            if src.get("secret"):
                secrets.add(str(src["secret"].get("name", "")))
    return cms, secrets


def _safe(path: str) -> bool:
    norm = posixpath.normpath(path)
    return bool(path) and not path.startswith("/") and norm != ".." and not norm.startswith("../")


def _key_files(kind: str, name: str, data: Mapping[str, bytes], items: list[Obj] | None, mode: int,
               optional: bool) -> list[File]:
    if items:
        out = []
        for it in items:
            key, path = str(it.get("key", "")), str(it.get("path", ""))
            if key not in data:
                if optional:
                    continue
                raise MountError(f"{kind} references non-existent config key: {key}")
            if not _safe(path):
                raise MountError(f"invalid path {path!r} for key {key} of {kind} {name}")
            out.append(File(path, data[key], int(it["mode"]) if it.get("mode") is not None else mode))
        return out
    return [File(k, v, mode) for k, v in sorted(data.items()) if _safe(k)]


def _configmap_data(cm: Obj) -> dict[str, bytes]:
    data = {str(k): str(v).encode() for k, v in (cm.get("data") or {}).items()}
    for k, v in (cm.get("binaryData") or {}).items():
        data[str(k)] = _b64(str(v))
    return data


def _secret_data(secret: Obj) -> dict[str, bytes]:
    return {str(k): _b64(str(v)) for k, v in (secret.get("data") or {}).items()}


def _b64(v: str) -> bytes:
    try:
        return base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError):
        return v.encode()


def _configmap_files(src: Obj, sources: Sources, mode: int) -> list[File]:
    name = str(src.get("name", ""))
    cm = sources.configmaps.get(name)
    if cm is None:
        if src.get("optional"):
            return []
        raise MountError(f'configmap "{name}" not found')
    return _key_files("configmap", name, _configmap_data(cm), src.get("items"), mode, bool(src.get("optional")))


def _secret_files(src: Obj, name_key: str, sources: Sources, mode: int) -> list[File]:
    name = str(src.get(name_key, ""))
    secret = sources.secrets.get(name)
    if secret is None:
        if src.get("optional"):
            return []
        raise MountError(f'secret "{name}" not found')
    return _key_files("secret", name, _secret_data(secret), src.get("items"), mode, bool(src.get("optional")))


def _downward_files(src: Obj, pod: Obj, facts: PodFacts, mode: int) -> list[File]:
    out = []
    for it in src.get("items") or []:
        path = str(it.get("path", ""))
        if not _safe(path):
            raise MountError(f"invalid downward API path {path!r}")
        if it.get("fieldRef"):
            value = field_value(pod, str(it["fieldRef"].get("fieldPath", "")), facts)
        elif it.get("resourceFieldRef"):
            value = resource_value(pod, {}, it["resourceFieldRef"], facts)
        else:
            continue
        out.append(File(path, value.encode(), int(it["mode"]) if it.get("mode") is not None else mode))
    return out


PVC = "persistentVolumeClaim"
PVC_ROOT = "pvc"  # under the kubelet's root dir


def _claim_plan(name: str, src: Obj, pod: Obj) -> VolumePlan:
    claim = str(src.get("claimName") or "")
    ns = str((pod.get("metadata") or {}).get("namespace") or "default")
    for part, what in ((claim, "claimName"), (ns, "namespace")):
        if not part or "/" in part or part in (".", ".."):
            raise MountError(f"invalid persistentVolumeClaim {what} {part!r} for volume {name}")
    return VolumePlan(name, PVC, claim_dir=posixpath.join(ns, claim), source_read_only=bool(src.get("readOnly")))


def mount_plan(volume: Obj, pod: Obj) -> VolumePlan:
    """Where a volume lives, without its contents (enough to map volumeMounts onto it)."""
    name = str(volume.get("name", ""))
    kind = kind_of(volume)
    if kind == "hostPath":
        hp = volume["hostPath"]
        return VolumePlan(name, kind, host_path=str(hp.get("path", "")), host_type=str(hp.get("type") or ""))
    if kind == PVC:
        return _claim_plan(name, volume.get(PVC) or {}, pod)
    return VolumePlan(name, kind)


def plan_volume(volume: Obj, pod: Obj, sources: Sources, facts: PodFacts) -> VolumePlan:
    name = str(volume.get("name", ""))
    kind = kind_of(volume)
    if kind in ("emptyDir", "hostPath", PVC):
        return mount_plan(volume, pod)
    src = volume.get(kind) or {}
    raw_mode = src.get("defaultMode")
    mode = int(raw_mode) if isinstance(raw_mode, int) else DEFAULT_MODE
    if kind == "configMap":
        return VolumePlan(name, kind, files=tuple(_configmap_files(src, sources, mode)))
    if kind == "secret":
        return VolumePlan(name, kind, files=tuple(_secret_files(src, "secretName", sources, mode)))
    if kind == "downwardAPI":
        return VolumePlan(name, kind, files=tuple(_downward_files(src, pod, facts, mode)))
    if kind == "projected":
        files: list[File] = []
        for s in src.get("sources") or []:
            if s.get("configMap"):
                files += _configmap_files(s["configMap"], sources, mode)
            elif s.get("secret"):
                files += _secret_files(s["secret"], "name", sources, mode)
            elif s.get("downwardAPI"):
                files += _downward_files(s["downwardAPI"], pod, facts, mode)
            # serviceAccountToken and clusterTrustBundle: no token issuer yet, nothing written
        return VolumePlan(name, kind, files=tuple(files))
    raise MountError(f"volume type {kind} is not supported by jetkube's kubelet")


def volume_dir(pod_dir: str, plan: VolumePlan) -> str:
    """The host directory of a volume; `pod_dir` is `<root>/pods/<uid>`."""
    if plan.kind == "hostPath":
        return plan.host_path
    if plan.kind == PVC:
        if not plan.claim_dir:  # a plan made without the claim (not by mount_plan/plan_volume)
            raise MountError(f"volume {plan.name}: persistentVolumeClaim without a claim name")
        root = posixpath.dirname(posixpath.dirname(posixpath.normpath(pod_dir)))
        return posixpath.join(root, PVC_ROOT, plan.claim_dir)
    return posixpath.join(pod_dir, "volumes", KIND_DIRS.get(plan.kind, f"kubernetes.io~{plan.kind}"), plan.name)


@dataclass(frozen=True)
class MountSpec:
    source: str
    target: str
    read_only: bool
    make_dir: bool = False  # a subPath of a writable volume is created when missing


def container_mounts(container: Obj, plans: Mapping[str, VolumePlan], pod_dir: str,
                     env: Mapping[str, str]) -> list[MountSpec]:
    """Where each volumeMount comes from; MountError when it names no volume of the pod."""
    out = []
    for m in container.get("volumeMounts") or []:
        vname = str(m.get("name", ""))
        plan = plans.get(vname)
        if plan is None:
            raise MountError(f'cannot find volume "{vname}" to mount into container "{container.get("name", "")}"')
        base = volume_dir(pod_dir, plan)
        sub = str(m.get("subPath") or "")
        if m.get("subPathExpr"):
            sub = expand(str(m["subPathExpr"]), env)
        if sub and not _safe(sub):
            raise MountError(f"invalid subPath {sub!r}: must be a relative path without '..'")
        source = posixpath.join(base, sub) if sub else base
        out.append(MountSpec(source, str(m.get("mountPath", "")), bool(m.get("readOnly")) or plan.read_only,
                             make_dir=bool(sub) and not plan.read_only))
    return out
