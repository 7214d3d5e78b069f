"""`minik up --hosts`: the plan (names, addresses, subnets, routes), the refusal of
subnets the machine already routes, and the component table it gives (pure: the
namespaces and engines themselves are tests/e2e/test_hosts.py's)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy import hosts
from deploy.cluster import LocalCluster, UpOptions
from deploy.hostplan import PlanError, collisions, host_gw_routes, make_plan, pod_subnet
from deploy.supervisor import cmdline_matches, exec_argv


def plan(tmp_path: Path, count: int = 2, cidr: str = "172.30.0.0/24"):
    names = [f"t-{i}" for i in range(1, count + 1)]
    return make_plan(tmp_path, names, cidr, "10.244.0.0/16", "t-")


def test_the_gateway_is_the_first_address_and_each_host_gets_the_next(tmp_path: Path) -> None:
    p = plan(tmp_path)
    assert p.gateway == "172.30.0.1"
    assert [h.address for h in p.hosts] == ["172.30.0.2", "172.30.0.3"]
    assert [h.netns for h in p.hosts] == ["t-1", "t-2"]
    assert p.switch == "t-switch"
    assert [h.pod_cidr for h in p.hosts] == ["10.244.1.0/24", "10.244.2.0/24"]
    assert len(p.gateway_link) <= 15


def test_each_data_dir_gets_its_own_machine_link(tmp_path: Path) -> None:
    assert plan(tmp_path / "a").gateway_link != plan(tmp_path / "b").gateway_link


def test_a_host_runs_its_commands_inside_its_namespace_through_nsenter(tmp_path: Path) -> None:
    host = plan(tmp_path).hosts[0]
    argv = host.enter(["dockerd", "-H", host.docker_host])
    assert argv[:3] == ["nsenter", "--net=/var/run/netns/t-1", "--"]
    # the data root under the data dir; sockets under /run, short whatever the data dir
    assert host.data_root == f"{tmp_path}/hosts/t-1/docker"
    assert host.docker_host.startswith("unix:///run/minik-hosts/")
    assert len(host.exec_root + "/containerd/containerd.sock.ttrpc") < 107


def test_the_pod_subnet_is_the_nth_24_of_the_range() -> None:
    assert pod_subnet("10.244.0.0/16", 3) == "10.244.3.0/24"
    with pytest.raises(PlanError):
        pod_subnet("10.244.0.0/30", 1)
    with pytest.raises(PlanError):
        pod_subnet("10.244.0.0/23", 2)


@pytest.mark.parametrize(
    ("cidr", "count"),
    [("172.30.0.0/30", 2), ("10.244.5.0/24", 1), ("not-a-cidr", 1), ("fd00::/64", 1)],
)
def test_unusable_subnets_are_refused(tmp_path: Path, cidr: str, count: int) -> None:
    with pytest.raises(PlanError):
        plan(tmp_path, count, cidr)


def test_routes_the_machine_has_are_collisions_and_the_default_route_is_not(
    tmp_path: Path,
) -> None:
    p = plan(tmp_path)
    routes = [
        {"dst": "default", "gateway": "192.0.2.1", "dev": "eth0"},
        {"dst": "172.17.0.0/16", "dev": "docker0"},
        {"dst": "172.30.0.128/25", "dev": "br-x"},
        {"dst": "10.244.2.0/24", "dev": "br-y"},
        {"dst": "fe80::/64", "dev": "eth0"},
    ]
    found = collisions(p, routes)
    assert len(found) == 2
    assert "172.30.0.0/24 overlaps the route to 172.30.0.128/25 dev br-x" in found
    assert any("10.244.2.0/24" in f for f in found)


def test_host_gw_routes_every_peer_subnet_via_its_host_and_the_machine_routes_all(
    tmp_path: Path,
) -> None:
    p = plan(tmp_path, 3)
    routes = {(r.netns, r.dst, r.via) for r in host_gw_routes(p)}
    assert ("", "10.244.2.0/24", "172.30.0.3") in routes
    assert ("t-1", "10.244.2.0/24", "172.30.0.3") in routes
    assert ("t-1", "10.244.3.0/24", "172.30.0.4") in routes
    assert not any(ns == "t-1" and dst == "10.244.1.0/24" for ns, dst, _ in routes)
    assert len(routes) == 3 + 3 * 2


def test_the_plan_survives_its_record(tmp_path: Path) -> None:
    p = plan(tmp_path)
    assert type(p).from_dict(p.to_dict()) == p


def test_the_supervisor_recognises_a_component_it_started_through_nsenter() -> None:
    import os
    import sys

    argv = ["nsenter", "--net=/var/run/netns/x", "--", sys.executable, "-c", "pass"]
    assert exec_argv(argv) == [sys.executable, "-c", "pass"]
    assert exec_argv(["python", "-m", "proxy"]) == ["python", "-m", "proxy"]
    # this process runs pytest: its own cmdline never matches a wrapped other command
    assert not cmdline_matches(os.getpid(), argv)


def test_hosts_mode_binds_the_apiserver_on_the_gateway_and_runs_kubelets_and_proxies_inside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = plan(tmp_path.resolve(), 2)
    monkeypatch.setattr(hosts, "bring_up", lambda *args, **kw: made)
    cluster = LocalCluster(tmp_path)
    options = UpOptions(node_prefix="t-", hosts=True)
    table = {c.name: c for c in cluster.components("http://127.0.0.1:2379", 16443, 2, options)}
    api = table["apiserver"].argv
    assert api[api.index("--bind-address") + 1] == "172.30.0.1"
    assert table["apiserver"].ready_url == "https://172.30.0.1:16443/readyz"
    assert "server: https://172.30.0.1:16443" in (tmp_path / "kubeconfig").read_text()
    for host in made.hosts:
        kubelet = table[f"kubelet-{host.index}"].argv
        assert kubelet[:3] == host.enter([])[:3]
        assert kubelet[kubelet.index("--node-ip") + 1] == host.address
        assert kubelet[kubelet.index("--pod-cidr") + 1] == host.pod_cidr
        assert kubelet[kubelet.index("--container-runtime-endpoint") + 1] == host.docker_host
        assert kubelet[kubelet.index("--port") + 1] == "10250"
        proxy = table[f"proxy-{host.index}"]
        assert proxy.argv[:3] == host.enter([])[:3]
        assert proxy.argv[proxy.argv.index("--lock-file") + 1] == host.proxy_lock
        assert proxy.ready_pid_file == host.proxy_lock
        assert proxy.argv[proxy.argv.index("--bind-address") + 1] == host.address
    assert "proxy" not in table and "proxy-standby" not in table  # the machine is no node


def test_the_registry_serves_on_the_gateway_and_keeps_its_blobs_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    from deploy import hostregistry

    p = plan(tmp_path)
    monkeypatch.setattr(hostregistry, "binary", lambda: None)
    assert hostregistry.components(tmp_path, p) == []  # not installed: no registry
    monkeypatch.setattr(hostregistry, "binary", lambda: "/usr/bin/docker-registry")
    [registry] = hostregistry.components(tmp_path, p)
    assert registry.argv[:2] == ["/usr/bin/docker-registry", "serve"]
    assert registry.ready_url == "http://172.30.0.1:5000/v2/"
    config = yaml.safe_load(Path(registry.argv[2]).read_text())
    assert config["http"]["addr"] == "172.30.0.1:5000"
    assert config["storage"]["filesystem"]["rootdirectory"] == str(tmp_path / "registry" / "data")


def test_engines_trust_the_cluster_registry_over_plain_http(tmp_path: Path) -> None:
    from deploy.hostengines import dockerd_argv

    argv = dockerd_argv(plan(tmp_path).hosts[0], "172.30.0.1:5000")
    assert argv[argv.index("--insecure-registry") + 1] == "172.30.0.1:5000"
    assert "--bridge=none" in argv and "--iptables=false" in argv


@pytest.mark.parametrize(
    ("image", "repository", "tag"),
    [("web:v1", "web", "v1"), ("web", "web", "latest"), ("a/b:1.0", "a/b", "1.0")],
)
def test_pushed_names_keep_the_tag(image: str, repository: str, tag: str) -> None:
    from deploy.hostregistry import _split

    assert _split(image) == (repository, ":", tag)
