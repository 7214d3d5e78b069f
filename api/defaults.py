"""Defaulting, as Kubernetes' SetDefaults_* functions (pkg/apis/core/v1/defaults.go,
pkg/apis/apps/v1/defaults.go, pkg/apis/batch/v1/defaults.go,
pkg/apis/discovery/v1/defaults.go): fills in what a client left out, in place.

Runs before validation on every create and update, so validation sees the same object
Kubernetes would, and kubectl's output shows the fields it expects (`protocol: TCP`,
`imagePullPolicy`, `strategy`...). Running it twice changes nothing: a field is only
set when absent (or, for enum strings, empty), never overwritten."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from api import autoscaling
from api.scheduling import PREEMPT_LOWER_PRIORITY

DEFAULT_TERMINATION_GRACE_PERIOD = 30
DEFAULT_CLIENT_IP_AFFINITY_SECONDS = 10800
DEFAULT_FILE_MODE = 0o644  # 420: configMap, secret, downwardAPI, projected volumes
# Volume sources whose `defaultMode` Kubernetes fills in.
_MODE_VOLUME_SOURCES = ("configMap", "secret", "downwardAPI", "projected")
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_PROBE_DEFAULTS = {
    "timeoutSeconds": 1,
    "periodSeconds": 10,
    "successThreshold": 1,
    "failureThreshold": 3,
}


def apply_defaults(kind: str, obj: dict) -> None:
    """Fill in Kubernetes' defaults for an object of `kind`, in place. Unknown kinds and
    non-dict parts are left alone (type checks run before this)."""
    fn = _BY_KIND.get(kind)
    if fn is not None and isinstance(obj, dict):
        fn(obj)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _default(d: dict, key: str, value: Any, *, empty: tuple = (None,)) -> None:
    """Set d[key] when it is missing or holds one of `empty` (e.g. "" for enum strings,
    0 for Kubernetes' non-pointer ints)."""
    current = d.get(key)
    if current is None or (not isinstance(current, bool) and current in empty):
        d[key] = copy.deepcopy(value)


def _dict(d: dict, key: str) -> dict | None:
    """d[key] as a dict, created when missing; None when it holds something else."""
    if d.get(key) is None:
        d[key] = {}
    value = d[key]
    return value if isinstance(value, dict) else None


def _dicts(d: Any, key: str) -> Iterator[dict]:
    """The dict items of the list at d[key], if any."""
    items = d.get(key) if isinstance(d, dict) else None
    if isinstance(items, list):
        yield from (i for i in items if isinstance(i, dict))


def _sub(d: Any, *keys: str) -> dict | None:
    """The dict at d[k1][k2]..., or None (never creates anything)."""
    for key in keys:
        d = d.get(key) if isinstance(d, dict) else None
    return d if isinstance(d, dict) else None


# ---------------------------------------------------------------------------
# pods and pod templates
# ---------------------------------------------------------------------------


def image_pull_policy(image: str) -> str:
    """Always for `:latest` or an untagged, undigested image, else IfNotPresent."""
    name, has_digest = image, False
    if "@" in name:
        name, has_digest = name.split("@", 1)[0], True
    last = name.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else ("" if has_digest or not image else "latest")
    return "Always" if tag == "latest" else "IfNotPresent"


def _http_get(action: Any) -> None:
    if isinstance(action, dict):
        _default(action, "path", "/", empty=(None, ""))
        _default(action, "scheme", "HTTP", empty=(None, ""))


def _container(c: dict) -> None:
    if c.get("imagePullPolicy") in (None, ""):
        image = c.get("image")
        c["imagePullPolicy"] = image_pull_policy(image if isinstance(image, str) else "")
    _default(c, "terminationMessagePath", "/dev/termination-log", empty=(None, ""))
    _default(c, "terminationMessagePolicy", "File", empty=(None, ""))
    _dict(c, "resources")
    for port in _dicts(c, "ports"):
        _default(port, "protocol", "TCP", empty=(None, ""))
    for env in _dicts(c, "env"):
        field_ref = _sub(env, "valueFrom", "fieldRef")
        if field_ref is not None:
            _default(field_ref, "apiVersion", "v1", empty=(None, ""))
    for name in _PROBES:
        probe = c.get(name)
        if isinstance(probe, dict):
            for key, value in _PROBE_DEFAULTS.items():
                _default(probe, key, value, empty=(None, 0))
            _http_get(probe.get("httpGet"))
    for hook in ("postStart", "preStop"):
        _http_get((_sub(c, "lifecycle", hook) or {}).get("httpGet"))


def _volume(v: dict) -> None:
    if not any(val is not None for key, val in v.items() if key != "name"):
        v["emptyDir"] = {}
    host_path = v.get("hostPath")
    if isinstance(host_path, dict):
        _default(host_path, "type", "")
    for source in _MODE_VOLUME_SOURCES:
        src = v.get(source)
        if isinstance(src, dict):
            _default(src, "defaultMode", DEFAULT_FILE_MODE)
    for item in _dicts(v.get("downwardAPI"), "items"):
        if isinstance(item.get("fieldRef"), dict):
            _default(item["fieldRef"], "apiVersion", "v1", empty=(None, ""))
    for projection in _dicts(v.get("projected"), "sources"):
        for item in _dicts(projection.get("downwardAPI"), "items"):
            if isinstance(item.get("fieldRef"), dict):
                _default(item["fieldRef"], "apiVersion", "v1", empty=(None, ""))
        token = projection.get("serviceAccountToken")
        if isinstance(token, dict):
            _default(token, "expirationSeconds", 3600)


def _pod_spec(spec: dict) -> None:
    """SetDefaults_PodSpec and what it reaches: shared by pods and pod templates."""
    _default(spec, "dnsPolicy", "ClusterFirst", empty=(None, ""))
    _default(spec, "restartPolicy", "Always", empty=(None, ""))
    _default(spec, "securityContext", {})
    _default(spec, "terminationGracePeriodSeconds", DEFAULT_TERMINATION_GRACE_PERIOD)
    _default(spec, "schedulerName", "default-scheduler", empty=(None, ""))
    for v in _dicts(spec, "volumes"):
        _volume(v)
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in _dicts(spec, key):
            _container(c)


def _pod(obj: dict) -> None:
    spec = _dict(obj, "spec")
    if spec is None:
        return
    # Pod only (not templates): requests default to limits, service links on. The
    # priority and preemptionPolicy are the Priority admission plugin's to set.
    for key in ("initContainers", "containers"):
        for c in _dicts(spec, key):
            resources = c.get("resources")
            if isinstance(resources, dict) and isinstance(resources.get("limits"), dict):
                requests = _dict(resources, "requests")
                if requests is not None:
                    for name, value in resources["limits"].items():
                        requests.setdefault(name, copy.deepcopy(value))
    _default(spec, "enableServiceLinks", True)
    if spec.get("hostNetwork") is True:
        for key in ("initContainers", "containers"):
            for c in _dicts(spec, key):
                for port in _dicts(c, "ports"):
                    _default(port, "hostPort", port.get("containerPort"), empty=(None, 0))
    _pod_spec(spec)


def _template(obj: dict) -> None:
    spec = _sub(obj, "spec", "template")
    if spec is not None:
        pod_spec = _dict(spec, "spec")
        if pod_spec is not None:
            _pod_spec(pod_spec)


# ---------------------------------------------------------------------------
# workloads
# ---------------------------------------------------------------------------


def _deployment(obj: dict) -> None:
    spec = _dict(obj, "spec")
    if spec is None:
        return
    _default(spec, "replicas", 1)
    strategy = _dict(spec, "strategy")
    if strategy is not None:
        _default(strategy, "type", "RollingUpdate", empty=(None, ""))
        if strategy["type"] == "RollingUpdate":
            rolling = _dict(strategy, "rollingUpdate")
            if rolling is not None:
                _default(rolling, "maxUnavailable", "25%")
                _default(rolling, "maxSurge", "25%")
    _default(spec, "revisionHistoryLimit", 10)
    _default(spec, "progressDeadlineSeconds", 600)
    _template(obj)


def _replicaset(obj: dict) -> None:
    spec = _dict(obj, "spec")
    if spec is None:
        return
    _default(spec, "replicas", 1)
    _template(obj)


def _replication_controller(obj: dict) -> None:
    """core/v1 SetDefaults_ReplicationController: an empty selector and empty object
    labels come from the template's labels; one replica."""
    spec = _dict(obj, "spec")
    if spec is None:
        return
    template_labels = (_sub(spec, "template", "metadata") or {}).get("labels")
    if isinstance(template_labels, dict):
        if not spec.get("selector"):
            spec["selector"] = copy.deepcopy(template_labels)
        md = _dict(obj, "metadata")
        if md is not None and not md.get("labels"):
            md["labels"] = copy.deepcopy(template_labels)
    _default(spec, "replicas", 1)
    _template(obj)


def _daemonset(obj: dict) -> None:
    """SetDefaults_DaemonSet: RollingUpdate one node at a time, no surge, 10 revisions."""
    spec = _dict(obj, "spec")
    if spec is None:
        return
    strategy = _dict(spec, "updateStrategy")
    if strategy is not None:
        _default(strategy, "type", "RollingUpdate", empty=(None, ""))
        if strategy["type"] == "RollingUpdate":
            rolling = _dict(strategy, "rollingUpdate")
            if rolling is not None:
                _default(rolling, "maxUnavailable", 1)
                _default(rolling, "maxSurge", 0)
    _default(spec, "revisionHistoryLimit", 10)
    _template(obj)


def _statefulset(obj: dict) -> None:
    """SetDefaults_StatefulSet: OrderedReady, RollingUpdate from partition 0, claims
    retained, one replica, 10 revisions; each volumeClaimTemplate is defaulted as the
    PersistentVolumeClaim it becomes."""
    spec = _dict(obj, "spec")
    if spec is None:
        return
    _default(spec, "podManagementPolicy", "OrderedReady", empty=(None, ""))
    strategy = _dict(spec, "updateStrategy")
    if strategy is not None:
        if strategy.get("type") in (None, ""):
            strategy["type"] = "RollingUpdate"
            _dict(strategy, "rollingUpdate")
        rolling = strategy.get("rollingUpdate")
        if strategy["type"] == "RollingUpdate" and isinstance(rolling, dict):
            _default(rolling, "partition", 0)
    retention = _dict(spec, "persistentVolumeClaimRetentionPolicy")
    if retention is not None:
        _default(retention, "whenDeleted", "Retain", empty=(None, ""))
        _default(retention, "whenScaled", "Retain", empty=(None, ""))
    _default(spec, "replicas", 1)
    _default(spec, "revisionHistoryLimit", 10)
    for claim in _dicts(spec, "volumeClaimTemplates"):
        _default(claim, "apiVersion", "v1", empty=(None, ""))
        _default(claim, "kind", "PersistentVolumeClaim", empty=(None, ""))
        _persistent_volume_claim(claim)
    _template(obj)


def _job(obj: dict) -> None:
    """SetDefaults_Job (pkg/apis/batch/v1/defaults.go)."""
    spec = _dict(obj, "spec")
    if spec is None:
        return
    job_spec_defaults(spec)
    metadata = _dict(obj, "metadata")
    template_labels = _sub(spec, "template", "metadata")
    labels = (template_labels or {}).get("labels")
    if metadata is not None and isinstance(labels, dict) and labels and not metadata.get("labels"):
        metadata["labels"] = copy.deepcopy(labels)


def job_spec_defaults(spec: dict) -> None:
    """The JobSpec part of SetDefaults_Job, shared with a CronJob's jobTemplate: one
    completion at parallelism 1 by default, 6 retries, NonIndexed, not suspended, a
    generated selector, pods replaced once terminated (only once failed when a pod
    failure policy decides what a failure is)."""
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    _default(spec, "parallelism", 1)
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2**31 - 1 if spec.get("backoffLimitPerIndex") is not None else 6
    _default(spec, "completionMode", "NonIndexed", empty=(None, ""))
    _default(spec, "suspend", False)
    policy = spec.get("podFailurePolicy")
    if isinstance(policy, dict):
        for rule in _dicts(policy, "rules"):
            for pattern in _dicts(rule, "onPodConditions"):
                _default(pattern, "status", "True", empty=(None, ""))
    replacement = "Failed" if policy is not None else "TerminatingOrFailed"
    _default(spec, "podReplacementPolicy", replacement)
    _default(spec, "manualSelector", False)
    template = _sub(spec, "template")
    if template is not None:
        pod_spec = _dict(template, "spec")
        if pod_spec is not None:
            _pod_spec(pod_spec)


def _cronjob(obj: dict) -> None:
    """SetDefaults_CronJob; the job template gets only its pod template's defaults, as
    Kubernetes' generated defaulter (the Job defaults come when the Job is created)."""
    spec = _dict(obj, "spec")
    if spec is None:
        return
    _default(spec, "concurrencyPolicy", "Allow", empty=(None, ""))
    _default(spec, "suspend", False)
    _default(spec, "successfulJobsHistoryLimit", 3)
    _default(spec, "failedJobsHistoryLimit", 1)
    pod_spec = _sub(spec, "jobTemplate", "spec", "template", "spec")
    if pod_spec is not None:
        _pod_spec(pod_spec)


# ---------------------------------------------------------------------------
# services, endpoints, namespaces, nodes
# ---------------------------------------------------------------------------


def _service(obj: dict) -> None:
    spec = _dict(obj, "spec")
    if spec is None:
        return
    _default(spec, "sessionAffinity", "None", empty=(None, ""))
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        timeout = _sub(spec, "sessionAffinityConfig", "clientIP")
        if timeout is None or timeout.get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {
                "clientIP": {"timeoutSeconds": DEFAULT_CLIENT_IP_AFFINITY_SECONDS}
            }
    _default(spec, "type", "ClusterIP", empty=(None, ""))
    svc_type = spec["type"]
    for port in _dicts(spec, "ports"):
        _default(port, "protocol", "TCP", empty=(None, ""))
        if port.get("targetPort") is None or port["targetPort"] in ("", 0):
            port["targetPort"] = port.get("port")
    externally_accessible = svc_type in ("NodePort", "LoadBalancer") or (
        svc_type == "ClusterIP" and bool(spec.get("externalIPs"))
    )
    if externally_accessible:
        _default(spec, "externalTrafficPolicy", "Cluster", empty=(None, ""))
    if svc_type in ("ClusterIP", "NodePort", "LoadBalancer"):
        _default(spec, "internalTrafficPolicy", "Cluster")
    if svc_type == "LoadBalancer":
        _default(spec, "allocateLoadBalancerNodePorts", True)
    if svc_type != "ExternalName":
        _service_ip_families(spec)


def _service_ip_families(spec: dict) -> None:
    """What Kubernetes' service REST storage fills in on a single-stack IPv4 cluster:
    clusterIPs mirrors clusterIP, one IPv4 family. A headless service without a
    selector gets RequireDualStack, as in Kubernetes (still IPv4 only here)."""
    cluster_ip = spec.get("clusterIP")
    if cluster_ip and not spec.get("clusterIPs"):
        spec["clusterIPs"] = [cluster_ip]
    headless_without_selector = cluster_ip == "None" and not spec.get("selector")
    policy = "RequireDualStack" if headless_without_selector else "SingleStack"
    _default(spec, "ipFamilyPolicy", policy, empty=(None, ""))
    _default(spec, "ipFamilies", ["IPv4"], empty=(None, []))


def _endpoints(obj: dict) -> None:
    for subset in _dicts(obj, "subsets"):
        for port in _dicts(subset, "ports"):
            _default(port, "protocol", "TCP", empty=(None, ""))


def _endpointslice(obj: dict) -> None:
    """discovery/v1 SetDefaults_EndpointPort: an unnamed port is named "", TCP unless
    said otherwise (only a missing protocol is defaulted; "" stays invalid)."""
    for port in _dicts(obj, "ports"):
        _default(port, "name", "")
        _default(port, "protocol", "TCP")


def _namespace(obj: dict) -> None:
    metadata = _dict(obj, "metadata")
    name = metadata.get("name") if metadata is not None else None
    if name and isinstance(name, str):
        labels = _dict(metadata, "labels")  # type: ignore[arg-type]
        if labels is not None:
            labels["kubernetes.io/metadata.name"] = name
    spec = _dict(obj, "spec")
    if spec is not None:
        _default(spec, "finalizers", ["kubernetes"])
    status = _dict(obj, "status")
    if status is not None:
        _default(status, "phase", "Active", empty=(None, ""))


def _secret(obj: dict) -> None:
    """SetDefaults_Secret: a secret without a type is Opaque."""
    _default(obj, "type", "Opaque", empty=(None, ""))


def _node(obj: dict) -> None:
    """podCIDR and podCIDRs say one thing, as Kubernetes' v1 conversion makes them: a
    lone podCIDR fills podCIDRs, and podCIDR is podCIDRs[0] (the list wins)."""
    spec = _sub(obj, "spec")
    if spec is not None:
        cidrs = spec.get("podCIDRs")
        if not cidrs and isinstance(spec.get("podCIDR"), str) and spec["podCIDR"]:
            spec["podCIDRs"] = [spec["podCIDR"]]
        elif isinstance(cidrs, list) and cidrs and isinstance(cidrs[0], str):
            spec["podCIDR"] = cidrs[0]
    status = _sub(obj, "status")
    if status is not None and isinstance(status.get("capacity"), dict):
        _default(status, "allocatable", status["capacity"])


# ---------------------------------------------------------------------------
# storage
# ---------------------------------------------------------------------------


def _persistent_volume(obj: dict) -> None:
    """SetDefaults_PersistentVolume: Pending, Retain, Filesystem (and the hostPath
    type "", as for pod volumes)."""
    spec = _dict(obj, "spec")
    if spec is not None:
        _default(spec, "persistentVolumeReclaimPolicy", "Retain", empty=(None, ""))
        _default(spec, "volumeMode", "Filesystem", empty=(None, ""))
        host_path = _sub(spec, "hostPath")
        if host_path is not None:
            _default(host_path, "type", "")
    status = _dict(obj, "status")
    if status is not None:
        _default(status, "phase", "Pending", empty=(None, ""))


def _persistent_volume_claim(obj: dict) -> None:
    """SetDefaults_PersistentVolumeClaim(Spec): Pending, Filesystem."""
    spec = _dict(obj, "spec")
    if spec is not None:
        _default(spec, "volumeMode", "Filesystem", empty=(None, ""))
    status = _dict(obj, "status")
    if status is not None:
        _default(status, "phase", "Pending", empty=(None, ""))


def _storage_class(obj: dict) -> None:
    """storage/v1 SetDefaults_StorageClass: Delete, Immediate."""
    _default(obj, "reclaimPolicy", "Delete", empty=(None, ""))
    _default(obj, "volumeBindingMode", "Immediate", empty=(None, ""))


def _hpa(obj: dict) -> None:
    """autoscaling/v2 SetDefaults_HorizontalPodAutoscaler: one replica at least, CPU at
    80% when no metric is named, and the scaling rules filled in when a behavior is."""
    spec = _dict(obj, "spec")
    if spec is None:
        return
    _default(spec, "minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {
                        "type": "Utilization",
                        "averageUtilization": autoscaling.DEFAULT_CPU_UTILIZATION,
                    },
                },
            }
        ]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        behavior["scaleUp"] = autoscaling.default_rules(
            behavior.get("scaleUp"), autoscaling.SCALE_UP_DEFAULTS
        )
        behavior["scaleDown"] = autoscaling.default_rules(
            behavior.get("scaleDown"), autoscaling.SCALE_DOWN_DEFAULTS
        )


def _apiservice(obj: dict) -> None:
    """apiregistration/v1 SetDefaults_ServiceReference: port 443."""
    service = (obj.get("spec") or {}).get("service")
    if isinstance(service, dict) and service.get("port") is None:
        service["port"] = 443


def _priority_class(obj: dict) -> None:
    """scheduling/v1 SetDefaults_PriorityClass: PreemptLowerPriority. `value` is a
    plain int32 in Kubernetes: absent in JSON, it is stored as 0."""
    _default(obj, "value", 0)
    _default(obj, "preemptionPolicy", PREEMPT_LOWER_PRIORITY, empty=(None, ""))


# ---------------------------------------------------------------------------
# policy (core/v1 LimitRange)
# ---------------------------------------------------------------------------


def _limit_range(obj: dict) -> None:
    """SetDefaults_LimitRangeItem, for Container items: a default limit from max, then a
    default request from the default limit, else from min."""
    for item in _dicts(_sub(obj, "spec"), "limits"):
        if item.get("type") != "Container":
            continue
        default = dict(item.get("default") or {})
        request = dict(item.get("defaultRequest") or {})
        for source, target in (("max", default), ("default", request), ("min", request)):
            values = default if source == "default" else item.get(source) or {}
            if isinstance(values, dict):
                for key, value in values.items():
                    target.setdefault(key, value)
        for key, value in (("default", default), ("defaultRequest", request)):
            if value:
                item[key] = value


def _ingress_class(obj: dict) -> None:
    """networking/v1 SetDefaults_IngressClass: parameters are cluster-scoped unless
    said otherwise. (An Ingress has no defaults in v1: pathType is required.)"""
    params = (obj.get("spec") or {}).get("parameters")
    if isinstance(params, dict):
        params.setdefault("scope", "Cluster")


def _csr(obj: dict) -> None:
    """certificates/v1 SetDefaults_CertificateSigningRequestCondition: status True."""
    for condition in _dicts(_sub(obj, "status"), "conditions"):
        _default(condition, "status", "True", empty=(None, ""))


def _binding(obj: dict) -> None:
    """rbac/v1 SetDefaults_Subject: Users and Groups belong to the RBAC group."""
    for subject in _dicts(obj, "subjects"):
        if subject.get("kind") in ("User", "Group"):
            _default(subject, "apiGroup", "rbac.authorization.k8s.io", empty=(None, ""))


_BY_KIND: dict[str, Callable[[dict], None]] = {
    "Pod": _pod,
    "Deployment": _deployment,
    "ReplicaSet": _replicaset,
    "DaemonSet": _daemonset,
    "StatefulSet": _statefulset,
    "Job": _job,
    "CronJob": _cronjob,
    "Service": _service,
    "Endpoints": _endpoints,
    "EndpointSlice": _endpointslice,
    "Namespace": _namespace,
    "Node": _node,
    "Secret": _secret,
    "PersistentVolume": _persistent_volume,
    "PersistentVolumeClaim": _persistent_volume_claim,
    "StorageClass": _storage_class,
    "PriorityClass": _priority_class,
    "APIService": _apiservice,
    "HorizontalPodAutoscaler": _hpa,
    "ReplicationController": _replication_controller,
    "LimitRange": _limit_range,
    "IngressClass": _ingress_class,
    "RoleBinding": _binding,
    "ClusterRoleBinding": _binding,
    "CertificateSigningRequest": _csr,
}
