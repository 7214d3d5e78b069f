"""Who each component of a minik cluster is to the apiserver, in `minik up` and the
compose lab: one bearer token per identity (the apiserver's --token-auth-file) and a
kubeconfig per component. The names are the ones Kubernetes' bootstrap policy binds
(apiserver/authz/bootstrap.py), so under --authorization-mode Node,RBAC each component
may do what its role says and nothing more: every kubelet is `system:node:<name>` in
`system:nodes` (the Node authorizer's), the scheduler `system:kube-scheduler`, and so on.
Only the admin (the user's kubeconfig) is in `system:masters`."""

from __future__ import annotations

import secrets
from pathlib import Path

from api.privatefile import write_private

# kubeconfig name -> (user, groups), the token file's fields
COMPONENT_USERS: dict[str, tuple[str, str]] = {
    "admin": ("admin", "system:masters"),
    "kube-scheduler": ("system:kube-scheduler", ""),
    "kube-controller-manager": ("system:kube-controller-manager", ""),
    "kube-proxy": ("system:kube-proxy", ""),
    "metrics-server": ("system:metrics-server", ""),
    "dashboard": ("system:minik:dashboard", ""),
    "ingress": ("system:minik:ingress", ""),
}
AUTHORIZATION_MODE = "Node,RBAC"  # kubeadm's


def kubelet_kubeconfig(node: str) -> str:
    return f"kubelet-{node}"


def identities(nodes: list[str]) -> dict[str, tuple[str, str]]:
    """Every component's identity, with one per node's kubelet."""
    kubelets = {kubelet_kubeconfig(n): (f"system:node:{n}", "system:nodes") for n in nodes}
    return {**COMPONENT_USERS, **kubelets}


def read_token_file(path: Path) -> dict[str, str]:
    """user -> token of a Kubernetes token file (`token,user,uid,"groups"`)."""
    out: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split(",")
            if len(parts) >= 2:
                out[parts[1]] = parts[0]
    return out


def ensure_tokens(path: Path, wanted: dict[str, tuple[str, str]]) -> dict[str, str]:
    """The token file for `wanted`, keeping the tokens it already holds (an apiserver
    that read them is still running when `minik up` repairs); kubeconfig name ->
    token. Written 0600."""
    known = read_token_file(path)
    users = sorted({user: groups for user, groups in wanted.values()}.items())
    tokens = {user: known.get(user) or secrets.token_hex(16) for user, _ in users}
    if any(user not in known for user, _ in users):
        lines = [f'{tokens[user]},{user},{user},"{groups}"' for user, groups in users]
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private(path, ("\n".join(lines) + "\n").encode())
    return {name: tokens[user] for name, (user, _) in wanted.items()}
