"""`minik up`'s options that are checked before anything starts."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from componentbase import addonsargv
from deploy import hostpodnet, processes
from deploy.cli import main
from deploy.cluster import (
    ClusterError,
    UpOptions,
    check_node_prefix,
    check_pod_network_flags,
)
from deploy.hostplan import DEFAULT_HOSTS_POD_CIDR


def test_node_names_follow_the_prefix() -> None:
    options = UpOptions(node_prefix="lab-b-")
    assert [options.node_name(i) for i in (1, 2)] == ["lab-b-1", "lab-b-2"]
    assert UpOptions().node_name(1) == "minik-node-1"


@pytest.mark.parametrize("prefix", ["minik-node-", "bench-3f2a1c-", "n", "rack.a."])
def test_valid_prefixes(prefix: str) -> None:
    check_node_prefix(prefix)


@pytest.mark.parametrize("prefix", ["Node-", "node_", "-node", "a..b-", "x" * 300])
def test_invalid_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(ClusterError, match="--node-prefix"):
        check_node_prefix(prefix)


def test_up_refuses_a_bad_prefix_before_starting_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "cluster"
    assert main(["up", "--node-prefix", "Bad_", "--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("minik: --node-prefix 'Bad_'") and err.count("\n") == 1
    assert not data_dir.exists()


def test_up_refuses_an_api_port_another_server_listens_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not a wait for readiness against that server's certificate: at once, by name."""
    import socket

    data_dir = tmp_path / "cluster"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = str(busy.getsockname()[1])
        assert main(["up", "--api-port", taken, "--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"minik: port {taken} on 127.0.0.1 is in use") and err.count("\n") == 1
    assert not data_dir.exists()


def test_the_component_table_starts_the_apiserver_first_and_one_proxy(tmp_path: Path) -> None:
    from deploy.cluster import LocalCluster

    cluster = LocalCluster(tmp_path)
    table = cluster.components("http://127.0.0.1:2379", 16443, 2, UpOptions(node_prefix="t-"))
    names = [c.name for c in table]
    assert names == [
        "apiserver",
        "scheduler",
        "controller",
        "kubelet-1",
        "kubelet-2",
        "proxy",
        "addons",
    ]
    assert table[0].ready_url == "https://127.0.0.1:16443/readyz"
    assert [c.extra.get("node") for c in table[3:5]] == ["t-1", "t-2"]
    proxy = table[5]  # one: the supervisor restarts it at once, no standby
    assert proxy.argv[-2:] == ["--lock-wait", "-1"] and proxy.ready_pid_file
    assert proxy.initial_backoff <= 0.1


def test_every_component_records_where_its_prometheus_metrics_are(tmp_path: Path) -> None:
    from deploy.cluster import LocalCluster

    cluster = LocalCluster(tmp_path)
    table = cluster.components("http://127.0.0.1:2379", 16443, 1, UpOptions(node_prefix="t-"))
    by_name = {c.name: c for c in table}
    assert by_name["apiserver"].extra["metrics"] == "https://127.0.0.1:16443/metrics"
    for name in ("scheduler", "controller"):
        argv = by_name[name].argv
        port = argv[argv.index("--secure-port") + 1]
        assert by_name[name].extra["metrics"] == f"https://127.0.0.1:{port}/metrics"
    proxy = by_name["proxy"]
    address = proxy.argv[proxy.argv.index("--metrics-bind-address") + 1]
    assert proxy.extra["metrics"] == f"http://{address}/metrics"
    kubelet = by_name["kubelet-1"]
    assert kubelet.extra["metrics"].endswith(
        f":{kubelet.argv[kubelet.argv.index('--port') + 1]}/metrics"
    )


def test_the_metrics_server_and_the_apiserver_share_one_secret(tmp_path: Path) -> None:
    from deploy.cluster import LocalCluster

    cluster = LocalCluster(tmp_path)
    table = cluster.components("http://127.0.0.1:2379", 16443, 1, UpOptions(node_prefix="t-"))
    by_name = {c.name: c for c in table}

    def secret_of(argv: list[str]) -> Path:
        return Path(argv[argv.index("--requestheader-secret-file") + 1])

    metrics = addonsargv.split_command(by_name["addons"].argv)[1]["metrics"]
    secret = secret_of(metrics)
    assert secret_of(by_name["apiserver"].argv) == secret
    assert secret.stat().st_mode & 0o777 == 0o600
    first = secret.read_text()
    assert len(first.strip()) == 64
    cluster.components("http://127.0.0.1:2379", 16443, 1, UpOptions(node_prefix="t-"))
    assert secret.read_text() == first  # made once
    kubeconfig = metrics[metrics.index("--kubeconfig") + 1]
    assert kubeconfig.endswith("metrics-server.kubeconfig")


def test_the_addons_run_in_one_process_each_with_its_own_credentials(tmp_path: Path) -> None:
    from deploy.cluster import LocalCluster

    cluster = LocalCluster(tmp_path)
    options = UpOptions(node_prefix="t-")
    table = cluster.components("http://127.0.0.1:2379", 16443, 1, options)
    host = {c.name: c for c in table}["addons"]
    head, parts = addonsargv.split_command(host.argv)
    assert head[-2:] == ["-m", "addons"] and list(parts) == ["ingress", "metrics", "dashboard"]
    kubeconfigs = {name: flags[flags.index("--kubeconfig") + 1] for name, flags in parts.items()}
    assert {name: Path(k).name for name, k in kubeconfigs.items()} == {
        "ingress": "ingress.kubeconfig",
        "metrics": "metrics-server.kubeconfig",
        "dashboard": "dashboard.kubeconfig",
    }
    dashboard = parts["dashboard"]
    port = dashboard[dashboard.index("--port") + 1]
    assert host.extra == {
        "ingress": f"http://{options.node_ip}:{options.ingress_http_port}",
        "dashboard": f"http://127.0.0.1:{port}/",
    }


def test_the_apiserver_enforces_baseline_and_warns_restricted_kube_system_exempt(
    tmp_path: Path,
) -> None:
    """`minik up`'s Pod Security default (issue 11), read back the way the apiserver
    reads its --admission-control-config-file."""
    from api.podsecurity.levels import BASELINE, RESTRICTED
    from apiserver.admission.podsecurity import config
    from deploy.cluster import LocalCluster

    table = LocalCluster(tmp_path).components(
        "http://127.0.0.1:2379", 16443, 1, UpOptions(node_prefix="t-")
    )
    argv = next(c for c in table if c.name == "apiserver").argv
    loaded = config.load(argv[argv.index("--admission-control-config-file") + 1])
    assert loaded.defaults.enforce.level == BASELINE
    assert loaded.defaults.warn.level == loaded.defaults.audit.level == RESTRICTED
    assert loaded.exemptions.namespaces == {"kube-system"}


def test_the_dashboard_has_its_own_user_and_loopback_address(tmp_path: Path) -> None:
    from deploy.cluster import LocalCluster

    cluster = LocalCluster(tmp_path)
    options = UpOptions(node_prefix="t-", dashboard_port=processes.free_port())
    host = cluster.components("http://127.0.0.1:2379", 16443, 1, options)[-1]
    argv = addonsargv.split_command(host.argv)[1]["dashboard"]
    assert argv[argv.index("--kubeconfig") + 1].endswith("dashboard.kubeconfig")
    port = str(options.dashboard_port)
    assert argv[argv.index("--bind-address") + 1 :][:3] == ["127.0.0.1", "--port", port]
    assert host.extra["dashboard"] == f"http://127.0.0.1:{port}/"


def test_a_busy_dashboard_port_gives_way_to_a_free_one(tmp_path: Path) -> None:
    import socket

    from deploy.cluster import LocalCluster

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        options = UpOptions(node_prefix="t-", dashboard_port=taken)
        table = LocalCluster(tmp_path).components("http://127.0.0.1:2379", 16443, 1, options)
    url = table[-1].extra["dashboard"]
    assert url.startswith("http://127.0.0.1:") and url != f"http://127.0.0.1:{taken}/"


def test_minik_dashboard_without_a_cluster_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dashboard", "--data-dir", str(tmp_path)]) == 1
    assert "no dashboard running" in capsys.readouterr().out


def flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


@pytest.mark.parametrize(("node_ip", "local"), [("127.0.0.1", True), ("192.0.2.10", False)])
def test_the_apiserver_and_kubelets_trust_each_other_through_the_ca(
    tmp_path: Path, node_ip: str, local: bool
) -> None:
    """The apiserver reaches kubelets with its own client certificate and verifies
    theirs with the CA; kubelets serve a certificate from the CA for their node IP and
    check callers' certificates with it. Local kubelets only for a loopback node IP."""
    from cryptography import x509

    from deploy.cluster import LocalCluster

    cluster = LocalCluster(tmp_path)
    options = UpOptions(node_prefix="t-", node_ip=node_ip)
    by_name = {c.name: c for c in cluster.components("http://127.0.0.1:2379", 16443, 1, options)}
    api, kubelet = by_name["apiserver"].argv, by_name["kubelet-1"].argv
    ca = str(cluster.pki / "ca.crt")
    assert flag(api, "--kubelet-certificate-authority") == ca
    client = x509.load_pem_x509_certificate(
        Path(flag(api, "--kubelet-client-certificate")).read_bytes()
    )
    assert client.subject.rfc4514_string() == "CN=kube-apiserver-kubelet-client,O=system:masters"
    assert ("--kubelet-allow-local-addresses=true" in api) is local
    assert flag(kubelet, "--client-ca-file") == ca
    served = x509.load_pem_x509_certificate(Path(flag(kubelet, "--tls-cert-file")).read_bytes())
    sans = served.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert node_ip in {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}
    assert by_name["kubelet-1"].extra["metrics"].startswith(f"https://{node_ip}:")


def test_minik_up_encrypts_secrets_with_a_key_kept_across_restarts(tmp_path: Path) -> None:
    """Issue 11, "Secrets were stored in plaintext in etcd": `minik up` gives the
    apiserver an EncryptionConfiguration (aescbc, a random 32-byte key, identity second
    for Secrets written before), mode 0600, made once per cluster."""
    from apiserver.encryption import Encryption, load
    from deploy.cluster import LocalCluster

    cluster = LocalCluster(tmp_path)
    table = cluster.components("http://127.0.0.1:2379", 16443, 1, UpOptions(node_prefix="t-"))
    argv = next(c for c in table if c.name == "apiserver").argv
    path = Path(argv[argv.index("--encryption-provider-config") + 1])
    assert path.parent == tmp_path
    assert path.stat().st_mode & 0o777 == 0o600
    first = path.read_text()
    encryption = Encryption(load(path))
    chain = encryption.for_key("/registry/secrets/default/s")
    assert chain is not None
    assert chain.writer.prefix == b"k8s:enc:aescbc:v1:key1:"
    assert [t.prefix for t in chain.transformers] == [b"k8s:enc:aescbc:v1:key1:", b""]
    assert encryption.for_key("/registry/configmaps/default/c") is None
    assert "secret: " in first and len(set(first.split("secret: ")[1].split()[0])) > 8

    cluster.components("http://127.0.0.1:2379", 16443, 1, UpOptions(node_prefix="t-"))
    assert path.read_text() == first  # the same key after a restart
    other = LocalCluster(tmp_path / "other")
    other.components("http://127.0.0.1:2379", 16443, 1, UpOptions(node_prefix="t-"))
    assert (tmp_path / "other" / path.name).read_text() != first  # each cluster its own


def test_minik_up_event_ttl_reaches_the_apiserver_and_is_its_default_otherwise(
    tmp_path: Path,
) -> None:
    """`minik up --event-ttl 5m` (a soak shorter than kube-apiserver's 1h default), read
    back the way the apiserver parses its command line."""
    from apiserver.config import parse_args
    from deploy.cluster import LocalCluster

    def apiserver_event_ttl(options: UpOptions) -> float:
        table = LocalCluster(tmp_path).components("http://127.0.0.1:2379", 16443, 1, options)
        argv = next(c for c in table if c.name == "apiserver").argv
        return parse_args(argv[argv.index("apiserver") + 1 :]).event_ttl

    assert apiserver_event_ttl(UpOptions(node_prefix="t-", event_ttl=300)) == 300
    assert apiserver_event_ttl(UpOptions(node_prefix="t-")) == 3600


def test_allocate_node_cidrs_reaches_the_controller_only_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from deploy.cluster import LocalCluster

    cluster = LocalCluster(tmp_path)

    def controller_argv(options: UpOptions) -> list[str]:
        table = cluster.components("http://127.0.0.1:2379", 16443, 1, options)
        return next(c.argv for c in table if c.name == "controller")

    assert "--allocate-node-cidrs" not in controller_argv(UpOptions(node_prefix="t-"))
    argv = controller_argv(UpOptions(node_prefix="t-", cluster_cidr="10.244.0.0/16"))
    assert argv[-2:] == ["--allocate-node-cidrs", "--cluster-cidr=10.244.0.0/16"]
    data_dir = tmp_path / "refused"
    up = ["up", "--allocate-node-cidrs", "--cluster-cidr", "10.244.0/x", "--data-dir"]
    assert main([*up, str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert err == "minik: --cluster-cidr: invalid CIDR address: 10.244.0/x\n"
    assert not data_dir.exists()


def test_an_even_control_plane_count_with_hosts_is_refused_before_anything_starts(tmp_path, capsys):
    data_dir = tmp_path / "refused"
    argv = ["up", "--hosts", "2", "--control-planes", "2", "--data-dir", str(data_dir)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("minik: --control-planes must be odd")
    assert err.count("\n") == 1
    assert not data_dir.exists()


def test_node_ipam_for_control_planes_in_hosts_is_refused_in_one_line():
    """Checked on the flags alone (main() would make hosts if the check were missing)."""
    args = argparse.Namespace(
        hosts=3,
        control_planes=3,
        allocate_node_cidrs=True,
        hosts_pod_cidr=DEFAULT_HOSTS_POD_CIDR,
        pod_network_backend=hostpodnet.HOST_GW,
    )
    with pytest.raises(ClusterError) as err:
        check_pod_network_flags(args)
    assert "--allocate-node-cidrs with --control-planes and --hosts" in str(err.value)
    assert "\n" not in str(err.value)
    check_pod_network_flags(argparse.Namespace(**{**vars(args), "control_planes": 1}))


def _flag(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_the_apiserver_probes_this_clusters_scheduler_and_controller_for_componentstatuses(
    tmp_path: Path,
) -> None:
    """They listen on free ports: `kubectl get cs` must probe those, not 10259/10257."""
    from deploy.cluster import LocalCluster

    table = LocalCluster(tmp_path).components(
        "http://127.0.0.1:2379", 16443, 1, UpOptions(node_prefix="t-")
    )
    by_name = {c.name: c for c in table}
    apiserver = by_name["apiserver"].argv
    for peer, flag in (
        ("scheduler", "--component-status-scheduler-url"),
        ("controller", "--component-status-controller-manager-url"),
    ):
        port = _flag(by_name[peer].argv, "--secure-port")
        assert _flag(apiserver, flag) == f"https://127.0.0.1:{port}/healthz"


def test_each_control_plane_apiserver_probes_its_own_scheduler(tmp_path: Path) -> None:
    from deploy.cluster import LocalCluster

    table = LocalCluster(tmp_path).components(
        None, 16443, 1, UpOptions(node_prefix="t-", control_planes=3)
    )
    by_name = {c.name: c for c in table}
    ports = set()
    for i in (1, 2, 3):
        port = _flag(by_name[f"scheduler-{i}"].argv, "--secure-port")
        url = _flag(by_name[f"apiserver-{i}"].argv, "--component-status-scheduler-url")
        assert url == f"https://127.0.0.1:{port}/healthz"
        ports.add(port)
    assert len(ports) == 3
