"""Issue #11, the TLS findings about certificates:

- "leaf certificates valid one year, with `minik certs renew` (or renewal at `minik
  up`)": every certificate minik issued was valid ten years, and nothing renewed one.
  Now leaves live a year (the CA ten, as kubeadm's); `minik certs renew` re-issues them
  from the same CA with new keys and the same names, as `kubeadm certs renew`, and says
  which components to restart; `minik up` renews those within 30 days of their end;
  `minik certs check-expiration` lists them.
- "the CA key kept out of the serving directory": `ca.key` lay beside the certificates
  the components read. Now it has a directory of its own (0700, the key 0600) that no
  component's flags name; an older data dir's key is moved there by `minik up`.

The data dirs are the ones `minik up` writes (LocalCluster.components: the table of
processes and every credential they use, nothing started); the apiserver checks use a
real apiserver process started from that table or by the test harness."""

from __future__ import annotations

import contextlib
import datetime
import os
import socket
import ssl
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from client.rest import Client
from deploy import processes, readiness, supervisor
from deploy.cli import main
from deploy.cluster import LocalCluster, UpOptions
from deploy.controlplane import ApiServer, Etcd
from deploy.identities import read_token_file

YEAR = datetime.timedelta(days=366)


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def lifetime(cert: x509.Certificate) -> datetime.timedelta:
    return cert.not_valid_after_utc - cert.not_valid_before_utc


def ca_key_files(root: Path, ca_cert: Path) -> list[Path]:
    """Every file under `root` holding the private key of the CA at `ca_cert`."""
    public = (
        load(ca_cert)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    found = []
    for path in root.rglob("*"):
        if not path.is_file() or b"PRIVATE KEY" not in path.read_bytes()[:200]:
            continue
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        mine = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if mine == public:
            found.append(path)
    return found


def served_certificate(port: int, ca_file: Path) -> x509.Certificate:
    context = ssl.create_default_context(cafile=str(ca_file))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def cluster_dir(root: Path, etcd_url: str = "http://127.0.0.1:1", nodes: int = 2) -> LocalCluster:
    """A data dir as `minik up` leaves it before starting anything: credentials and
    the supervisor's table (components.json)."""
    cluster = LocalCluster(root)
    cluster.data_dir.mkdir(parents=True, exist_ok=True)
    table = cluster.components(etcd_url, processes.free_port(), nodes, UpOptions())
    supervisor.write_spec(cluster.spec_file, table)
    return cluster


def leaves(cluster: LocalCluster) -> dict[str, Path]:
    return {
        "apiserver": cluster.pki / "apiserver.crt",
        "kubelet-client": cluster.pki / "kube-apiserver-kubelet-client.crt",
        "kubelet-1": cluster.data_dir / "nodes" / "minik-node-1" / "pki" / "kubelet.crt",
        "kubelet-2": cluster.data_dir / "nodes" / "minik-node-2" / "pki" / "kubelet.crt",
    }


def names(cert: x509.Certificate) -> tuple[object, ...]:
    """What renewal keeps: subject, alternative names, usages."""
    kept = []
    for kind in (x509.SubjectAlternativeName, x509.ExtendedKeyUsage):
        try:
            kept.append(cert.extensions.get_extension_for_class(kind).value)
        except x509.ExtensionNotFound:
            kept.append(None)
    return (cert.subject, *kept)


def public_key(path: Path) -> bytes:
    return (
        load(path)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


# ---- leaf certificates valid one year ------------------------------------------------


def test_served_and_issued_certificates_are_valid_one_year(
    apiserver: ApiServer, tmp_path: Path
) -> None:
    """Finding "leaf certificates valid one year": the certificate a real apiserver
    serves, the apiserver's client certificate toward kubelets and each kubelet's
    serving certificate (as `minik up` issues them) are valid at most a year; the CA
    ten years, as kubeadm's."""
    port = int(apiserver.url.rsplit(":", 1)[1])
    assert lifetime(served_certificate(port, apiserver.ca_file)) <= YEAR
    assert lifetime(load(apiserver.workdir / "pki" / "kube-apiserver-kubelet-client.crt")) <= YEAR
    cluster = cluster_dir(tmp_path / "minik")
    for name, path in leaves(cluster).items():
        assert lifetime(load(path)) <= YEAR, name
    assert lifetime(load(cluster.pki / "ca.crt")) >= datetime.timedelta(days=3649)


def test_minik_certs_renew_reissues_every_leaf(
    etcd: Etcd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Finding "leaf certificates valid one year, with `minik certs renew`": it
    re-issues every leaf from the same CA with a new key and the same names, a year
    from now, names the components to restart, and a restarted apiserver serves the
    new certificate."""
    cluster = cluster_dir(tmp_path / "minik", etcd.url)
    before = {name: load(path) for name, path in leaves(cluster).items()}
    keys = {name: public_key(path) for name, path in leaves(cluster).items()}
    ca_before = (cluster.pki / "ca.crt").read_bytes()

    assert main(["certs", "renew", "--data-dir", str(cluster.data_dir)]) == 0
    out = capsys.readouterr().out
    for name, path in leaves(cluster).items():
        after = load(path)
        assert after.serial_number != before[name].serial_number, name
        assert public_key(path) != keys[name], f"{name}: the key was kept"
        assert names(after) == names(before[name]), name
        after.verify_directly_issued_by(load(cluster.pki / "ca.crt"))
        assert lifetime(after) <= YEAR
        assert f"{path.relative_to(cluster.data_dir).with_suffix('')}.crt renewed" in out
    assert (cluster.pki / "ca.crt").read_bytes() == ca_before
    assert "You must restart" in out
    for component in ("apiserver", "kubelet-1", "kubelet-2"):
        assert component in out.split("You must restart", 1)[1]

    assert main(["certs", "check-expiration", "--data-dir", str(cluster.data_dir)]) == 0
    table = capsys.readouterr().out
    assert "pki/apiserver " in table and "364d" in table and "9y" in table

    served = _serve_from_table(cluster)
    assert served.serial_number == load(leaves(cluster)["apiserver"]).serial_number


def test_minik_certs_renew_reissues_etcds_leaves_from_etcds_ca(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """etcd's certificates (its own CA, kubeadm's `etcd-ca`) are leaves too: renewed
    from etcd's CA, not the cluster's, and listed under it."""
    cluster = cluster_dir(tmp_path / "minik")
    tls = processes.etcd_pki(cluster.pki)
    etcd_leaves = {"server": tls.cert, "client": tls.client_cert}
    before = {name: load(path).serial_number for name, path in etcd_leaves.items()}

    assert main(["certs", "renew", "--data-dir", str(cluster.data_dir)]) == 0
    out = capsys.readouterr().out
    for name, path in etcd_leaves.items():
        after = load(path)
        assert after.serial_number != before[name], name
        after.verify_directly_issued_by(load(tls.ca))
        assert f"{path.relative_to(cluster.data_dir).with_suffix('')}.crt renewed" in out

    assert main(["certs", "check-expiration", "--data-dir", str(cluster.data_dir)]) == 0
    table = capsys.readouterr().out
    server_row = next(line for line in table.splitlines() if line.startswith("pki/etcd/server "))
    assert " etcd-ca " in server_row
    assert any(line.startswith("etcd-ca ") for line in table.splitlines())


@contextlib.contextmanager
def _apiserver_of_table(cluster: LocalCluster) -> Iterator[int]:
    """The apiserver of the data dir's table (its process, its flags), ready; yields
    its port."""
    (spec,) = [c for c in supervisor.read_spec(cluster.spec_file) if c.name == "apiserver"]
    port = int(spec.argv[spec.argv.index("--secure-port") + 1])
    proc = processes.spawn("apiserver", spec.argv, cluster.logs / "apiserver.log")
    try:
        processes.wait_for(
            lambda: readiness.http_ok(f"https://127.0.0.1:{port}/readyz", str(spec.ca_file)),
            30,
            proc,
            "apiserver",
        )
        yield port
    finally:
        proc.stop()


def _serve_from_table(cluster: LocalCluster) -> x509.Certificate:
    """The certificate the apiserver of the data dir's table serves."""
    with _apiserver_of_table(cluster) as port:
        return served_certificate(port, cluster.pki / "ca.crt")


def test_components_are_who_their_client_certificates_say(
    etcd: Etcd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10: `minik up`'s components reach the apiserver with client certificates
    of the cluster CA (no tokens but the admin's), and the apiserver of the table
    reads each as its Kubernetes user; `minik certs renew` renews them and names the
    components that load them through their kubeconfigs."""
    cluster = cluster_dir(tmp_path / "minik", etcd.url)
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    path = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
    with _apiserver_of_table(cluster):
        for name, user in (
            ("kube-scheduler", "system:kube-scheduler"),
            ("kubelet-minik-node-1", "system:node:minik-node-1"),
        ):
            kubeconfig = cluster.data_dir / "kubeconfigs" / f"{name}.kubeconfig"
            assert "token" not in kubeconfig.read_text()
            with Client.from_kubeconfig(str(kubeconfig)) as client:
                r = client.request("POST", path, body=review)
            assert r.status_code == 201, r.text
            assert r.json()["status"]["userInfo"]["username"] == user
    assert set(read_token_file(cluster.token_file)) == {"admin"}

    assert main(["certs", "renew", "--data-dir", str(cluster.data_dir)]) == 0
    out = capsys.readouterr().out
    assert "pki/clients/system_kube-scheduler.crt renewed" in out
    assert "scheduler" in out.split("You must restart", 1)[1]


def test_minik_up_renews_leaves_expiring_within_30_days(tmp_path: Path) -> None:
    """Finding "leaf certificates valid one year (or renewal at `minik up`)": `minik
    up` renews a leaf within 30 days of its end and keeps one further away."""
    from componentbase.pki import renew_certificate

    cluster = cluster_dir(tmp_path / "minik")
    paths = leaves(cluster)
    renew_certificate(cluster.pki, paths["apiserver"], validity=datetime.timedelta(days=10))
    renew_certificate(cluster.pki, paths["kubelet-1"], validity=datetime.timedelta(days=100))
    soon, later = load(paths["apiserver"]), load(paths["kubelet-1"])

    again = cluster_dir(cluster.data_dir)  # what `minik up` on this data dir runs first
    assert load(paths["apiserver"]).serial_number != soon.serial_number
    assert lifetime(load(paths["apiserver"])) > datetime.timedelta(days=300)
    assert load(paths["kubelet-1"]).serial_number == later.serial_number
    assert [leaf.name for leaf in again.renewed] == ["pki/apiserver"]


# ---- the CA key kept out of the serving directory -------------------------------------


def _assert_ca_key_apart(pki: Path, root: Path) -> Path:
    """The CA's key exists once under `root`, not in `pki` itself but in a directory
    only its owner can enter, readable by its owner only; returns it."""
    (key,) = ca_key_files(root, pki / "ca.crt")
    assert key.parent != pki
    assert not (pki / "ca.key").exists()
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(key.parent).st_mode) == 0o700
    return key


def test_ca_key_is_not_in_the_serving_directory(apiserver: ApiServer, tmp_path: Path) -> None:
    """Finding "the CA key kept out of the serving directory": in the test harness's
    cluster and in a `minik up` data dir the CA's key is not among the certificates
    components read, and no component's flags name it or its directory, but the
    controller manager's --cluster-signing-key-file: it signs CertificateSigningRequests
    with it, as kubeadm's kube-controller-manager does."""
    _assert_ca_key_apart(apiserver.workdir / "pki", apiserver.workdir)
    cmdline = Path(f"/proc/{apiserver.running().pid}/cmdline").read_bytes().decode()
    assert "ca.key" not in cmdline

    cluster = cluster_dir(tmp_path / "minik")
    key = _assert_ca_key_apart(cluster.pki, cluster.data_dir)
    for component in supervisor.read_spec(cluster.spec_file):
        for word in [*component.argv, *component.env.values()]:
            if component.name == "controller" and word == f"--cluster-signing-key-file={key}":
                continue
            for path in {Path(word), Path(word.partition("=")[2])}:
                inside = path == key.parent or key.parent in path.parents
                assert not inside, (component.name, word)


def test_an_older_data_dir_gets_its_ca_key_moved(tmp_path: Path) -> None:
    """Finding "the CA key kept out of the serving directory": a data dir from before
    (ca.key beside ca.crt) has its key moved apart by `minik up`, the same CA kept and
    its still-valid certificates kept."""
    cluster = cluster_dir(tmp_path / "minik")
    (key,) = ca_key_files(cluster.data_dir, cluster.pki / "ca.crt")
    os.replace(key, cluster.pki / "ca.key")  # the old layout
    if key.parent != cluster.pki:
        key.parent.rmdir()
    ca = (cluster.pki / "ca.crt").read_bytes()
    served = {name: path.read_bytes() for name, path in leaves(cluster).items()}

    cluster_dir(cluster.data_dir)  # `minik up` again
    moved = _assert_ca_key_apart(cluster.pki, cluster.data_dir)
    assert moved.name == "ca.key"
    assert (cluster.pki / "ca.crt").read_bytes() == ca
    assert {name: path.read_bytes() for name, path in leaves(cluster).items()} == served


@pytest.fixture(autouse=True)
def _no_home_writes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """LocalCluster writes only under its data dir; keep $HOME out of it regardless."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    yield
