"""What `kubeadm init` creates for machines to join, which `minik up` reconciles at
every start (created when missing; a binding's missing subject added back; cluster-info
rewritten when the server or CA changed):

- `kubeadm:kubelet-bootstrap`: bootstrap tokens of kubeadm's default node-token group
  may create CertificateSigningRequests (`system:node-bootstrapper`);
- `kubeadm:node-autoapprove-bootstrap`: csrapproving approves their node client
  requests (`...:nodeclient`);
- `kubeadm:node-autoapprove-certificate-rotation`: nodes' renewals of their own
  certificates are approved (`...:selfnodeclient`, group system:nodes);
- the `cluster-info` ConfigMap in kube-public (a kubeconfig with the server and the CA,
  no credentials) and the Role/RoleBinding `kubeadm:bootstrap-signer-clusterinfo` that let
  `system:anonymous` read it, which is where `minik join` discovers the CA; the
  controller manager's bootstrapsigner adds a `jws-kubeconfig-<token-id>` signature per
  bootstrap token, which `minik join` checks;
- the `kube-proxy` ServiceAccount in kube-system bound to `system:node-proxier`
  (`kubeadm:node-proxier`, kubeadm's kube-proxy addon), and, minik's own since it has
  no kube-proxy DaemonSet: the Role/RoleBinding `minik:kube-proxy-token` letting the
  node-token group ask for that ServiceAccount's token (TokenRequest), which `minik
  join` gives the proxy it starts. That is no more than kubeadm gives a bootstrap token's
  holder: a node it joins runs the DaemonSet's pod with that same token. minik's proxy
  also publishes LoadBalancer status and the kube-dns Service (apiserver/authz/bootstrap's
  `system:minik:proxy`), so `minik:kube-proxy` binds that role to the ServiceAccount
  too: a joined host's proxy serves LoadBalancer Services as `minik up`'s own do."""

from __future__ import annotations

import base64
from typing import Any

import yaml

from api import errors
from api.resources import (
    CLUSTERROLEBINDINGS,
    CONFIGMAPS,
    ROLEBINDINGS,
    ROLES,
    SERVICEACCOUNTS,
    Resource,
)
from client.rest import Client
from deploy.jointoken import NODE_TOKEN_GROUP

RBAC_GROUP = "rbac.authorization.k8s.io"
CSR_ROLE = "system:certificates.k8s.io:certificatesigningrequests:"
PUBLIC_NAMESPACE = "kube-public"
CLUSTER_INFO = "cluster-info"
CLUSTER_INFO_ROLE = "kubeadm:bootstrap-signer-clusterinfo"
ANONYMOUS = "system:anonymous"
SYSTEM_NAMESPACE = "kube-system"
PROXY_SERVICE_ACCOUNT = "kube-proxy"
PROXY_BINDING = "kubeadm:node-proxier"
PROXY_TOKEN_ROLE = "minik:kube-proxy-token"
PROXY_MINIK_BINDING = "minik:kube-proxy"
PROXY_MINIK_ROLE = "system:minik:proxy"

# (binding, cluster role, group): kubeadm's phases/bootstraptoken/node
BINDINGS = (
    ("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", NODE_TOKEN_GROUP),
    ("kubeadm:node-autoapprove-bootstrap", f"{CSR_ROLE}nodeclient", NODE_TOKEN_GROUP),
    ("kubeadm:node-autoapprove-certificate-rotation", f"{CSR_ROLE}selfnodeclient",
     "system:nodes"),
)  # fmt: skip


def _binding(
    kind: str, name: str, role_kind: str, role: str, subject: dict, namespace: str = ""
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": kind,
        "metadata": meta,
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": role_kind, "name": role},
        "subjects": [subject],
    }


def node_bindings() -> list[dict[str, Any]]:
    return [
        _binding("ClusterRoleBinding", name, "ClusterRole", role,
                 {"kind": "Group", "apiGroup": RBAC_GROUP, "name": group})
        for name, role, group in BINDINGS
    ]  # fmt: skip


def cluster_info_kubeconfig(server: str, ca_pem: bytes) -> str:
    """kubeadm's cluster-info kubeconfig: one nameless cluster, no users or contexts."""
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "",
                "cluster": {
                    "certificate-authority-data": base64.b64encode(ca_pem).decode(),
                    "server": server,
                },
            }
        ],
        "contexts": None,
        "users": None,
        "current-context": "",
        "preferences": {},
    }
    return yaml.safe_dump(doc, sort_keys=False)


def cluster_info(server: str, ca_pem: bytes) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": CLUSTER_INFO, "namespace": PUBLIC_NAMESPACE},
        "data": {"kubeconfig": cluster_info_kubeconfig(server, ca_pem)},
    }


def cluster_info_rbac() -> list[tuple[Resource, dict[str, Any]]]:
    role = {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": "Role",
        "metadata": {"name": CLUSTER_INFO_ROLE, "namespace": PUBLIC_NAMESPACE},
        "rules": [
            {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"],
             "resourceNames": [CLUSTER_INFO]}
        ],
    }  # fmt: skip
    binding = _binding(
        "RoleBinding", CLUSTER_INFO_ROLE, "Role", CLUSTER_INFO_ROLE,
        {"kind": "User", "apiGroup": RBAC_GROUP, "name": ANONYMOUS}, PUBLIC_NAMESPACE,
    )  # fmt: skip
    return [(ROLES, role), (ROLEBINDINGS, binding)]


def proxy_objects() -> list[tuple[Resource, dict[str, Any]]]:
    """The kube-proxy ServiceAccount, its node-proxier and minik proxy bindings, and
    the Role that lets joining machines' bootstrap tokens ask for its token."""
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": PROXY_SERVICE_ACCOUNT, "namespace": SYSTEM_NAMESPACE},
    }
    subject = {"kind": "ServiceAccount", "name": PROXY_SERVICE_ACCOUNT,
               "namespace": SYSTEM_NAMESPACE}  # fmt: skip
    binding = _binding(
        "ClusterRoleBinding", PROXY_BINDING, "ClusterRole", "system:node-proxier", subject
    )
    minik_binding = _binding(
        "ClusterRoleBinding", PROXY_MINIK_BINDING, "ClusterRole", PROXY_MINIK_ROLE, subject
    )
    role = {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": "Role",
        "metadata": {"name": PROXY_TOKEN_ROLE, "namespace": SYSTEM_NAMESPACE},
        "rules": [
            {"verbs": ["create"], "apiGroups": [""], "resources": ["serviceaccounts/token"],
             "resourceNames": [PROXY_SERVICE_ACCOUNT]}
        ],
    }  # fmt: skip
    role_binding = _binding(
        "RoleBinding", PROXY_TOKEN_ROLE, "Role", PROXY_TOKEN_ROLE,
        {"kind": "Group", "apiGroup": RBAC_GROUP, "name": NODE_TOKEN_GROUP}, SYSTEM_NAMESPACE,
    )  # fmt: skip
    return [
        (SERVICEACCOUNTS, account),
        (CLUSTERROLEBINDINGS, binding),
        (CLUSTERROLEBINDINGS, minik_binding),
        (ROLES, role),
        (ROLEBINDINGS, role_binding),
    ]


def _existing(api: Client, res: Resource, wanted: dict[str, Any]) -> dict[str, Any] | None:
    """Create `wanted`: None when that made it, else the object already there."""
    ns = wanted["metadata"].get("namespace")
    try:
        api.create(res, wanted, namespace=ns)
        return None
    except errors.AlreadyExists:
        return api.get(res, wanted["metadata"]["name"], namespace=ns)


def _ensure_binding(api: Client, res: Resource, wanted: dict[str, Any]) -> None:
    """Create it; an existing one keeps its subjects and gets the wanted one back."""
    live = _existing(api, res, wanted)
    if live is None:
        return
    subjects = live.get("subjects") or []
    missing = [s for s in wanted["subjects"] if s not in subjects]
    if missing:
        live["subjects"] = subjects + missing
        api.update(res, live)


def _ensure(api: Client, res: Resource, wanted: dict[str, Any], key: str) -> None:
    """Create it, or make its `key` (rules, data) the wanted one."""
    live = _existing(api, res, wanted)
    if live is not None and live.get(key) != wanted[key]:
        live[key] = wanted[key]
        api.update(res, live)


def _ensure_cluster_info(api: Client, wanted: dict[str, Any]) -> None:
    """Create it, or make its kubeconfig the wanted one; the bootstrapsigner's
    `jws-kubeconfig-*` entries stay (it signs the new kubeconfig again)."""
    live = _existing(api, CONFIGMAPS, wanted)
    if live is None:
        return
    data = live.get("data") or {}
    if data.get("kubeconfig") != wanted["data"]["kubeconfig"]:
        live["data"] = {**data, **wanted["data"]}
        api.update(CONFIGMAPS, live)


def ensure(api: Client, server: str, ca_pem: bytes) -> None:
    """Reconcile every object above (idempotent; run at each `minik up`)."""
    for binding in node_bindings():
        _ensure_binding(api, CLUSTERROLEBINDINGS, binding)
    (roles, role), (rolebindings, binding) = cluster_info_rbac()
    _ensure(api, roles, role, "rules")
    _ensure_binding(api, rolebindings, binding)
    _ensure_cluster_info(api, cluster_info(server, ca_pem))
    for res, obj in proxy_objects():
        if res is SERVICEACCOUNTS:
            _existing(api, res, obj)
        elif res is ROLES:
            _ensure(api, res, obj, "rules")
        else:
            _ensure_binding(api, res, obj)
