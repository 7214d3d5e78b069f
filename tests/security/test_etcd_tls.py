"""Issue #11, "etcd and data at rest": `minik up`'s etcd served every Secret to anyone.

Finding: `minik up` ran etcd on a plain-http loopback port with no authentication, so
any local user (or a hostNetwork pod) read every Secret straight from etcd. Now etcd
serves TLS with its own CA (kubeadm's `pki/etcd/`) and `--client-cert-auth`, and the
apiserver reaches it with Kubernetes' `--etcd-cafile`, `--etcd-certfile` and
`--etcd-keyfile`.

The etcd and apiserver here are started with exactly the argv `minik up` gives them
(LocalCluster.components), as real processes on free loopback ports; no Docker."""

from __future__ import annotations

import asyncio
import base64
import secrets
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from apiserver.storage import Storage, StorageError
from deploy import processes, readiness, supervisor
from deploy.cluster import LocalCluster, UpOptions
from deploy.controlplane import make_workdir, remove_workdir

SECRET_VALUE = "s3cr3t-" + secrets.token_hex(4)


@dataclass
class UpControlPlane:
    cluster: LocalCluster
    etcd: supervisor.Component
    apiserver: supervisor.Component
    procs: list[processes.Process]

    @property
    def etcd_url(self) -> str:
        return self.etcd.extra["url"]

    def flag(self, name: str) -> str:
        argv = self.apiserver.argv
        return argv[argv.index(name) + 1]

    def api(self) -> httpx.Client:
        token = processes_token(self.cluster)
        return httpx.Client(
            base_url=self.apiserver.extra["url"],
            verify=ssl.create_default_context(cafile=str(self.cluster.pki / "ca.crt")),
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )


def processes_token(cluster: LocalCluster) -> str:
    from deploy.identities import read_token_file

    return read_token_file(cluster.token_file)["admin"]


def _start(component: supervisor.Component, logs: Path) -> processes.Process:
    """The component's process, ready as the supervisor judges it; stopped if not."""
    assert component.ready_url
    cert_file = getattr(component, "cert_file", None)  # (no such field before the fix)
    args = ((cert_file, component.key_file or ""),) if cert_file else ()
    proc = processes.spawn(
        component.name, component.argv, logs / f"{component.name}.log", env=component.env
    )
    try:
        processes.wait_for(
            lambda: readiness.http_ok(component.ready_url or "", component.ca_file, *args),
            60,
            proc,
            component.name,
        )
    except BaseException:
        proc.stop()
        raise
    return proc


@pytest.fixture(scope="module")
def up() -> Iterator[UpControlPlane]:
    workdir = make_workdir("minik-etcdtls-")
    cluster = LocalCluster(workdir)
    options = UpOptions(node_prefix="etcdtls-", dashboard_port=processes.free_port())
    table = {c.name: c for c in cluster.components(None, processes.free_port(), 1, options)}
    procs: list[processes.Process] = []
    try:
        procs.append(_start(table["etcd"], cluster.logs))
        procs.append(_start(table["apiserver"], cluster.logs))
        yield UpControlPlane(cluster, table["etcd"], table["apiserver"], procs)
    finally:
        for proc in reversed(procs):
            proc.stop()
        remove_workdir(workdir)


@pytest.fixture(scope="module")
def stored_secret(up: UpControlPlane) -> str:
    """A Secret written through the apiserver (which therefore reaches etcd); its key."""
    name = f"etcdtls-{secrets.token_hex(3)}"
    body = {"metadata": {"name": name}, "stringData": {"password": SECRET_VALUE}}
    with up.api() as api:
        r = api.post("/api/v1/namespaces/default/secrets", json=body)
        assert r.status_code == 201, r.text
        r = api.get(f"/api/v1/namespaces/default/secrets/{name}")
        assert r.status_code == 200
        assert base64.b64decode(r.json()["data"]["password"]).decode() == SECRET_VALUE
    return f"/registry/secrets/default/{name}"


def _range(url: str, key: str, verify: ssl.SSLContext | bool) -> httpx.Response:
    """etcd's JSON gateway read of one key: what a local user would try."""
    body = {"key": base64.b64encode(key.encode()).decode()}
    return httpx.post(f"{url}/v3/kv/range", json=body, verify=verify, timeout=5)


def _context(ca: str, cert: tuple[Path, Path] | tuple[str, str] | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ca)
    if cert:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


def test_minik_up_runs_etcd_with_tls_and_client_cert_auth(up: UpControlPlane) -> None:
    """Finding: `minik up`'s etcd listened on plain http with no authentication."""
    argv = up.etcd.argv
    assert "--client-cert-auth" in argv and "--peer-client-cert-auth" in argv
    for flag in ("--cert-file", "--key-file", "--trusted-ca-file"):
        assert Path(argv[argv.index(flag) + 1]).is_file()
    assert argv[argv.index("--listen-client-urls") + 1].startswith("https://127.0.0.1:")
    assert up.etcd_url.startswith("https://")
    assert up.flag("--etcd-servers") == up.etcd_url
    ca = Path(up.flag("--etcd-cafile"))
    key = Path(up.flag("--etcd-keyfile"))
    assert ca == up.cluster.pki / "etcd" / "ca.crt"
    assert Path(up.flag("--etcd-certfile")).name == "kube-apiserver-etcd-client.crt"
    assert key.stat().st_mode & 0o777 == 0o600
    assert Path(argv[argv.index("--key-file") + 1]).stat().st_mode & 0o777 == 0o600
    assert (up.cluster.pki / "etcd").stat().st_mode & 0o777 == 0o700


def test_etcd_refuses_a_plain_http_client(up: UpControlPlane, stored_secret: str) -> None:
    """Finding: any local user read every Secret from etcd over plain http on loopback."""
    plain = up.etcd_url.replace("https://", "http://")
    try:
        r = _range(plain, stored_secret, verify=False)
    except httpx.HTTPError:
        return  # refused outright
    assert r.status_code != 200
    assert SECRET_VALUE not in r.text and "kvs" not in r.text


def test_etcd_refuses_https_without_a_client_certificate(
    up: UpControlPlane, stored_secret: str
) -> None:
    """Finding: etcd asked no caller who they were; a TLS client with no certificate, or
    with one from the cluster CA (not etcd's), does not get in."""
    ca = up.flag("--etcd-cafile")
    cluster_ca_client = processes.kubelet_client_cert(
        up.cluster.pki
    )  # cluster CA, O system:masters
    for cert in (None, cluster_ca_client):
        with pytest.raises(httpx.HTTPError):
            _range(up.etcd_url, stored_secret, verify=_context(ca, cert))
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{up.etcd_url}/health", verify=_context(ca, cert), timeout=5)


def test_the_apiserver_client_certificate_is_the_one_that_reads_etcd(
    up: UpControlPlane, stored_secret: str
) -> None:
    """The apiserver's certificate reaches the very etcd the Secret was written to (so
    the refusals above are about the certificate, not a wrong address)."""
    ctx = _context(
        up.flag("--etcd-cafile"), (up.flag("--etcd-certfile"), up.flag("--etcd-keyfile"))
    )
    r = _range(up.etcd_url, stored_secret, verify=ctx)
    assert r.status_code == 200 and len(r.json()["kvs"]) == 1


def test_storage_over_tls_needs_the_client_certificate(up: UpControlPlane) -> None:
    """apiserver/storage.py with --etcd-cafile alone cannot connect; with
    --etcd-certfile/--etcd-keyfile as well it reads and writes."""
    from apiserver.etcdclient import EtcdTLSFiles

    async def attempt(files: EtcdTLSFiles) -> str | None:
        storage = Storage([up.etcd_url], files)
        try:
            await storage.connect()
            key = f"/registry/etcdtls-probe/{secrets.token_hex(3)}"
            await storage.create(key, {"metadata": {"name": "probe"}})
            got = await storage.get(key)
            return (got or {}).get("metadata", {}).get("name")
        finally:
            await storage.close()

    ca = up.flag("--etcd-cafile")
    with pytest.raises(StorageError):
        asyncio.run(attempt(EtcdTLSFiles(ca_file=ca)))
    full = EtcdTLSFiles(ca, up.flag("--etcd-certfile"), up.flag("--etcd-keyfile"))
    assert asyncio.run(attempt(full)) == "probe"
