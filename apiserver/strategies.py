"""Per-kind rules on top of the generic store, as Kubernetes' REST strategies: what a
create resets, what an update may change, how the status subresource writes, and how
a delete proceeds (pods are deleted gracefully)."""

from __future__ import annotations

import copy
from typing import Any

from api import apiextensions, certificates, configdata, defaults, errors
from api.batch import (
    CONTROLLER_UID_LABEL,
    JOB_NAME_LABEL,
    LEGACY_CONTROLLER_UID_LABEL,
    LEGACY_JOB_NAME_LABEL,
)
from api.resources import Resource
from api.scheduling import SYSTEM_CLUSTER_CRITICAL, SYSTEM_NODE_CRITICAL
from api.timefmt import rfc3339

# Kinds whose status is written only through the /status subresource.
STATUS_KINDS = {
    "Pod",
    "Service",
    "Node",
    "Deployment",
    "ReplicaSet",
    "Namespace",
    "DaemonSet",
    "StatefulSet",
    "Job",
    "CronJob",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "ReplicationController",
    "PodDisruptionBudget",
    "ResourceQuota",
    "Ingress",
    "CustomResourceDefinition",
    "APIService",
    "HorizontalPodAutoscaler",
    "CertificateSigningRequest",
}
# Kinds whose create keeps the status the client sent (the kubelet registers a node
# with its status; events and leases have none).
KEEP_STATUS_ON_CREATE = {"Node"}


class Strategy:
    """Default behaviour; subclasses override what their kind does differently."""

    kind = ""

    def prepare_create(self, obj: dict) -> None:
        if self.kind in STATUS_KINDS and self.kind not in KEEP_STATUS_ON_CREATE:
            obj.pop("status", None)
        self.initial_status(obj)

    def initial_status(self, obj: dict) -> None:
        """Status a new object starts with."""

    def set_requestor(self, obj: dict, user: Any) -> None:
        """Record who creates the object (CertificateSigningRequests keep it)."""

    def prepare_update(self, new: dict, old: dict) -> None:
        if self.kind in STATUS_KINDS:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)

    def prepare_status_update(self, new: dict, old: dict) -> dict:
        """A status write changes status only (Kubernetes also ignores spec there)."""
        result = dict(old)
        result["status"] = new.get("status", {})
        return result

    def graceful_delete_seconds(self, obj: dict, requested: int | None) -> int:
        """Seconds to wait before the object really goes; 0 deletes it at once."""
        return 0

    def check_delete(self, name: str) -> None:
        """Refuse (raise an ApiError) to delete the named object at all."""


class PodStrategy(Strategy):
    kind = "Pod"

    def initial_status(self, obj: dict) -> None:
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj.get("spec") or {})}

    def graceful_delete_seconds(self, obj: dict, requested: int | None) -> int:
        spec = obj.get("spec") or {}
        phase = (obj.get("status") or {}).get("phase")
        if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
            return 0
        if requested is not None:
            return max(0, requested)
        return int(spec.get("terminationGracePeriodSeconds", 30))


class NamespaceStrategy(Strategy):
    kind = "Namespace"

    def initial_status(self, obj: dict) -> None:
        obj["status"] = {"phase": "Active"}
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])


class NodeStrategy(Strategy):
    kind = "Node"


class ServiceStrategy(Strategy):
    kind = "Service"

    def initial_status(self, obj: dict) -> None:
        obj["status"] = {"loadBalancer": {}}

    def prepare_update(self, new: dict, old: dict) -> None:
        super().prepare_update(new, old)
        drop_type_dependent_fields(new, old)


def drop_type_dependent_fields(new: dict, old: dict) -> None:
    """As Kubernetes: switching a Service to a type that no longer uses a field the
    server filled in clears it, unless the user changed it in the same update; so
    `kubectl apply` can turn a NodePort or LoadBalancer Service into a ClusterIP one."""
    spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    # defaulting runs after this: a type left out is the default, ClusterIP
    new_type, old_type = spec.get("type") or "ClusterIP", old_spec.get("type") or "ClusterIP"
    if old_type in ("NodePort", "LoadBalancer") and new_type not in ("NodePort", "LoadBalancer"):
        if _node_ports(spec) <= _node_ports(old_spec):
            for port in spec.get("ports") or []:
                port.pop("nodePort", None)
        if spec.get("healthCheckNodePort") == old_spec.get("healthCheckNodePort"):
            spec.pop("healthCheckNodePort", None)
    if old_type == "LoadBalancer" and new_type != "LoadBalancer":
        for name in ("allocateLoadBalancerNodePorts", "loadBalancerClass"):
            if spec.get(name) == old_spec.get(name):
                spec.pop(name, None)
    if (
        _externally_accessible(old_spec)
        and not _externally_accessible(spec)
        and spec.get("externalTrafficPolicy") == old_spec.get("externalTrafficPolicy")
    ):
        spec.pop("externalTrafficPolicy", None)
    if new_type != "LoadBalancer" and "status" in new:
        new["status"] = {**new["status"], "loadBalancer": {}}


def _node_ports(spec: dict) -> set[int]:
    return {p["nodePort"] for p in spec.get("ports") or [] if p.get("nodePort")}


def _externally_accessible(spec: dict) -> bool:
    kind = spec.get("type") or "ClusterIP"
    return kind in ("NodePort", "LoadBalancer") or (
        kind == "ClusterIP" and bool(spec.get("externalIPs"))
    )


class IngressStrategy(Strategy):
    """As Kubernetes' ingressStrategy: a new Ingress starts with an empty load balancer
    status, which only its controller fills in (through /status)."""

    kind = "Ingress"

    def initial_status(self, obj: dict) -> None:
        obj["status"] = {"loadBalancer": {}}


class ConfigDataStrategy(Strategy):
    """ConfigMaps and Secrets. As Kubernetes' v1 conversion: a Secret's `stringData`
    is merged into `data` (and never stored); base64 that does not decode is a 400."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def prepare_create(self, obj: dict) -> None:
        super().prepare_create(obj)
        self._convert(obj)

    def prepare_update(self, new: dict, old: dict) -> None:
        super().prepare_update(new, old)
        self._convert(new)

    def _convert(self, obj: dict) -> None:
        if self.kind == "Secret":
            configdata.merge_string_data(obj)
        for _field, error in configdata.bad_binary_fields(self.kind, obj):
            raise errors.bad_request(
                f'{self.kind} in version "v1" cannot be handled as a {self.kind}: {error}'
            )


class WorkloadStrategy(Strategy):
    """Deployments, ReplicaSets and CronJobs start with an empty status."""

    def initial_status(self, obj: dict) -> None:
        obj["status"] = {}


class StatefulSetStrategy(Strategy):
    """As Kubernetes' statefulSetStrategy: a new StatefulSet starts with zero counts
    (replicas and availableReplicas are always printed)."""

    kind = "StatefulSet"

    def initial_status(self, obj: dict) -> None:
        obj["status"] = {"replicas": 0, "availableReplicas": 0}


# apps/v1 keeps a DaemonSet's templateGeneration in this annotation (the server owns it).
TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"


class DaemonSetStrategy(Strategy):
    """As Kubernetes' daemonSetStrategy: a new DaemonSet starts at template generation
    1 with zero counts; an update that changes the pod template bumps the template
    generation (the controller labels pods with it). metadata.generation follows any
    spec change, as for every kind (apiserver/registry.py)."""

    kind = "DaemonSet"

    def initial_status(self, obj: dict) -> None:
        obj["status"] = {
            "currentNumberScheduled": 0,
            "numberMisscheduled": 0,
            "desiredNumberScheduled": 0,
            "numberReady": 0,
        }

    def prepare_create(self, obj: dict) -> None:
        super().prepare_create(obj)
        _annotations(obj)[TEMPLATE_GENERATION] = "1"

    def prepare_update(self, new: dict, old: dict) -> None:
        super().prepare_update(new, old)
        current = ((old.get("metadata") or {}).get("annotations") or {}).get(TEMPLATE_GENERATION)
        generation = int(current) if current and current.isdigit() else 1
        if _defaulted_template(new) != _defaulted_template(old):
            generation += 1
        _annotations(new)[TEMPLATE_GENERATION] = str(generation)


def _annotations(obj: dict) -> dict:
    md = obj.setdefault("metadata", {})
    if not isinstance(md.get("annotations"), dict):
        md["annotations"] = {}
    annotations: dict = md["annotations"]
    return annotations


def _defaulted_template(obj: dict) -> Any:
    """The pod template as it will be stored (defaults run after the strategy)."""
    holder = copy.deepcopy(obj)
    defaults.apply_defaults("DaemonSet", holder)
    return (holder.get("spec") or {}).get("template")


class JobStrategy(Strategy):
    """As Kubernetes' job strategy: a new Job starts with an empty status and, unless
    `manualSelector`, a selector on its uid and the uid and name labels on its pods."""

    kind = "Job"

    def initial_status(self, obj: dict) -> None:
        obj["status"] = {}
        if (obj.get("spec") or {}).get("manualSelector") is not True:
            generate_job_selector(obj)


def generate_job_selector(obj: dict) -> None:
    """Kubernetes' generateSelector: labels the user already set are kept (validation
    then refuses a conflict)."""
    md = obj.get("metadata") or {}
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    template = spec.setdefault("template", {})
    if not isinstance(template, dict):
        return
    template_md = template.setdefault("metadata", {})
    if not isinstance(template_md, dict):
        return
    labels = template_md.get("labels")
    if not isinstance(labels, dict):
        labels = template_md["labels"] = {}
    name, uid = md.get("name", ""), md.get("uid", "")
    for key in (LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL):
        labels.setdefault(key, name)
    for key in (LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL):
        labels.setdefault(key, uid)
    selector = spec.get("selector")
    if not isinstance(selector, dict):
        selector = spec["selector"] = {}
    match_labels = selector.get("matchLabels")
    if not isinstance(match_labels, dict):
        match_labels = selector["matchLabels"] = {}
    match_labels.setdefault(CONTROLLER_UID_LABEL, uid)


class PersistentVolumeStrategy(Strategy):
    """Kubernetes 1.29+: a volume is born Pending and `status.lastPhaseTransitionTime`
    moves on every phase change (unless the writer set a newer one itself)."""

    kind = "PersistentVolume"

    def initial_status(self, obj: dict) -> None:
        obj["status"] = {"phase": "Pending", "lastPhaseTransitionTime": rfc3339()}

    def prepare_status_update(self, new: dict, old: dict) -> dict:
        result = super().prepare_status_update(new, old)
        status = result["status"] = dict(result.get("status") or {})
        old_status = old.get("status") or {}
        given = status.get("lastPhaseTransitionTime")
        if status.get("phase") == old_status.get("phase"):
            if given is None and old_status.get("lastPhaseTransitionTime"):
                status["lastPhaseTransitionTime"] = old_status["lastPhaseTransitionTime"]
        elif given is None or given == old_status.get("lastPhaseTransitionTime"):
            status["lastPhaseTransitionTime"] = rfc3339()
        return result


def prepare_ephemeral_containers_update(new: dict, old: dict) -> dict:
    """`pods/{name}/ephemeralcontainers` changes spec.ephemeralContainers only."""
    result = copy.deepcopy(old)
    containers = (new.get("spec") or {}).get("ephemeralContainers")
    spec = result.setdefault("spec", {})
    if containers:
        spec["ephemeralContainers"] = containers
    else:
        spec.pop("ephemeralContainers", None)
    return result


def qos_class(spec: dict) -> str:
    """Guaranteed when every container has equal cpu and memory requests and limits,
    BestEffort when none has any, else Burstable."""
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    any_set = False
    guaranteed = bool(containers)
    for c in containers:
        res: dict[str, Any] = c.get("resources") or {}
        limits, requests = res.get("limits") or {}, res.get("requests") or {}
        if limits or requests:
            any_set = True
        for name in ("cpu", "memory"):
            lim = limits.get(name)
            req = requests.get(name, lim)
            if lim is None or str(req) != str(lim):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


class PriorityClassStrategy(Strategy):
    kind = "PriorityClass"

    def check_delete(self, name: str) -> None:
        """The system classes stay, as Kubernetes' priorityclass REST Delete refuses."""
        if name in (SYSTEM_CLUSTER_CRITICAL, SYSTEM_NODE_CRITICAL):
            raise errors.ApiError(
                403,
                f'priorityclasses.scheduling.k8s.io "{name}" is forbidden: this is a system '
                "priority class and cannot be deleted",
                "Forbidden",
                {"name": name, "group": "scheduling.k8s.io", "kind": "priorityclasses"},
            )


class CertificateSigningRequestStrategy(Strategy):
    """As Kubernetes' csrStrategy: a request records its requestor from the caller's
    identity, never from the body, and starts with an empty status; its spec never
    changes. `/status` writes the certificate and conditions other than Approved and
    Denied; `/approval` writes only the conditions."""

    kind = "CertificateSigningRequest"

    def initial_status(self, obj: dict) -> None:
        obj["status"] = {}

    def set_requestor(self, obj: dict, user: Any) -> None:
        spec = obj.setdefault("spec", {})
        for key in ("username", "uid", "groups", "extra"):
            spec.pop(key, None)
        if user is None:
            return
        spec["username"] = user.name
        if user.uid:
            spec["uid"] = user.uid
        if user.groups:
            spec["groups"] = list(user.groups)
        if user.extra:
            spec["extra"] = {k: list(v) for k, v in user.extra}

    def prepare_update(self, new: dict, old: dict) -> None:
        super().prepare_update(new, old)
        _keep_spec(new, old)

    def prepare_status_update(self, new: dict, old: dict) -> dict:
        result = super().prepare_status_update(new, old)
        conditions = [
            c
            for c in _csr_conditions(result)
            if c.get("type") not in (certificates.APPROVED, certificates.DENIED)
        ]
        conditions += [
            c
            for c in _csr_conditions(old)
            if c.get("type") in (certificates.APPROVED, certificates.DENIED)
        ]
        _set_conditions(result, conditions, old)
        return result

    def prepare_approval_update(self, new: dict, old: dict) -> dict:
        result = copy.deepcopy(new)
        _keep_spec(result, old)
        status = copy.deepcopy(old.get("status") or {})
        result["status"] = status
        _set_conditions(result, _csr_conditions(new), old)
        return result


def _keep_spec(new: dict, old: dict) -> None:
    if "spec" in old:
        new["spec"] = old["spec"]
    else:
        new.pop("spec", None)


def _csr_conditions(obj: dict) -> list[dict]:
    raw = (obj.get("status") or {}).get("conditions") or []
    return [dict(c) for c in raw if isinstance(c, dict)]


def _set_conditions(obj: dict, conditions: list[dict], old: dict) -> None:
    """populateConditionTimestamps: lastUpdateTime now when missing; lastTransitionTime
    the old condition's of the same type and status, else now. Condition status
    defaults to True (certificates/v1 defaulting)."""
    now = rfc3339()
    before = _csr_conditions(old)
    for c in conditions:
        if not c.get("status"):
            c["status"] = "True"
        c.setdefault("lastUpdateTime", now)
        if not c.get("lastTransitionTime"):
            c["lastTransitionTime"] = next(
                (
                    o["lastTransitionTime"]
                    for o in before
                    if o.get("type") == c.get("type")
                    and o.get("status") == c.get("status")
                    and o.get("lastTransitionTime")
                ),
                now,
            )
    status = obj.setdefault("status", {})
    if conditions:
        status["conditions"] = conditions
    else:
        status.pop("conditions", None)


class PodDisruptionBudgetStrategy(Strategy):
    """As Kubernetes' podDisruptionBudgetStrategy: a new budget starts with an empty
    status (the disruption controller fills it; the eviction API reads it)."""

    kind = "PodDisruptionBudget"

    def initial_status(self, obj: dict) -> None:
        obj["status"] = {
            "disruptionsAllowed": 0,
            "currentHealthy": 0,
            "desiredHealthy": 0,
            "expectedPods": 0,
        }


class ReplicationControllerStrategy(WorkloadStrategy):
    """As Kubernetes' rcStrategy: a new controller starts with zero replicas counted."""

    kind = "ReplicationController"

    def initial_status(self, obj: dict) -> None:
        obj["status"] = {"replicas": 0}


class CustomResourceDefinitionStrategy(Strategy):
    """A CRD is accepted at once (minik refuses conflicting names instead of reporting
    NamesAccepted=False) and carries the cleanup finalizer, so its objects go before it."""

    kind = "CustomResourceDefinition"

    def initial_status(self, obj: dict) -> None:
        obj["status"] = apiextensions.established_status(obj)
        finalizers = obj["metadata"].setdefault("finalizers", [])
        if apiextensions.CLEANUP_FINALIZER not in finalizers:
            finalizers.append(apiextensions.CLEANUP_FINALIZER)

    def prepare_update(self, new: dict, old: dict) -> None:
        new["status"] = apiextensions.established_status(new, old.get("status"))


class CustomObjectStrategy(Strategy):
    """Objects of a CRD: with the status subresource, status is written there only."""

    def __init__(self, status_subresource: bool) -> None:
        self.status_subresource = status_subresource

    def prepare_create(self, obj: dict) -> None:
        if self.status_subresource:
            obj.pop("status", None)

    def prepare_update(self, new: dict, old: dict) -> None:
        if self.status_subresource:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)


_CUSTOM = {True: CustomObjectStrategy(True), False: CustomObjectStrategy(False)}


def for_resource(resource: Resource) -> Strategy:
    """The strategy of a resource: custom resources by their subresources, built-in
    kinds by kind."""
    if isinstance(resource, apiextensions.CustomResource):
        return _CUSTOM[resource.status_enabled]
    return for_kind(resource.kind)


_STRATEGIES: dict[str, Strategy] = {
    "CustomResourceDefinition": CustomResourceDefinitionStrategy(),
    "Pod": PodStrategy(),
    "Namespace": NamespaceStrategy(),
    "Node": NodeStrategy(),
    "Service": ServiceStrategy(),
    "Job": JobStrategy(),
    "ConfigMap": ConfigDataStrategy("ConfigMap"),
    "Secret": ConfigDataStrategy("Secret"),
    "DaemonSet": DaemonSetStrategy(),
    "PriorityClass": PriorityClassStrategy(),
    "StatefulSet": StatefulSetStrategy(),
    "ReplicationController": ReplicationControllerStrategy(),
    "PodDisruptionBudget": PodDisruptionBudgetStrategy(),
    "PersistentVolume": PersistentVolumeStrategy(),
    "Ingress": IngressStrategy(),
    "CertificateSigningRequest": CertificateSigningRequestStrategy(),
}


def for_kind(kind: str) -> Strategy:
    strategy = _STRATEGIES.get(kind)
    if strategy is None:
        strategy = (
            WorkloadStrategy() if kind in ("Deployment", "ReplicaSet", "CronJob") else Strategy()
        )
        strategy.kind = kind
        _STRATEGIES[kind] = strategy
    return strategy


def set_condition(status: dict, condition: dict) -> None:
    """Replace the condition of the same type, keeping lastTransitionTime when the
    status value did not change."""
    conditions = status.setdefault("conditions", [])
    for i, existing in enumerate(conditions):
        if existing.get("type") == condition["type"]:
            if existing.get("status") == condition.get("status"):
                condition.setdefault("lastTransitionTime", existing.get("lastTransitionTime"))
            conditions[i] = condition
            return
    condition.setdefault("lastTransitionTime", rfc3339())
    conditions.append(condition)
