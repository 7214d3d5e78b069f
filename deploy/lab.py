"""Credentials for the docker-compose lab (deploy/compose): the CA and serving
certificate, one token per component, and kubeconfigs — for the containers (server
https://apiserver:6443 on the lab network) and for the host (deploy/compose/kubeconfig,
through the published port). Run: python -m deploy.lab"""

from __future__ import annotations

import sys
from pathlib import Path

from client.kubeconfig import write_kubeconfig
from componentbase.pki import ensure_service_account_key, ensure_serving_cert, issue_serving_cert
from deploy.encryption import FILE_NAME as ENCRYPTION_FILE
from deploy.encryption import ensure_encryption_config
from deploy.identities import ensure_tokens, identities
from deploy.podsecurity import FILE_NAME, write_admission_config
from deploy.processes import kubelet_client_cert

COMPOSE_DIR = Path(__file__).resolve().parent / "compose"
APISERVER_IP = "10.250.0.3"
HOST_PORT = 16443
NODES = {"lab-node-1": "10.250.0.11", "lab-node-2": "10.250.0.12", "lab-node-3": "10.250.0.13"}


def generate(out: Path = COMPOSE_DIR / "generated") -> Path:
    out.mkdir(parents=True, exist_ok=True)
    files = ensure_serving_cert(out / "pki", ("apiserver", APISERVER_IP))
    tokens_path = out / "tokens.csv"
    tokens = ensure_tokens(tokens_path, identities(list(NODES)))
    tokens_path.chmod(0o644)  # read by the apiserver container
    for name, token in tokens.items():
        path = write_kubeconfig(
            out / "kubeconfigs" / f"{name}.kubeconfig",
            f"https://{APISERVER_IP}:6443",
            token,
            ca_file=files.ca_cert,
        )
        path.chmod(0o644)
    # Pod Security Standards as `minik up` sets them: enforce baseline, warn/audit restricted
    write_admission_config(out / FILE_NAME)
    sa = ensure_service_account_key(out / "pki")
    # The apiserver's client certificate toward kubelets, and each kubelet's serving
    # certificate from the CA (the apiserver verifies it: --kubelet-certificate-authority).
    # Secrets encrypted at rest, as `minik up` does (a key made once: deploy/encryption.py)
    encryption = ensure_encryption_config(out / ENCRYPTION_FILE)
    keys = [files.cert, files.key, sa.key, encryption, *kubelet_client_cert(out / "pki")]
    for node, ip in NODES.items():
        served = issue_serving_cert(out / "pki", out / "pki", node, node, (ip, node))
        keys += [served.cert, served.key]
    for path in keys:
        path.chmod(0o644)
    host = write_kubeconfig(
        COMPOSE_DIR / "kubeconfig",
        f"https://127.0.0.1:{HOST_PORT}",
        tokens["admin"],
        ca_file=files.ca_cert,
    )
    return host


def main() -> int:
    print(f"lab credentials ready; host kubeconfig: {generate()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
