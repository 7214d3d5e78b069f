"""Who each component of a minik cluster is to the apiserver, in `minik up` and the
compose lab: a client certificate from the cluster CA per component (CN the user, O
its groups: the apiserver's --client-ca-file), as kubeadm gives them, and a kubeconfig
per component; only the admin has a bearer token (the apiserver's --token-auth-file),
the one credential a user copies around. The names are the ones Kubernetes' bootstrap policy binds
(apiserver/authz/bootstrap.py), so under --authorization-mode Node,RBAC each component
may do what its role says and nothing more: every kubelet is `system:node:<name>` in
`system:nodes` (the Node authorizer's), the scheduler `system:kube-scheduler`, and so on.
Only the admin (the user's kubeconfig) is in `system:masters`."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from api.privatefile import write_private
from componentbase.pki import ensure_client_cert

ADMIN = "admin"
# kubeconfig name -> (user, groups), the token file's fields
COMPONENT_USERS: dict[str, tuple[str, str]] = {
    ADMIN: ("admin", "system:masters"),
    "kube-scheduler": ("system:kube-scheduler", ""),
    "kube-controller-manager": ("system:kube-controller-manager", ""),
    "kube-proxy": ("system:kube-proxy", ""),
    "metrics-server": ("system:metrics-server", ""),
    "dashboard": ("system:minik:dashboard", ""),
    "ingress": ("system:minik:ingress", ""),
}
AUTHORIZATION_MODE = "Node,RBAC"  # kubeadm's


KUBELET_PREFIX = "kubelet-"


def kubelet_kubeconfig(node: str) -> str:
    return f"{KUBELET_PREFIX}{node}"


def identities(nodes: list[str]) -> dict[str, tuple[str, str]]:
    """Every component's identity, with one per node's kubelet."""
    kubelets = {kubelet_kubeconfig(n): (f"system:node:{n}", "system:nodes") for n in nodes}
    return {**COMPONENT_USERS, **kubelets}


def identity_of(name: str) -> tuple[str, str]:
    """(user, groups) of the kubeconfig name `name`: a component of COMPONENT_USERS or
    `kubelet-<node>`."""
    if name.startswith(KUBELET_PREFIX):
        return identities([name.removeprefix(KUBELET_PREFIX)])[name]
    if name not in COMPONENT_USERS:
        raise ValueError(f"no minik component is named {name!r}")
    return COMPONENT_USERS[name]


def component_identities(wanted: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """The identities that are components (all but the admin)."""
    return {name: who for name, who in wanted.items() if name != ADMIN}


def admin_only(wanted: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    return {ADMIN: wanted[ADMIN]}


def ensure_client_certs(
    pki_dir: Path, wanted: dict[str, tuple[str, str]]
) -> dict[str, tuple[Path, Path]]:
    """kubeconfig name -> (certificate, key): each identity's client certificate from
    the CA in `pki_dir`, under `pki_dir/clients/` (0600 keys), kept while the CA signs
    it and it is not near its end; `minik certs renew` renews them with the others."""
    out = pki_dir / "clients"
    return {
        name: ensure_client_cert(pki_dir, out, user, tuple(g for g in groups.split(",") if g))
        for name, (user, groups) in wanted.items()
    }


@dataclass(frozen=True)
class Credentials:
    """What `minik up` and the lab hand out: the admin's token and each component's
    client certificate (kubeconfig name -> certificate, key)."""

    admin_token: str
    client_certs: dict[str, tuple[Path, Path]]


def ensure_credentials(token_file: Path, pki_dir: Path, nodes: list[str]) -> Credentials:
    """The token file with the admin alone (ensure_tokens) and a client certificate
    for every component and node (ensure_client_certs), both kept across runs."""
    wanted = identities(nodes)
    tokens = ensure_tokens(token_file, admin_only(wanted))
    return Credentials(tokens[ADMIN], ensure_client_certs(pki_dir, component_identities(wanted)))


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
    that read them is still running when `minik up` repairs) and dropping users no
    longer wanted (an older minik gave every component a token); kubeconfig name ->
    token. Written 0600."""
    known = read_token_file(path)
    users = sorted({user: groups for user, groups in wanted.values()}.items())
    tokens = {user: known.get(user) or secrets.token_hex(16) for user, _ in users}
    if any(user not in known for user, _ in users) or len(known) != len(users):
        lines = [f'{tokens[user]},{user},{user},"{groups}"' for user, groups in users]
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private(path, ("\n".join(lines) + "\n").encode())
    return {name: tokens[user] for name, (user, _) in wanted.items()}
