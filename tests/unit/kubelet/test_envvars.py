"""Environment variables and `$(VAR)` expansion, as Kubernetes computes them."""

from __future__ import annotations

import pytest

from kubelet.envvars import EnvError, build_env, expand, expand_command, mapping_lookup

VARS = {"VAR_A": "A", "VAR_B": "B", "VAR_C": "C", "VAR_REF": "$(VAR_A)", "VAR_EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # cases from Kubernetes' third_party/forked/golang/expansion tests
        ("$(VAR_A)", "A"),
        ("___$(VAR_B)___", "___B___"),
        ("$(VAR_A)-$(VAR_A)", "A-A"),
        ("f000-$$VAR_A", "f000-$VAR_A"),
        ("foo\\$(VAR_C)bar", "foo\\Cbar"),
        ("foo\\\\$(VAR_C)bar", "foo\\\\Cbar"),
        ("$(VAR_A)$(VAR_B)$(VAR_C)", "ABC"),
        ("$(VAR_DNE)", "$(VAR_DNE)"),
        ("$$(VAR_A)", "$(VAR_A)"),
        ("$$$(VAR_A)", "$A"),
        ("$$$$$$(VAR_A)", "$$$(VAR_A)"),
        ("$(VAR_A", "$(VAR_A"),
        ("$(VAR_REF)", "$(VAR_A)"),  # no recursion
        ("$(VAR_EMPTY)", ""),
        ("$", "$"),
        ("$VAR_A", "$VAR_A"),
        ("$()", "$()"),
        ("$(VAR_A)$", "A$"),
        ("", ""),
    ],
)
def test_expand_follows_kubernetes(text: str, want: str) -> None:
    assert expand(text, mapping_lookup(VARS)) == want


def pod() -> dict:
    return {
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "u-1",
            "labels": {"app": "web"},
            "annotations": {"note": "x"},
        },
        "spec": {"nodeName": "n1", "serviceAccountName": "robot"},
    }


def test_field_refs_and_ordering() -> None:
    container = {
        "name": "c",
        "env": [
            {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
            {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "URL", "value": "http://$(IP):80/$(NAME)"},
            {"name": "LATER", "value": "$(AFTER)"},
            {"name": "AFTER", "value": "too late"},
            {"name": "NAME", "value": "override $(NAME)"},
        ],
    }
    env = build_env(pod(), container, pod_ip="10.0.0.5", host_ip="192.168.1.2")
    assert env == [
        ("NAME", "override web"),
        ("NS", "shop"),
        ("UID", "u-1"),
        ("IP", "10.0.0.5"),
        ("HOST", "192.168.1.2"),
        ("NODE", "n1"),
        ("SA", "robot"),
        ("APP", "web"),
        ("URL", "http://10.0.0.5:80/web"),
        ("LATER", "$(AFTER)"),  # only earlier variables expand
        ("AFTER", "too late"),
    ]


def test_service_variables_come_first_and_expand() -> None:
    container = {"env": [{"name": "TARGET", "value": "$(DB_SERVICE_HOST):5432"}]}
    env = build_env(
        pod(), container, pod_ip="", host_ip="", service_env={"DB_SERVICE_HOST": "10.96.0.9"}
    )
    assert env == [("DB_SERVICE_HOST", "10.96.0.9"), ("TARGET", "10.96.0.9:5432")]


def test_resource_field_refs_round_up() -> None:
    container = {
        "resources": {"limits": {"cpu": "250m", "memory": "64Mi"}, "requests": {"cpu": "100m"}},
        "env": [
            {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
            {
                "name": "MCPU",
                "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu", "divisor": "1m"}},
            },
            {
                "name": "MEM",
                "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}},
            },
            {
                "name": "NODE_MEM",
                "valueFrom": {"resourceFieldRef": {"resource": "limits.ephemeral-storage"}},
            },
        ],
    }
    env = dict(
        build_env(
            pod(),
            container,
            pod_ip="",
            host_ip="",
            node_allocatable={"ephemeral-storage": "1Ki"},
        )
    )
    assert env == {"CPU": "1", "MCPU": "100", "MEM": "64", "NODE_MEM": "1024"}


def test_unsupported_sources_are_config_errors() -> None:
    bad_path = {"env": [{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "spec.nope"}}}]}
    with pytest.raises(EnvError, match=r"spec\.nope"):
        build_env(pod(), bad_path, pod_ip="", host_ip="")


def test_command_and_args_expand_against_the_environment() -> None:
    container = {"command": ["echo", "$(GREETING)"], "args": ["$(WHO)", "$$(WHO)", "$(NONE)"]}
    command, args = expand_command(container, [("GREETING", "hi"), ("WHO", "you")])
    assert command == ["echo", "hi"]
    assert args == ["you", "$(WHO)", "$(NONE)"]
    assert expand_command({}, []) == (None, None)


def test_service_environment_variables() -> None:
    from kubelet.serviceenv import service_env

    def svc(name: str, ns: str, ip: str, ports: list[dict]) -> dict:
        return {
            "metadata": {"name": name, "namespace": ns},
            "spec": {"clusterIP": ip, "ports": ports},
        }

    services = [
        svc(
            "kubernetes",
            "default",
            "10.96.0.1",
            [{"name": "https", "port": 443, "protocol": "TCP"}],
        ),
        svc(
            "redis-primary",
            "shop",
            "10.96.0.7",
            [{"port": 6379, "protocol": "TCP"}, {"name": "dns", "port": 53, "protocol": "UDP"}],
        ),
        svc("headless", "shop", "None", [{"port": 80}]),
        svc("elsewhere", "other", "10.96.0.8", [{"port": 80}]),
    ]
    env = service_env(pod(), services)
    assert env == {
        "KUBERNETES_SERVICE_HOST": "10.96.0.1",
        "KUBERNETES_SERVICE_PORT": "443",
        "KUBERNETES_SERVICE_PORT_HTTPS": "443",
        "KUBERNETES_PORT": "tcp://10.96.0.1:443",
        "KUBERNETES_PORT_443_TCP": "tcp://10.96.0.1:443",
        "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
        "KUBERNETES_PORT_443_TCP_PORT": "443",
        "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1",
        "REDIS_PRIMARY_SERVICE_HOST": "10.96.0.7",
        "REDIS_PRIMARY_SERVICE_PORT": "6379",
        "REDIS_PRIMARY_SERVICE_PORT_DNS": "53",
        "REDIS_PRIMARY_PORT": "tcp://10.96.0.7:6379",
        "REDIS_PRIMARY_PORT_6379_TCP": "tcp://10.96.0.7:6379",
        "REDIS_PRIMARY_PORT_6379_TCP_PROTO": "tcp",
        "REDIS_PRIMARY_PORT_6379_TCP_PORT": "6379",
        "REDIS_PRIMARY_PORT_6379_TCP_ADDR": "10.96.0.7",
        "REDIS_PRIMARY_PORT_53_UDP": "udp://10.96.0.7:53",
        "REDIS_PRIMARY_PORT_53_UDP_PROTO": "udp",
        "REDIS_PRIMARY_PORT_53_UDP_PORT": "53",
        "REDIS_PRIMARY_PORT_53_UDP_ADDR": "10.96.0.7",
    }
    no_links = {**pod(), "spec": {**pod()["spec"], "enableServiceLinks": False}}
    assert set(service_env(no_links, services)) == {k for k in env if k.startswith("KUBERNETES")}
