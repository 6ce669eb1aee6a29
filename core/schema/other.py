"""Typed views of the smaller groups: coordination.k8s.io Lease, discovery.k8s.io EndpointSlice,
networking.k8s.io Ingress, autoscaling/v2 HorizontalPodAutoscaler."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from core.schema.meta import KModel, QuantityValue, Resource


class LeaseSpec(KModel):
    holder_identity: str | None = None
    lease_duration_seconds: int | None = None
    acquire_time: str | None = None
    renew_time: str | None = None
    lease_transitions: int | None = None


class Lease(Resource):
    spec: LeaseSpec = Field(default_factory=LeaseSpec)


class SliceEndpoint(KModel):
    addresses: list[str] | None = None
    conditions: dict[str, Any] | None = None
    hostname: str | None = None
    node_name: str | None = None
    zone: str | None = None


class SlicePort(KModel):
    name: str | None = None
    protocol: str | None = None
    port: int | None = None
    app_protocol: str | None = None


class EndpointSlice(Resource):
    address_type: str = ""
    endpoints: list[SliceEndpoint] | None = None
    ports: list[SlicePort] | None = None


class ServiceBackendPort(KModel):
    name: str = ""
    number: int = 0


class IngressServiceBackend(KModel):
    name: str = ""
    port: ServiceBackendPort = Field(default_factory=ServiceBackendPort)


class IngressBackend(KModel):
    service: IngressServiceBackend | None = None
    resource: dict[str, Any] | None = None


class HTTPIngressPath(KModel):
    path: str = ""
    path_type: str | None = None
    backend: IngressBackend = Field(default_factory=IngressBackend)


class HTTPIngressRuleValue(KModel):
    paths: list[HTTPIngressPath] | None = None


class IngressRule(KModel):
    host: str = ""
    http: HTTPIngressRuleValue | None = None


class IngressTLS(KModel):
    hosts: list[str] | None = None
    secret_name: str = ""


class IngressSpec(KModel):
    ingress_class_name: str | None = None
    default_backend: IngressBackend | None = None
    tls: list[IngressTLS] | None = None
    rules: list[IngressRule] | None = None


class Ingress(Resource):
    spec: IngressSpec = Field(default_factory=IngressSpec)


class CrossVersionObjectReference(KModel):
    kind: str = ""
    name: str = ""
    api_version: str = ""


class MetricTarget(KModel):
    type: str = ""
    value: QuantityValue | None = None
    average_value: QuantityValue | None = None
    average_utilization: int | None = None


class ResourceMetricSource(KModel):
    name: str = ""
    target: MetricTarget = Field(default_factory=MetricTarget)


class MetricSpec(KModel):
    type: str = ""
    resource: ResourceMetricSource | None = None
    pods: dict[str, Any] | None = None
    object: dict[str, Any] | None = None
    external: dict[str, Any] | None = None
    container_resource: dict[str, Any] | None = None


class HorizontalPodAutoscalerSpec(KModel):
    scale_target_ref: CrossVersionObjectReference = Field(default_factory=CrossVersionObjectReference)
    min_replicas: int | None = None
    max_replicas: int = 0
    metrics: list[MetricSpec] | None = None
    behavior: dict[str, Any] | None = None


class HorizontalPodAutoscaler(Resource):
    spec: HorizontalPodAutoscalerSpec = Field(default_factory=HorizontalPodAutoscalerSpec)
