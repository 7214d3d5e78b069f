"""`minik up --hosts` pod network choices (pure): node IPAM instead of minik's own
subnets (the kubelets take their Node's podCIDR, the machine gets an agent of its own
instead of static routes, collisions are checked over the whole cluster CIDR), and
the backend the hosts' agents run."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy import cli, hostpodnet, hosts
from deploy.cluster import LocalCluster, UpOptions
from deploy.hostplan import collisions, host_gw_routes, make_plan


def ipam_plan(tmp_path: Path):
    return make_plan(tmp_path, ["t-1", "t-2"], "172.30.0.0/24", "10.121.0.0/16", "t-", True)


def test_with_node_ipam_no_host_has_a_subnet_of_the_plans_and_up_routes_none(
    tmp_path: Path,
) -> None:
    p = ipam_plan(tmp_path)
    assert [h.pod_cidr for h in p.hosts] == ["", ""] and p.pod_cidr == "10.121.0.0/16"
    assert hostpodnet.node_ipam(p)
    assert host_gw_routes(p) == []  # the agents route the Nodes' subnets, the machine's too
    assert hosts.kubelet_flags(p.hosts[0])[-1] == "--pod-cidr-from-node"


def test_with_node_ipam_the_whole_cluster_cidr_must_be_free(tmp_path: Path) -> None:
    p = ipam_plan(tmp_path)
    found = collisions(p, [{"dst": "10.121.200.0/24", "dev": "x"}])
    assert found == ["10.121.0.0/16 overlaps the route to 10.121.200.0/24 dev x"]


def components(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **options) -> dict:
    calls: list[tuple] = []

    def bring_up(*args, **kw):
        calls.append((args, kw))
        return make_plan(
            tmp_path.resolve(), ["t-1", "t-2"], args[3], args[4], "t-", kw["node_ipam"]
        )

    monkeypatch.setattr(hosts, "bring_up", bring_up)
    up = UpOptions(node_prefix="t-", hosts=True, **options)
    table = LocalCluster(tmp_path).components("http://127.0.0.1:2379", 16443, 2, up)
    return {"calls": calls, **{c.name: c for c in table}}


def test_allocate_node_cidrs_with_hosts_runs_node_ipam_and_a_machine_agent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = components(
        tmp_path, monkeypatch, cluster_cidr="10.121.0.0/16", pod_network_backend="vxlan"
    )
    (args, kw) = table["calls"][0]
    assert args[4] == "10.121.0.0/16" and kw == {"node_ipam": True}
    controller = table["controller"].argv
    assert "--allocate-node-cidrs" in controller and "--cluster-cidr=10.121.0.0/16" in controller
    for i in (1, 2):
        assert "--pod-cidr-from-node" in table[f"kubelet-{i}"].argv
        agent = table[f"netagent-{i}"].argv
        assert agent[:2] == ["nsenter", f"--net=/var/run/netns/t-{i}"]
        assert agent[agent.index("--backend") + 1] == "vxlan"
    machine = table[hostpodnet.MACHINE_AGENT].argv
    assert machine[0] != "nsenter" and "--no-node" in machine
    assert machine[machine.index("--cluster-cidr") + 1] == "10.121.0.0/16"
    assert "kube-proxy" in machine[machine.index("--kubeconfig") + 1]


def test_without_node_ipam_the_kubelets_keep_minik_subnets_and_the_machine_no_agent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = components(tmp_path, monkeypatch)
    kubelet = table["kubelet-1"].argv
    assert kubelet[kubelet.index("--pod-cidr") + 1] == "10.244.1.0/24"
    assert "--allocate-node-cidrs" not in table["controller"].argv
    agent = table["netagent-1"].argv
    assert agent[agent.index("--backend") + 1] == "host-gw"
    assert hostpodnet.MACHINE_AGENT not in table


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--pod-network-backend", "vxlan"], "--pod-network-backend is for --hosts"),
        (
            ["--hosts", "2", "--allocate-node-cidrs", "--hosts-pod-cidr", "10.9.0.0/16"],
            "the pod range is --cluster-cidr",
        ),
    ],
)
def test_pod_network_flags_that_do_not_go_together_are_refused(
    argv: list[str], message: str, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    assert cli.main(["up", *argv, "--data-dir", str(tmp_path)]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "pids.json").exists()
