"""Typed views of the core/v1 API group: Pod and its spec, Service, Namespace, Node, ConfigMap,
Secret, ServiceAccount, Event, Endpoints, ReplicationController, PersistentVolume(Claim).

Only the fields admission validates are modelled (see core.schema.meta for the conventions);
everything else rides along as extras. Volume sources and similar wide unions are kept as dicts
where only their presence matters.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from core.schema.meta import (
    IntOrStr, KModel, LabelSelector, LocalObjectReference, ObjectMeta, ObjectReference, Resource, ResourceList,
    StrMap,
)

# ---- containers -------------------------------------------------------------------------------


class ContainerPort(KModel):
    name: str = ""
    host_port: int = 0
    container_port: int = 0
    protocol: str = ""
    host_ip: str = Field(default="", alias="hostIP")


class ObjectFieldSelector(KModel):
    api_version: str = ""
    field_path: str = ""


class KeySelector(KModel):
    name: str = ""
    key: str = ""
    optional: bool | None = None


class EnvVarSource(KModel):
    field_ref: ObjectFieldSelector | None = None
    resource_field_ref: dict[str, Any] | None = None
    config_map_key_ref: KeySelector | None = None
    secret_key_ref: KeySelector | None = None
    file_key_ref: dict[str, Any] | None = None


class EnvVar(KModel):
    name: str = ""
    value: str = ""
    value_from: EnvVarSource | None = None


class VolumeMount(KModel):
    name: str = ""
    read_only: bool = False
    mount_path: str = ""
    sub_path: str = ""
    mount_propagation: str | None = None
    sub_path_expr: str = ""


class ResourceRequirements(KModel):
    limits: ResourceList | None = None
    requests: ResourceList | None = None


class HTTPGetAction(KModel):
    path: str = ""
    port: IntOrStr | None = None
    host: str = ""
    scheme: str = ""


class TCPSocketAction(KModel):
    port: IntOrStr | None = None
    host: str = ""


class ExecAction(KModel):
    command: list[str] | None = None


class GRPCAction(KModel):
    port: int = 0
    service: str | None = None


class SleepAction(KModel):
    seconds: int = 0


class Handler(KModel):
    """ProbeHandler and LifecycleHandler: exactly one action."""

    exec_: ExecAction | None = Field(default=None, alias="exec")
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    grpc: GRPCAction | None = None
    sleep: SleepAction | None = None


class Probe(Handler):
    initial_delay_seconds: int = 0
    timeout_seconds: int = 0
    period_seconds: int = 0
    success_threshold: int = 0
    failure_threshold: int = 0
    termination_grace_period_seconds: int | None = None


class Lifecycle(KModel):
    post_start: Handler | None = None
    pre_stop: Handler | None = None


class Container(KModel):
    name: str = ""
    image: str = ""
    command: list[str] | None = None
    args: list[str] | None = None
    working_dir: str = ""
    ports: list[ContainerPort] | None = None
    env: list[EnvVar] | None = None
    resources: ResourceRequirements | None = None
    restart_policy: str | None = None
    volume_mounts: list[VolumeMount] | None = None
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None
    startup_probe: Probe | None = None
    lifecycle: Lifecycle | None = None
    termination_message_path: str = ""
    termination_message_policy: str = ""
    image_pull_policy: str = ""


# ---- volumes ----------------------------------------------------------------------------------


class Volume(KModel):
    """A name plus exactly one source; sources stay dicts (their keys come from the catalog)."""

    name: str = ""


class Toleration(KModel):
    key: str = ""
    operator: str = ""
    value: str = ""
    effect: str = ""
    toleration_seconds: int | None = None


class TopologySpreadConstraint(KModel):
    max_skew: int = 0
    topology_key: str = ""
    when_unsatisfiable: str = ""
    label_selector: LabelSelector | None = None
    min_domains: int | None = None


class PodSpec(KModel):
    volumes: list[Volume] | None = None
    init_containers: list[Container] | None = None
    containers: list[Container] | None = None
    ephemeral_containers: list[dict[str, Any]] | None = None
    restart_policy: str = ""
    termination_grace_period_seconds: int | None = None
    active_deadline_seconds: int | None = None
    dns_policy: str = ""
    node_selector: StrMap | None = None
    service_account_name: str = ""
    node_name: str = ""
    host_network: bool = False
    image_pull_secrets: list[LocalObjectReference] | None = None
    hostname: str = ""
    subdomain: str = ""
    scheduler_name: str = ""
    tolerations: list[Toleration] | None = None
    priority_class_name: str = ""
    priority: int | None = None
    preemption_policy: str | None = None
    topology_spread_constraints: list[TopologySpreadConstraint] | None = None
    scheduling_gates: list[dict[str, Any]] | None = None


class PodTemplateSpec(KModel):
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: PodSpec = Field(default_factory=PodSpec)


class Pod(Resource):
    spec: PodSpec = Field(default_factory=PodSpec)
    status: dict[str, Any] | None = None


class PodTemplate(Resource):
    template: PodTemplateSpec = Field(default_factory=PodTemplateSpec)


# ---- services and endpoints -------------------------------------------------------------------


class ServicePort(KModel):
    name: str = ""
    protocol: str = ""
    app_protocol: str | None = None
    port: int = 0
    target_port: IntOrStr | None = None
    node_port: int = 0


class ServiceSpec(KModel):
    ports: list[ServicePort] | None = None
    selector: StrMap | None = None
    cluster_ip: str = Field(default="", alias="clusterIP")
    cluster_ips: list[str] | None = Field(default=None, alias="clusterIPs")
    type: str = ""
    external_ips: list[str] | None = Field(default=None, alias="externalIPs")
    session_affinity: str = ""
    session_affinity_config: dict[str, Any] | None = None
    external_name: str = ""
    external_traffic_policy: str = ""
    health_check_node_port: int = 0
    ip_families: list[str] | None = None
    ip_family_policy: str | None = None
    internal_traffic_policy: str | None = None


class Service(Resource):
    spec: ServiceSpec = Field(default_factory=ServiceSpec)


class EndpointAddress(KModel):
    ip: str = ""
    hostname: str = ""
    node_name: str | None = None


class EndpointPort(KModel):
    name: str = ""
    port: int = 0
    protocol: str = ""


class EndpointSubset(KModel):
    addresses: list[EndpointAddress] | None = None
    not_ready_addresses: list[EndpointAddress] | None = None
    ports: list[EndpointPort] | None = None


class Endpoints(Resource):
    subsets: list[EndpointSubset] | None = None


# ---- cluster objects --------------------------------------------------------------------------


class NamespaceSpec(KModel):
    finalizers: list[str] | None = None


class Namespace(Resource):
    spec: NamespaceSpec = Field(default_factory=NamespaceSpec)


class Taint(KModel):
    key: str = ""
    value: str = ""
    effect: str = ""


class NodeSpec(KModel):
    pod_cidr: str = Field(default="", alias="podCIDR")
    pod_cidrs: list[str] | None = Field(default=None, alias="podCIDRs")
    provider_id: str = Field(default="", alias="providerID")
    unschedulable: bool = False
    taints: list[Taint] | None = None


class Node(Resource):
    spec: NodeSpec = Field(default_factory=NodeSpec)


class ConfigMap(Resource):
    data: StrMap | None = None
    binary_data: StrMap | None = None
    immutable: bool | None = None


class Secret(Resource):
    data: StrMap | None = None
    string_data: StrMap | None = None
    type: str = ""
    immutable: bool | None = None


class ServiceAccount(Resource):
    secrets: list[ObjectReference] | None = None
    image_pull_secrets: list[LocalObjectReference] | None = None


class Event(Resource):
    involved_object: ObjectReference = Field(default_factory=ObjectReference)
    reason: str = ""
    message: str = ""
    type: str = ""
    count: int = 0


# ---- controllers and storage ------------------------------------------------------------------


class ReplicationControllerSpec(KModel):
    replicas: int | None = None
    min_ready_seconds: int = 0
    selector: StrMap | None = None
    template: PodTemplateSpec | None = None


class ReplicationController(Resource):
    spec: ReplicationControllerSpec = Field(default_factory=ReplicationControllerSpec)


class PersistentVolumeSpec(KModel):
    capacity: ResourceList | None = None
    access_modes: list[str] | None = None
    claim_ref: ObjectReference | None = None
    persistent_volume_reclaim_policy: str = ""
    storage_class_name: str = ""
    volume_mode: str | None = None


class PersistentVolume(Resource):
    spec: PersistentVolumeSpec = Field(default_factory=PersistentVolumeSpec)


class VolumeResourceRequirements(KModel):
    limits: ResourceList | None = None
    requests: ResourceList | None = None


class PersistentVolumeClaimSpec(KModel):
    access_modes: list[str] | None = None
    selector: LabelSelector | None = None
    resources: VolumeResourceRequirements = Field(default_factory=VolumeResourceRequirements)
    volume_name: str = ""
    storage_class_name: str | None = None
    volume_mode: str | None = None


class PersistentVolumeClaim(Resource):
    spec: PersistentVolumeClaimSpec = Field(default_factory=PersistentVolumeClaimSpec)
