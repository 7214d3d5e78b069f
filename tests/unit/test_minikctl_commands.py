"""The pure parts of minikctl's other commands: drain's pod filters, set image's patch,
service URLs, port-forward's port specs, --sort-by, Go durations and the deadline
that bounds a blocking watch."""

from __future__ import annotations

import argparse
import time

import pytest

from api.timefmt import format_duration
from minikctl import drain
from minikctl.context import CLIError
from minikctl.duration import duration_arg
from minikctl.main import build_parser
from minikctl.portforward import container_port, parse_port_spec, service_target_port
from minikctl.service import service_urls
from minikctl.setcmd import image_patch, split_args
from minikctl.sortby import sort_objects, sort_table
from minikctl.waiting import WaitTimeout, until_deadline


def drain_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["drain", "n1", *argv])


def pod(owner_kind=None, phase="Running", volumes=(), annotations=None):
    meta = {"name": "p", "namespace": "ns", "annotations": annotations or {}}
    if owner_kind:
        meta["ownerReferences"] = [
            {"kind": owner_kind, "apiVersion": "apps/v1", "name": "o", "controller": True}
        ]
    return {"metadata": meta, "spec": {"volumes": list(volumes)}, "status": {"phase": phase}}


@pytest.mark.parametrize(
    ("p", "argv", "verdict"),
    [
        (pod("ReplicaSet"), [], (True, "Okay", "")),
        (pod(), [], (False, "Error", drain.UNMANAGED_FATAL)),
        (pod(), ["--force"], (True, "Warning", drain.UNMANAGED_WARNING)),
        (pod(phase="Succeeded"), [], (True, "Okay", "")),
        (pod("DaemonSet"), [], (False, "Error", drain.DAEMONSET_FATAL)),
        (pod("DaemonSet"), ["--ignore-daemonsets"], (False, "Warning", drain.DAEMONSET_WARNING)),
        (pod(annotations={drain.MIRROR: "x"}), [], (False, "Skip", "")),
        (
            pod("ReplicaSet", volumes=[{"name": "d", "emptyDir": {}}]),
            [],
            (False, "Error", drain.LOCAL_STORAGE_FATAL),
        ),
        (
            pod("ReplicaSet", volumes=[{"name": "d", "emptyDir": {}}]),
            ["--delete-emptydir-data"],
            (True, "Okay", ""),
        ),
    ],
)
def test_drain_filters(p, argv, verdict):
    v = drain.classify(p, drain_args(*argv))
    assert (v.delete, v.reason, v.message) == verdict


def test_drain_aggregate_reads_like_go():
    assert drain.aggregate(["a"]) == "a"
    assert drain.aggregate(["a", "b"]) == "[a, b]"


def test_set_image_patch_has_only_the_changes():
    deployment = {
        "kind": "Deployment",
        "spec": {
            "template": {
                "spec": {
                    "initContainers": [{"name": "init", "image": "busybox"}],
                    "containers": [
                        {"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}]},
                        {"name": "side", "image": "envoy:1"},
                    ],
                }
            }
        },
    }
    patch, errors = image_patch(deployment, {"web": "nginx:1.26", "db": "postgres"})
    assert patch == {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "web"}, {"name": "side"}],
                    "containers": [{"image": "nginx:1.26", "name": "web"}],
                }
            }
        }
    }
    assert errors == ['unable to find container named "db"']
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    every, _ = image_patch(deployment, {"*": "busybox"})
    assert [c["name"] for c in every["spec"]["template"]["spec"]["containers"]] == ["web", "side"]
    assert "initContainers" not in every["spec"]["template"]["spec"]  # already busybox
    pod_patch, _ = image_patch(
        {"kind": "Pod", "spec": {"containers": [{"name": "c", "image": "a"}]}}, {"c": "b"}
    )
    assert pod_patch == {
        "spec": {
            "$setElementOrder/containers": [{"name": "c"}],
            "containers": [{"image": "b", "name": "c"}],
        }
    }
    assert split_args(["deploy/web", "web=nginx:1.26"]) == (["deploy/web"], {"web": "nginx:1.26"})
    with pytest.raises(CLIError, match="all resources must be specified before image changes"):
        split_args(["web=nginx", "deploy/web"])


def service(kind, ports, cluster_ip="10.96.0.7", ingress=None):
    return {
        "metadata": {"name": "web"},
        "spec": {"type": kind, "clusterIP": cluster_ip, "ports": ports},
        "status": {"loadBalancer": {"ingress": ingress or []}},
    }


def test_service_urls():
    node = {
        "status": {
            "addresses": [
                {"type": "Hostname", "address": "n1"},
                {"type": "InternalIP", "address": "172.18.0.2"},
            ],
            "conditions": [{"type": "Ready", "status": "True"}],
        }
    }
    ports = [{"port": 80, "nodePort": 30080}, {"port": 53, "nodePort": 30053, "protocol": "UDP"}]
    urls = [url for _, url in service_urls(service("ClusterIP", ports), [])]
    assert urls == ["http://10.96.0.7:80", "udp://10.96.0.7:53"]
    assert [u for _, u in service_urls(service("NodePort", ports[:1]), [node])] == [
        "http://172.18.0.2:30080"
    ]
    assert [u for _, u in service_urls(service("NodePort", ports[:1]), [])] == [
        "http://127.0.0.1:30080"
    ]
    lb = service("LoadBalancer", ports[:1], ingress=[{"ip": "192.0.2.1"}])
    assert [u for _, u in service_urls(lb, [node])] == ["http://192.0.2.1:80"]
    pending_lb = service("LoadBalancer", ports[:1])
    assert [u for _, u in service_urls(pending_lb, [node])] == ["http://172.18.0.2:30080"]
    with pytest.raises(CLIError, match="headless"):
        service_urls(service("ClusterIP", ports, cluster_ip="None"), [])


def test_port_forward_ports():
    assert parse_port_spec("8080:80") == ("8080", "80")
    assert parse_port_spec("80") == ("80", "80")
    assert parse_port_spec(":http") == ("0", "http")
    target = {
        "metadata": {"name": "p"},
        "spec": {"containers": [{"ports": [{"name": "http", "containerPort": 8080}]}]},
    }
    assert container_port(target, "http") == 8080
    with pytest.raises(CLIError, match="Pod 'p' does not have a named port 'grpc'"):
        container_port(target, "grpc")
    svc = {
        "metadata": {"name": "s"},
        "spec": {
            "ports": [
                {"name": "web", "port": 80, "targetPort": "http"},
                {"port": 443, "targetPort": 8443},
            ]
        },
    }
    assert service_target_port(svc, target, "80") == 8080
    assert service_target_port(svc, target, "web") == 8080
    assert service_target_port(svc, target, "443") == 8443
    with pytest.raises(CLIError, match="Service s does not have a service port 81"):
        service_target_port(svc, target, "81")


def test_sort_by():
    objs = [
        {
            "metadata": {"uid": "1", "name": "b"},
            "lastTimestamp": "2024-01-02T00:00:00Z",
            "count": 10,
        },
        {
            "metadata": {"uid": "2", "name": "a"},
            "lastTimestamp": "2024-01-01T00:00:00Z",
            "count": 9,
        },
        {"metadata": {"uid": "3", "name": "c"}, "count": 1},
    ]
    names = [o["metadata"]["name"] for o in sort_objects(objs, ".lastTimestamp")]
    assert names == ["c", "a", "b"]  # missing first
    assert [o["metadata"]["name"] for o in sort_objects(objs, "{.count}")] == ["c", "a", "b"]
    table = {
        "kind": "Table",
        "rows": [
            {
                "cells": [o["metadata"]["name"]],
                "object": {"metadata": {"uid": o["metadata"]["uid"]}},
            }
            for o in objs
        ],
    }
    assert [r["cells"][0] for r in sort_table(table, objs, ".metadata.name")["rows"]] == [
        "a",
        "b",
        "c",
    ]
    with pytest.raises(CLIError):
        sort_objects(objs, ".bad[")


def test_go_durations():
    assert duration_arg("1m30s") == 90
    assert duration_arg("500ms") == 0.5
    assert duration_arg("2h") == 7200
    assert duration_arg("5") == 5  # a bare number: seconds
    with pytest.raises(argparse.ArgumentTypeError):
        duration_arg("5 minutes")
    assert [format_duration(s) for s in (0, 0.5, 1, 20, 60, 90, 3723)] == [
        "0s",
        "500ms",
        "1s",
        "20s",
        "1m0s",
        "1m30s",
        "1h2m3s",
    ]


def test_until_deadline_bounds_a_blocking_stream():
    def slow():
        yield 1
        time.sleep(30)
        yield 2

    seen = []
    started = time.monotonic()
    with pytest.raises(WaitTimeout, match="timed out waiting for the condition"):
        for item in until_deadline(slow(), 0.3):
            seen.append(item)
    assert seen == [1] and time.monotonic() - started < 2
    assert list(until_deadline(iter([1, 2, 3]), 5)) == [1, 2, 3]

    def broken():
        yield 1
        raise CLIError("boom")

    with pytest.raises(CLIError, match="boom"):
        list(until_deadline(broken(), 5))
