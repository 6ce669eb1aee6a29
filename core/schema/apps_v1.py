"""Typed views of apps/v1: Deployment, ReplicaSet, DaemonSet, StatefulSet, ControllerRevision."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from core.schema.core_v1 import PersistentVolumeClaim, PodTemplateSpec
from core.schema.meta import IntOrStr, KModel, LabelSelector, Resource


class RollingUpdateDeployment(KModel):
    max_unavailable: IntOrStr | None = None
    max_surge: IntOrStr | None = None


class DeploymentStrategy(KModel):
    type: str = ""
    rolling_update: RollingUpdateDeployment | None = None


class DeploymentSpec(KModel):
    replicas: int | None = None
    selector: LabelSelector | None = None
    template: PodTemplateSpec = Field(default_factory=PodTemplateSpec)
    strategy: DeploymentStrategy = Field(default_factory=DeploymentStrategy)
    min_ready_seconds: int = 0
    revision_history_limit: int | None = None
    paused: bool = False
    progress_deadline_seconds: int | None = None


class Deployment(Resource):
    spec: DeploymentSpec = Field(default_factory=DeploymentSpec)


class ReplicaSetSpec(KModel):
    replicas: int | None = None
    min_ready_seconds: int = 0
    selector: LabelSelector | None = None
    template: PodTemplateSpec = Field(default_factory=PodTemplateSpec)


class ReplicaSet(Resource):
    spec: ReplicaSetSpec = Field(default_factory=ReplicaSetSpec)


class RollingUpdateDaemonSet(KModel):
    max_unavailable: IntOrStr | None = None
    max_surge: IntOrStr | None = None


class DaemonSetUpdateStrategy(KModel):
    type: str = ""
    rolling_update: RollingUpdateDaemonSet | None = None


class DaemonSetSpec(KModel):
    selector: LabelSelector | None = None
    template: PodTemplateSpec = Field(default_factory=PodTemplateSpec)
    update_strategy: DaemonSetUpdateStrategy = Field(default_factory=DaemonSetUpdateStrategy)
    min_ready_seconds: int = 0
    revision_history_limit: int | None = None


class DaemonSet(Resource):
    spec: DaemonSetSpec = Field(default_factory=DaemonSetSpec)


class RollingUpdateStatefulSetStrategy(KModel):
    partition: int | None = None
    max_unavailable: IntOrStr | None = None


class StatefulSetUpdateStrategy(KModel):
    type: str = ""
    rolling_update: RollingUpdateStatefulSetStrategy | None = None


class StatefulSetOrdinals(KModel):
    start: int = 0


class StatefulSetSpec(KModel):
    replicas: int | None = None
    selector: LabelSelector | None = None
    template: PodTemplateSpec = Field(default_factory=PodTemplateSpec)
    volume_claim_templates: list[PersistentVolumeClaim] | None = None
    service_name: str = ""
    pod_management_policy: str = ""
    update_strategy: StatefulSetUpdateStrategy = Field(default_factory=StatefulSetUpdateStrategy)
    revision_history_limit: int | None = None
    min_ready_seconds: int = 0
    persistent_volume_claim_retention_policy: dict[str, Any] | None = None
    ordinals: StatefulSetOrdinals | None = None


class StatefulSet(Resource):
    spec: StatefulSetSpec = Field(default_factory=StatefulSetSpec)


class ControllerRevision(Resource):
    data: Any = None
    revision: int = 0
