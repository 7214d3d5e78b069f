"""`minik up --hosts`' worker hosts join the kubeadm way (deploy/hostjoin.py,
deploy/nodefiles.py): which hosts join, what their components wait for, what the join
writes (the token, discovery and the proxy's ServiceAccount token faked here: the
real path is tests/e2e/test_hosts*.py's and tests/e2e/test_join.py's)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from client.kubeconfig import KubeConfig, load
from componentbase.pki import ensure_ca
from deploy import hostjoin, hosts, kubeadmbootstrap
from deploy.cluster import LocalCluster, UpOptions
from deploy.hostcontrolplanes import LOCAL_API
from deploy.hostplan import Plan, make_plan
from deploy.jointoken import ca_cert_hash, split_token
from deploy.nodefiles import KUBELET_CLIENT_CERT, has_client_certificate

MACHINE = "https://172.30.0.1:16443"


def plan(data_dir: Path) -> Plan:
    return make_plan(data_dir, ["t-1", "t-2"], "172.30.0.0/24", "10.244.0.0/16", "t-")


def store_client_cert(cert_dir: Path, days: float) -> None:
    """A kubelet-client-current.pem (certificate, then key) ending `days` from now."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "system:node:t-1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=2))
        .not_valid_after(now + datetime.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    cert_dir.mkdir(parents=True, exist_ok=True)
    (cert_dir / KUBELET_CLIENT_CERT).write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def test_a_kubelet_has_a_client_certificate_only_while_its_stored_one_is_valid(
    tmp_path: Path,
) -> None:
    assert not has_client_certificate(tmp_path / "none")
    store_client_cert(tmp_path / "valid", days=300)
    assert has_client_certificate(tmp_path / "valid")
    store_client_cert(tmp_path / "expired", days=-1)
    assert not has_client_certificate(tmp_path / "expired")
    (tmp_path / "garbled").mkdir()
    (tmp_path / "garbled" / KUBELET_CLIENT_CERT).write_text("not a certificate")
    assert not has_client_certificate(tmp_path / "garbled")


def test_a_fresh_up_makes_only_hosts_without_a_valid_certificate_join_again(
    tmp_path: Path,
) -> None:
    p = plan(tmp_path)
    for host in p.hosts:
        files = hostjoin.node_files(tmp_path, host.node)
        files.dir.mkdir(parents=True)
        for path in (files.bootstrap, files.kubelet, files.proxy):
            path.write_text("old")
    store_client_cert(hostjoin.cert_dir(tmp_path, "t-1"), days=300)  # t-1 bootstrapped
    assert hostjoin.forget_unjoined(tmp_path, p) == ["t-2"]
    kept, again = (hostjoin.node_files(tmp_path, n) for n in ("t-1", "t-2"))
    assert kept.bootstrap.exists() and kept.kubelet.exists() and kept.proxy.exists()
    # t-2's kubelet and agent wait for its join; its proxy keeps its year-long token
    assert not again.bootstrap.exists() and not again.kubelet.exists() and again.proxy.exists()
    assert [h.node for h in hostjoin.unjoined(tmp_path, p)] == ["t-2"]


def test_hosts_reach_the_machine_or_with_control_plane_hosts_their_own_balancer(
    tmp_path: Path,
) -> None:
    assert hostjoin.hosts_server(tmp_path, MACHINE) == MACHINE
    (tmp_path / "controlplanehosts.json").write_text('{"members": [], "made": {}}')
    assert hostjoin.hosts_server(tmp_path, MACHINE) == LOCAL_API


def test_the_join_makes_one_token_pins_the_ca_and_writes_what_the_hosts_wait_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca_pem = ensure_ca(tmp_path / "pki")[0].read_bytes()
    calls: dict[str, list] = {"token": [], "discover": [], "proxy": []}
    monkeypatch.setattr(hostjoin, "create_token", lambda api, *a: calls["token"].append(a))

    def discover(server, token, pins, unsafe, timeout):
        calls["discover"].append((server, token, pins, unsafe))
        return ca_pem

    def proxy(files, server, token, token_server=None):
        calls["proxy"].append((files.dir.name, server, token, token_server))
        files.proxy.write_text("proxy")
        return files.proxy

    monkeypatch.setattr(hostjoin, "discover_ca", discover)
    monkeypatch.setattr(hostjoin, "write_proxy_kubeconfig", proxy)
    p = plan(tmp_path)
    admin = KubeConfig(MACHINE, token="admin")
    assert hostjoin.join_hosts(tmp_path, p, admin, timeout=5) == ["t-1", "t-2"]
    [(token, ttl, description)] = calls["token"]
    split_token(token)
    assert ttl == 24 * 3600 and description == hostjoin.TOKEN_DESCRIPTION
    assert calls["discover"] == [(MACHINE, token, [ca_cert_hash(ca_pem)], False)]
    assert [c[1:] for c in calls["proxy"]] == [(MACHINE, token, MACHINE)] * 2
    for host in p.hosts:
        files = hostjoin.node_files(tmp_path, host.node)
        bootstrap = load(str(files.bootstrap))
        assert bootstrap.server == MACHINE and bootstrap.token == token
        assert files.ca_file.read_bytes() == ca_pem
    # joined: a repairing `up` makes no token
    assert hostjoin.join_hosts(tmp_path, p, admin, timeout=5) == []
    assert len(calls["token"]) == 1


def test_hosts_components_wait_for_their_join_and_up_issues_their_kubelets_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = plan(tmp_path.resolve())
    monkeypatch.setattr(hosts, "bring_up", lambda *args, **kw: made)
    cluster = LocalCluster(tmp_path)
    options = UpOptions(node_prefix="t-", hosts=True)
    table = {c.name: c for c in cluster.components("http://127.0.0.1:2379", 16443, 2, options)}
    for host in made.hosts:
        files = hostjoin.node_files(tmp_path.resolve(), host.node)
        kubelet = table[f"kubelet-{host.index}"]
        argv = kubelet.argv
        assert argv[argv.index("--kubeconfig") + 1] == str(files.kubelet)
        assert argv[argv.index("--bootstrap-kubeconfig") + 1] == str(files.bootstrap)
        assert "--rotate-certificates" in argv and "--tls-cert-file" in argv
        assert kubelet.start_after_file == str(files.bootstrap)
        agent = table[f"netagent-{host.index}"]
        assert agent.argv[agent.argv.index("--kubeconfig") + 1] == str(files.kubelet)
        assert agent.start_after_file == str(files.kubelet)
        proxy = table[f"proxy-{host.index}"]
        assert proxy.argv[proxy.argv.index("--kubeconfig") + 1] == str(files.proxy)
        assert proxy.start_after_file == str(files.proxy)
    clients = {p.name for p in (tmp_path / "pki" / "clients").iterdir()}
    assert not any("system_node" in name for name in clients), clients
    assert "system_kube-proxy.crt" in clients  # the machine's network agent's


def test_the_kube_proxy_service_account_may_publish_load_balancer_status() -> None:
    """minik's proxy writes LoadBalancer status (system:minik:proxy): a joined proxy,
    the kube-proxy ServiceAccount, is bound to that role as well as node-proxier."""
    bindings = {
        obj["metadata"]["name"]: obj
        for res, obj in kubeadmbootstrap.proxy_objects()
        if obj["kind"] == "ClusterRoleBinding"
    }
    for name, role in (("kubeadm:node-proxier", "system:node-proxier"),
                       ("minik:kube-proxy", "system:minik:proxy")):  # fmt: skip
        assert bindings[name]["roleRef"]["name"] == role
        assert bindings[name]["subjects"] == [
            {"kind": "ServiceAccount", "name": "kube-proxy", "namespace": "kube-system"}
        ]
