"""Pod spec -> `docker create` arguments: resources, the sandbox (network, ports, DNS),
the kubelet's resolv.conf, containers joining the sandbox."""

from __future__ import annotations

from kubelet import dockerlabels as L
from kubelet.containerspec import (
    DnsSettings,
    container_spec,
    resolv_conf,
    resource_config,
    sandbox_spec,
)
from tests.unit.kubelet.builders import POD


def test_resource_limits_become_docker_settings() -> None:
    config = resource_config(
        {"resources": {"limits": {"cpu": "1500m", "memory": "256Mi"}, "requests": {"cpu": "250m"}}}
    )
    assert config == {
        "nano_cpus": 1_500_000_000,
        "mem_limit": 256 * 1024 * 1024,
        "memswap_limit": 256 * 1024 * 1024,
        "cpu_shares": 256,
    }
    assert resource_config({"resources": {"limits": {"cpu": "1m"}}})["cpu_shares"] == 2
    assert resource_config({}) == {}


def test_sandbox_owns_network_hostname_ports_and_dns() -> None:
    spec = sandbox_spec(
        POD,
        node="n1",
        attempt=0,
        image="minik/pause:1",
        network="minik",
        host_ip="10.0.0.1",
        dns=DnsSettings(("10.96.0.10",), "cluster.local"),
    )
    assert spec.name == "k8s_POD_web_shop_1234-abcd_0" and spec.hostname == "web"
    hc = spec.host_config
    assert hc["network_mode"] == "minik" and hc["ipc_mode"] == "shareable"
    assert hc["port_bindings"] == {"80/tcp": [("10.0.0.1", 8080)], "53/udp": [("127.0.0.2", 5353)]}
    assert sorted(spec.ports) == [(53, "udp"), (80, "tcp")]
    assert hc["dns"] == ["10.96.0.10"]
    assert hc["dns_search"] == ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local"]
    host = {**POD, "spec": {**POD["spec"], "hostNetwork": True}}
    spec = sandbox_spec(
        host,
        node="n1",
        attempt=0,
        image="p",
        network="minik",
        host_ip="10.0.0.1",
        dns=DnsSettings(),
    )
    assert spec.host_config["network_mode"] == "host" and spec.hostname is None
    assert "port_bindings" not in spec.host_config


def test_the_kubelet_writes_resolv_conf_for_pods_with_their_own_nameservers() -> None:
    """Docker would point containers on the pod network at its embedded 127.0.0.11."""
    cluster = DnsSettings(("10.96.0.10",), "cluster.local")
    app = POD["spec"]["containers"][0]
    assert resolv_conf(POD, app, cluster) == (
        "search shop.svc.cluster.local svc.cluster.local cluster.local\n"
        "nameserver 10.96.0.10\n"
        "options ndots:5\n"
    )
    assert resolv_conf(POD, app, DnsSettings()) is None  # no cluster DNS: Docker's
    default = {**POD, "spec": {**POD["spec"], "dnsPolicy": "Default"}}
    assert resolv_conf(default, app, cluster) is None
    host = {**POD, "spec": {**POD["spec"], "hostNetwork": True}}
    assert resolv_conf(host, app, cluster) is None
    custom = {
        **POD,
        "spec": {
            **POD["spec"],
            "dnsPolicy": "None",
            "dnsConfig": {"nameservers": ["192.0.2.1"], "searches": ["a.example"]},
        },
    }
    assert resolv_conf(custom, app, cluster) == "search a.example\nnameserver 192.0.2.1\n"
    mounted = {**app, "volumeMounts": [{"name": "x", "mountPath": "/etc/resolv.conf"}]}
    assert resolv_conf(POD, mounted, cluster) is None


def test_container_joins_the_sandbox() -> None:
    container = {
        "name": "app",
        "image": "web:1",
        "workingDir": "/srv",
        "terminationMessagePath": "/tmp/msg",
        "securityContext": {"runAsUser": 1000, "runAsGroup": 2000, "privileged": True},
        "resources": {"limits": {"memory": "64Mi"}},
    }
    spec = container_spec(
        POD,
        container,
        node="n1",
        init=False,
        restart_count=1,
        sandbox_id="sbid",
        env=[("A", "1")],
        command=["/bin/app"],
        args=None,
        binds=["/h:/c:ro"],
        termination_log="/root/log",
    )
    assert spec.entrypoint == ["/bin/app"] and spec.command == []  # image CMD is ignored
    assert spec.environment == ["A=1"] and spec.working_dir == "/srv"
    assert spec.user == "1000:2000"
    hc = spec.host_config
    assert hc["network_mode"] == "container:sbid" and hc["ipc_mode"] == "container:sbid"
    assert hc["binds"] == ["/h:/c:ro", "/root/log:/tmp/msg:rw"]
    assert hc["privileged"] is True and hc["mem_limit"] == 64 * 1024 * 1024
    assert "pid_mode" not in hc
    plain = container_spec(
        POD,
        {"name": "x", "image": "i"},
        node="n1",
        init=True,
        restart_count=0,
        sandbox_id="s",
        env=[],
        command=None,
        args=["a"],
        binds=[],
        termination_log=None,
    )
    assert plain.entrypoint is None and plain.command == ["a"] and plain.user is None
    assert plain.labels[L.CONTAINER_KIND] == "init"


def test_sandbox_hostname_and_subdomain_give_the_pod_fqdn() -> None:
    """spec.hostname + spec.subdomain: /etc/hosts maps web-0.nginx.shop.svc.<domain>."""
    pod = {**POD, "spec": {**POD["spec"], "hostname": "web-0", "subdomain": "nginx"}}
    spec = sandbox_spec(
        pod,
        node="n1",
        attempt=0,
        image="p",
        network="minik",
        host_ip="10.0.0.1",
        dns=DnsSettings(("10.96.0.10",), "cluster.local"),
    )
    assert spec.hostname == "web-0"
    assert spec.domainname == "nginx.shop.svc.cluster.local"
    plain = sandbox_spec(
        POD, node="n1", attempt=0, image="p", network="m", host_ip="1.1.1.1", dns=DnsSettings()
    )
    assert plain.hostname == "web" and plain.domainname is None


def _with(**spec: object) -> dict:
    return {**POD, "spec": {**POD["spec"], **spec}}


def _joined(pod: dict) -> dict:
    return container_spec(
        pod,
        {"name": "x", "image": "i"},
        node="n1",
        init=False,
        restart_count=0,
        sandbox_id="sb",
        env=[],
        command=None,
        args=None,
        binds=[],
        termination_log=None,
    ).host_config


def _sandbox(pod: dict) -> dict:
    dns = DnsSettings()
    return sandbox_spec(
        pod, node="n1", attempt=0, image="p", network="minik", host_ip="10.0.0.1", dns=dns
    ).host_config


def test_host_ipc_and_host_pid_take_the_hosts_namespaces() -> None:
    """Docker lets no container join an IPC namespace its donor does not own, so with
    hostIPC each container takes the host's itself; hostPID likewise."""
    both = _with(hostIPC=True, hostPID=True)
    assert _sandbox(both)["ipc_mode"] == "host" and _sandbox(both)["pid_mode"] == "host"
    joined = _joined(both)
    assert joined["ipc_mode"] == "host" and joined["pid_mode"] == "host"
    assert joined["network_mode"] == "container:sb"
    assert "pid_mode" not in _sandbox(POD) and "pid_mode" not in _joined(POD)
    assert _joined(_with(hostIPC=True))["ipc_mode"] == "host"
    assert "pid_mode" not in _joined(_with(hostIPC=True))
    assert _joined(_with(shareProcessNamespace=True))["pid_mode"] == "container:sb"
