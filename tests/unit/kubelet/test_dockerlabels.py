"""Docker names and labels the kubelet marks its containers with, and the spec hash."""

from __future__ import annotations

from kubelet import dockerlabels as L
from tests.unit.kubelet.builders import POD


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
