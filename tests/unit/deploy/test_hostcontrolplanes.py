"""`minik up --control-planes 3 --hosts 2`'s table (deploy/hostcontrolplanes.py): each
control plane's processes inside its own host, the members' addresses in their flags
and certificates, a balancer in each worker host and one on the machine. The
namespaces themselves are made by e2e (tests/e2e/test_hosts_ha.py); here they are not."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from client.kubeconfig import load
from componentbase import addonsargv
from deploy import hostcontrolplanes, hostjoin, hostnet, hosts
from deploy.cluster import LocalCluster, UpOptions
from deploy.hostcontrolplanes import LOCAL_API, plan_members
from deploy.hostplan import make_plan


def _flag(argv: list[str], name: str) -> str:
    assert argv.count(name) == 1, (name, argv)
    return argv[argv.index(name) + 1]


@pytest.fixture
def table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    plan = make_plan(tmp_path.resolve(), ["t-1", "t-2"], "172.30.0.0/24", "10.244.0.0/16", "t-")
    monkeypatch.setattr(hosts, "bring_up", lambda *args, **kw: plan)
    monkeypatch.setattr(hostnet, "create_host", lambda *args, **kw: None)
    monkeypatch.setattr(hostnet, "add_route", lambda *args, **kw: None)
    options = UpOptions(node_prefix="t-", hosts=True, control_planes=3)
    components = LocalCluster(tmp_path).components(None, 16443, 2, options)
    return {"plan": plan, **{c.name: c for c in components}}


def test_control_plane_hosts_take_the_top_addresses_and_are_named_by_the_prefix(
    tmp_path: Path,
) -> None:
    plan = make_plan(tmp_path, ["t-1", "t-2"], "172.30.0.0/24", "10.244.0.0/16", "t-")
    members = plan_members(tmp_path, plan, 3, "t-")
    assert [m.netns for m in members] == ["t-cp1", "t-cp2", "t-cp3"]
    assert [m.address for m in members] == ["172.30.0.252", "172.30.0.253", "172.30.0.254"]
    assert [m.port for m in members] == ["c1", "c2", "c3"]
    small = make_plan(tmp_path, ["t-1", "t-2"], "172.30.0.0/29", "10.244.0.0/16", "t-")
    with pytest.raises(hostcontrolplanes.ControlPlaneError):
        plan_members(tmp_path, small, 5, "t-")


def test_each_member_runs_inside_its_host_on_kubernetes_ports(table: dict) -> None:
    members = ["172.30.0.252", "172.30.0.253", "172.30.0.254"]
    peers = ",".join(f"etcd-{i}=https://{a}:2380" for i, a in enumerate(members, 1))
    for i, address in enumerate(members, 1):
        etcd = table[f"etcd-{i}"].argv
        assert etcd[:2] == ["nsenter", f"--net=/var/run/netns/t-cp{i}"]
        assert _flag(etcd, "--initial-cluster") == peers
        assert _flag(etcd, "--advertise-client-urls") == f"https://{address}:2379"
        assert _flag(etcd, "--listen-peer-urls") == f"https://{address}:2380"
        api = table[f"apiserver-{i}"].argv
        assert api[:2] == etcd[:2]
        assert _flag(api, "--secure-port") == "6443"
        assert _flag(api, "--bind-address") == "0.0.0.0"
        assert _flag(api, "--advertise-address") == address
        assert _flag(api, "--etcd-servers").split(",")[0] == f"https://{address}:2379"
        for part in ("scheduler", "controller"):
            argv = table[f"{part}-{i}"].argv
            assert argv[:2] == etcd[:2] and "--leader-elect" in argv
            assert load(_flag(argv, "--kubeconfig")).server == LOCAL_API
    assert [table[f"etcd-{i}"].ready_url is not None for i in (1, 2, 3)] == [False, False, True]


def test_balancers_in_every_worker_and_on_the_machine(table: dict, tmp_path: Path) -> None:
    servers = [f"https://172.30.0.{n}:6443" for n in (252, 253, 254)]
    lb = table["apilb"].argv
    assert lb[:3] != ["nsenter"] and _flag(lb, "--listen") == "172.30.0.1:16443"
    assert [lb[i + 1] for i, a in enumerate(lb) if a == "--server"] == servers
    for host in table["plan"].hosts:
        inside = table[f"apilb-{host.index}"].argv
        assert inside[:3] == host.enter([])[:3]
        assert _flag(inside, "--listen") == "127.0.0.1:6443"
        # the host joins through its balancer: its bootstrap and proxy kubeconfigs
        # (written at the join, deploy/hostjoin) name it, and kubelet.conf after them
        files = hostjoin.node_files(tmp_path.resolve(), host.node)
        assert _flag(table[f"kubelet-{host.index}"].argv, "--bootstrap-kubeconfig") == str(
            files.bootstrap
        )
        assert _flag(table[f"proxy-{host.index}"].argv, "--kubeconfig") == str(files.proxy)
        assert _flag(table[f"netagent-{host.index}"].argv, "--kubeconfig") == str(files.kubelet)
    assert hostjoin.hosts_server(tmp_path, "https://172.30.0.1:16443") == LOCAL_API
    # kubectl and the machine's components use the machine's balancer
    metrics = addonsargv.split_command(table["addons"].argv)[1]["metrics"]
    assert load(_flag(metrics, "--kubeconfig")).server == "https://172.30.0.1:16443"
    assert metrics[-2:] == ["--bind-address", "172.30.0.1"]


def test_the_certificates_name_every_member(table: dict, tmp_path: Path) -> None:
    for cert in ("apiserver.crt", "etcd/server.crt"):
        loaded = x509.load_pem_x509_certificate((tmp_path / "pki" / cert).read_bytes())
        san = loaded.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
        assert {"172.30.0.252", "172.30.0.253", "172.30.0.254"} <= ips, cert
