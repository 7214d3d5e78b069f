"""`minikctl port-forward`'s port specs."""

from __future__ import annotations

import pytest

from minikctl.context import CLIError
from minikctl.portforward import container_port, parse_port_spec, service_target_port


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
