"""Issue #11, "The compose lab's credentials" and the lab's etcd.

Findings: the lab's `tokens.csv` (with the admin token), every kubeconfig and
`apiserver.key` were 0644, and the whole `generated/` folder (with `ca.key`) was
mounted into every container; `hostproxy` mounted the host's `/run` read-write (the
Docker socket with it); the lab's etcd listened on the lab network with no
authentication. Now each container mounts only `generated/<its own>/`, read-only,
0600 files in a 0700 directory; no container holds a CA key; the hostproxy mounts
only the proxy lock file; etcd asks for a client certificate.

These read what `deploy/lab.py` generates (into a temp dir) beside
`deploy/compose/docker-compose.yml`, without Docker; tests/e2e/test_compose_lab.py
runs the lab itself."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID

from componentbase.pki import ca_key_path
from deploy import lab
from deploy.identities import read_token_file

COMPOSE = yaml.safe_load((lab.COMPOSE_DIR / "docker-compose.yml").read_text())
SERVICES: dict[str, dict] = COMPOSE["services"]
NODE_SERVICES = {"node1": "lab-node-1", "node2": "lab-node-2", "node3": "lab-node-3"}
# who each container is to the apiserver: the client certificates its kubeconfigs carry
IDENTITIES = {
    "etcd": set(),
    "scheduler": {"system:kube-scheduler"},
    "controller": {"system:kube-controller-manager"},
    "dashboard": {"system:minik:dashboard"},
    "hostproxy": {"system:kube-proxy"},
    **{
        service: {f"system:node:{node}", "system:kube-proxy", "system:minik:ingress"}
        for service, node in NODE_SERVICES.items()
    },
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("lab")
    old = base / "generated"  # an older lab's layout, left from before
    (old / "kubeconfigs").mkdir(parents=True)
    (old / "kubeconfigs" / "admin.kubeconfig").write_text("token: old\n")
    (old / "tokens.csv").write_text('old,admin,admin,"system:masters"\n')
    lab.generate(base / "generated", host_kubeconfig=base / "kubeconfig")
    return base / "generated"


def _credential_mounts(service: str) -> list[tuple[str, str, str]]:
    """(source, target, mode) of the service's mounts from generated/."""
    out = []
    for volume in SERVICES[service].get("volumes") or []:
        source, target, *mode = volume.split(":")
        if source.startswith("./generated"):
            out.append((source, target, mode[0] if mode else "rw"))
    return out


def _own_dir(generated: Path, service: str) -> Path:
    [(source, target, mode)] = _credential_mounts(service)
    assert target == lab.CREDENTIALS and mode == "ro", (service, source, target, mode)
    return generated.parent / source.removeprefix("./")


def _referenced(service: str) -> set[str]:
    """The credential files the service's command and health check name."""
    spec = SERVICES[service]
    text = str(spec.get("command", "")) + str((spec.get("healthcheck") or {}).get("test", ""))
    return set(re.findall(re.escape(lab.CREDENTIALS) + r"/([\w.-]+)", text))


def test_no_container_mounts_all_of_generated_or_the_hosts_run() -> None:
    """Finding: `generated/` (with ca.key) went into every container, and the hostproxy
    mounted the host's /run read-write (the Docker socket in it)."""
    assert "volumes" not in COMPOSE.get("x-minik", {})
    for service, spec in SERVICES.items():
        volumes = spec.get("volumes") or []
        assert volumes, f"{service} mounts nothing (inherits a shared mount?)"
        for volume in volumes:
            source = volume.split(":")[0]
            assert source.rstrip("/") not in ("./generated", "/run", "/var/run"), (service, volume)
        docker = [v for v in volumes if "docker.sock" in v]
        assert not docker or service in NODE_SERVICES, f"{service} holds the Docker socket"
    assert "/run/minik-proxy.lock:/hostrun/minik-proxy.lock" in SERVICES["hostproxy"]["volumes"]


def test_each_container_mounts_only_its_own_credentials(generated: Path) -> None:
    """Finding: every container could read every other's token and key. Each now mounts
    one directory, read-only, holding exactly the files its command names."""
    dirs = {service: _own_dir(generated, service) for service in SERVICES}
    assert len(set(dirs.values())) == len(dirs), "two containers share a directory"
    for service, directory in dirs.items():
        held = {p.name for p in directory.iterdir()}
        assert held == _referenced(service), service


def test_generated_credentials_are_0600_in_0700_directories(generated: Path) -> None:
    """Finding: tokens.csv, the kubeconfigs and apiserver.key were 0644."""
    assert generated.stat().st_mode & 0o777 == 0o700
    assert not (generated / "tokens.csv").exists() and not (generated / "kubeconfigs").exists()
    for service in SERVICES:
        directory = _own_dir(generated, service)
        assert directory.stat().st_mode & 0o777 == 0o700, service
        for path in directory.iterdir():
            assert path.stat().st_mode & 0o777 == 0o600, path
    assert (generated / "pki").stat().st_mode & 0o777 == 0o700
    for key in (generated / "pki").rglob("*.key"):
        assert key.stat().st_mode & 0o777 == 0o600, key


def _identities_held(directory: Path) -> set[str]:
    """The users (certificate CNs) of the client certificates inside the kubeconfigs
    of a container's directory."""
    held = set()
    for path in directory.iterdir():
        if path.name.endswith("kubeconfig"):
            for user in yaml.safe_load(path.read_text())["users"]:
                assert "token" not in user["user"], path
                pem = base64.b64decode(user["user"]["client-certificate-data"])
                cert = x509.load_pem_x509_certificate(pem)
                [cn] = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
                held.add(str(cn.value))
    return held


def test_no_container_holds_a_ca_key_or_another_identitys_credentials(generated: Path) -> None:
    """Finding: ca.key (and so any identity the CA could sign) and the admin token were
    in every container. No CA key is in any container; only the apiserver holds the
    token file, with the admin's token alone; every other container holds only its own
    identities, as client certificates (issue 10: components are X.509 users)."""
    ca_keys = [ca_key_path(generated / "pki").read_bytes()]
    ca_keys.append(ca_key_path(generated / "pki" / "etcd").read_bytes())
    tokens = read_token_file(generated / "apiserver" / "tokens.csv")
    assert set(tokens) == {"admin"}
    for service in SERVICES:
        contents = [p.read_bytes() for p in _own_dir(generated, service).iterdir()]
        assert not any(key in data for key in ca_keys for data in contents), service
        if service == "apiserver":
            continue
        assert not any(tokens["admin"].encode() in c for c in contents), service
        assert _identities_held(_own_dir(generated, service)) == IDENTITIES[service], service


def test_the_lab_etcd_serves_tls_and_asks_for_client_certificates() -> None:
    """Finding: the lab's etcd listened on the lab network with no authentication."""
    etcd = SERVICES["etcd"]["command"]
    assert "--client-cert-auth" in etcd and "https://0.0.0.0:2379" in etcd
    assert "http://0.0.0.0" not in etcd
    api = SERVICES["apiserver"]["command"]
    assert "--etcd-servers https://" in api
    for flag in ("--etcd-cafile", "--etcd-certfile", "--etcd-keyfile"):
        assert flag in api
