"""The message table: Kubernetes protobuf message → {field number: how to decode it into JSON}.

Field numbers and message layouts are Kubernetes' (the `generated.proto` files of k8s.io/api and
k8s.io/apimachinery); the JSON names and the zero-value rules are those of the Go structs' json tags.

Presence. Kubernetes' Go marshaller writes every non-pointer field, zero or not (`name: ""`,
`generation: 0`, an empty `status {}`), and a pointer field only when it is set. So the wire alone
does not say what is "unset"; each scalar field carries `keep`:

- keep=False (the default): a Go value field tagged `omitempty`: a zero value ("", 0, false, an
  int-or-string 0) is dropped, as encoding/json drops it.
- keep=True: a Go pointer (`*int32 replicas`, `*bool optional`) or a field without `omitempty`
  (`containerPort`, `key`): whatever the wire carries is kept, zero included (`replicas: 0`).

Messages, lists and maps are kept whenever the wire carries them (an empty message is `{}`, as
encoding/json writes a non-pointer struct); a zero `Time` is dropped (Go writes `null`).
`inline` fields are Go embedded structs whose fields JSON flattens into the parent (Volume's
VolumeSource, Probe's ProbeHandler, the LocalObjectReference in key selectors).

KINDS maps (apiVersion, kind) to the top-level message decoded from an envelope's `raw` bytes.
"""

from __future__ import annotations

from typing import NamedTuple

# Field kinds.
STRING = "string"
BOOL = "bool"
INT32 = "int32"
INT64 = "int64"
BYTES = "bytes"          # base64 in JSON
TIME = "time"            # meta/v1 Time {seconds=1, nanos=2} → RFC 3339, seconds precision
QUANTITY = "quantity"    # resource.Quantity {string=1} → its string
INTSTR = "intstr"        # intstr.IntOrString {type=1, intVal=2, strVal=3} → int or str
FIELDSV1 = "fieldsv1"    # meta/v1 FieldsV1 {Raw=1}: JSON bytes → the JSON value
MESSAGE = "message"      # ref: message name
INLINE = "inline"        # ref: message name, fields merged into the parent
MAP = "map"              # ref: value kind (STRING, BYTES, QUANTITY); keys are strings

SCALARS = frozenset({STRING, BOOL, INT32, INT64, BYTES})


class Field(NamedTuple):
    json: str
    kind: str
    ref: str | None = None
    repeated: bool = False
    keep: bool = False


Message = dict[int, Field]


def s(name: str, keep: bool = False) -> Field:
    return Field(name, STRING, keep=keep)


def b(name: str, keep: bool = False) -> Field:
    return Field(name, BOOL, keep=keep)


def i32(name: str, keep: bool = False) -> Field:
    return Field(name, INT32, keep=keep)


def i64(name: str, keep: bool = False) -> Field:
    return Field(name, INT64, keep=keep)


def t(name: str) -> Field:
    return Field(name, TIME)


def q(name: str) -> Field:
    return Field(name, QUANTITY, keep=True)


def ios(name: str, keep: bool = False) -> Field:
    return Field(name, INTSTR, keep=keep)


def m(name: str, ref: str) -> Field:
    return Field(name, MESSAGE, ref)


def lm(name: str, ref: str) -> Field:
    """A repeated message."""
    return Field(name, MESSAGE, ref, repeated=True)


def ls(name: str) -> Field:
    """A repeated string."""
    return Field(name, STRING, repeated=True, keep=True)


def li32(name: str) -> Field:
    return Field(name, INT32, repeated=True, keep=True)


def li64(name: str) -> Field:
    return Field(name, INT64, repeated=True, keep=True)


def smap(name: str) -> Field:
    return Field(name, MAP, STRING)


def bmap(name: str) -> Field:
    return Field(name, MAP, BYTES)


def qmap(name: str) -> Field:
    return Field(name, MAP, QUANTITY)


def inline(ref: str) -> Field:
    return Field("", INLINE, ref)


K = True  # keep: a pointer, or a field without omitempty

MESSAGES: dict[str, Message] = {
    # ---------------------------------------------------------------- k8s.io/apimachinery meta/v1
    "ObjectMeta": {
        1: s("name"), 2: s("generateName"), 3: s("namespace"), 4: s("selfLink"), 5: s("uid"),
        6: s("resourceVersion"), 7: i64("generation"), 8: t("creationTimestamp"), 9: t("deletionTimestamp"),
        10: i64("deletionGracePeriodSeconds", K), 11: smap("labels"), 12: smap("annotations"),
        13: lm("ownerReferences", "OwnerReference"), 14: ls("finalizers"),
        17: lm("managedFields", "ManagedFieldsEntry"),
    },
    "OwnerReference": {
        5: s("apiVersion", K), 1: s("kind", K), 3: s("name", K), 4: s("uid", K),
        6: b("controller", K), 7: b("blockOwnerDeletion", K),
    },
    "ManagedFieldsEntry": {
        1: s("manager"), 2: s("operation"), 3: s("apiVersion"), 4: t("time"), 6: s("fieldsType"),
        7: Field("fieldsV1", FIELDSV1), 8: s("subresource"),
    },
    "LabelSelector": {1: smap("matchLabels"), 2: lm("matchExpressions", "LabelSelectorRequirement")},
    "LabelSelectorRequirement": {1: s("key", K), 2: s("operator", K), 3: ls("values")},
    "Condition": {
        1: s("type", K), 2: s("status", K), 3: i64("observedGeneration"), 4: t("lastTransitionTime"),
        5: s("reason", K), 6: s("message", K),
    },
    "DeleteOptions": {
        1: i64("gracePeriodSeconds", K), 2: m("preconditions", "Preconditions"), 3: b("orphanDependents", K),
        4: s("propagationPolicy", K), 5: ls("dryRun"),
        6: b("ignoreStoreReadErrorWithClusterBreakingPotential", K),
    },
    "Preconditions": {1: s("uid", K), 2: s("resourceVersion", K)},

    # ---------------------------------------------------------------- core/v1: simple kinds
    "ConfigMap": {1: m("metadata", "ObjectMeta"), 4: b("immutable", K), 2: smap("data"), 3: bmap("binaryData")},
    "Secret": {
        1: m("metadata", "ObjectMeta"), 5: b("immutable", K), 2: bmap("data"), 4: smap("stringData"),
        3: s("type"),
    },
    "Namespace": {1: m("metadata", "ObjectMeta"), 2: m("spec", "NamespaceSpec"), 3: m("status", "NamespaceStatus")},
    "NamespaceSpec": {1: ls("finalizers")},
    "NamespaceStatus": {1: s("phase"), 2: lm("conditions", "NamespaceCondition")},
    "NamespaceCondition": {
        1: s("type", K), 2: s("status", K), 4: t("lastTransitionTime"), 5: s("reason"), 6: s("message"),
    },
    "ServiceAccount": {
        1: m("metadata", "ObjectMeta"), 2: lm("secrets", "ObjectReference"),
        3: lm("imagePullSecrets", "LocalObjectReference"), 4: b("automountServiceAccountToken", K),
    },
    "ObjectReference": {
        1: s("kind"), 2: s("namespace"), 3: s("name"), 4: s("uid"), 5: s("apiVersion"), 6: s("resourceVersion"),
        7: s("fieldPath"),
    },
    "LocalObjectReference": {1: s("name")},
    "TypedLocalObjectReference": {1: s("apiGroup", K), 2: s("kind", K), 3: s("name", K)},
    "TypedObjectReference": {1: s("apiGroup", K), 2: s("kind", K), 3: s("name", K), 4: s("namespace", K)},
    "Binding": {1: m("metadata", "ObjectMeta"), 2: m("target", "ObjectReference")},

    # ---------------------------------------------------------------- core/v1: Service
    "Service": {1: m("metadata", "ObjectMeta"), 2: m("spec", "ServiceSpec"), 3: m("status", "ServiceStatus")},
    "ServiceSpec": {
        1: lm("ports", "ServicePort"), 2: smap("selector"), 3: s("clusterIP"), 18: ls("clusterIPs"), 4: s("type"),
        5: ls("externalIPs"), 7: s("sessionAffinity"), 8: s("loadBalancerIP"), 9: ls("loadBalancerSourceRanges"),
        10: s("externalName"), 11: s("externalTrafficPolicy"), 12: i32("healthCheckNodePort"),
        13: b("publishNotReadyAddresses"), 14: m("sessionAffinityConfig", "SessionAffinityConfig"),
        19: ls("ipFamilies"), 17: s("ipFamilyPolicy", K), 20: b("allocateLoadBalancerNodePorts", K),
        21: s("loadBalancerClass", K), 22: s("internalTrafficPolicy", K), 23: s("trafficDistribution", K),
    },
    "ServicePort": {
        1: s("name"), 2: s("protocol"), 6: s("appProtocol", K), 3: i32("port", K), 4: ios("targetPort"),
        5: i32("nodePort"),
    },
    "SessionAffinityConfig": {1: m("clientIP", "ClientIPConfig")},
    "ClientIPConfig": {1: i32("timeoutSeconds", K)},
    "ServiceStatus": {1: m("loadBalancer", "LoadBalancerStatus"), 2: lm("conditions", "Condition")},
    "LoadBalancerStatus": {1: lm("ingress", "LoadBalancerIngress")},
    "LoadBalancerIngress": {1: s("ip"), 2: s("hostname"), 3: s("ipMode", K), 4: lm("ports", "PortStatus")},
    "PortStatus": {1: i32("port", K), 2: s("protocol", K), 3: s("error", K)},

    # ---------------------------------------------------------------- core/v1: Pod and its template
    "Pod": {1: m("metadata", "ObjectMeta"), 2: m("spec", "PodSpec"), 3: m("status", "PodStatus")},
    "PodTemplate": {1: m("metadata", "ObjectMeta"), 2: m("template", "PodTemplateSpec")},
    "PodTemplateSpec": {1: m("metadata", "ObjectMeta"), 2: m("spec", "PodSpec")},
    "PodSpec": {
        1: lm("volumes", "Volume"), 20: lm("initContainers", "Container"), 2: lm("containers", "Container"),
        34: lm("ephemeralContainers", "EphemeralContainer"), 3: s("restartPolicy"),
        4: i64("terminationGracePeriodSeconds", K), 5: i64("activeDeadlineSeconds", K), 6: s("dnsPolicy"),
        7: smap("nodeSelector"), 8: s("serviceAccountName"), 9: s("serviceAccount"),
        21: b("automountServiceAccountToken", K), 10: s("nodeName"), 11: b("hostNetwork"), 12: b("hostPID"),
        13: b("hostIPC"), 27: b("shareProcessNamespace", K), 14: m("securityContext", "PodSecurityContext"),
        15: lm("imagePullSecrets", "LocalObjectReference"), 16: s("hostname"), 17: s("subdomain"),
        18: m("affinity", "Affinity"), 19: s("schedulerName"), 22: lm("tolerations", "Toleration"),
        23: lm("hostAliases", "HostAlias"), 24: s("priorityClassName"), 25: i32("priority", K),
        26: m("dnsConfig", "PodDNSConfig"), 28: lm("readinessGates", "PodReadinessGate"),
        29: s("runtimeClassName", K), 30: b("enableServiceLinks", K), 31: s("preemptionPolicy", K),
        32: qmap("overhead"), 33: lm("topologySpreadConstraints", "TopologySpreadConstraint"),
        35: b("setHostnameAsFQDN", K), 36: m("os", "PodOS"), 37: b("hostUsers", K),
        38: lm("schedulingGates", "PodSchedulingGate"), 39: lm("resourceClaims", "PodResourceClaim"),
        40: m("resources", "ResourceRequirements"), 41: s("hostnameOverride", K),
    },
    "Container": {
        1: s("name", K), 2: s("image"), 3: ls("command"), 4: ls("args"), 5: s("workingDir"),
        6: lm("ports", "ContainerPort"), 19: lm("envFrom", "EnvFromSource"), 7: lm("env", "EnvVar"),
        8: m("resources", "ResourceRequirements"), 23: lm("resizePolicy", "ContainerResizePolicy"),
        24: s("restartPolicy", K), 25: lm("restartPolicyRules", "ContainerRestartRule"),
        9: lm("volumeMounts", "VolumeMount"), 21: lm("volumeDevices", "VolumeDevice"),
        10: m("livenessProbe", "Probe"), 11: m("readinessProbe", "Probe"), 22: m("startupProbe", "Probe"),
        12: m("lifecycle", "Lifecycle"), 13: s("terminationMessagePath"), 20: s("terminationMessagePolicy"),
        14: s("imagePullPolicy"), 15: m("securityContext", "SecurityContext"), 16: b("stdin"),
        17: b("stdinOnce"), 18: b("tty"),
    },
    "EphemeralContainer": {1: inline("EphemeralContainerCommon"), 2: s("targetContainerName")},
    # EphemeralContainerCommon is Container field for field (filled in below).
    "ContainerPort": {1: s("name"), 2: i32("hostPort"), 3: i32("containerPort", K), 4: s("protocol"), 5: s("hostIP")},
    "ContainerResizePolicy": {1: s("resourceName", K), 2: s("restartPolicy", K)},
    "ContainerRestartRule": {1: s("action", K), 2: m("exitCodes", "ContainerRestartRuleOnExitCodes")},
    "ContainerRestartRuleOnExitCodes": {1: s("operator", K), 2: li32("values")},
    "EnvVar": {1: s("name", K), 2: s("value"), 3: m("valueFrom", "EnvVarSource")},
    "EnvVarSource": {
        1: m("fieldRef", "ObjectFieldSelector"), 2: m("resourceFieldRef", "ResourceFieldSelector"),
        3: m("configMapKeyRef", "ConfigMapKeySelector"), 4: m("secretKeyRef", "SecretKeySelector"),
        5: m("fileKeyRef", "FileKeySelector"),
    },
    "ObjectFieldSelector": {1: s("apiVersion"), 2: s("fieldPath", K)},
    "ResourceFieldSelector": {1: s("containerName"), 2: s("resource", K), 3: q("divisor")},
    "ConfigMapKeySelector": {1: inline("LocalObjectReference"), 2: s("key", K), 3: b("optional", K)},
    "SecretKeySelector": {1: inline("LocalObjectReference"), 2: s("key", K), 3: b("optional", K)},
    "FileKeySelector": {1: s("volumeName", K), 2: s("path", K), 3: s("key", K), 4: b("optional", K)},
    "EnvFromSource": {1: s("prefix"), 2: m("configMapRef", "ConfigMapEnvSource"), 3: m("secretRef", "SecretEnvSource")},
    "ConfigMapEnvSource": {1: inline("LocalObjectReference"), 2: b("optional", K)},
    "SecretEnvSource": {1: inline("LocalObjectReference"), 2: b("optional", K)},
    "ResourceRequirements": {1: qmap("limits"), 2: qmap("requests"), 3: lm("claims", "ResourceClaim")},
    "ResourceClaim": {1: s("name", K), 2: s("request")},
    "VolumeMount": {
        1: s("name", K), 2: b("readOnly"), 7: s("recursiveReadOnly", K), 3: s("mountPath", K), 4: s("subPath"),
        5: s("mountPropagation", K), 6: s("subPathExpr"),
    },
    "VolumeDevice": {1: s("name", K), 2: s("devicePath", K)},
    "Probe": {
        1: inline("ProbeHandler"), 2: i32("initialDelaySeconds"), 3: i32("timeoutSeconds"), 4: i32("periodSeconds"),
        5: i32("successThreshold"), 6: i32("failureThreshold"), 7: i64("terminationGracePeriodSeconds", K),
    },
    "ProbeHandler": {
        1: m("exec", "ExecAction"), 2: m("httpGet", "HTTPGetAction"), 3: m("tcpSocket", "TCPSocketAction"),
        4: m("grpc", "GRPCAction"),
    },
    "ExecAction": {1: ls("command")},
    "HTTPGetAction": {
        1: s("path"), 2: ios("port", K), 3: s("host"), 4: s("scheme"), 5: lm("httpHeaders", "HTTPHeader"),
    },
    "HTTPHeader": {1: s("name", K), 2: s("value", K)},
    "TCPSocketAction": {1: ios("port", K), 2: s("host")},
    "GRPCAction": {1: i32("port", K), 2: s("service", K)},
    "Lifecycle": {1: m("postStart", "LifecycleHandler"), 2: m("preStop", "LifecycleHandler"), 3: s("stopSignal", K)},
    "LifecycleHandler": {
        1: m("exec", "ExecAction"), 2: m("httpGet", "HTTPGetAction"), 3: m("tcpSocket", "TCPSocketAction"),
        4: m("sleep", "SleepAction"),
    },
    "SleepAction": {1: i64("seconds", K)},
    "SecurityContext": {
        1: m("capabilities", "Capabilities"), 2: b("privileged", K), 3: m("seLinuxOptions", "SELinuxOptions"),
        10: m("windowsOptions", "WindowsSecurityContextOptions"), 4: i64("runAsUser", K), 8: i64("runAsGroup", K),
        5: b("runAsNonRoot", K), 6: b("readOnlyRootFilesystem", K), 7: b("allowPrivilegeEscalation", K),
        9: s("procMount", K), 11: m("seccompProfile", "SeccompProfile"), 12: m("appArmorProfile", "AppArmorProfile"),
    },
    "Capabilities": {1: ls("add"), 2: ls("drop")},
    "SELinuxOptions": {1: s("user"), 2: s("role"), 3: s("type"), 4: s("level")},
    "WindowsSecurityContextOptions": {
        1: s("gmsaCredentialSpecName", K), 2: s("gmsaCredentialSpec", K), 3: s("runAsUserName", K),
        4: b("hostProcess", K),
    },
    "SeccompProfile": {1: s("type", K), 2: s("localhostProfile", K)},
    "AppArmorProfile": {1: s("type", K), 2: s("localhostProfile", K)},
    "PodSecurityContext": {
        1: m("seLinuxOptions", "SELinuxOptions"), 8: m("windowsOptions", "WindowsSecurityContextOptions"),
        2: i64("runAsUser", K), 6: i64("runAsGroup", K), 3: b("runAsNonRoot", K), 4: li64("supplementalGroups"),
        12: s("supplementalGroupsPolicy", K), 5: i64("fsGroup", K), 7: lm("sysctls", "Sysctl"),
        9: s("fsGroupChangePolicy", K), 10: m("seccompProfile", "SeccompProfile"),
        11: m("appArmorProfile", "AppArmorProfile"), 13: s("seLinuxChangePolicy", K),
    },
    "Sysctl": {1: s("name", K), 2: s("value", K)},
    "Affinity": {
        1: m("nodeAffinity", "NodeAffinity"), 2: m("podAffinity", "PodAffinity"),
        3: m("podAntiAffinity", "PodAntiAffinity"),
    },
    "NodeAffinity": {
        1: m("requiredDuringSchedulingIgnoredDuringExecution", "NodeSelector"),
        2: lm("preferredDuringSchedulingIgnoredDuringExecution", "PreferredSchedulingTerm"),
    },
    "NodeSelector": {1: lm("nodeSelectorTerms", "NodeSelectorTerm")},
    "NodeSelectorTerm": {
        1: lm("matchExpressions", "NodeSelectorRequirement"), 2: lm("matchFields", "NodeSelectorRequirement"),
    },
    "NodeSelectorRequirement": {1: s("key", K), 2: s("operator", K), 3: ls("values")},
    "PreferredSchedulingTerm": {1: i32("weight", K), 2: m("preference", "NodeSelectorTerm")},
    "PodAffinity": {
        1: lm("requiredDuringSchedulingIgnoredDuringExecution", "PodAffinityTerm"),
        2: lm("preferredDuringSchedulingIgnoredDuringExecution", "WeightedPodAffinityTerm"),
    },
    "PodAntiAffinity": {
        1: lm("requiredDuringSchedulingIgnoredDuringExecution", "PodAffinityTerm"),
        2: lm("preferredDuringSchedulingIgnoredDuringExecution", "WeightedPodAffinityTerm"),
    },
    "PodAffinityTerm": {
        1: m("labelSelector", "LabelSelector"), 2: ls("namespaces"), 3: s("topologyKey", K),
        4: m("namespaceSelector", "LabelSelector"), 5: ls("matchLabelKeys"), 6: ls("mismatchLabelKeys"),
    },
    "WeightedPodAffinityTerm": {1: i32("weight", K), 2: m("podAffinityTerm", "PodAffinityTerm")},
    "Toleration": {1: s("key"), 2: s("operator"), 3: s("value"), 4: s("effect"), 5: i64("tolerationSeconds", K)},
    "HostAlias": {1: s("ip", K), 2: ls("hostnames")},
    "PodDNSConfig": {1: ls("nameservers"), 2: ls("searches"), 3: lm("options", "PodDNSConfigOption")},
    "PodDNSConfigOption": {1: s("name"), 2: s("value", K)},
    "PodReadinessGate": {1: s("conditionType", K)},
    "TopologySpreadConstraint": {
        1: i32("maxSkew", K), 2: s("topologyKey", K), 3: s("whenUnsatisfiable", K),
        4: m("labelSelector", "LabelSelector"), 5: i32("minDomains", K), 6: s("nodeAffinityPolicy", K),
        7: s("nodeTaintsPolicy", K), 8: ls("matchLabelKeys"),
    },
    "PodOS": {1: s("name", K)},
    "PodSchedulingGate": {1: s("name", K)},
    "PodResourceClaim": {1: s("name", K), 3: s("resourceClaimName", K), 4: s("resourceClaimTemplateName", K)},

    # ---------------------------------------------------------------- core/v1: volumes
    "Volume": {1: s("name", K), 2: inline("VolumeSource")},
    "VolumeSource": {
        1: m("hostPath", "HostPathVolumeSource"), 2: m("emptyDir", "EmptyDirVolumeSource"),
        3: m("gcePersistentDisk", "GCEPersistentDiskVolumeSource"),
        4: m("awsElasticBlockStore", "AWSElasticBlockStoreVolumeSource"), 5: m("gitRepo", "GitRepoVolumeSource"),
        6: m("secret", "SecretVolumeSource"), 7: m("nfs", "NFSVolumeSource"), 8: m("iscsi", "ISCSIVolumeSource"),
        9: m("glusterfs", "GlusterfsVolumeSource"),
        10: m("persistentVolumeClaim", "PersistentVolumeClaimVolumeSource"), 11: m("rbd", "RBDVolumeSource"),
        12: m("flexVolume", "FlexVolumeSource"), 13: m("cinder", "CinderVolumeSource"),
        14: m("cephfs", "CephFSVolumeSource"), 15: m("flocker", "FlockerVolumeSource"),
        16: m("downwardAPI", "DownwardAPIVolumeSource"), 17: m("fc", "FCVolumeSource"),
        18: m("azureFile", "AzureFileVolumeSource"), 19: m("configMap", "ConfigMapVolumeSource"),
        20: m("vsphereVolume", "VsphereVirtualDiskVolumeSource"), 21: m("quobyte", "QuobyteVolumeSource"),
        22: m("azureDisk", "AzureDiskVolumeSource"), 23: m("photonPersistentDisk", "PhotonPersistentDiskVolumeSource"),
        26: m("projected", "ProjectedVolumeSource"), 24: m("portworxVolume", "PortworxVolumeSource"),
        25: m("scaleIO", "ScaleIOVolumeSource"), 27: m("storageos", "StorageOSVolumeSource"),
        28: m("csi", "CSIVolumeSource"), 29: m("ephemeral", "EphemeralVolumeSource"),
        30: m("image", "ImageVolumeSource"),
    },
    "HostPathVolumeSource": {1: s("path", K), 2: s("type", K)},
    "EmptyDirVolumeSource": {1: s("medium"), 2: q("sizeLimit")},
    "SecretVolumeSource": {
        1: s("secretName"), 2: lm("items", "KeyToPath"), 3: i32("defaultMode", K), 4: b("optional", K),
    },
    "ConfigMapVolumeSource": {
        1: inline("LocalObjectReference"), 2: lm("items", "KeyToPath"), 3: i32("defaultMode", K),
        4: b("optional", K),
    },
    "KeyToPath": {1: s("key", K), 2: s("path", K), 3: i32("mode", K)},
    "PersistentVolumeClaimVolumeSource": {1: s("claimName", K), 2: b("readOnly")},
    "NFSVolumeSource": {1: s("server", K), 2: s("path", K), 3: b("readOnly")},
    "GitRepoVolumeSource": {1: s("repository", K), 2: s("revision"), 3: s("directory")},
    "DownwardAPIVolumeSource": {1: lm("items", "DownwardAPIVolumeFile"), 2: i32("defaultMode", K)},
    "DownwardAPIVolumeFile": {
        1: s("path", K), 2: m("fieldRef", "ObjectFieldSelector"), 3: m("resourceFieldRef", "ResourceFieldSelector"),
        4: i32("mode", K),
    },
    "DownwardAPIProjection": {1: lm("items", "DownwardAPIVolumeFile")},
    "ProjectedVolumeSource": {1: lm("sources", "VolumeProjection"), 2: i32("defaultMode", K)},
    "VolumeProjection": {
        1: m("secret", "SecretProjection"), 2: m("downwardAPI", "DownwardAPIProjection"),
        3: m("configMap", "ConfigMapProjection"), 4: m("serviceAccountToken", "ServiceAccountTokenProjection"),
        5: m("clusterTrustBundle", "ClusterTrustBundleProjection"),
        6: m("podCertificate", "PodCertificateProjection"),
    },
    "SecretProjection": {1: inline("LocalObjectReference"), 2: lm("items", "KeyToPath"), 4: b("optional", K)},
    "ConfigMapProjection": {1: inline("LocalObjectReference"), 2: lm("items", "KeyToPath"), 4: b("optional", K)},
    "ServiceAccountTokenProjection": {1: s("audience"), 2: i64("expirationSeconds", K), 3: s("path", K)},
    "ClusterTrustBundleProjection": {
        1: s("name", K), 2: s("signerName", K), 3: m("labelSelector", "LabelSelector"), 5: b("optional", K),
        4: s("path", K),
    },
    "PodCertificateProjection": {
        1: s("signerName", K), 2: s("keyType", K), 3: i32("maxExpirationSeconds", K),
        4: s("credentialBundlePath"), 5: s("keyPath"), 6: s("certificateChainPath"), 7: smap("userAnnotations"),
    },
    "CSIVolumeSource": {
        1: s("driver", K), 2: b("readOnly", K), 3: s("fsType", K), 4: smap("volumeAttributes"),
        5: m("nodePublishSecretRef", "LocalObjectReference"),
    },
    "EphemeralVolumeSource": {1: m("volumeClaimTemplate", "PersistentVolumeClaimTemplate")},
    "PersistentVolumeClaimTemplate": {1: m("metadata", "ObjectMeta"), 2: m("spec", "PersistentVolumeClaimSpec")},
    "ImageVolumeSource": {1: s("reference"), 2: s("pullPolicy")},
    "ISCSIVolumeSource": {
        1: s("targetPortal", K), 2: s("iqn", K), 3: i32("lun", K), 4: s("iscsiInterface"), 5: s("fsType"),
        6: b("readOnly"), 7: ls("portals"), 8: b("chapAuthDiscovery"), 11: b("chapAuthSession"),
        10: m("secretRef", "LocalObjectReference"), 12: s("initiatorName", K),
    },
    "GCEPersistentDiskVolumeSource": {1: s("pdName", K), 2: s("fsType"), 3: i32("partition"), 4: b("readOnly")},
    "AWSElasticBlockStoreVolumeSource": {1: s("volumeID", K), 2: s("fsType"), 3: i32("partition"), 4: b("readOnly")},
    "GlusterfsVolumeSource": {1: s("endpoints", K), 2: s("path", K), 3: b("readOnly")},
    "RBDVolumeSource": {
        1: ls("monitors"), 2: s("image", K), 3: s("fsType"), 4: s("pool"), 5: s("user"), 6: s("keyring"),
        7: m("secretRef", "LocalObjectReference"), 8: b("readOnly"),
    },
    "FlexVolumeSource": {
        1: s("driver", K), 2: s("fsType"), 3: m("secretRef", "LocalObjectReference"), 4: b("readOnly"),
        5: smap("options"),
    },
    "CinderVolumeSource": {
        1: s("volumeID", K), 2: s("fsType"), 3: b("readOnly"), 4: m("secretRef", "LocalObjectReference"),
    },
    "CephFSVolumeSource": {
        1: ls("monitors"), 2: s("path"), 3: s("user"), 4: s("secretFile"), 5: m("secretRef", "LocalObjectReference"),
        6: b("readOnly"),
    },
    "FlockerVolumeSource": {1: s("datasetName"), 2: s("datasetUUID")},
    "FCVolumeSource": {1: ls("targetWWNs"), 2: i32("lun", K), 3: s("fsType"), 4: b("readOnly"), 5: ls("wwids")},
    "AzureFileVolumeSource": {1: s("secretName", K), 2: s("shareName", K), 3: b("readOnly")},
    "VsphereVirtualDiskVolumeSource": {
        1: s("volumePath", K), 2: s("fsType"), 3: s("storagePolicyName"), 4: s("storagePolicyID"),
    },
    "QuobyteVolumeSource": {
        1: s("registry", K), 2: s("volume", K), 3: b("readOnly"), 4: s("user"), 5: s("group"), 6: s("tenant"),
    },
    "AzureDiskVolumeSource": {
        1: s("diskName", K), 2: s("diskURI", K), 3: s("cachingMode", K), 4: s("fsType", K), 5: b("readOnly", K),
        6: s("kind", K),
    },
    "PhotonPersistentDiskVolumeSource": {1: s("pdID", K), 2: s("fsType")},
    "PortworxVolumeSource": {1: s("volumeID", K), 2: s("fsType"), 3: b("readOnly")},
    "ScaleIOVolumeSource": {
        1: s("gateway", K), 2: s("system", K), 3: m("secretRef", "LocalObjectReference"), 4: b("sslEnabled"),
        5: s("protectionDomain"), 6: s("storagePool"), 7: s("storageMode"), 8: s("volumeName"), 9: s("fsType"),
        10: b("readOnly"),
    },
    "StorageOSVolumeSource": {
        1: s("volumeName"), 2: s("volumeNamespace"), 3: s("fsType"), 4: b("readOnly"),
        5: m("secretRef", "LocalObjectReference"),
    },
    "PersistentVolumeClaim": {
        1: m("metadata", "ObjectMeta"), 2: m("spec", "PersistentVolumeClaimSpec"),
        3: m("status", "PersistentVolumeClaimStatus"),
    },
    "PersistentVolumeClaimSpec": {
        1: ls("accessModes"), 4: m("selector", "LabelSelector"), 2: m("resources", "VolumeResourceRequirements"),
        3: s("volumeName"), 5: s("storageClassName", K), 6: s("volumeMode", K),
        7: m("dataSource", "TypedLocalObjectReference"), 8: m("dataSourceRef", "TypedObjectReference"),
        9: s("volumeAttributesClassName", K),
    },
    "VolumeResourceRequirements": {1: qmap("limits"), 2: qmap("requests")},
    "PersistentVolumeClaimStatus": {
        1: s("phase"), 2: ls("accessModes"), 3: qmap("capacity"), 4: lm("conditions", "PersistentVolumeClaimCondition"),
        5: qmap("allocatedResources"), 7: smap("allocatedResourceStatuses"),
        8: s("currentVolumeAttributesClassName", K), 9: m("modifyVolumeStatus", "ModifyVolumeStatus"),
    },
    "PersistentVolumeClaimCondition": {
        1: s("type", K), 2: s("status", K), 3: t("lastProbeTime"), 4: t("lastTransitionTime"), 5: s("reason"),
        6: s("message"),
    },
    "ModifyVolumeStatus": {1: s("targetVolumeAttributesClassName"), 2: s("status", K)},

    # ---------------------------------------------------------------- core/v1: Pod status
    "PodStatus": {
        17: i64("observedGeneration"), 1: s("phase"), 2: lm("conditions", "PodCondition"), 3: s("message"),
        4: s("reason"), 11: s("nominatedNodeName"), 5: s("hostIP"), 16: lm("hostIPs", "HostIP"), 6: s("podIP"),
        12: lm("podIPs", "PodIP"), 7: t("startTime"), 10: lm("initContainerStatuses", "ContainerStatus"),
        8: lm("containerStatuses", "ContainerStatus"), 9: s("qosClass"),
        13: lm("ephemeralContainerStatuses", "ContainerStatus"), 14: s("resize"),
        15: lm("resourceClaimStatuses", "PodResourceClaimStatus"), 19: qmap("allocatedResources"),
        20: m("resources", "ResourceRequirements"),
    },
    "PodCondition": {
        1: s("type", K), 7: i64("observedGeneration"), 2: s("status", K), 3: t("lastProbeTime"),
        4: t("lastTransitionTime"), 5: s("reason"), 6: s("message"),
    },
    "HostIP": {1: s("ip", K)},
    "PodIP": {1: s("ip", K)},
    "PodResourceClaimStatus": {1: s("name", K), 2: s("resourceClaimName", K)},
    "ContainerStatus": {
        1: s("name", K), 2: m("state", "ContainerState"), 3: m("lastState", "ContainerState"), 4: b("ready", K),
        5: i32("restartCount", K), 6: s("image", K), 7: s("imageID", K), 8: s("containerID"), 9: b("started", K),
        10: qmap("allocatedResources"), 11: m("resources", "ResourceRequirements"),
        12: lm("volumeMounts", "VolumeMountStatus"), 15: s("stopSignal", K),
    },
    "ContainerState": {
        1: m("waiting", "ContainerStateWaiting"), 2: m("running", "ContainerStateRunning"),
        3: m("terminated", "ContainerStateTerminated"),
    },
    "ContainerStateWaiting": {1: s("reason"), 2: s("message")},
    "ContainerStateRunning": {1: t("startedAt")},
    "ContainerStateTerminated": {
        1: i32("exitCode", K), 2: i32("signal"), 3: s("reason"), 4: s("message"), 5: t("startedAt"),
        6: t("finishedAt"), 7: s("containerID"),
    },
    "VolumeMountStatus": {1: s("name", K), 2: s("mountPath", K), 3: b("readOnly"), 4: s("recursiveReadOnly", K)},

    # ---------------------------------------------------------------- core/v1: ReplicationController
    "ReplicationController": {
        1: m("metadata", "ObjectMeta"), 2: m("spec", "ReplicationControllerSpec"),
        3: m("status", "ReplicationControllerStatus"),
    },
    "ReplicationControllerSpec": {
        1: i32("replicas", K), 4: i32("minReadySeconds"), 2: smap("selector"), 3: m("template", "PodTemplateSpec"),
    },
    "ReplicationControllerStatus": {
        1: i32("replicas", K), 2: i32("fullyLabeledReplicas"), 4: i32("readyReplicas"), 5: i32("availableReplicas"),
        3: i64("observedGeneration"), 6: lm("conditions", "ReplicationControllerCondition"),
    },
    "ReplicationControllerCondition": {
        1: s("type", K), 2: s("status", K), 3: t("lastTransitionTime"), 4: s("reason"), 5: s("message"),
    },

    # ---------------------------------------------------------------- apps/v1
    "Deployment": {1: m("metadata", "ObjectMeta"), 2: m("spec", "DeploymentSpec"), 3: m("status", "DeploymentStatus")},
    "DeploymentSpec": {
        1: i32("replicas", K), 2: m("selector", "LabelSelector"), 3: m("template", "PodTemplateSpec"),
        4: m("strategy", "DeploymentStrategy"), 5: i32("minReadySeconds"), 6: i32("revisionHistoryLimit", K),
        7: b("paused"), 9: i32("progressDeadlineSeconds", K),
    },
    "DeploymentStrategy": {1: s("type"), 2: m("rollingUpdate", "RollingUpdateDeployment")},
    "RollingUpdateDeployment": {1: ios("maxUnavailable", K), 2: ios("maxSurge", K)},
    "DeploymentStatus": {
        1: i64("observedGeneration"), 2: i32("replicas"), 3: i32("updatedReplicas"), 7: i32("readyReplicas"),
        4: i32("availableReplicas"), 5: i32("unavailableReplicas"), 9: i32("terminatingReplicas", K),
        6: lm("conditions", "DeploymentCondition"), 8: i32("collisionCount", K),
    },
    "DeploymentCondition": {
        1: s("type", K), 2: s("status", K), 6: t("lastUpdateTime"), 7: t("lastTransitionTime"), 4: s("reason"),
        5: s("message"),
    },
    "ReplicaSet": {1: m("metadata", "ObjectMeta"), 2: m("spec", "ReplicaSetSpec"), 3: m("status", "ReplicaSetStatus")},
    "ReplicaSetSpec": {
        1: i32("replicas", K), 4: i32("minReadySeconds"), 2: m("selector", "LabelSelector"),
        3: m("template", "PodTemplateSpec"),
    },
    "ReplicaSetStatus": {
        1: i32("replicas", K), 2: i32("fullyLabeledReplicas"), 4: i32("readyReplicas"), 5: i32("availableReplicas"),
        7: i32("terminatingReplicas", K), 3: i64("observedGeneration"), 6: lm("conditions", "ReplicaSetCondition"),
    },
    "ReplicaSetCondition": {
        1: s("type", K), 2: s("status", K), 3: t("lastTransitionTime"), 4: s("reason"), 5: s("message"),
    },
    "DaemonSet": {1: m("metadata", "ObjectMeta"), 2: m("spec", "DaemonSetSpec"), 3: m("status", "DaemonSetStatus")},
    "DaemonSetSpec": {
        1: m("selector", "LabelSelector"), 2: m("template", "PodTemplateSpec"),
        3: m("updateStrategy", "DaemonSetUpdateStrategy"), 4: i32("minReadySeconds"),
        6: i32("revisionHistoryLimit", K),
    },
    "DaemonSetUpdateStrategy": {1: s("type"), 2: m("rollingUpdate", "RollingUpdateDaemonSet")},
    "RollingUpdateDaemonSet": {1: ios("maxUnavailable", K), 2: ios("maxSurge", K)},
    "DaemonSetStatus": {
        1: i32("currentNumberScheduled", K), 2: i32("numberMisscheduled", K), 3: i32("desiredNumberScheduled", K),
        4: i32("numberReady", K), 5: i64("observedGeneration"), 6: i32("updatedNumberScheduled"),
        7: i32("numberAvailable"), 8: i32("numberUnavailable"), 9: i32("collisionCount", K),
        10: lm("conditions", "DaemonSetCondition"),
    },
    "DaemonSetCondition": {
        1: s("type", K), 2: s("status", K), 3: t("lastTransitionTime"), 4: s("reason"), 5: s("message"),
    },
    "StatefulSet": {
        1: m("metadata", "ObjectMeta"), 2: m("spec", "StatefulSetSpec"), 3: m("status", "StatefulSetStatus"),
    },
    "StatefulSetSpec": {
        1: i32("replicas", K), 2: m("selector", "LabelSelector"), 3: m("template", "PodTemplateSpec"),
        4: lm("volumeClaimTemplates", "PersistentVolumeClaim"), 5: s("serviceName"), 6: s("podManagementPolicy"),
        7: m("updateStrategy", "StatefulSetUpdateStrategy"), 8: i32("revisionHistoryLimit", K),
        9: i32("minReadySeconds"),
        10: m("persistentVolumeClaimRetentionPolicy", "StatefulSetPersistentVolumeClaimRetentionPolicy"),
        11: m("ordinals", "StatefulSetOrdinals"),
    },
    "StatefulSetUpdateStrategy": {1: s("type"), 2: m("rollingUpdate", "RollingUpdateStatefulSetStrategy")},
    "RollingUpdateStatefulSetStrategy": {1: i32("partition", K), 2: ios("maxUnavailable", K)},
    "StatefulSetPersistentVolumeClaimRetentionPolicy": {1: s("whenDeleted"), 2: s("whenScaled")},
    "StatefulSetOrdinals": {1: i32("start", K)},
    "StatefulSetStatus": {
        1: i64("observedGeneration"), 2: i32("replicas", K), 3: i32("readyReplicas"), 4: i32("currentReplicas"),
        5: i32("updatedReplicas"), 6: s("currentRevision"), 7: s("updateRevision"), 9: i32("collisionCount", K),
        10: lm("conditions", "StatefulSetCondition"), 11: i32("availableReplicas", K),
    },
    "StatefulSetCondition": {
        1: s("type", K), 2: s("status", K), 3: t("lastTransitionTime"), 4: s("reason"), 5: s("message"),
    },

    # ---------------------------------------------------------------- batch/v1
    "Job": {1: m("metadata", "ObjectMeta"), 2: m("spec", "JobSpec"), 3: m("status", "JobStatus")},
    "JobSpec": {
        1: i32("parallelism", K), 2: i32("completions", K), 3: i64("activeDeadlineSeconds", K),
        11: m("podFailurePolicy", "PodFailurePolicy"), 16: m("successPolicy", "SuccessPolicy"),
        7: i32("backoffLimit", K), 12: i32("backoffLimitPerIndex", K), 13: i32("maxFailedIndexes", K),
        4: m("selector", "LabelSelector"), 5: b("manualSelector", K), 6: m("template", "PodTemplateSpec"),
        8: i32("ttlSecondsAfterFinished", K), 9: s("completionMode", K), 10: b("suspend", K),
        14: s("podReplacementPolicy", K), 15: s("managedBy", K),
    },
    "PodFailurePolicy": {1: lm("rules", "PodFailurePolicyRule")},
    "PodFailurePolicyRule": {
        1: s("action", K), 2: m("onExitCodes", "PodFailurePolicyOnExitCodesRequirement"),
        3: lm("onPodConditions", "PodFailurePolicyOnPodConditionsPattern"),
    },
    "PodFailurePolicyOnExitCodesRequirement": {1: s("containerName", K), 2: s("operator", K), 3: li32("values")},
    "PodFailurePolicyOnPodConditionsPattern": {1: s("type", K), 2: s("status", K)},
    "SuccessPolicy": {1: lm("rules", "SuccessPolicyRule")},
    "SuccessPolicyRule": {1: s("succeededIndexes", K), 2: i32("succeededCount", K)},
    "JobStatus": {
        1: lm("conditions", "JobCondition"), 2: t("startTime"), 3: t("completionTime"), 4: i32("active"),
        5: i32("succeeded"), 6: i32("failed"), 11: i32("terminating", K), 7: s("completedIndexes"),
        10: s("failedIndexes", K), 8: m("uncountedTerminatedPods", "UncountedTerminatedPods"), 9: i32("ready", K),
    },
    "JobCondition": {
        1: s("type", K), 2: s("status", K), 3: t("lastProbeTime"), 4: t("lastTransitionTime"), 5: s("reason"),
        6: s("message"),
    },
    "UncountedTerminatedPods": {1: ls("succeeded"), 2: ls("failed")},
    "CronJob": {1: m("metadata", "ObjectMeta"), 2: m("spec", "CronJobSpec"), 3: m("status", "CronJobStatus")},
    "CronJobSpec": {
        1: s("schedule", K), 8: s("timeZone", K), 2: i64("startingDeadlineSeconds", K), 3: s("concurrencyPolicy"),
        4: b("suspend", K), 5: m("jobTemplate", "JobTemplateSpec"), 6: i32("successfulJobsHistoryLimit", K),
        7: i32("failedJobsHistoryLimit", K),
    },
    "JobTemplateSpec": {1: m("metadata", "ObjectMeta"), 2: m("spec", "JobSpec")},
    "CronJobStatus": {1: lm("active", "ObjectReference"), 4: t("lastScheduleTime"), 5: t("lastSuccessfulTime")},

    # ---------------------------------------------------------------- networking.k8s.io/v1
    "Ingress": {1: m("metadata", "ObjectMeta"), 2: m("spec", "IngressSpec"), 3: m("status", "IngressStatus")},
    "IngressSpec": {
        4: s("ingressClassName", K), 1: m("defaultBackend", "IngressBackend"), 2: lm("tls", "IngressTLS"),
        3: lm("rules", "IngressRule"),
    },
    "IngressBackend": {4: m("service", "IngressServiceBackend"), 3: m("resource", "TypedLocalObjectReference")},
    "IngressServiceBackend": {1: s("name", K), 2: m("port", "ServiceBackendPort")},
    "ServiceBackendPort": {1: s("name"), 2: i32("number")},
    "IngressTLS": {1: ls("hosts"), 2: s("secretName")},
    "IngressRule": {1: s("host"), 2: inline("IngressRuleValue")},
    "IngressRuleValue": {1: m("http", "HTTPIngressRuleValue")},
    "HTTPIngressRuleValue": {1: lm("paths", "HTTPIngressPath")},
    "HTTPIngressPath": {1: s("path"), 3: s("pathType", K), 2: m("backend", "IngressBackend")},
    "IngressStatus": {1: m("loadBalancer", "IngressLoadBalancerStatus")},
    "IngressLoadBalancerStatus": {1: lm("ingress", "IngressLoadBalancerIngress")},
    "IngressLoadBalancerIngress": {1: s("ip"), 2: s("hostname"), 4: lm("ports", "IngressPortStatus")},
    "IngressPortStatus": {1: i32("port", K), 2: s("protocol", K), 3: s("error", K)},

    # ---------------------------------------------------------------- policy/v1, autoscaling/v1
    "Eviction": {1: m("metadata", "ObjectMeta"), 2: m("deleteOptions", "DeleteOptions")},
    "Scale": {1: m("metadata", "ObjectMeta"), 2: m("spec", "ScaleSpec"), 3: m("status", "ScaleStatus")},
    "ScaleSpec": {1: i32("replicas")},
    "ScaleStatus": {1: i32("replicas", K), 2: s("selector")},
}

# Go keeps EphemeralContainerCommon field-for-field identical to Container (same numbers and tags).
MESSAGES["EphemeralContainerCommon"] = dict(MESSAGES["Container"])

# (apiVersion, kind) → the message `raw` holds. Only kinds jetkube serves.
KINDS: dict[tuple[str, str], str] = {
    ("v1", "ConfigMap"): "ConfigMap",
    ("v1", "Secret"): "Secret",
    ("v1", "Namespace"): "Namespace",
    ("v1", "Service"): "Service",
    ("v1", "ServiceAccount"): "ServiceAccount",
    ("v1", "Pod"): "Pod",
    ("v1", "PodTemplate"): "PodTemplate",
    ("v1", "ReplicationController"): "ReplicationController",
    ("v1", "PersistentVolumeClaim"): "PersistentVolumeClaim",
    ("v1", "Binding"): "Binding",
    ("apps/v1", "Deployment"): "Deployment",
    ("apps/v1", "ReplicaSet"): "ReplicaSet",
    ("apps/v1", "DaemonSet"): "DaemonSet",
    ("apps/v1", "StatefulSet"): "StatefulSet",
    ("batch/v1", "Job"): "Job",
    ("batch/v1", "CronJob"): "CronJob",
    ("networking.k8s.io/v1", "Ingress"): "Ingress",
    ("policy/v1", "Eviction"): "Eviction",
    ("autoscaling/v1", "Scale"): "Scale",
}

# Kinds registered in every group version (client-go encodes a DELETE's options with the request's
# group version: `apps/v1 DeleteOptions`, `v1 DeleteOptions`, `meta.k8s.io/v1 DeleteOptions`).
ANY_VERSION: dict[str, str] = {"DeleteOptions": "DeleteOptions"}


def check_table() -> list[str]:
    """Problems in the table itself (a dangling reference, a bad map value kind); [] when sound."""
    problems = []
    for name, fields in MESSAGES.items():
        seen: set[str] = set()
        for number, f in fields.items():
            where = f"{name}.{number}"
            if f.kind in (MESSAGE, INLINE) and f.ref not in MESSAGES:
                problems.append(f"{where}: unknown message {f.ref}")
            if f.kind == MAP and f.ref not in (STRING, BYTES, QUANTITY):
                problems.append(f"{where}: bad map value kind {f.ref}")
            if f.kind != INLINE:
                if f.json in seen:
                    problems.append(f"{where}: duplicate json name {f.json}")
                seen.add(f.json)
    for key, root in [*KINDS.items(), *ANY_VERSION.items()]:
        if root not in MESSAGES:
            problems.append(f"{key}: unknown message {root}")
    return problems
