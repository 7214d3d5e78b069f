"""What the kubelet asks Docker for and reads back: labels, names, create arguments,
inspect parsing — plus log request handling and the Node/Lease builders."""

from __future__ import annotations

from typing import Any

import pytest

from api.timefmt import micro_time, rfc3339
from kubelet import dockerlabels as L
from kubelet.containerspec import (
    DnsSettings,
    container_spec,
    resolv_conf,
    resource_config,
    sandbox_spec,
)
from kubelet.logs import LogOptions, LogRequestError, log_container_id
from kubelet.node import NodeFacts, comparable_status, lease_object, node_conditions, node_object
from kubelet.records import CREATED, EXITED, RUNNING, from_inspect, state_of
from kubelet.statusmanager import normalized
from kubelet.timefmt import parse_docker_time
from kubelet.volumes import VolumeError, container_binds, volume_sources

POD: dict[str, Any] = {
    "metadata": {"name": "web", "namespace": "shop", "uid": "1234-abcd"},
    "spec": {
        "nodeName": "n1",
        "terminationGracePeriodSeconds": 45,
        "containers": [
            {
                "name": "app",
                "image": "web:1",
                "ports": [
                    {"containerPort": 80, "hostPort": 8080, "protocol": "TCP"},
                    {
                        "containerPort": 53,
                        "hostPort": 5353,
                        "protocol": "UDP",
                        "hostIP": "127.0.0.2",
                    },
                    {"containerPort": 9090},
                ],
            }
        ],
    },
}


def test_names_and_labels() -> None:
    assert L.sandbox_name(POD, 2) == "k8s_POD_web_shop_1234-abcd_2"
    assert L.docker_name(POD, "app", 0) == "k8s_app_web_shop_1234-abcd_0"
    labels = L.container_labels(
        "n1",
        POD,
        POD["spec"]["containers"][0],
        init=False,
        restart_count=3,
        sandbox_id="sb",
        termination_log="/x/log",
    )
    assert labels[L.NODE] == "n1" and labels[L.POD_UID] == "1234-abcd"
    assert labels[L.POD_NAME] == "web" and labels[L.POD_NAMESPACE] == "shop"
    assert labels[L.CONTAINER_NAME] == "app" and labels[L.RESTART_COUNT] == "3"
    assert labels[L.SANDBOX] == "false" and labels[L.CONTAINER_KIND] == "app"
    assert labels[L.POD_GRACE] == "45" and labels[L.TERMINATION_LOG] == "/x/log"
    sandbox = L.sandbox_labels("n1", POD, 1)
    assert sandbox[L.SANDBOX] == "true" and sandbox[L.RESTART_COUNT] == "1"
    assert L.node_filter("n1") == {"label": ["io.minik.node=n1"]}


def test_container_hash_follows_the_spec() -> None:
    c = {"name": "a", "image": "x:1"}
    assert L.container_hash(c) == L.container_hash(dict(reversed(list(c.items()))))
    assert L.container_hash(c) != L.container_hash({"name": "a", "image": "x:2"})


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


def inspect_data(**state: Any) -> dict[str, Any]:
    return {
        "Id": "abc",
        "Created": "2024-05-01T12:00:00.5Z",
        "Image": "sha256:img",
        "Config": {
            "Image": "web:1",
            "Labels": {
                L.POD_UID: "u",
                L.POD_NAME: "web",
                L.POD_NAMESPACE: "shop",
                L.CONTAINER_NAME: "app",
                L.RESTART_COUNT: "2",
                L.SANDBOX: "false",
                L.CONTAINER_KIND: "app",
                L.CONTAINER_IMAGE: "web:1",
                L.SANDBOX_ID: "sb",
                L.POD_GRACE: "7",
            },
        },
        "State": {
            "Status": "exited",
            "ExitCode": 3,
            "StartedAt": "2024-05-01T12:00:01Z",
            "FinishedAt": "2024-05-01T12:00:09.9Z",
            "OOMKilled": False,
            "Error": "",
            **state,
        },
        "NetworkSettings": {"Networks": {"minik": {"IPAddress": "172.18.0.4"}}},
        "HostConfig": {},
    }


def test_records_from_inspect() -> None:
    record = from_inspect(inspect_data(), "minik")
    assert record is not None
    assert (record.name, record.attempt, record.state, record.exit_code) == ("app", 2, EXITED, 3)
    assert record.image == "web:1" and record.image_id == "sha256:img"
    assert record.sandbox_id == "sb" and record.grace_seconds == 7 and record.ip == ""
    assert record.finished_at == pytest.approx(parse_docker_time("2024-05-01T12:00:09.9Z"))
    assert from_inspect({"Config": {"Labels": {}}}, "minik") is None  # not ours


def test_docker_states() -> None:
    assert state_of({"Status": "running"}) == RUNNING
    assert state_of({"Status": "created"}) == CREATED
    assert state_of({"Status": "created", "Error": "exec failed"}) == EXITED
    assert state_of({"Status": "dead"}) == EXITED
    failed = from_inspect(inspect_data(Status="created", ExitCode=0, Error="no such file"), "m")
    assert failed is not None and failed.exit_code == 128 and failed.error == "no such file"


def test_sandbox_ip() -> None:
    data = inspect_data(Status="running")
    data["Config"]["Labels"][L.SANDBOX] = "true"
    record = from_inspect(data, "minik")
    assert record is not None and record.sandbox and record.ip == "172.18.0.4"


def test_volumes() -> None:
    pod = {
        "metadata": {"uid": "u1"},
        "spec": {
            "volumes": [
                {"name": "cache", "emptyDir": {}},
                {"name": "host", "hostPath": {"path": "/var/log"}},
            ]
        },
    }
    from pathlib import Path

    sources = volume_sources(pod, Path("/root/k"), "n1")
    assert sources == {
        "cache": Path("/root/k/pods/u1/volumes/emptydir/cache"),
        "host": Path("/var/log"),
    }
    binds = container_binds(
        {
            "volumeMounts": [
                {"name": "cache", "mountPath": "/c"},
                {"name": "host", "mountPath": "/l", "readOnly": True, "subPath": "app"},
            ]
        },
        sources,
        create_sub_paths=False,
    )
    assert binds == ["/root/k/pods/u1/volumes/emptydir/cache:/c:rw", "/var/log/app:/l:ro"]
    with pytest.raises(VolumeError, match="not supported"):
        volume_sources(
            {"metadata": {}, "spec": {"volumes": [{"name": "s", "nfs": {"server": "x"}}]}},
            Path("/r"),
            "n",
        )
    with pytest.raises(VolumeError, match="subPath"):
        container_binds(
            {"volumeMounts": [{"name": "cache", "mountPath": "/c", "subPath": "../etc"}]}, sources
        )


def test_log_options() -> None:
    options = LogOptions.parse(
        {
            "follow": "true",
            "tailLines": "10",
            "timestamps": "1",
            "sinceSeconds": "60",
            "limitBytes": "100",
        }
    )
    assert options.follow and options.timestamps and not options.previous
    assert options.tail_lines == 10 and options.limit_bytes == 100
    assert options.since(1000.0) == 940.0
    with pytest.raises(LogRequestError):
        LogOptions.parse({"tailLines": "-1"})
    with pytest.raises(LogRequestError):
        LogOptions.parse({"sinceSeconds": "1", "sinceTime": "2024-01-01T00:00:00Z"})


def test_which_container_logs() -> None:
    pod = {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "app"}]}}
    running = {
        "containerStatuses": [
            {
                "name": "app",
                "containerID": "docker://new",
                "state": {"running": {}},
                "lastState": {"terminated": {"containerID": "docker://old"}},
            }
        ]
    }
    assert log_container_id(pod, running, "app", previous=False) == "new"
    assert log_container_id(pod, running, "app", previous=True) == "old"
    looping = {
        "containerStatuses": [
            {
                "name": "app",
                "containerID": "docker://new",
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"containerID": "docker://new"}},
            }
        ]
    }
    assert log_container_id(pod, looping, "app", previous=False) == "new"
    pulling = {
        "containerStatuses": [
            {"name": "app", "state": {"waiting": {"reason": "ErrImagePull"}}, "lastState": {}}
        ]
    }
    with pytest.raises(LogRequestError, match="is waiting to start: image can't be pulled"):
        log_container_id(pod, pulling, "app", previous=False)
    with pytest.raises(LogRequestError, match='previous terminated container "app"'):
        log_container_id(pod, pulling, "app", previous=True)
    with pytest.raises(LogRequestError, match="not valid for pod web"):
        log_container_id(pod, running, "other", previous=False)


def test_node_and_lease_builders() -> None:
    facts = NodeFacts(
        name="n1",
        internal_ip="10.0.0.1",
        kubelet_port=10250,
        container_runtime_version="docker://20.10.24",
    )
    node = node_object(facts, {"cpu": "2", "memory": "1Gi", "pods": "110"})
    assert node["spec"] == {}
    with_cidr = node_object(facts, {"cpu": "2"}, pod_cidr="10.244.1.0/24")
    assert with_cidr["spec"] == {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]}
    status = node["status"]
    assert status["addresses"] == [
        {"type": "InternalIP", "address": "10.0.0.1"},
        {"type": "Hostname", "address": "n1"},
    ]
    assert status["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10250}}
    assert status["nodeInfo"]["containerRuntimeVersion"] == "docker://20.10.24"
    assert status["allocatable"] == status["capacity"]
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "n1"
    ready = {c["type"]: c for c in status["conditions"]}["Ready"]
    assert ready["status"] == "True" and ready["reason"] == "KubeletReady"
    later = node_conditions(True, status["conditions"], now=2_000_000_000)
    assert {c["type"]: c for c in later}["Ready"]["lastTransitionTime"] == ready[
        "lastTransitionTime"
    ]
    down = node_conditions(False, later, message="container runtime is down", now=2_000_000_001)
    down_ready = {c["type"]: c for c in down}["Ready"]
    assert down_ready["status"] == "False" and down_ready["lastTransitionTime"] == rfc3339(
        2_000_000_001
    )
    assert comparable_status({"conditions": later}) == comparable_status(
        {"conditions": [{**c, "lastHeartbeatTime": "x"} for c in later]}
    )
    lease = lease_object("n1", "node-uid", now=0)
    assert lease["metadata"]["namespace"] == "kube-node-lease"
    assert lease["spec"] == {
        "holderIdentity": "n1",
        "leaseDurationSeconds": 40,
        "renewTime": "1970-01-01T00:00:00.000000Z",
    }
    assert lease["metadata"]["ownerReferences"][0] == {
        "apiVersion": "v1",
        "kind": "Node",
        "name": "n1",
        "uid": "node-uid",
    }


def test_times_and_normalisation() -> None:
    assert rfc3339(0) == "1970-01-01T00:00:00Z"
    assert micro_time(1.25) == "1970-01-01T00:00:01.250000Z"
    assert parse_docker_time("0001-01-01T00:00:00Z") is None
    assert parse_docker_time("1970-01-01T01:00:00+01:00") == 0
    assert parse_docker_time("1970-01-01T00:00:01.123456789Z") == pytest.approx(1.123456789)
    assert normalized({"a": None, "b": [{"c": None, "d": 1}]}) == {"b": [{"d": 1}]}
