"""`minikctl service`: the URLs a Service answers on."""

from __future__ import annotations

import pytest

from minikctl.context import CLIError
from minikctl.service import service_urls


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
