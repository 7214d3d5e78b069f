"""Validation of objects as Kubernetes validates them (pkg/apis/core/validation,
pkg/apis/apps/validation, pkg/apis/batch/validation, pkg/apis/discovery/validation,
apimachinery's ObjectMeta rules): a list of causes, each `{"field", "message",
"reason"}` with Kubernetes' field paths and wording, which the apiserver returns in a
422 `Invalid` Status.

The rules live by API group, as in Kubernetes: `field` (causes and their wording),
`meta` (ObjectMeta, labels, selectors), `pods`, `core` (the other core/v1 kinds), `apps`,
`batch`, `discovery`, `coordination`, `storage`, `scheduling`, `policy`
(PodDisruptionBudgets), `replicationcontroller` and `resourcepolicy` (ResourceQuota and
LimitRange); this module dispatches on the kind.
`batch`, `discovery`, `coordination`, `storage` and `networking`; this module
dispatches on the kind.

It expects a defaulted object (api.defaults runs first, as in Kubernetes), so a missing
enum such as `restartPolicy` is reported as "Required value". It never raises on odd
shapes: type checks (api.schema.type_errors) run before it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from api import labels as lbl
from api.validation.apiextensions import validate_crd, validate_crd_update
from api.validation.apiregistration import validate_apiservice
from api.validation.apps import (
    validate_controller_revision,
    validate_controller_revision_update,
    validate_daemonset,
    validate_selector_update,
    validate_statefulset,
    validate_statefulset_update,
    validate_workload,
)
from api.validation.autoscaling import validate_hpa
from api.validation.batch import validate_cronjob, validate_job, validate_job_update
from api.validation.certificates import validate_csr, validate_csr_update
from api.validation.coordination import validate_lease
from api.validation.core import (
    validate_configmap,
    validate_configmap_update,
    validate_endpoints,
    validate_event,
    validate_namespace,
    validate_node,
    validate_node_update,
    validate_persistent_volume,
    validate_persistent_volume_claim,
    validate_persistent_volume_claim_update,
    validate_persistent_volume_update,
    validate_secret,
    validate_secret_update,
    validate_service,
    validate_service_update,
)
from api.validation.discovery import validate_endpointslice, validate_endpointslice_update
from api.validation.ephemeral import validate_ephemeral_containers, validate_ephemeral_update
from api.validation.field import Cause, as_dict, forbidden
from api.validation.meta import NameCheck, validate_metadata, validate_metadata_update
from api.validation.networking import (
    validate_ingress,
    validate_ingress_class,
    validate_ingress_class_update,
)
from api.validation.pods import validate_pod, validate_pod_update
from api.validation.policy import validate_pod_disruption_budget
from api.validation.rbac import (
    path_segment_name_errors,
    validate_binding_update,
    validate_cluster_role,
    validate_cluster_role_binding,
    validate_role,
    validate_role_binding,
)
from api.validation.replicationcontroller import validate_replication_controller
from api.validation.resourcepolicy import (
    validate_limit_range,
    validate_resource_quota,
    validate_resource_quota_update,
)
from api.validation.scheduling import validate_priority_class, validate_priority_class_update
from api.validation.storage import validate_storage_class, validate_storage_class_update


@dataclass(frozen=True)
class KindRules:
    """How one kind is validated: its name rule, then its create and update rules."""

    name: NameCheck
    create: Callable[[dict], list[Cause]] | None = None  # the object's own rules, always
    update: Callable[[dict, dict], list[Cause]] | None = None
    new_only: Callable[[dict], list[Cause]] | None = None  # only when it is created


def _validate_pod(obj: dict) -> list[Cause]:
    return validate_pod(obj) + validate_ephemeral_containers(obj.get("spec"), "spec")


def _validate_new_pod(obj: dict) -> list[Cause]:
    """Ephemeral containers come only through pods/ephemeralcontainers."""
    if as_dict(obj.get("spec")).get("ephemeralContainers"):
        return [forbidden("spec.ephemeralContainers", "cannot be set on create")]
    return []


RULES: dict[str, KindRules] = {
    "Pod": KindRules(
        lbl.dns1123_subdomain_errors, _validate_pod, validate_pod_update, _validate_new_pod
    ),
    "Service": KindRules(lbl.dns1035_label_errors, validate_service, validate_service_update),
    "Deployment": KindRules(
        lbl.dns1123_subdomain_errors, lambda o: validate_workload(o, True), validate_selector_update
    ),
    "ReplicaSet": KindRules(
        lbl.dns1123_subdomain_errors,
        lambda o: validate_workload(o, False),
        validate_selector_update,
    ),
    "DaemonSet": KindRules(
        lbl.dns1123_subdomain_errors, validate_daemonset, validate_selector_update
    ),
    "StatefulSet": KindRules(
        lbl.dns1123_subdomain_errors, validate_statefulset, validate_statefulset_update
    ),
    "ControllerRevision": KindRules(
        lbl.dns1123_subdomain_errors,
        validate_controller_revision,
        validate_controller_revision_update,
    ),
    "Job": KindRules(lbl.dns1123_subdomain_errors, validate_job, validate_job_update),
    "CronJob": KindRules(lbl.dns1123_subdomain_errors, validate_cronjob),
    "Endpoints": KindRules(lbl.dns1123_subdomain_errors, validate_endpoints),
    "Node": KindRules(lbl.dns1123_subdomain_errors, validate_node, validate_node_update),
    "Namespace": KindRules(lbl.dns1123_label_errors, validate_namespace),
    "Event": KindRules(lbl.dns1123_subdomain_errors, validate_event),
    "Lease": KindRules(lbl.dns1123_subdomain_errors, validate_lease),
    "EndpointSlice": KindRules(
        lbl.dns1123_subdomain_errors, validate_endpointslice, validate_endpointslice_update
    ),
    "ConfigMap": KindRules(
        lbl.dns1123_subdomain_errors, validate_configmap, validate_configmap_update
    ),
    "Secret": KindRules(lbl.dns1123_subdomain_errors, validate_secret, validate_secret_update),
    "PersistentVolume": KindRules(
        lbl.dns1123_subdomain_errors, validate_persistent_volume, validate_persistent_volume_update
    ),
    "PersistentVolumeClaim": KindRules(
        lbl.dns1123_subdomain_errors,
        validate_persistent_volume_claim,
        validate_persistent_volume_claim_update,
    ),
    "StorageClass": KindRules(
        lbl.dns1123_subdomain_errors, validate_storage_class, validate_storage_class_update
    ),
    "PriorityClass": KindRules(
        lbl.dns1123_subdomain_errors, validate_priority_class, validate_priority_class_update
    ),
    "ReplicationController": KindRules(
        lbl.dns1123_subdomain_errors, validate_replication_controller
    ),
    "PodDisruptionBudget": KindRules(lbl.dns1123_subdomain_errors, validate_pod_disruption_budget),
    "ResourceQuota": KindRules(
        lbl.dns1123_subdomain_errors, validate_resource_quota, validate_resource_quota_update
    ),
    "LimitRange": KindRules(lbl.dns1123_subdomain_errors, validate_limit_range),
    "Ingress": KindRules(lbl.dns1123_subdomain_errors, validate_ingress),
    "IngressClass": KindRules(
        lbl.dns1123_subdomain_errors, validate_ingress_class, validate_ingress_class_update
    ),
    "CustomResourceDefinition": KindRules(
        lbl.dns1123_subdomain_errors, validate_crd, validate_crd_update
    ),
    # apiregistration.k8s.io/v1 (the aggregation layer)
    "APIService": KindRules(lbl.dns1123_subdomain_errors, validate_apiservice),
    # autoscaling/v2 (the stored form; v1 converts first)
    "HorizontalPodAutoscaler": KindRules(lbl.dns1123_subdomain_errors, validate_hpa),
    # rbac.authorization.k8s.io/v1
    "Role": KindRules(path_segment_name_errors, validate_role),
    "ClusterRole": KindRules(path_segment_name_errors, validate_cluster_role),
    "RoleBinding": KindRules(
        path_segment_name_errors, validate_role_binding, validate_binding_update
    ),
    "ClusterRoleBinding": KindRules(
        path_segment_name_errors, validate_cluster_role_binding, validate_binding_update
    ),
    # certificates.k8s.io/v1: "we don't care what you call your certificate requests"
    "CertificateSigningRequest": KindRules(
        path_segment_name_errors, validate_csr, validate_csr_update
    ),
}


def validate_ephemeral_write(obj: dict, old: dict) -> list[Cause]:
    """A write of `pods/{name}/ephemeralcontainers`: the pod as created, plus the
    ephemeral containers' update rules (only additions)."""
    causes = validate_metadata("Pod", as_dict(obj), RULES["Pod"].name) + _validate_pod(obj)
    return causes + validate_ephemeral_update(as_dict(obj), as_dict(old))


def validate(kind: str, obj: dict, old: dict | None = None) -> list[Cause]:
    """Every problem with `obj` (after defaulting), [] when it is valid. With `old`, the
    update rules too (immutable fields, what a pod update may change). Identical causes
    are reported once, as Kubernetes' ToAggregate does."""
    rules = RULES.get(kind, KindRules(lbl.dns1123_subdomain_errors))
    obj = as_dict(obj)
    causes = validate_metadata(kind, obj, rules.name)
    if rules.create is not None:
        causes += rules.create(obj)
    if old is None and rules.new_only is not None:
        causes += rules.new_only(obj)
    if old is not None:
        causes += validate_metadata_update(obj, as_dict(old))
        if rules.update is not None:
            causes += rules.update(obj, as_dict(old))
    unique: list[Cause] = []
    for c in causes:
        if c not in unique:
            unique.append(c)
    return unique
