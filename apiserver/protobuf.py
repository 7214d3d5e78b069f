"""Just enough protobuf for kubectl: an *encoder* (the gnostic OpenAPI v2 document that
kubectl 1.27/1.28 ask for) and a *decoder* for the `application/vnd.kubernetes.protobuf`
bodies kubectl 1.32+ sends on `kubectl create ...`.

Kubernetes' envelope is the 4 magic bytes `k8s\\0` then a `runtime.Unknown` message
(1: typeMeta {1: apiVersion, 2: kind}, 2: raw = the object's own protobuf). The object is
decoded into the JSON shape the rest of minik uses, driven by `_SCHEMA` below: the field
numbers of k8s.io/api's generated.proto for the kinds minik serves."""

from __future__ import annotations

import base64
import builtins
import json
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from typing import Any

from api import errors

MAGIC = b"k8s\x00"
VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


class ProtobufError(ValueError):
    """A body that is not well-formed protobuf."""


# --- encoding ----------------------------------------------------------------------------


def encode_varint(value: int) -> bytes:
    """Base-128 varint; negative numbers as 10-byte two's complement, as protobuf does."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class Writer:
    """Appends fields to one message; `bytes(writer)` is its wire form. Fields with
    default values are skipped, like proto3 does."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def _key(self, field: int, wire: int) -> None:
        self._buf += encode_varint(field << 3 | wire)

    def varint(self, field: int, value: int, *, always: bool = False) -> Writer:
        if value or always:
            self._key(field, VARINT)
            self._buf += encode_varint(value)
        return self

    def bool(self, field: int, value: bool) -> Writer:
        return self.varint(field, 1 if value else 0)

    def double(self, field: int, value: float) -> Writer:
        if value:
            self._key(field, FIXED64)
            self._buf += struct.pack("<d", value)
        return self

    def bytes(self, field: int, value: builtins.bytes, *, always: builtins.bool = False) -> Writer:
        if value or always:
            self._key(field, LENGTH)
            self._buf += encode_varint(len(value)) + value
        return self

    def string(self, field: int, value: str | None) -> Writer:
        return self.bytes(field, (value or "").encode())

    def strings(self, field: int, values: list[str] | tuple[str, ...]) -> Writer:
        for value in values:
            self.bytes(field, value.encode(), always=True)
        return self

    def message(self, field: int, value: Writer | builtins.bytes) -> Writer:
        """An embedded message; written even when empty (presence matters for oneofs)."""
        return self.bytes(field, bytes(value), always=True)

    def __bytes__(self) -> builtins.bytes:
        return bytes(self._buf)


# --- decoding ----------------------------------------------------------------------------


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ProtobufError("varint too long")


def iter_fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) for each field; value is an int for varint and
    fixed types, bytes for length-delimited ones."""
    pos = 0
    while pos < len(buf):
        key, pos = read_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise ProtobufError("field number 0")
        if wire == VARINT:
            value, pos = read_varint(buf, pos)
            yield field, wire, value
        elif wire == LENGTH:
            size, pos = read_varint(buf, pos)
            if pos + size > len(buf):
                raise ProtobufError("truncated length-delimited field")
            yield field, wire, buf[pos : pos + size]
            pos += size
        elif wire in (FIXED64, FIXED32):
            width = 8 if wire == FIXED64 else 4
            if pos + width > len(buf):
                raise ProtobufError("truncated fixed-width field")
            yield field, wire, int.from_bytes(buf[pos : pos + width], "little")
            pos += width
        else:
            raise ProtobufError(f"unsupported wire type {wire}")


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _rfc3339(seconds: int, nanos: int = 0, micro: bool = False) -> str:
    moment = datetime.fromtimestamp(seconds, UTC)
    if micro:
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos // 1000:06d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# Field table: `Message: <number> <jsonName> <type> | ...`. Types: s string, i integer,
# b bool, y bytes (base64 in JSON), a message name, [T] repeated, {T} map<string, T>.
# A trailing * keeps zero values
# (Go pointers and fields without omitempty: there "explicitly 0" differs from "unset").
# The JSON name `-` marks an embedded Go struct, whose fields JSON inlines into the parent.
# Time/MicroTime/IntOrString/Quantity/FieldsV1 are decoded by hand. Facts from
# k8s.io/api and k8s.io/apimachinery generated.proto / types.go.
_SCHEMA = """
Namespace: 1 metadata ObjectMeta | 2 spec NamespaceSpec | 3 status NamespaceStatus
Deployment: 1 metadata ObjectMeta | 2 spec DeploymentSpec | 3 status DeploymentStatus
Service: 1 metadata ObjectMeta | 2 spec ServiceSpec | 3 status ServiceStatus
Pod: 1 metadata ObjectMeta | 2 spec PodSpec | 3 status PodStatus
ReplicaSet: 1 metadata ObjectMeta | 2 spec ReplicaSetSpec | 3 status ReplicaSetStatus
Job: 1 metadata ObjectMeta | 2 spec JobSpec | 3 status JobStatus
CronJob: 1 metadata ObjectMeta | 2 spec CronJobSpec | 3 status CronJobStatus
Endpoints: 1 metadata ObjectMeta | 2 subsets [EndpointSubset]
Event: 1 metadata ObjectMeta | 2 involvedObject ObjectReference* | 3 reason s | 4 message s
    5 source EventSource | 6 firstTimestamp Time | 7 lastTimestamp Time | 8 count i
    9 type s | 10 eventTime MicroTime | 11 series EventSeries* | 12 action s
    13 related ObjectReference* | 14 reportingComponent s* | 15 reportingInstance s*
Lease: 1 metadata ObjectMeta | 2 spec LeaseSpec
Node: 1 metadata ObjectMeta | 2 spec NodeSpec | 3 status NodeStatus
Binding: 1 metadata ObjectMeta | 2 target ObjectReference*
ConfigMap: 1 metadata ObjectMeta | 4 immutable b* | 2 data {s} | 3 binaryData {y}
ResourceQuota: 1 metadata ObjectMeta | 2 spec ResourceQuotaSpec | 3 status ResourceQuotaStatus
ResourceQuotaSpec: 1 hard {Quantity} | 2 scopes [s] | 3 scopeSelector ScopeSelector*
ResourceQuotaStatus: 1 hard {Quantity} | 2 used {Quantity}
ScopeSelector: 1 matchExpressions [ScopedResourceSelectorRequirement]
ScopedResourceSelectorRequirement: 1 scopeName s* | 2 operator s* | 3 values [s]
ServiceAccount: 1 metadata ObjectMeta | 2 secrets [ObjectReference]
    3 imagePullSecrets [LocalObjectReference] | 4 automountServiceAccountToken b*
TokenRequest: 1 metadata ObjectMeta | 2 spec TokenRequestSpec | 3 status TokenRequestStatus
TokenRequestSpec: 1 audiences [s] | 4 expirationSeconds i* | 3 boundObjectRef BoundObjectReference*
BoundObjectReference: 1 kind s | 2 apiVersion s | 3 name s | 4 uid s
TokenRequestStatus: 1 token s | 2 expirationTimestamp Time
TokenReview: 1 metadata ObjectMeta | 2 spec TokenReviewSpec | 3 status TokenReviewStatus
TokenReviewSpec: 1 token s | 2 audiences [s]
TokenReviewStatus: 1 authenticated b | 4 audiences [s] | 3 error s
Secret: 1 metadata ObjectMeta | 5 immutable b* | 2 data {y} | 4 stringData {s} | 3 type s
PriorityClass: 1 metadata ObjectMeta | 2 value i* | 3 globalDefault b | 4 description s
    5 preemptionPolicy s*
Ingress: 1 metadata ObjectMeta | 2 spec IngressSpec | 3 status IngressStatus
IngressClass: 1 metadata ObjectMeta | 2 spec IngressClassSpec
IngressSpec: 4 ingressClassName s* | 1 defaultBackend IngressBackend* | 2 tls [IngressTLS]
    3 rules [IngressRule]
IngressBackend: 4 service IngressServiceBackend* | 3 resource TypedLocalObjectReference*
IngressServiceBackend: 1 name s* | 2 port ServiceBackendPort
ServiceBackendPort: 1 name s | 2 number i
IngressTLS: 1 hosts [s] | 2 secretName s
IngressRule: 1 host s | 2 - IngressRuleValue
IngressRuleValue: 1 http HTTPIngressRuleValue*
HTTPIngressRuleValue: 1 paths [HTTPIngressPath]
HTTPIngressPath: 1 path s | 3 pathType s* | 2 backend IngressBackend*
IngressStatus: 1 loadBalancer IngressLoadBalancerStatus
IngressLoadBalancerStatus: 1 ingress [IngressLoadBalancerIngress]
IngressLoadBalancerIngress: 1 ip s | 2 hostname s | 4 ports [PortStatus]
IngressClassSpec: 1 controller s | 2 parameters IngressClassParametersReference*
IngressClassParametersReference: 1 apiGroup s* | 2 kind s* | 3 name s* | 4 scope s*
    5 namespace s*
Role: 1 metadata ObjectMeta | 2 rules [PolicyRule]
ClusterRole: 1 metadata ObjectMeta | 2 rules [PolicyRule] | 3 aggregationRule AggregationRule*
PolicyRule: 1 verbs [s] | 2 apiGroups [s] | 3 resources [s] | 4 resourceNames [s]
    5 nonResourceURLs [s]
AggregationRule: 1 clusterRoleSelectors [LabelSelector]
RoleBinding: 1 metadata ObjectMeta | 2 subjects [Subject] | 3 roleRef RoleRef*
ClusterRoleBinding: 1 metadata ObjectMeta | 2 subjects [Subject] | 3 roleRef RoleRef*
Subject: 1 kind s* | 2 apiGroup s | 3 name s* | 4 namespace s
RoleRef: 1 apiGroup s* | 2 kind s* | 3 name s*
SelfSubjectReview: 1 metadata ObjectMeta
SelfSubjectAccessReview: 1 metadata ObjectMeta | 2 spec SelfSubjectAccessReviewSpec*
SelfSubjectAccessReviewSpec: 1 resourceAttributes ResourceAttributes*
    2 nonResourceAttributes NonResourceAttributes*
SubjectAccessReview: 1 metadata ObjectMeta | 2 spec SubjectAccessReviewSpec*
LocalSubjectAccessReview: 1 metadata ObjectMeta | 2 spec SubjectAccessReviewSpec*
SubjectAccessReviewSpec: 1 resourceAttributes ResourceAttributes*
    2 nonResourceAttributes NonResourceAttributes* | 3 user s | 4 groups [s] | 6 uid s
ResourceAttributes: 1 namespace s | 2 verb s | 3 group s | 4 version s | 5 resource s
    6 subresource s | 7 name s
NonResourceAttributes: 1 path s | 2 verb s
SelfSubjectRulesReview: 1 metadata ObjectMeta | 2 spec SelfSubjectRulesReviewSpec*
CertificateSigningRequest: 1 metadata ObjectMeta | 2 spec CertificateSigningRequestSpec*
    3 status CertificateSigningRequestStatus
CertificateSigningRequestSpec: 1 request y* | 7 signerName s* | 8 expirationSeconds i*
    5 usages [s] | 2 username s | 3 uid s | 4 groups [s]
CertificateSigningRequestStatus: 1 conditions [CertificateSigningRequestCondition]
    2 certificate y
CertificateSigningRequestCondition: 1 type s* | 6 status s* | 2 reason s | 3 message s
    4 lastUpdateTime Time | 5 lastTransitionTime Time
SelfSubjectRulesReviewSpec: 1 namespace s
ObjectMeta: 1 name s | 2 generateName s | 3 namespace s | 4 selfLink s | 5 uid s
    6 resourceVersion s | 7 generation i | 8 creationTimestamp Time
    9 deletionTimestamp Time* | 10 deletionGracePeriodSeconds i* | 11 labels {s}
    12 annotations {s} | 13 ownerReferences [OwnerReference] | 14 finalizers [s]
    17 managedFields [ManagedFieldsEntry]
NamespaceSpec: 1 finalizers [s]
NamespaceStatus: 1 phase s | 2 conditions [NamespaceCondition]
DeploymentSpec: 1 replicas i* | 2 selector LabelSelector* | 3 template PodTemplateSpec*
    4 strategy DeploymentStrategy | 5 minReadySeconds i | 6 revisionHistoryLimit i*
    7 paused b | 9 progressDeadlineSeconds i*
DeploymentStatus: 1 observedGeneration i | 2 replicas i | 3 updatedReplicas i
    7 readyReplicas i | 4 availableReplicas i | 5 unavailableReplicas i
    9 terminatingReplicas i* | 6 conditions [DeploymentCondition] | 8 collisionCount i*
CronJobSpec: 1 schedule s | 8 timeZone s* | 2 startingDeadlineSeconds i*
    3 concurrencyPolicy s | 4 suspend b* | 5 jobTemplate JobTemplateSpec
    6 successfulJobsHistoryLimit i* | 7 failedJobsHistoryLimit i*
CronJobStatus: 1 active [ObjectReference] | 4 lastScheduleTime Time | 5 lastSuccessfulTime Time
JobTemplateSpec: 1 metadata ObjectMeta | 2 spec JobSpec
JobSpec: 1 parallelism i* | 2 completions i* | 3 activeDeadlineSeconds i*
    11 podFailurePolicy PodFailurePolicy* | 16 successPolicy SuccessPolicy*
    7 backoffLimit i* | 12 backoffLimitPerIndex i* | 13 maxFailedIndexes i*
    4 selector LabelSelector* | 5 manualSelector b* | 6 template PodTemplateSpec*
    8 ttlSecondsAfterFinished i* | 9 completionMode s* | 10 suspend b*
    14 podReplacementPolicy s* | 15 managedBy s*
JobStatus: 1 conditions [JobCondition] | 2 startTime Time | 3 completionTime Time
    4 active i | 5 succeeded i | 6 failed i | 11 terminating i* | 7 completedIndexes s
    10 failedIndexes s* | 8 uncountedTerminatedPods UncountedTerminatedPods* | 9 ready i*
JobCondition: 1 type s* | 2 status s* | 3 lastProbeTime Time | 4 lastTransitionTime Time
    5 reason s | 6 message s
PodFailurePolicy: 1 rules [PodFailurePolicyRule]
PodFailurePolicyRule: 1 action s* | 2 onExitCodes PodFailurePolicyOnExitCodesRequirement*
    3 onPodConditions [PodFailurePolicyOnPodConditionsPattern]
PodFailurePolicyOnExitCodesRequirement: 1 containerName s* | 2 operator s* | 3 values [i]
PodFailurePolicyOnPodConditionsPattern: 1 type s* | 2 status s*
SuccessPolicy: 1 rules [SuccessPolicyRule]
SuccessPolicyRule: 1 succeededIndexes s* | 2 succeededCount i*
UncountedTerminatedPods: 1 succeeded [s] | 2 failed [s]
ServiceSpec: 1 ports [ServicePort] | 2 selector {s} | 3 clusterIP s | 18 clusterIPs [s]
    4 type s | 5 externalIPs [s] | 7 sessionAffinity s | 8 loadBalancerIP s
    9 loadBalancerSourceRanges [s] | 10 externalName s | 11 externalTrafficPolicy s
    12 healthCheckNodePort i | 13 publishNotReadyAddresses b
    14 sessionAffinityConfig SessionAffinityConfig* | 19 ipFamilies [s]
    17 ipFamilyPolicy s* | 20 allocateLoadBalancerNodePorts b* | 21 loadBalancerClass s*
    22 internalTrafficPolicy s* | 23 trafficDistribution s*
ServiceStatus: 1 loadBalancer LoadBalancerStatus | 2 conditions [Condition]
PodSpec: 1 volumes [Volume] | 20 initContainers [Container] | 2 containers [Container]
    34 ephemeralContainers [EphemeralContainer] | 3 restartPolicy s
    4 terminationGracePeriodSeconds i* | 5 activeDeadlineSeconds i* | 6 dnsPolicy s
    7 nodeSelector {s} | 8 serviceAccountName s | 9 serviceAccount s
    21 automountServiceAccountToken b* | 10 nodeName s | 11 hostNetwork b | 12 hostPID b
    13 hostIPC b | 27 shareProcessNamespace b* | 14 securityContext PodSecurityContext*
    15 imagePullSecrets [LocalObjectReference] | 16 hostname s | 17 subdomain s
    18 affinity Affinity* | 19 schedulerName s | 22 tolerations [Toleration]
    23 hostAliases [HostAlias] | 24 priorityClassName s | 25 priority i*
    26 dnsConfig PodDNSConfig* | 28 readinessGates [PodReadinessGate]
    29 runtimeClassName s* | 30 enableServiceLinks b* | 31 preemptionPolicy s*
    32 overhead {Quantity} | 33 topologySpreadConstraints [TopologySpreadConstraint]
    35 setHostnameAsFQDN b* | 36 os PodOS* | 37 hostUsers b*
    38 schedulingGates [PodSchedulingGate] | 39 resourceClaims [PodResourceClaim]
    40 resources ResourceRequirements* | 41 hostnameOverride s*
    43 schedulingGroup PodSchedulingGroup* | 44 evictionResponders [EvictionResponder]
PodStatus: 17 observedGeneration i | 1 phase s | 2 conditions [PodCondition] | 3 message s
    4 reason s | 11 nominatedNodeName s | 5 hostIP s | 16 hostIPs [HostIP] | 6 podIP s
    12 podIPs [PodIP] | 7 startTime Time* | 10 initContainerStatuses [ContainerStatus]
    8 containerStatuses [ContainerStatus] | 9 qosClass s
    13 ephemeralContainerStatuses [ContainerStatus] | 14 resize s
    15 resourceClaimStatuses [PodResourceClaimStatus]
    18 extendedResourceClaimStatus PodExtendedResourceClaimStatus*
    19 allocatedResources {Quantity} | 20 resources ResourceRequirements*
    21 nodeAllocatableResourceClaimStatuses [NodeAllocatableResourceClaimStatus]
    22 volumeHealth [PodVolumeHealth]
ReplicaSetSpec: 1 replicas i* | 4 minReadySeconds i | 2 selector LabelSelector*
    3 template PodTemplateSpec
ReplicaSetStatus: 1 replicas i* | 2 fullyLabeledReplicas i | 4 readyReplicas i
    5 availableReplicas i | 7 terminatingReplicas i* | 3 observedGeneration i
    6 conditions [ReplicaSetCondition]
EndpointSubset: 1 addresses [EndpointAddress] | 2 notReadyAddresses [EndpointAddress]
    3 ports [EndpointPort]
ObjectReference: 1 kind s | 2 namespace s | 3 name s | 4 uid s | 5 apiVersion s
    6 resourceVersion s | 7 fieldPath s
EventSource: 1 component s | 2 host s
EventSeries: 1 count i | 2 lastObservedTime MicroTime
LeaseSpec: 1 holderIdentity s* | 2 leaseDurationSeconds i* | 3 acquireTime MicroTime*
    4 renewTime MicroTime* | 5 leaseTransitions i* | 6 strategy s* | 7 preferredHolder s*
NodeSpec: 1 podCIDR s | 7 podCIDRs [s] | 3 providerID s | 4 unschedulable b
    5 taints [Taint] | 6 configSource NodeConfigSource* | 2 externalID s
    8 podPreemptionPolicy NodePodPreemptionPolicy*
NodeStatus: 1 capacity {Quantity} | 2 allocatable {Quantity} | 3 phase s
    4 conditions [NodeCondition] | 5 addresses [NodeAddress]
    6 daemonEndpoints NodeDaemonEndpoints | 7 nodeInfo NodeSystemInfo
    8 images [ContainerImage] | 9 volumesInUse [s] | 10 volumesAttached [AttachedVolume]
    11 config NodeConfigStatus* | 12 runtimeHandlers [NodeRuntimeHandler]
    13 features NodeFeatures* | 14 declaredFeatures [s]
OwnerReference: 5 apiVersion s* | 1 kind s* | 3 name s* | 4 uid s* | 6 controller b*
    7 blockOwnerDeletion b*
ManagedFieldsEntry: 1 manager s | 2 operation s | 3 apiVersion s | 4 time Time*
    6 fieldsType s | 7 fieldsV1 FieldsV1* | 8 subresource s
NamespaceCondition: 1 type s* | 2 status s* | 4 lastTransitionTime Time | 5 reason s
    6 message s
LabelSelector: 1 matchLabels {s} | 2 matchExpressions [LabelSelectorRequirement]
PodTemplateSpec: 1 metadata ObjectMeta | 2 spec PodSpec
DeploymentStrategy: 1 type s | 2 rollingUpdate RollingUpdateDeployment*
DeploymentCondition: 1 type s* | 2 status s* | 6 lastUpdateTime Time
    7 lastTransitionTime Time | 4 reason s | 5 message s
ServicePort: 1 name s | 2 protocol s | 6 appProtocol s* | 3 port i*
    4 targetPort IntOrString | 5 nodePort i
SessionAffinityConfig: 1 clientIP ClientIPConfig*
LoadBalancerStatus: 1 ingress [LoadBalancerIngress]
Condition: 1 type s* | 2 status s* | 3 observedGeneration i | 4 lastTransitionTime Time*
    5 reason s* | 6 message s*
Volume: 1 name s* | 2 - VolumeSource
Container: 1 name s* | 2 image s | 3 command [s] | 4 args [s] | 5 workingDir s
    6 ports [ContainerPort] | 19 envFrom [EnvFromSource] | 7 env [EnvVar]
    8 resources ResourceRequirements | 23 resizePolicy [ContainerResizePolicy]
    24 restartPolicy s* | 25 restartPolicyRules [ContainerRestartRule]
    9 volumeMounts [VolumeMount] | 21 volumeDevices [VolumeDevice] | 10 livenessProbe Probe*
    11 readinessProbe Probe* | 22 startupProbe Probe* | 12 lifecycle Lifecycle*
    13 terminationMessagePath s | 20 terminationMessagePolicy s | 14 imagePullPolicy s
    15 securityContext SecurityContext* | 16 stdin b | 17 stdinOnce b | 18 tty b
EphemeralContainer: 1 - EphemeralContainerCommon | 2 targetContainerName s
PodSecurityContext: 1 seLinuxOptions SELinuxOptions*
    8 windowsOptions WindowsSecurityContextOptions* | 2 runAsUser i* | 6 runAsGroup i*
    3 runAsNonRoot b* | 4 supplementalGroups [i] | 12 supplementalGroupsPolicy s*
    5 fsGroup i* | 7 sysctls [Sysctl] | 9 fsGroupChangePolicy s*
    10 seccompProfile SeccompProfile* | 11 appArmorProfile AppArmorProfile*
    13 seLinuxChangePolicy s*
LocalObjectReference: 1 name s
Affinity: 1 nodeAffinity NodeAffinity* | 2 podAffinity PodAffinity*
    3 podAntiAffinity PodAntiAffinity*
Toleration: 1 key s | 2 operator s | 3 value s | 4 effect s | 5 tolerationSeconds i*
HostAlias: 1 ip s* | 2 hostnames [s]
PodDNSConfig: 1 nameservers [s] | 2 searches [s] | 3 options [PodDNSConfigOption]
PodReadinessGate: 1 conditionType s*
TopologySpreadConstraint: 1 maxSkew i* | 2 topologyKey s* | 3 whenUnsatisfiable s*
    4 labelSelector LabelSelector* | 5 minDomains i* | 6 nodeAffinityPolicy s*
    7 nodeTaintsPolicy s* | 8 matchLabelKeys [s]
PodOS: 1 name s*
PodSchedulingGate: 1 name s*
PodResourceClaim: 1 name s* | 3 resourceClaimName s* | 4 resourceClaimTemplateName s*
ResourceRequirements: 1 limits {Quantity} | 2 requests {Quantity} | 3 claims [ResourceClaim]
PodSchedulingGroup: 1 podGroupName s*
EvictionResponder: 1 name s* | 2 priority i*
PodCondition: 1 type s* | 7 observedGeneration i | 2 status s* | 3 lastProbeTime Time
    4 lastTransitionTime Time | 5 reason s | 6 message s
HostIP: 1 ip s*
PodIP: 1 ip s*
ContainerStatus: 1 name s* | 2 state ContainerState | 3 lastState ContainerState
    4 ready b* | 5 restartCount i* | 6 image s* | 7 imageID s* | 8 containerID s
    9 started b* | 10 allocatedResources {Quantity} | 11 resources ResourceRequirements*
    12 volumeMounts [VolumeMountStatus] | 13 user ContainerUser*
    14 allocatedResourcesStatus [ResourceStatus] | 15 stopSignal s*
PodResourceClaimStatus: 1 name s* | 2 resourceClaimName s*
PodExtendedResourceClaimStatus: 1 requestMappings [ContainerExtendedResourceRequest]
    2 resourceClaimName s*
NodeAllocatableResourceClaimStatus: 1 resourceClaimName s* | 2 containers [s]
    4 mapping [NodeAllocatableMappedResources]
    5 overhead [NodeAllocatableOverheadResources]
PodVolumeHealth: 1 name s* | 2 healthConditions [VolumeHealthCondition]
    3 lastTransitionTime Time
ReplicaSetCondition: 1 type s* | 2 status s* | 3 lastTransitionTime Time | 4 reason s
    5 message s
EndpointAddress: 1 ip s* | 3 hostname s | 4 nodeName s* | 2 targetRef ObjectReference*
EndpointPort: 1 name s | 2 port i* | 3 protocol s | 4 appProtocol s*
Taint: 1 key s* | 2 value s | 3 effect s* | 4 timeAdded Time*
NodeConfigSource: 2 configMap ConfigMapNodeConfigSource*
NodePodPreemptionPolicy: 1 disableResizePreemption [s]
NodeCondition: 1 type s* | 2 status s* | 3 lastHeartbeatTime Time
    4 lastTransitionTime Time | 5 reason s | 6 message s
NodeAddress: 1 type s* | 2 address s*
NodeDaemonEndpoints: 1 kubeletEndpoint DaemonEndpoint
NodeSystemInfo: 1 machineID s* | 2 systemUUID s* | 3 bootID s* | 4 kernelVersion s*
    5 osImage s* | 6 containerRuntimeVersion s* | 7 kubeletVersion s*
    8 kubeProxyVersion s* | 9 operatingSystem s* | 10 architecture s*
    11 swap NodeSwapStatus*
ContainerImage: 1 names [s] | 2 sizeBytes i
AttachedVolume: 1 name s* | 2 devicePath s*
NodeConfigStatus: 1 assigned NodeConfigSource* | 2 active NodeConfigSource*
    3 lastKnownGood NodeConfigSource* | 4 error s
NodeRuntimeHandler: 1 name s* | 2 features NodeRuntimeHandlerFeatures*
NodeFeatures: 1 supplementalGroupsPolicy b*
LabelSelectorRequirement: 1 key s* | 2 operator s* | 3 values [s]
RollingUpdateDeployment: 1 maxUnavailable IntOrString* | 2 maxSurge IntOrString*
ClientIPConfig: 1 timeoutSeconds i*
LoadBalancerIngress: 1 ip s | 2 hostname s | 3 ipMode s* | 4 ports [PortStatus]
VolumeSource: 1 hostPath HostPathVolumeSource* | 2 emptyDir EmptyDirVolumeSource*
    3 gcePersistentDisk GCEPersistentDiskVolumeSource*
    4 awsElasticBlockStore AWSElasticBlockStoreVolumeSource*
    5 gitRepo GitRepoVolumeSource* | 6 secret SecretVolumeSource* | 7 nfs NFSVolumeSource*
    8 iscsi ISCSIVolumeSource* | 9 glusterfs GlusterfsVolumeSource*
    10 persistentVolumeClaim PersistentVolumeClaimVolumeSource* | 11 rbd RBDVolumeSource*
    12 flexVolume FlexVolumeSource* | 13 cinder CinderVolumeSource*
    14 cephfs CephFSVolumeSource* | 15 flocker FlockerVolumeSource*
    16 downwardAPI DownwardAPIVolumeSource* | 17 fc FCVolumeSource*
    18 azureFile AzureFileVolumeSource* | 19 configMap ConfigMapVolumeSource*
    20 vsphereVolume VsphereVirtualDiskVolumeSource* | 21 quobyte QuobyteVolumeSource*
    22 azureDisk AzureDiskVolumeSource*
    23 photonPersistentDisk PhotonPersistentDiskVolumeSource*
    26 projected ProjectedVolumeSource* | 24 portworxVolume PortworxVolumeSource*
    25 scaleIO ScaleIOVolumeSource* | 27 storageos StorageOSVolumeSource*
    28 csi CSIVolumeSource* | 29 ephemeral EphemeralVolumeSource*
    30 image ImageVolumeSource*
ContainerPort: 1 name s | 2 hostPort i | 3 containerPort i* | 4 protocol s | 5 hostIP s
EnvFromSource: 1 prefix s | 2 configMapRef ConfigMapEnvSource*
    3 secretRef SecretEnvSource*
EnvVar: 1 name s* | 2 value s | 3 valueFrom EnvVarSource*
ContainerResizePolicy: 1 resourceName s* | 2 restartPolicy s*
ContainerRestartRule: 1 action s | 2 exitCodes ContainerRestartRuleOnExitCodes*
VolumeMount: 1 name s* | 2 readOnly b | 7 recursiveReadOnly s* | 3 mountPath s*
    4 subPath s | 5 mountPropagation s* | 6 subPathExpr s | 8 bindMountOptions [s]
VolumeDevice: 1 name s* | 2 devicePath s*
Probe: 1 - ProbeHandler | 2 initialDelaySeconds i | 3 timeoutSeconds i | 4 periodSeconds i
    5 successThreshold i | 6 failureThreshold i | 7 terminationGracePeriodSeconds i*
Lifecycle: 1 postStart LifecycleHandler* | 2 preStop LifecycleHandler* | 3 stopSignal s*
SecurityContext: 1 capabilities Capabilities* | 2 privileged b*
    3 seLinuxOptions SELinuxOptions* | 10 windowsOptions WindowsSecurityContextOptions*
    4 runAsUser i* | 8 runAsGroup i* | 5 runAsNonRoot b* | 6 readOnlyRootFilesystem b*
    7 allowPrivilegeEscalation b* | 9 procMount s* | 11 seccompProfile SeccompProfile*
    12 appArmorProfile AppArmorProfile*
EphemeralContainerCommon: 1 name s* | 2 image s | 3 command [s] | 4 args [s]
    5 workingDir s | 6 ports [ContainerPort] | 19 envFrom [EnvFromSource] | 7 env [EnvVar]
    8 resources ResourceRequirements | 23 resizePolicy [ContainerResizePolicy]
    24 restartPolicy s* | 25 restartPolicyRules [ContainerRestartRule]
    9 volumeMounts [VolumeMount] | 21 volumeDevices [VolumeDevice] | 10 livenessProbe Probe*
    11 readinessProbe Probe* | 22 startupProbe Probe* | 12 lifecycle Lifecycle*
    13 terminationMessagePath s | 20 terminationMessagePolicy s | 14 imagePullPolicy s
    15 securityContext SecurityContext* | 16 stdin b | 17 stdinOnce b | 18 tty b
SELinuxOptions: 1 user s | 2 role s | 3 type s | 4 level s
WindowsSecurityContextOptions: 1 gmsaCredentialSpecName s* | 2 gmsaCredentialSpec s*
    3 runAsUserName s* | 4 hostProcess b*
Sysctl: 1 name s* | 2 value s*
SeccompProfile: 1 type s* | 2 localhostProfile s*
AppArmorProfile: 1 type s* | 2 localhostProfile s*
NodeAffinity: 1 requiredDuringSchedulingIgnoredDuringExecution NodeSelector*
    2 preferredDuringSchedulingIgnoredDuringExecution [PreferredSchedulingTerm]
PodAffinity: 1 requiredDuringSchedulingIgnoredDuringExecution [PodAffinityTerm]
    2 preferredDuringSchedulingIgnoredDuringExecution [WeightedPodAffinityTerm]
PodAntiAffinity: 1 requiredDuringSchedulingIgnoredDuringExecution [PodAffinityTerm]
    2 preferredDuringSchedulingIgnoredDuringExecution [WeightedPodAffinityTerm]
PodDNSConfigOption: 1 name s | 2 value s*
ResourceClaim: 1 name s* | 2 request s
ContainerState: 1 waiting ContainerStateWaiting* | 2 running ContainerStateRunning*
    3 terminated ContainerStateTerminated*
VolumeMountStatus: 1 name s* | 2 mountPath s* | 3 readOnly b | 4 recursiveReadOnly s*
    5 volumeStatus VolumeStatus*
ContainerUser: 1 linux LinuxContainerUser*
ResourceStatus: 1 name s* | 2 resources [ResourceHealth]
ContainerExtendedResourceRequest: 1 containerName s* | 2 resourceName s* | 3 requestName s*
NodeAllocatableMappedResources: 1 name s* | 2 quantity Quantity*
NodeAllocatableOverheadResources: 1 name s* | 2 perPod Quantity* | 3 perContainer Quantity*
VolumeHealthCondition: 1 status s* | 2 reason s* | 3 message s
ConfigMapNodeConfigSource: 1 namespace s* | 2 name s* | 3 uid s | 4 resourceVersion s
    5 kubeletConfigKey s*
DaemonEndpoint: 1 Port i*
NodeSwapStatus: 1 capacity i*
NodeRuntimeHandlerFeatures: 1 recursiveReadOnlyMounts b* | 2 userNamespaces b*
PortStatus: 1 port i* | 2 protocol s* | 3 error s*
HostPathVolumeSource: 1 path s* | 2 type s*
EmptyDirVolumeSource: 1 medium s | 2 sizeLimit Quantity* | 3 mode i*
GCEPersistentDiskVolumeSource: 1 pdName s* | 2 fsType s | 3 partition i | 4 readOnly b
AWSElasticBlockStoreVolumeSource: 1 volumeID s* | 2 fsType s | 3 partition i | 4 readOnly b
GitRepoVolumeSource: 1 repository s* | 2 revision s | 3 directory s
SecretVolumeSource: 1 secretName s | 2 items [KeyToPath] | 3 defaultMode i* | 4 optional b*
    5 defaultUser i*
NFSVolumeSource: 1 server s* | 2 path s* | 3 readOnly b
ISCSIVolumeSource: 1 targetPortal s* | 2 iqn s* | 3 lun i* | 4 iscsiInterface s | 5 fsType s
    6 readOnly b | 7 portals [s] | 8 chapAuthDiscovery b | 11 chapAuthSession b
    10 secretRef LocalObjectReference* | 12 initiatorName s*
GlusterfsVolumeSource: 1 endpoints s* | 2 path s* | 3 readOnly b
PersistentVolumeClaimVolumeSource: 1 claimName s* | 2 readOnly b
RBDVolumeSource: 1 monitors [s] | 2 image s* | 3 fsType s | 4 pool s | 5 user s
    6 keyring s | 7 secretRef LocalObjectReference* | 8 readOnly b
FlexVolumeSource: 1 driver s* | 2 fsType s | 3 secretRef LocalObjectReference*
    4 readOnly b | 5 options {s}
CinderVolumeSource: 1 volumeID s* | 2 fsType s | 3 readOnly b
    4 secretRef LocalObjectReference*
CephFSVolumeSource: 1 monitors [s] | 2 path s | 3 user s | 4 secretFile s
    5 secretRef LocalObjectReference* | 6 readOnly b
FlockerVolumeSource: 1 datasetName s | 2 datasetUUID s
DownwardAPIVolumeSource: 1 items [DownwardAPIVolumeFile] | 2 defaultMode i*
    3 defaultUser i*
FCVolumeSource: 1 targetWWNs [s] | 2 lun i* | 3 fsType s | 4 readOnly b | 5 wwids [s]
AzureFileVolumeSource: 1 secretName s* | 2 shareName s* | 3 readOnly b
ConfigMapVolumeSource: 1 - LocalObjectReference | 2 items [KeyToPath] | 3 defaultMode i*
    4 optional b* | 5 defaultUser i*
VsphereVirtualDiskVolumeSource: 1 volumePath s* | 2 fsType s | 3 storagePolicyName s
    4 storagePolicyID s
QuobyteVolumeSource: 1 registry s* | 2 volume s* | 3 readOnly b | 4 user s | 5 group s
    6 tenant s
AzureDiskVolumeSource: 1 diskName s* | 2 diskURI s* | 3 cachingMode s* | 4 fsType s*
    5 readOnly b* | 6 kind s*
PhotonPersistentDiskVolumeSource: 1 pdID s* | 2 fsType s
ProjectedVolumeSource: 1 sources [VolumeProjection] | 2 defaultMode i* | 3 defaultUser i*
PortworxVolumeSource: 1 volumeID s* | 2 fsType s | 3 readOnly b
ScaleIOVolumeSource: 1 gateway s* | 2 system s* | 3 secretRef LocalObjectReference*
    4 sslEnabled b | 5 protectionDomain s | 6 storagePool s | 7 storageMode s
    8 volumeName s | 9 fsType s | 10 readOnly b
StorageOSVolumeSource: 1 volumeName s | 2 volumeNamespace s | 3 fsType s | 4 readOnly b
    5 secretRef LocalObjectReference*
CSIVolumeSource: 1 driver s* | 2 readOnly b* | 3 fsType s* | 4 volumeAttributes {s}
    5 nodePublishSecretRef LocalObjectReference*
EphemeralVolumeSource: 1 volumeClaimTemplate PersistentVolumeClaimTemplate*
ImageVolumeSource: 1 reference s | 2 pullPolicy s
ConfigMapEnvSource: 1 - LocalObjectReference | 2 optional b*
SecretEnvSource: 1 - LocalObjectReference | 2 optional b*
EnvVarSource: 1 fieldRef ObjectFieldSelector* | 2 resourceFieldRef ResourceFieldSelector*
    3 configMapKeyRef ConfigMapKeySelector* | 4 secretKeyRef SecretKeySelector*
    5 fileKeyRef FileKeySelector*
ContainerRestartRuleOnExitCodes: 1 operator s | 2 values [i]
ProbeHandler: 1 exec ExecAction* | 2 httpGet HTTPGetAction* | 3 tcpSocket TCPSocketAction*
    4 grpc GRPCAction*
LifecycleHandler: 1 exec ExecAction* | 2 httpGet HTTPGetAction*
    3 tcpSocket TCPSocketAction* | 4 sleep SleepAction*
Capabilities: 1 add [s] | 2 drop [s]
NodeSelector: 1 nodeSelectorTerms [NodeSelectorTerm]
PreferredSchedulingTerm: 1 weight i* | 2 preference NodeSelectorTerm*
PodAffinityTerm: 1 labelSelector LabelSelector* | 2 namespaces [s] | 3 topologyKey s*
    4 namespaceSelector LabelSelector* | 5 matchLabelKeys [s] | 6 mismatchLabelKeys [s]
WeightedPodAffinityTerm: 1 weight i* | 2 podAffinityTerm PodAffinityTerm*
ContainerStateWaiting: 1 reason s | 2 message s
ContainerStateRunning: 1 startedAt Time
ContainerStateTerminated: 1 exitCode i* | 2 signal i | 3 reason s | 4 message s
    5 startedAt Time | 6 finishedAt Time | 7 containerID s
VolumeStatus: 1 image ImageVolumeStatus*
LinuxContainerUser: 1 uid i* | 2 gid i* | 3 supplementalGroups [i]
ResourceHealth: 1 resourceID s* | 2 health s | 6 message s*
KeyToPath: 1 key s* | 2 path s* | 3 mode i* | 4 user i*
DownwardAPIVolumeFile: 1 path s* | 2 fieldRef ObjectFieldSelector*
    3 resourceFieldRef ResourceFieldSelector* | 4 mode i* | 5 user i*
VolumeProjection: 1 secret SecretProjection* | 2 downwardAPI DownwardAPIProjection*
    3 configMap ConfigMapProjection* | 4 serviceAccountToken ServiceAccountTokenProjection*
    5 clusterTrustBundle ClusterTrustBundleProjection*
    6 podCertificate PodCertificateProjection*
PersistentVolumeClaimTemplate: 1 metadata ObjectMeta | 2 spec PersistentVolumeClaimSpec*
ObjectFieldSelector: 1 apiVersion s | 2 fieldPath s*
ResourceFieldSelector: 1 containerName s | 2 resource s* | 3 divisor Quantity
ConfigMapKeySelector: 1 - LocalObjectReference | 2 key s* | 3 optional b*
SecretKeySelector: 1 - LocalObjectReference | 2 key s* | 3 optional b*
FileKeySelector: 1 volumeName s* | 2 path s* | 3 key s* | 4 optional b*
ExecAction: 1 command [s]
HTTPGetAction: 1 path s | 2 port IntOrString* | 3 host s | 4 scheme s
    5 httpHeaders [HTTPHeader] | 6 protocol s*
TCPSocketAction: 1 port IntOrString* | 2 host s
GRPCAction: 1 port i* | 2 service s* | 3 mode s*
SleepAction: 1 seconds i*
NodeSelectorTerm: 1 matchExpressions [NodeSelectorRequirement]
    2 matchFields [NodeSelectorRequirement]
ImageVolumeStatus: 1 imageRef s
SecretProjection: 1 - LocalObjectReference | 2 items [KeyToPath] | 4 optional b*
DownwardAPIProjection: 1 items [DownwardAPIVolumeFile]
ConfigMapProjection: 1 - LocalObjectReference | 2 items [KeyToPath] | 4 optional b*
ServiceAccountTokenProjection: 1 audience s | 2 expirationSeconds i* | 3 path s* | 4 user i*
ClusterTrustBundleProjection: 1 name s* | 2 signerName s* | 3 labelSelector LabelSelector*
    5 optional b* | 4 path s* | 6 user i*
PodCertificateProjection: 1 signerName s | 2 keyType s | 3 maxExpirationSeconds i*
    4 credentialBundlePath s | 5 keyPath s | 6 certificateChainPath s
    7 userAnnotations {s} | 8 user i*
PersistentVolumeClaimSpec: 1 accessModes [s] | 4 selector LabelSelector*
    2 resources VolumeResourceRequirements | 3 volumeName s | 5 storageClassName s*
    6 volumeMode s* | 7 dataSource TypedLocalObjectReference*
    8 dataSourceRef TypedObjectReference* | 9 volumeAttributesClassName s*
HTTPHeader: 1 name s* | 2 value s*
NodeSelectorRequirement: 1 key s* | 2 operator s* | 3 values [s]
VolumeResourceRequirements: 1 limits {Quantity} | 2 requests {Quantity}
TypedLocalObjectReference: 1 apiGroup s* | 2 kind s* | 3 name s*
TypedObjectReference: 1 apiGroup s* | 2 kind s* | 3 name s* | 4 namespace s*
PodDisruptionBudget: 1 metadata ObjectMeta | 2 spec PodDisruptionBudgetSpec
    3 status PodDisruptionBudgetStatus
PodDisruptionBudgetSpec: 1 minAvailable IntOrString* | 2 selector LabelSelector*
    3 maxUnavailable IntOrString* | 4 unhealthyPodEvictionPolicy s*
PodDisruptionBudgetStatus: 1 observedGeneration i | 2 disruptedPods {Time}
    3 disruptionsAllowed i* | 4 currentHealthy i* | 5 desiredHealthy i* | 6 expectedPods i*
    7 conditions [Condition]
ReplicationController: 1 metadata ObjectMeta | 2 spec ReplicationControllerSpec
    3 status ReplicationControllerStatus
ReplicationControllerSpec: 1 replicas i* | 4 minReadySeconds i | 2 selector {s}
    3 template PodTemplateSpec*
ReplicationControllerStatus: 1 replicas i* | 2 fullyLabeledReplicas i | 4 readyReplicas i
    5 availableReplicas i | 3 observedGeneration i
HorizontalPodAutoscaler: 1 metadata ObjectMeta | 2 spec HPAV1Spec
HPAV1Spec: 1 scaleTargetRef CrossVersionObjectReference* | 2 minReplicas i* | 3 maxReplicas i*
    4 targetCPUUtilizationPercentage i*
CrossVersionObjectReference: 1 kind s* | 2 name s* | 3 apiVersion s
V2HorizontalPodAutoscaler: 1 metadata ObjectMeta | 2 spec HPAV2Spec
HPAV2Spec: 1 scaleTargetRef CrossVersionObjectReference* | 2 minReplicas i* | 3 maxReplicas i*
    4 metrics [MetricSpec] | 5 behavior HorizontalPodAutoscalerBehavior*
MetricSpec: 1 type s* | 4 resource ResourceMetricSource*
    7 containerResource ContainerResourceMetricSource*
ResourceMetricSource: 1 name s* | 2 target MetricTarget*
ContainerResourceMetricSource: 1 name s* | 2 target MetricTarget* | 3 container s*
MetricTarget: 1 type s* | 2 value Quantity* | 3 averageValue Quantity* | 4 averageUtilization i*
HorizontalPodAutoscalerBehavior: 1 scaleUp HPAScalingRules* | 2 scaleDown HPAScalingRules*
HPAScalingRules: 3 stabilizationWindowSeconds i* | 1 selectPolicy s*
    2 policies [HPAScalingPolicy]
HPAScalingPolicy: 1 type s* | 2 value i* | 3 periodSeconds i*
"""
# Messages whose name differs between versions of one kind: (apiVersion, kind) -> message.
_MESSAGES_BY_VERSION = {("autoscaling/v2", "HorizontalPodAutoscaler"): "V2HorizontalPodAutoscaler"}

Field = tuple[str, str, bool, str]  # json name, type, keep zero, container ("", "[]", "{}")


@cache
def schema() -> dict[str, dict[int, Field]]:
    """The parsed field table, message name -> field number -> Field."""
    messages: dict[str, dict[int, Field]] = {}
    current: dict[int, Field] = {}
    for line in _SCHEMA.strip().splitlines():
        if not line.startswith(" "):
            name, _, line = line.partition(":")
            current = messages.setdefault(name, {})
        for spec in line.split("|"):
            number, json_name, type_ = spec.split()
            keep = type_.endswith("*")
            type_ = type_.rstrip("*")
            container = type_[0] + type_[-1] if type_[0] in "[{" else ""
            current[int(number)] = (json_name, type_.strip("[]{}"), keep, container)
    return messages


def _scalar(type_: str, wire: int, value: int | bytes) -> Any:
    if type_ == "s":
        if not isinstance(value, bytes):
            raise ProtobufError("expected a string")
        return value.decode("utf-8", errors="replace")
    if type_ == "y":
        if not isinstance(value, bytes):
            raise ProtobufError("expected bytes")
        return base64.b64encode(value).decode("ascii")
    if type_ == "i":
        if not isinstance(value, int):
            raise ProtobufError("expected a varint")
        return _signed(value)
    if type_ == "b":
        if not isinstance(value, int):
            raise ProtobufError("expected a varint")
        return bool(value)
    raise ProtobufError(f"unknown scalar type {type_}")


def _special(type_: str, raw: bytes) -> Any:
    """Messages whose JSON form is not an object."""
    fields = {f: v for f, _, v in iter_fields(raw)}
    if type_ in ("Time", "MicroTime"):
        seconds, nanos = _signed(int(fields.get(1, 0))), int(fields.get(2, 0))
        if not seconds and not nanos:
            return None
        return _rfc3339(seconds, nanos, micro=type_ == "MicroTime")
    if type_ == "IntOrString":
        if int(fields.get(1, 0)) == 1:
            value = fields.get(3, b"")
            return value.decode() if isinstance(value, bytes) else ""
        return _signed(int(fields.get(2, 0))) if isinstance(fields.get(2, 0), int) else 0
    if type_ == "Quantity":
        value = fields.get(1, b"")
        return value.decode() if isinstance(value, bytes) else ""
    if type_ == "FieldsV1":
        value = fields.get(1, b"")
        return json.loads(value) if isinstance(value, bytes) and value else {}
    raise ProtobufError(f"unknown special type {type_}")


SPECIAL = frozenset({"Time", "MicroTime", "IntOrString", "Quantity", "FieldsV1"})
_EMPTY: tuple[Any, ...] = (None, "", 0, False, [], {})


def _value(type_: str, wire: int, value: int | bytes) -> Any:
    if type_ in ("s", "i", "b", "y"):
        return _scalar(type_, wire, value)
    if not isinstance(value, bytes):
        raise ProtobufError(f"expected an embedded {type_}")
    if type_ in SPECIAL:
        return _special(type_, value)
    return decode_message(type_, value)


def _packed(type_: str, raw: bytes) -> list[Any]:
    out, pos = [], 0
    while pos < len(raw):
        value, pos = read_varint(raw, pos)
        out.append(_scalar(type_, VARINT, value))
    return out


def decode_message(name: str, buf: bytes) -> dict[str, Any]:
    """Decode one message of the table into its JSON shape; unknown fields are skipped."""
    fields = schema()[name]
    out: dict[str, Any] = {}
    for number, wire, value in iter_fields(buf):
        spec = fields.get(number)
        if spec is None:
            continue
        json_name, type_, keep, container = spec
        if json_name == "-":
            if not isinstance(value, bytes):
                raise ProtobufError(f"expected an embedded {type_}")
            out.update(decode_message(type_, value))
        elif container == "[]":
            items = out.setdefault(json_name, [])
            if wire == LENGTH and type_ in ("i", "b") and isinstance(value, bytes):
                items.extend(_packed(type_, value))
            else:
                items.append(_value(type_, wire, value))
        elif container == "{}":
            if not isinstance(value, bytes):
                raise ProtobufError("expected a map entry")
            entry = {f: v for f, w, v in iter_fields(value)}
            key = entry.get(1, b"")
            if not isinstance(key, bytes):
                raise ProtobufError("map key is not a string")
            item = entry.get(2, b"")
            out.setdefault(json_name, {})[key.decode()] = _value(type_, LENGTH, item)
        else:
            decoded = _value(type_, wire, value)
            if keep or decoded not in _EMPTY:
                out[json_name] = decoded
            else:
                out.pop(json_name, None)
    return out


def decode_unknown(body: bytes) -> tuple[str, str, bytes]:
    """Split a `k8s\\0` envelope into (apiVersion, kind, raw object bytes)."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing the k8s protobuf magic prefix")
    api_version = kind = ""
    raw = b""
    for number, _, value in iter_fields(body[len(MAGIC) :]):
        if number == 1 and isinstance(value, bytes):
            for f, _, v in iter_fields(value):
                if f == 1 and isinstance(v, bytes):
                    api_version = v.decode()
                elif f == 2 and isinstance(v, bytes):
                    kind = v.decode()
        elif number == 2 and isinstance(value, bytes):
            raw = value
    return api_version, kind, raw


def decode_k8s_protobuf(body: bytes) -> dict[str, Any]:
    """A Kubernetes protobuf request body as the JSON-shaped object (with apiVersion and
    kind); 400 for a malformed body or a kind minik cannot decode."""
    try:
        api_version, kind, raw = decode_unknown(body)
        message = _MESSAGES_BY_VERSION.get((api_version, kind), kind)
        if message not in schema() or kind in SPECIAL:
            raise errors.bad_request(
                f"protobuf bodies of kind {kind!r} are not supported; send JSON instead"
            )
        obj = decode_message(message, raw)
    except (ProtobufError, UnicodeDecodeError, ValueError, OverflowError) as err:
        raise errors.bad_request(f"error decoding protobuf body: {err}") from err
    return {"apiVersion": api_version, "kind": kind, **obj}
