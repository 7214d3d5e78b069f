"""The two halves of kubeadm's token bootstrap that need no cluster of our own: a
token's Secret made (`kubeadm token create`), and the cluster CA found through the
cluster-info ConfigMap (kubeadm's token discovery). `minik join` (deploy/join) and
`minik up --hosts` (deploy/hostjoin) both use them."""

from __future__ import annotations

import base64
import time

import yaml

from api import bootstraptoken as bt
from api.bootstrapjws import KUBECONFIG_KEY, SIGNATURE_KEY_PREFIX, detached_token_is_valid
from api.errors import ApiError
from api.resources import CONFIGMAPS, SECRETS
from client.errors import ConnectionFailed
from client.kubeconfig import KubeConfig
from client.rest import Client
from deploy.jointoken import JoinError, split_token, token_secret, verify_pin
from deploy.kubeadmbootstrap import CLUSTER_INFO, PUBLIC_NAMESPACE

DISCOVERY_RETRY_SECONDS = 1.0


def create_token(api: Client, token: str, ttl_seconds: float, description: str = "") -> None:
    """kubeadm's `token create`: the token's Secret in kube-system."""
    secret = token_secret(token, ttl_seconds, time.time(), description)
    api.create(SECRETS, secret, namespace=bt.NAMESPACE)


def _cluster_info(api: Client) -> dict[str, str]:
    try:
        cm = api.get(CONFIGMAPS, CLUSTER_INFO, namespace=PUBLIC_NAMESPACE)
    except ApiError as err:
        raise JoinError(
            f"cannot read the {CLUSTER_INFO} ConfigMap in {PUBLIC_NAMESPACE}: {err.message}"
        ) from err
    data = cm.get("data") or {}
    if not data.get(KUBECONFIG_KEY):
        raise JoinError(
            f"there is no {KUBECONFIG_KEY} key in the {CLUSTER_INFO} ConfigMap: this server "
            "is not set up for token bootstrapping"
        )
    return data


def _signed_cluster_info(api: Client, token_id: str, timeout: float) -> dict[str, str]:
    """cluster-info once it holds a signature for the token: the bootstrapsigner adds
    it a moment after the token is made (kubeadm's getClusterInfo polls the same way)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            data = _cluster_info(api)
            if data.get(SIGNATURE_KEY_PREFIX + token_id):
                return data
            error = JoinError(
                f"token id {token_id!r} is invalid for this cluster or it has expired: "
                f"{CLUSTER_INFO} holds no {SIGNATURE_KEY_PREFIX}{token_id} signature "
                "(`minik token create` on the control plane makes a new token)"
            )
        except ConnectionFailed as err:
            error = JoinError(f"cannot reach {api.server}: {err.message}")
        if time.monotonic() >= deadline:
            raise error
        time.sleep(DISCOVERY_RETRY_SECONDS)


def _cluster_ca(kubeconfig: str) -> bytes:
    try:
        doc = yaml.safe_load(kubeconfig)
        return base64.b64decode(doc["clusters"][0]["cluster"]["certificate-authority-data"])
    except (ValueError, KeyError, IndexError, TypeError, yaml.YAMLError) as err:
        raise JoinError(f"the {CLUSTER_INFO} ConfigMap holds no usable kubeconfig") from err


def discover_ca(
    server: str, token: str, pins: list[str], unsafe_skip: bool, timeout: float = 300
) -> bytes:
    """The cluster CA (PEM) as kubeadm's token discovery finds it: cluster-info read
    over TLS not yet verified must carry a JWS over its kubeconfig made with this
    token (so the server knows the token), its CA must match a pin (unless
    --discovery-token-unsafe-skip-ca-verification), and cluster-info read again with
    that CA trusted must hold the same kubeconfig."""
    token_id, token_secret = split_token(token)
    with Client(KubeConfig(server, insecure_skip_tls_verify=True)) as insecure:
        first = _signed_cluster_info(insecure, token_id, timeout)
    kubeconfig = first[KUBECONFIG_KEY]
    signature = first[SIGNATURE_KEY_PREFIX + token_id]
    if not detached_token_is_valid(signature, kubeconfig, token_id, token_secret):
        raise JoinError(
            f"failed to verify the JWS signature of {CLUSTER_INFO} for token id "
            f"{token_id!r}: refusing to trust this server"
        )
    ca_pem = _cluster_ca(kubeconfig)
    if pins:
        verify_pin(ca_pem, pins)
    elif not unsafe_skip:
        raise JoinError(
            "cluster CA found in cluster-info was not validated: pass --ca-cert-hash "
            "(`minik token create --print-join-command` prints it) or "
            "--discovery-token-unsafe-skip-ca-verification"
        )
    trusted = KubeConfig(server, certificate_authority_data=ca_pem.decode())
    with Client(trusted) as api:
        second = _cluster_info(api)  # the server must hold a certificate from that CA
    if second[KUBECONFIG_KEY] != kubeconfig:
        raise JoinError(
            f"the second kubeconfig from the {CLUSTER_INFO} ConfigMap (using validated TLS) "
            "was different from the first"
        )
    return ca_pem
