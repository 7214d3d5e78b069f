"""Kubeconfig files: where a client finds its server, credentials and namespace.

The same file format kubectl reads, so one kubeconfig serves kubectl, minikctl and
every minik component. Only the parts minik uses are read: the current (or chosen)
context, its cluster's server and TLS settings, its user's bearer token. In a pod
with nothing configured, the pod's own ServiceAccount (`in_cluster`, client-go's
InClusterConfig), so a controller runs unchanged as a process or as a pod.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from api.privatefile import write_private

DEFAULT_PATH = Path("~/.minik/kubeconfig")
# What the kubelet mounts into every pod with a ServiceAccount token (Kubernetes' path).
SERVICEACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class KubeconfigError(Exception):
    """The kubeconfig is missing, unreadable, or lacks what the client needs."""


@dataclass(frozen=True)
class KubeConfig:
    """What a client needs from one context of a kubeconfig."""

    server: str
    token: str | None = None
    namespace: str = "default"
    certificate_authority: str | None = None  # a file path
    certificate_authority_data: str | None = None  # PEM text (already base64-decoded)
    insecure_skip_tls_verify: bool = False
    client_certificate: str | None = None  # a file path
    client_key: str | None = None
    client_certificate_data: str | None = None  # PEM text, as kubeadm's kubeconfigs embed it
    client_key_data: str | None = None
    context: str | None = None
    path: str | None = None
    # Where `token` was read: re-read while running, since the kubelet rotates a pod's
    # token (an hour's validity) and a tokenFile may be rotated too (client-go re-reads).
    token_file: str | None = None


def default_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """`--kubeconfig`, else the first entry of `$KUBECONFIG`, else `~/.minik/kubeconfig`."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("KUBECONFIG", "")
    first = next((p for p in env.split(os.pathsep) if p.strip()), None)
    if first:
        return Path(first).expanduser()
    return DEFAULT_PATH.expanduser()


def load(path: str | os.PathLike[str] | None = None, context: str | None = None) -> KubeConfig:
    """Read a kubeconfig and resolve one context (the current one unless `context`).
    Nothing named and no file at the default path, in a pod: the pod's ServiceAccount
    (client-go's default loading rules end the same way)."""
    file = default_path(path)
    named = path or os.environ.get("KUBECONFIG", "").strip(os.pathsep)
    if not named and context is None and not file.exists() and in_a_pod():
        return in_cluster()
    try:
        text = file.read_text()
    except FileNotFoundError:
        raise KubeconfigError(f"kubeconfig {file} not found") from None
    except OSError as err:
        raise KubeconfigError(f"cannot read kubeconfig {file}: {err.strerror}") from None
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise KubeconfigError(f"kubeconfig {file} is not valid YAML: {err}") from None
    if not isinstance(doc, dict):
        raise KubeconfigError(f"kubeconfig {file} is not a YAML mapping")
    return parse(doc, context=context, path=str(file))


def in_a_pod(env: Mapping[str, str] = os.environ) -> bool:
    """The two variables the kubelet gives every pod for the `kubernetes` Service."""
    return bool(env.get("KUBERNETES_SERVICE_HOST") and env.get("KUBERNETES_SERVICE_PORT"))


def in_cluster(root: Path | None = None, env: Mapping[str, str] = os.environ) -> KubeConfig:
    """A pod's own credentials, as client-go's InClusterConfig reads them: the
    `kubernetes` Service's address from the environment, the ServiceAccount token, the
    cluster CA and the pod's namespace from the files the kubelet mounts at `root`."""
    if not in_a_pod(env):
        raise KubeconfigError(
            "not in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set"
        )
    host, port = env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"]
    if ":" in host:  # an IPv6 address (Go's net.JoinHostPort)
        host = f"[{host}]"
    root = root or SERVICEACCOUNT_DIR
    token_file = root / "token"
    try:
        token = token_file.read_text().strip()
    except OSError as err:
        raise KubeconfigError(f"cannot read the pod's token {token_file}: {err.strerror}") from None
    ca = root / "ca.crt"
    try:
        namespace = (root / "namespace").read_text().strip() or "default"
    except OSError:
        namespace = "default"
    return KubeConfig(
        server=f"https://{host}:{port}",
        token=token,
        namespace=namespace,
        certificate_authority=str(ca) if ca.exists() else None,
        token_file=str(token_file),
    )


def parse(doc: dict[str, Any], context: str | None = None, path: str | None = None) -> KubeConfig:
    """Resolve one context of an already-parsed kubeconfig document."""
    where = path or "kubeconfig"
    name = context or doc.get("current-context")
    if not name:
        raise KubeconfigError(f"{where}: no current-context is set (use --context)")
    ctx = _named(doc, "contexts", "context", name)
    if ctx is None:
        raise KubeconfigError(f'{where}: context "{name}" does not exist')
    cluster = _named(doc, "clusters", "cluster", ctx.get("cluster"))
    if cluster is None:
        raise KubeconfigError(
            f'{where}: cluster "{ctx.get("cluster")}" of context "{name}" does not exist'
        )
    server = cluster.get("server")
    if not server:
        raise KubeconfigError(f'{where}: cluster "{ctx.get("cluster")}" has no server')
    user = _named(doc, "users", "user", ctx.get("user")) or {}
    token = _token(user, where)
    token_file = None if user.get("token") else user.get("tokenFile") or user.get("token-file")
    return KubeConfig(
        server=str(server).rstrip("/"),
        token=token,
        namespace=ctx.get("namespace") or "default",
        certificate_authority=_relative(cluster.get("certificate-authority"), path),
        certificate_authority_data=_decode(
            cluster.get("certificate-authority-data"), "certificate-authority-data"
        ),
        insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify")),
        client_certificate=_relative(user.get("client-certificate"), path),
        client_key=_relative(user.get("client-key"), path),
        client_certificate_data=_decode(
            user.get("client-certificate-data"), "client-certificate-data"
        ),
        client_key_data=_decode(user.get("client-key-data"), "client-key-data"),
        context=name,
        path=path,
        token_file=str(Path(token_file).expanduser()) if token_file else None,
    )


def write_kubeconfig(
    path: str | os.PathLike[str],
    server: str,
    token: str | None = None,
    name: str = "minik",
    namespace: str | None = None,
    ca_file: str | os.PathLike[str] | None = None,
    client_cert: tuple[Path, Path] | None = None,
    embed_client_cert: bool = False,
) -> Path:
    """Write a one-context kubeconfig (for `minik up` and tests); returns its path.
    `ca_file` (the cluster CA, PEM) is embedded as certificate-authority-data. The user
    is a bearer `token` or a `client_cert` (certificate, key): named by path, or with
    `embed_client_cert` carried inline, as kubeadm's kubeconfigs carry it."""
    user: dict[str, str] = {}
    if token:
        user["token"] = token
    if client_cert is not None:
        cert, key = client_cert
        if embed_client_cert:
            user["client-certificate-data"] = base64.b64encode(cert.read_bytes()).decode()
            user["client-key-data"] = base64.b64encode(key.read_bytes()).decode()
        else:
            user["client-certificate"], user["client-key"] = str(cert), str(key)
    context: dict[str, Any] = {"cluster": name, "user": name}
    cluster: dict[str, Any] = {"server": server}
    if ca_file:
        cluster["certificate-authority-data"] = base64.b64encode(
            Path(ca_file).read_bytes()
        ).decode()
    if namespace:
        context["namespace"] = namespace
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": context}],
        "current-context": name,
        "preferences": {},
    }
    file = Path(path).expanduser()
    file.parent.mkdir(parents=True, exist_ok=True)
    write_private(file, yaml.safe_dump(doc, sort_keys=False).encode())  # it holds a secret
    return file


def _named(doc: dict[str, Any], section: str, key: str, name: Any) -> dict[str, Any] | None:
    for entry in doc.get(section) or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            body = entry.get(key)
            return body if isinstance(body, dict) else {}
    return None


def _token(user: dict[str, Any], where: str) -> str | None:
    if user.get("token"):
        return str(user["token"])
    token_file = user.get("tokenFile") or user.get("token-file")
    if token_file:
        try:
            return Path(token_file).expanduser().read_text().strip()
        except OSError as err:
            raise KubeconfigError(
                f"{where}: cannot read tokenFile {token_file}: {err.strerror}"
            ) from None
    return None


def _decode(data: str | None, field: str) -> str | None:
    if not data:
        return None
    try:
        # Go's decoder (kubectl's) skips line breaks and refuses anything else
        return base64.b64decode("".join(str(data).split()), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise KubeconfigError(f"{field} is not valid base64 PEM") from None


def _relative(file: str | None, kubeconfig_path: str | None) -> str | None:
    """Relative paths in a kubeconfig are relative to the kubeconfig's own directory."""
    if not file:
        return None
    p = Path(file).expanduser()
    if not p.is_absolute() and kubeconfig_path:
        p = Path(kubeconfig_path).parent / p
    return str(p)
