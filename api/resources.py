"""The kinds minik serves: one table that the apiserver, discovery, clients and the
CLI all read, so a resource is described exactly once."""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Resource:
    """One REST resource, e.g. apps/v1 deployments."""

    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()  # "status", "scale", "binding", "log"
    cluster_scoped_defaults: tuple[str, ...] = field(default=())
    # The etcd key segment under /registry/ when it is not the plural (custom
    # resources: `<group>/<plural>`, so two groups may share a plural).
    storage: str = ""

    @property
    def storage_resource(self) -> str:
        return self.storage or self.plural

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def group_resource(self) -> str:
        """Kubernetes' `resource.group` spelling used in error messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def base_path(self, namespace: str | None = None) -> str:
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{prefix}/namespaces/{namespace}/{self.plural}"
        return f"{prefix}/{self.plural}"

    def path(self, name: str | None = None, namespace: str | None = None) -> str:
        base = self.base_path(namespace)
        return f"{base}/{name}" if name else base


_NO_DELETECOLLECTION = tuple(v for v in ALL_VERBS if v != "deletecollection")

# The served resources by name: components say `PODS`, never look a constant up.
NAMESPACES = Resource(
    "",
    "v1",
    "Namespace",
    "namespaces",
    "namespace",
    False,
    ("ns",),
    verbs=_NO_DELETECOLLECTION,
    subresources=("status", "finalize"),
)
NODES = Resource("", "v1", "Node", "nodes", "node", False, ("no",), subresources=("status",))
PODS = Resource(
    "",
    "v1",
    "Pod",
    "pods",
    "pod",
    True,
    ("po",),
    ("all",),
    subresources=(
        "status",
        "binding",
        "log",
        "exec",
        "attach",
        "portforward",
        "ephemeralcontainers",
        "eviction",
    ),
)
SERVICES = Resource(
    "",
    "v1",
    "Service",
    "services",
    "service",
    True,
    ("svc",),
    ("all",),
    verbs=_NO_DELETECOLLECTION,
    subresources=("status",),
)
ENDPOINTS = Resource("", "v1", "Endpoints", "endpoints", "endpoints", True, ("ep",))
EVENTS = Resource("", "v1", "Event", "events", "event", True, ("ev",))
# events.k8s.io/v1 serves the same stored Events in its own shape (api/conversion).
EVENTS_V1 = Resource("events.k8s.io", "v1", "Event", "events", "event", True, ("ev",))
CONFIGMAPS = Resource("", "v1", "ConfigMap", "configmaps", "configmap", True, ("cm",))
SECRETS = Resource("", "v1", "Secret", "secrets", "secret", True)
SERVICEACCOUNTS = Resource(
    "",
    "v1",
    "ServiceAccount",
    "serviceaccounts",
    "serviceaccount",
    True,
    ("sa",),
    subresources=("token",),
)
DEPLOYMENTS = Resource(
    "apps",
    "v1",
    "Deployment",
    "deployments",
    "deployment",
    True,
    ("deploy",),
    ("all",),
    subresources=("status", "scale"),
)
REPLICASETS = Resource(
    "apps",
    "v1",
    "ReplicaSet",
    "replicasets",
    "replicaset",
    True,
    ("rs",),
    ("all",),
    subresources=("status", "scale"),
)
DAEMONSETS = Resource(
    "apps",
    "v1",
    "DaemonSet",
    "daemonsets",
    "daemonset",
    True,
    ("ds",),
    ("all",),
    subresources=("status",),
)
STATEFULSETS = Resource(
    "apps",
    "v1",
    "StatefulSet",
    "statefulsets",
    "statefulset",
    True,
    ("sts",),
    ("all",),
    subresources=("status", "scale"),
)
CONTROLLERREVISIONS = Resource(
    "apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision", True
)
JOBS = Resource("batch", "v1", "Job", "jobs", "job", True, (), ("all",), subresources=("status",))
CRONJOBS = Resource(
    "batch",
    "v1",
    "CronJob",
    "cronjobs",
    "cronjob",
    True,
    ("cj",),
    ("all",),
    subresources=("status",),
)
LEASES = Resource("coordination.k8s.io", "v1", "Lease", "leases", "lease", True)
ENDPOINTSLICES = Resource(
    "discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", True
)

PERSISTENTVOLUMES = Resource(
    "",
    "v1",
    "PersistentVolume",
    "persistentvolumes",
    "persistentvolume",
    False,
    ("pv",),
    subresources=("status",),
)
PERSISTENTVOLUMECLAIMS = Resource(
    "",
    "v1",
    "PersistentVolumeClaim",
    "persistentvolumeclaims",
    "persistentvolumeclaim",
    True,
    ("pvc",),
    subresources=("status",),
)
STORAGECLASSES = Resource(
    "storage.k8s.io", "v1", "StorageClass", "storageclasses", "storageclass", False, ("sc",)
)
PRIORITYCLASSES = Resource(
    "scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", "priorityclass", False, ("pc",)
)
# ReplicationControllers are served by the ReplicaSet machinery (controller/replicaset).
REPLICATIONCONTROLLERS = Resource(
    "",
    "v1",
    "ReplicationController",
    "replicationcontrollers",
    "replicationcontroller",
    True,
    ("rc",),
    ("all",),
    subresources=("status", "scale"),
)
PODDISRUPTIONBUDGETS = Resource(
    "policy",
    "v1",
    "PodDisruptionBudget",
    "poddisruptionbudgets",
    "poddisruptionbudget",
    True,
    ("pdb",),
    subresources=("status",),
)
RESOURCEQUOTAS = Resource(
    "",
    "v1",
    "ResourceQuota",
    "resourcequotas",
    "resourcequota",
    True,
    ("quota",),
    subresources=("status",),
)
LIMITRANGES = Resource("", "v1", "LimitRange", "limitranges", "limitrange", True, ("limits",))
# networking.k8s.io: HTTP routing into the cluster (the ingress controller reads them).
INGRESSES = Resource(
    "networking.k8s.io",
    "v1",
    "Ingress",
    "ingresses",
    "ingress",
    True,
    ("ing",),
    subresources=("status",),
)
INGRESSCLASSES = Resource(
    "networking.k8s.io", "v1", "IngressClass", "ingressclasses", "ingressclass", False
)
CUSTOMRESOURCEDEFINITIONS = Resource(
    "apiextensions.k8s.io",
    "v1",
    "CustomResourceDefinition",
    "customresourcedefinitions",
    "customresourcedefinition",
    False,
    ("crd", "crds"),
    ("api-extensions",),
    subresources=("status",),
)
# autoscaling/v2 is stored; autoscaling/v1 is served through api/conversion/autoscaling.py.
HORIZONTALPODAUTOSCALERS = Resource(
    "autoscaling",
    "v2",
    "HorizontalPodAutoscaler",
    "horizontalpodautoscalers",
    "horizontalpodautoscaler",
    True,
    ("hpa",),
    ("all",),
    subresources=("status",),
)
HORIZONTALPODAUTOSCALERS_V1 = Resource(
    "autoscaling",
    "v1",
    "HorizontalPodAutoscaler",
    "horizontalpodautoscalers",
    "horizontalpodautoscaler",
    True,
    ("hpa",),
    ("all",),
    subresources=("status",),
)
# The aggregation layer: group/versions served by another process (apiserver/aggregator.py).
APISERVICES = Resource(
    "apiregistration.k8s.io",
    "v1",
    "APIService",
    "apiservices",
    "apiservice",
    False,
    categories=("api-extensions",),
    subresources=("status",),
)
# rbac.authorization.k8s.io/v1: who may do what (apiserver/authz reads them).
ROLES = Resource("rbac.authorization.k8s.io", "v1", "Role", "roles", "role", True)
CLUSTERROLES = Resource(
    "rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", False
)
ROLEBINDINGS = Resource(
    "rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding", True
)
CLUSTERROLEBINDINGS = Resource(
    "rbac.authorization.k8s.io",
    "v1",
    "ClusterRoleBinding",
    "clusterrolebindings",
    "clusterrolebinding",
    False,
)
# certificates.k8s.io/v1: certificates asked for and issued through the API (the
# controller manager's csrapproving and csrsigning controllers).
CERTIFICATESIGNINGREQUESTS = Resource(
    "certificates.k8s.io",
    "v1",
    "CertificateSigningRequest",
    "certificatesigningrequests",
    "certificatesigningrequest",
    False,
    ("csr",),
    subresources=("status", "approval"),
)
# Reviews: create-only questions the apiserver answers and never stores.
_CREATE_ONLY = ("create",)
SELFSUBJECTREVIEWS = Resource(
    "authentication.k8s.io",
    "v1",
    "SelfSubjectReview",
    "selfsubjectreviews",
    "selfsubjectreview",
    False,
    verbs=_CREATE_ONLY,
)
SUBJECTACCESSREVIEWS = Resource(
    "authorization.k8s.io",
    "v1",
    "SubjectAccessReview",
    "subjectaccessreviews",
    "subjectaccessreview",
    False,
    verbs=_CREATE_ONLY,
)
SELFSUBJECTACCESSREVIEWS = Resource(
    "authorization.k8s.io",
    "v1",
    "SelfSubjectAccessReview",
    "selfsubjectaccessreviews",
    "selfsubjectaccessreview",
    False,
    verbs=_CREATE_ONLY,
)
LOCALSUBJECTACCESSREVIEWS = Resource(
    "authorization.k8s.io",
    "v1",
    "LocalSubjectAccessReview",
    "localsubjectaccessreviews",
    "localsubjectaccessreview",
    True,
    verbs=_CREATE_ONLY,
)
SELFSUBJECTRULESREVIEWS = Resource(
    "authorization.k8s.io",
    "v1",
    "SelfSubjectRulesReview",
    "selfsubjectrulesreviews",
    "selfsubjectrulesreview",
    False,
    verbs=_CREATE_ONLY,
)
# TokenReview: other components ask the apiserver whose a bearer token is.
TOKENREVIEWS = Resource(
    "authentication.k8s.io",
    "v1",
    "TokenReview",
    "tokenreviews",
    "tokenreview",
    False,
    verbs=_CREATE_ONLY,
)
# Probed when read, never stored (apiserver/componentstatus.py); deprecated since 1.19.
COMPONENTSTATUSES = Resource(
    "",
    "v1",
    "ComponentStatus",
    "componentstatuses",
    "componentstatus",
    False,
    ("cs",),
    verbs=("get", "list"),
)
# What `serviceaccounts/{name}/token` takes and answers (not a resource of its own).
TOKEN_REQUEST_KIND = "TokenRequest"
TOKEN_REQUEST_API_VERSION = "authentication.k8s.io/v1"
REVIEWS = (
    TOKENREVIEWS,
    SELFSUBJECTREVIEWS,
    SUBJECTACCESSREVIEWS,
    SELFSUBJECTACCESSREVIEWS,
    LOCALSUBJECTACCESSREVIEWS,
    SELFSUBJECTRULESREVIEWS,
)

RESOURCES: tuple[Resource, ...] = (
    NAMESPACES,
    NODES,
    PODS,
    SERVICES,
    ENDPOINTS,
    EVENTS,
    CONFIGMAPS,
    SECRETS,
    SERVICEACCOUNTS,
    DEPLOYMENTS,
    REPLICASETS,
    DAEMONSETS,
    STATEFULSETS,
    CONTROLLERREVISIONS,
    JOBS,
    CRONJOBS,
    LEASES,
    ENDPOINTSLICES,
    PERSISTENTVOLUMES,
    PERSISTENTVOLUMECLAIMS,
    STORAGECLASSES,
    EVENTS_V1,  # after core events: by_kind("Event") and "events" mean the core ones
    PRIORITYCLASSES,
    REPLICATIONCONTROLLERS,
    PODDISRUPTIONBUDGETS,
    RESOURCEQUOTAS,
    LIMITRANGES,
    INGRESSES,
    INGRESSCLASSES,
    CUSTOMRESOURCEDEFINITIONS,
    APISERVICES,
    HORIZONTALPODAUTOSCALERS,  # before v1: by_kind and "hpa" mean autoscaling/v2
    HORIZONTALPODAUTOSCALERS_V1,
    ROLES,
    CLUSTERROLES,
    ROLEBINDINGS,
    CLUSTERROLEBINDINGS,
    CERTIFICATESIGNINGREQUESTS,
    COMPONENTSTATUSES,
    *REVIEWS,
)

INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def group_versions() -> list[tuple[str, str]]:
    """(group, version) pairs in a stable order, core first."""
    seen: list[tuple[str, str]] = []
    for r in RESOURCES:
        if (r.group, r.version) not in seen:
            seen.append((r.group, r.version))
    return seen


def by_group_version(group: str, version: str) -> list[Resource]:
    return [r for r in RESOURCES if r.group == group and r.version == version]


def find(group: str, version: str, plural: str) -> Resource | None:
    for r in RESOURCES:
        if r.group == group and r.version == version and r.plural == plural:
            return r
    return None


def by_kind(kind: str, api_version: str | None = None) -> Resource | None:
    for r in RESOURCES:
        if r.kind == kind and (api_version is None or r.api_version == api_version):
            return r
    return None


def lookup(name: str) -> Resource | None:
    """Resolve what a user types: plural, singular, short name, kind, or `plural.group`."""
    text = name.strip().lower()
    name_part, _, group_part = text.partition(".")
    for r in RESOURCES:
        names = {r.plural, r.singular, r.kind.lower(), *r.short_names}
        if text in names or (group_part and name_part in names and group_part == r.group):
            return r
    return None
