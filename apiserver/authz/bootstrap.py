"""The default RBAC policy, as Kubernetes' plugin/pkg/auth/authorizer/rbac/bootstrappolicy
(trimmed to the kinds minik serves), reconciled at apiserver start like the
rbac/bootstrap-roles post-start hook: missing roles and bindings are created; an
existing one annotated `rbac.authorization.kubernetes.io/autoupdate: "true"` gets the
rules, labels and subjects it lacks (never loses any: an admin's additions stay)."""

from __future__ import annotations

import logging
from typing import Any

from api import errors
from api.certificates import (
    GROUP as CERTIFICATES_GROUP,
)
from api.certificates import (
    KUBE_APISERVER_CLIENT,
    KUBE_APISERVER_CLIENT_KUBELET,
    KUBELET_SERVING,
    LEGACY_UNKNOWN,
)
from api.resources import CLUSTERROLEBINDINGS, CLUSTERROLES, Resource
from apiserver.options import WriteOptions
from apiserver.registry import Registry
from apiserver.requestinfo import RequestInfo

log = logging.getLogger(__name__)
AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate"
AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-"
READ = ["get", "list", "watch"]
WRITE = ["create", "delete", "deletecollection", "patch", "update"]
READ_WRITE = READ + WRITE


def rule(
    verbs: list[str], groups: list[str], resources: list[str], names: tuple[str, ...] = ()
) -> dict:
    r: dict[str, Any] = {"verbs": list(verbs), "apiGroups": groups, "resources": resources}
    if names:
        r["resourceNames"] = list(names)
    return r


def urls(verbs: list[str], paths: list[str]) -> dict:
    return {"verbs": list(verbs), "nonResourceURLs": paths}


def _meta(name: str, labels: dict[str, str] | None = None) -> dict:
    return {
        "name": name,
        "labels": {"kubernetes.io/bootstrapping": "rbac-defaults", **(labels or {})},
        "annotations": {AUTOUPDATE: "true"},
    }


def cluster_role(
    name: str, rules: list[dict], labels: dict[str, str] | None = None, aggregate: str = ""
) -> dict:
    obj: dict[str, Any] = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": _meta(name, labels),
        "rules": rules,
    }
    if aggregate:
        obj["aggregationRule"] = {
            "clusterRoleSelectors": [{"matchLabels": {f"{AGGREGATE}{aggregate}": "true"}}]
        }
    return obj


def cluster_role_binding(name: str, role: str, subjects: list[tuple[str, str]]) -> dict:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": _meta(name),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": who}
            for kind, who in subjects
        ],
    }


def cluster_roles() -> list[dict]:
    core, apps, batch, autoscaling = [""], ["apps"], ["batch"], ["autoscaling"]
    policy, networking = ["policy"], ["networking.k8s.io"]
    rbac_group, coordination = ["rbac.authorization.k8s.io"], ["coordination.k8s.io"]
    discovery_group, events = ["discovery.k8s.io"], ["events.k8s.io"]
    storage, certificates = ["storage.k8s.io"], [CERTIFICATES_GROUP]
    event_write = ["create", "patch", "update"]
    view = [
        rule(READ, core, ["configmaps", "endpoints", "persistentvolumeclaims",
                          "persistentvolumeclaims/status", "pods", "replicationcontrollers",
                          "replicationcontrollers/scale", "serviceaccounts", "services",
                          "services/status"]),
        rule(READ, core, ["bindings", "events", "limitranges", "namespaces/status", "pods/log",
                          "pods/status", "replicationcontrollers/status", "resourcequotas",
                          "resourcequotas/status"]),
        rule(READ, core, ["namespaces"]),
        rule(READ, discovery_group, ["endpointslices"]),
        rule(READ, apps, ["controllerrevisions", "daemonsets", "daemonsets/status",
                          "deployments", "deployments/scale", "deployments/status",
                          "replicasets", "replicasets/scale", "replicasets/status",
                          "statefulsets", "statefulsets/scale", "statefulsets/status"]),
        rule(READ, autoscaling, ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
        rule(READ, batch, ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
        rule(READ, policy, ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
        rule(READ, networking, ["ingresses", "ingresses/status", "networkpolicies"]),
    ]  # fmt: skip
    edit = [
        rule(READ, core, ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy",
                          "secrets", "services/proxy"]),
        rule(["impersonate"], core, ["serviceaccounts"]),
        rule(WRITE, core, ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"]),
        rule(["create"], core, ["pods/eviction"]),
        rule(WRITE, core, ["configmaps", "events", "persistentvolumeclaims",
                           "replicationcontrollers", "replicationcontrollers/scale", "secrets",
                           "serviceaccounts", "services", "services/proxy"]),
        rule(["create"], core, ["serviceaccounts/token"]),
        rule(WRITE, apps, ["daemonsets", "deployments", "deployments/rollback",
                           "deployments/scale", "replicasets", "replicasets/scale",
                           "statefulsets", "statefulsets/scale"]),
        rule(WRITE, autoscaling, ["horizontalpodautoscalers"]),
        rule(WRITE, batch, ["cronjobs", "jobs"]),
        rule(WRITE, policy, ["poddisruptionbudgets"]),
        rule(WRITE, networking, ["ingresses", "networkpolicies"]),
        rule(READ_WRITE, coordination, ["leases"]),
    ]  # fmt: skip
    admin = [
        rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
        rule(READ_WRITE, rbac_group, ["rolebindings", "roles"]),
    ]
    scheduler = [
        rule(event_write, core, ["events"]),
        rule(event_write, events, ["events"]),
        rule(["create"], coordination, ["leases"]),
        rule(["get", "update"], coordination, ["leases"], ("kube-scheduler",)),
        rule(READ, core, ["nodes"]),
        rule(["delete", "get", "list", "watch"], core, ["pods"]),
        rule(["create"], core, ["bindings", "pods/binding"]),
        rule(["patch", "update"], core, ["pods/status"]),
        rule(READ, core, ["replicationcontrollers", "services", "namespaces", "configmaps",
                          "persistentvolumeclaims", "persistentvolumes"]),
        rule(READ, apps, ["replicasets", "statefulsets"]),
        rule(READ, policy, ["poddisruptionbudgets"]),
        rule(READ, storage, ["storageclasses", "csinodes", "csidrivers",
                             "csistoragecapacities"]),
        rule(READ, ["scheduling.k8s.io"], ["priorityclasses"]),
        rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
        rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
    ]  # fmt: skip
    # minik's controller manager runs every controller under one identity (Kubernetes
    # gives each its own ServiceAccount with --use-service-account-credentials), so its
    # role is the union of what the controllers touch: broad, but not RBAC or impersonation.
    controller_manager = [
        rule(READ_WRITE, core, ["pods", "pods/status", "pods/eviction", "services",
                                "services/status", "endpoints", "events", "configmaps",
                                "secrets", "namespaces", "namespaces/status",
                                "namespaces/finalize", "nodes", "nodes/status",
                                "persistentvolumes", "persistentvolumes/status",
                                "persistentvolumeclaims", "persistentvolumeclaims/status",
                                "replicationcontrollers", "replicationcontrollers/status",
                                "replicationcontrollers/scale", "resourcequotas",
                                "resourcequotas/status", "limitranges", "serviceaccounts"]),
        rule(READ_WRITE, apps, ["*"]),
        rule(READ_WRITE, batch, ["*"]),
        rule(READ_WRITE, autoscaling, ["*"]),
        rule(READ_WRITE, policy, ["*"]),
        rule(READ_WRITE, discovery_group, ["*"]),
        rule(READ_WRITE, coordination, ["leases"]),
        rule(READ_WRITE, events, ["events"]),
        rule(READ_WRITE, storage, ["*"]),
        rule(READ_WRITE, networking, ["*"]),
        rule(READ, ["scheduling.k8s.io"], ["priorityclasses"]),
        rule(READ, ["apiregistration.k8s.io", "apiextensions.k8s.io"], ["*"]),
        rule(READ, ["metrics.k8s.io", "custom.metrics.k8s.io", "external.metrics.k8s.io"],
             ["*"]),
        rule(["*"], ["*"], ["*/scale"]),
        # the garbage collector and the namespace controller reach every kind, custom
        # ones included (Kubernetes' generic-garbage-collector and namespace-controller)
        rule(["get", "list", "watch", "patch", "update", "delete", "deletecollection"],
             ["*"], ["*"]),
        rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
        rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
        # csrapproving, csrsigning and csrcleaner
        rule(["delete", "get", "list", "watch"], certificates, ["certificatesigningrequests"]),
        rule(["update"], certificates, ["certificatesigningrequests/approval",
                                        "certificatesigningrequests/status"]),
        rule(["approve"], certificates, ["signers"], (KUBE_APISERVER_CLIENT_KUBELET,)),
        rule(["sign"], certificates, ["signers"], (KUBE_APISERVER_CLIENT_KUBELET,
                                                   KUBE_APISERVER_CLIENT, KUBELET_SERVING,
                                                   LEGACY_UNKNOWN)),
    ]  # fmt: skip
    node_proxier = [
        rule(["list", "watch"], core, ["endpoints", "services"]),
        rule(READ, core, ["nodes"]),
        rule(event_write, core, ["events"]),
        rule(event_write, events, ["events"]),
        rule(["list", "watch"], discovery_group, ["endpointslices"]),
    ]
    node = [
        rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
        rule(["create"], ["authorization.k8s.io"],
             ["localsubjectaccessreviews", "subjectaccessreviews"]),
        rule(READ, core, ["services"]),
        rule(["create", "get", "list", "watch"], core, ["nodes"]),
        rule(["patch", "update"], core, ["nodes/status"]),
        rule(["patch", "update"], core, ["nodes"]),
        rule(event_write, core, ["events"]),
        rule(event_write, events, ["events"]),
        rule(READ, core, ["pods"]),
        rule(["create", "delete"], core, ["pods"]),
        rule(["patch", "update"], core, ["pods/status"]),
        rule(["create"], core, ["pods/eviction"]),
        rule(READ, core, ["configmaps", "secrets"]),
        rule(["get"], core, ["persistentvolumeclaims", "persistentvolumes"]),
        rule(["get"], core, ["endpoints"]),
        rule(["get", "update", "patch"], core, ["persistentvolumeclaims/status"]),
        rule(["create", "delete", "get", "patch", "update"], coordination, ["leases"]),
        rule(["create"], core, ["serviceaccounts/token"]),
        rule(READ, storage, ["csidrivers", "csinodes", "volumeattachments"]),
        rule(READ, ["node.k8s.io"], ["runtimeclasses"]),
        # its own client certificate's renewal (and, with serverTLSBootstrap, serving one)
        rule(["create", "get", "list", "watch"], certificates, ["certificatesigningrequests"]),
    ]  # fmt: skip
    volume_scheduler = [
        rule(["get", "list", "patch", "update", "watch"], core,
             ["persistentvolumes", "persistentvolumeclaims"]),
        rule(READ, storage, ["storageclasses"]),
    ]  # fmt: skip
    monitoring_paths = ["/healthz", "/healthz/*", "/livez", "/livez/*", "/metrics",
                        "/metrics/slis", "/readyz", "/readyz/*"]  # fmt: skip
    discovery_paths = ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi",
                       "/openapi/*", "/readyz", "/version", "/version/"]  # fmt: skip
    return [
        cluster_role(
            "cluster-admin",
            [rule(["*"], ["*"], ["*"]), urls(["*"], ["*"])],
        ),
        cluster_role("admin", [], aggregate="admin"),
        cluster_role("edit", [], {f"{AGGREGATE}admin": "true"}, aggregate="edit"),
        cluster_role("view", [], {f"{AGGREGATE}edit": "true"}, aggregate="view"),
        cluster_role("system:aggregate-to-admin", admin, {f"{AGGREGATE}admin": "true"}),
        cluster_role("system:aggregate-to-edit", edit, {f"{AGGREGATE}edit": "true"}),
        cluster_role("system:aggregate-to-view", view, {f"{AGGREGATE}view": "true"}),
        cluster_role(
            "system:basic-user",
            [
                rule(
                    ["create"],
                    ["authorization.k8s.io"],
                    ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                ),
                rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"]),
            ],
        ),
        cluster_role("system:discovery", [urls(["get"], discovery_paths)]),
        cluster_role(
            "system:public-info-viewer",
            [urls(["get"], ["/healthz", "/livez", "/readyz", "/version", "/version/"])],
        ),
        cluster_role("system:monitoring", [urls(["get"], monitoring_paths)]),
        cluster_role("system:kube-scheduler", scheduler),
        cluster_role("system:volume-scheduler", volume_scheduler),
        cluster_role("system:kube-controller-manager", controller_manager),
        cluster_role("system:node-proxier", node_proxier),
        cluster_role("system:node", node),
        *certificate_roles(),
        *minik_component_roles(),
    ]


def certificate_roles() -> list[dict]:
    """Kubernetes' roles for TLS bootstrapping: what a bootstrap token's user needs to
    ask for a kubelet client certificate, what lets csrapproving approve a new node's
    request (`nodeclient`) and a node's renewal of its own (`selfnodeclient`), and who
    may approve each kubernetes.io signer's requests."""
    certificates = [CERTIFICATES_GROUP]
    prefix = "system:certificates.k8s.io:"
    return [
        cluster_role(
            "system:node-bootstrapper",
            [rule(["create", "get", "list", "watch"], certificates,
                  ["certificatesigningrequests"])],
        ),
        cluster_role(
            f"{prefix}certificatesigningrequests:nodeclient",
            [rule(["create"], certificates, ["certificatesigningrequests/nodeclient"])],
        ),
        cluster_role(
            f"{prefix}certificatesigningrequests:selfnodeclient",
            [rule(["create"], certificates, ["certificatesigningrequests/selfnodeclient"])],
        ),
        *(
            cluster_role(f"{prefix}{signer.split('/', 1)[1]}-approver",
                         [rule(["approve"], certificates, ["signers"], (signer,))])
            for signer in (KUBE_APISERVER_CLIENT, KUBE_APISERVER_CLIENT_KUBELET,
                           KUBELET_SERVING, LEGACY_UNKNOWN)
        ),
    ]  # fmt: skip


def minik_component_roles() -> list[dict]:
    """The roles of the components minik ships beyond Kubernetes' own (each project's
    own RBAC manifest in Kubernetes: metrics-server's `system:metrics-server`,
    ingress-nginx's, the dashboard's), and what minik's proxy does beyond
    kube-proxy: it makes the cluster DNS Service and writes LoadBalancer status."""
    core, apps, batch = [""], ["apps"], ["batch"]
    networking, discovery_group = ["networking.k8s.io"], ["discovery.k8s.io"]
    events_group = ["events.k8s.io"]
    event_write = ["create", "patch", "update"]
    metrics_server = [
        rule(["get"], core, ["nodes/metrics", "nodes/stats"]),
        rule(READ, core, ["pods", "nodes"]),
        # its registration (metrics/registration.py): Service, Endpoints, APIService
        rule(["create", "get", "update"], core, ["services", "endpoints"]),
        rule(["create", "get", "update"], ["apiregistration.k8s.io"],
             ["apiservices", "apiservices/status"]),
        rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
        rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
    ]  # fmt: skip
    dashboard = [
        rule(READ, core, ["pods", "pods/log", "nodes", "namespaces", "services", "endpoints",
                          "events"]),
        rule(READ, events_group, ["events"]),
        rule(READ, discovery_group, ["endpointslices"]),
        rule(READ, apps, ["deployments", "replicasets", "statefulsets", "daemonsets"]),
        rule(READ, batch, ["jobs", "cronjobs"]),
        rule(["get", "list"], ["metrics.k8s.io"], ["pods", "nodes"]),
    ]  # fmt: skip
    ingress = [
        rule(READ, networking, ["ingresses", "ingressclasses"]),
        rule(["update", "patch"], networking, ["ingresses/status"]),
        rule(READ, core, ["services", "endpoints", "secrets", "nodes"]),
        rule(READ, discovery_group, ["endpointslices"]),
        rule(event_write, core, ["events"]),
        rule(event_write, events_group, ["events"]),
    ]  # fmt: skip
    proxy = [
        rule(["create", "get"], core, ["services"]),
        rule(["patch", "update"], core, ["services/status"]),
    ]
    return [
        cluster_role("system:metrics-server", metrics_server),
        cluster_role("system:minik:dashboard", dashboard),
        cluster_role("system:minik:ingress", ingress),
        cluster_role("system:minik:proxy", proxy),
    ]


def node_rules() -> list[dict]:
    """The `system:node` ClusterRole's rules, which the Node authorizer applies to
    kubelets itself (Kubernetes binds that role to no one)."""
    return next(r["rules"] for r in cluster_roles() if r["metadata"]["name"] == "system:node")


def cluster_role_bindings() -> list[dict]:
    authenticated = ("Group", "system:authenticated")
    return [
        cluster_role_binding("cluster-admin", "cluster-admin", [("Group", "system:masters")]),
        cluster_role_binding("system:basic-user", "system:basic-user", [authenticated]),
        cluster_role_binding("system:discovery", "system:discovery", [authenticated]),
        cluster_role_binding(
            "system:public-info-viewer",
            "system:public-info-viewer",
            [authenticated, ("Group", "system:unauthenticated")],
        ),
        cluster_role_binding(
            "system:monitoring", "system:monitoring", [("Group", "system:monitoring")]
        ),
        cluster_role_binding(
            "system:kube-scheduler", "system:kube-scheduler", [("User", "system:kube-scheduler")]
        ),
        cluster_role_binding(
            "system:volume-scheduler",
            "system:volume-scheduler",
            [("User", "system:kube-scheduler")],
        ),
        cluster_role_binding(
            "system:kube-controller-manager",
            "system:kube-controller-manager",
            [("User", "system:kube-controller-manager")],
        ),
        cluster_role_binding(
            "system:node-proxier", "system:node-proxier", [("User", "system:kube-proxy")]
        ),
        # minik up's metrics server is the user; a metrics server of a group's (the
        # compose lab's older tokens, tests) is bound too
        cluster_role_binding(
            "system:metrics-server",
            "system:metrics-server",
            [("User", "system:metrics-server"), ("Group", "system:metrics-server")],
        ),
        *(
            cluster_role_binding(role, role, [("User", user)])
            for role, user in (
                ("system:minik:dashboard", "system:minik:dashboard"),
                ("system:minik:ingress", "system:minik:ingress"),
                ("system:minik:proxy", "system:kube-proxy"),
            )
        ),
    ]


def _merged(existing: dict, wanted: dict) -> dict | None:
    """`existing` with what `wanted` adds (rules, labels, annotations, subjects,
    aggregationRule), or None when nothing is missing or autoupdate is off."""
    meta = existing.get("metadata") or {}
    if (meta.get("annotations") or {}).get(AUTOUPDATE, "true") != "true":
        return None
    out = dict(existing)
    changed = False
    for field in ("labels", "annotations"):
        have = dict(meta.get(field) or {})
        want = wanted["metadata"].get(field) or {}
        if any(have.get(k) != v for k, v in want.items()):
            out["metadata"] = {**(out.get("metadata") or meta), field: {**have, **want}}
            changed = True
    if "aggregationRule" in wanted and existing.get("aggregationRule") != wanted["aggregationRule"]:
        out["aggregationRule"] = wanted["aggregationRule"]
        changed = True
    for field in ("rules", "subjects"):
        if field not in wanted or ("aggregationRule" in wanted and field == "rules"):
            continue
        have_list = list(existing.get(field) or [])
        missing = [x for x in wanted[field] if x not in have_list]
        if missing:
            out[field] = have_list + missing
            changed = True
    return out if changed else None


async def _reconcile(registry: Registry, res: Resource, wanted: dict) -> None:
    opts = WriteOptions(field_manager="minik-rbac-bootstrap")
    name = wanted["metadata"]["name"]
    try:
        await registry.create(RequestInfo(res, None, None, None), wanted, opts)
        return
    except errors.AlreadyExists:
        pass
    info = RequestInfo(res, None, name, None)
    for _ in range(5):
        existing = await registry.get(info)
        merged = _merged(existing, wanted)
        if merged is None:
            return
        try:
            await registry.update(info, merged, opts)
            log.info("rbac: reconciled %s %s", res.kind, name)
            return
        except errors.ApiError as err:
            if err.code != 409:
                raise


async def ensure_bootstrap_policy(registry: Registry) -> None:
    for obj in cluster_roles():
        await _reconcile(registry, CLUSTERROLES, obj)
    for obj in cluster_role_bindings():
        await _reconcile(registry, CLUSTERROLEBINDINGS, obj)
