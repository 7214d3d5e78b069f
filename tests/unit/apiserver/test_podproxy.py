"""The apiserver side of `pods/log` and `pods/exec`: which container, whether it can
have logs or run a command, and where its kubelet is (apiserver/podproxy.py's pure
helpers)."""

from __future__ import annotations

import pytest

from api.errors import ApiError
from apiserver.podproxy import (
    check_exec_status,
    check_log_status,
    kubelet_address,
    pick_container,
)


def pod(status: dict | None = None, node: str = "n1") -> dict:
    return {
        "metadata": {"name": "web"},
        "spec": {
            "nodeName": node,
            "containers": [{"name": "app"}, {"name": "side"}],
            "initContainers": [{"name": "setup"}],
        },
        "status": status or {},
    }


def test_pick_container() -> None:
    assert pick_container(pod(), "side") == "side"
    assert pick_container(pod(), "setup") == "setup"
    single = {"metadata": {"name": "one"}, "spec": {"containers": [{"name": "only"}]}}
    assert pick_container(single, None) == "only"
    with pytest.raises(ApiError) as err:
        pick_container(pod(), None)
    assert err.value.code == 400
    assert "choose one of: [app side] or one of the init containers: [setup]" in str(err.value)
    with pytest.raises(ApiError, match="container nope is not valid for pod web"):
        pick_container(pod(), "nope")


def test_check_log_status() -> None:
    with pytest.raises(
        ApiError, match='container "app" in pod "web" is waiting to start: ContainerCreating'
    ):
        check_log_status(pod(node=""), "app", False)
    waiting = {
        "containerStatuses": [
            {"name": "app", "state": {"waiting": {"reason": "ImagePullBackOff"}}, "lastState": {}}
        ]
    }
    with pytest.raises(ApiError, match="trying and failing to pull image"):
        check_log_status(pod(waiting), "app", False)
    running = {"containerStatuses": [{"name": "app", "state": {"running": {}}, "lastState": {}}]}
    check_log_status(pod(running), "app", False)
    with pytest.raises(ApiError, match='previous terminated container "app" in pod "web"'):
        check_log_status(pod(running), "app", True)
    restarted = {
        "containerStatuses": [
            {
                "name": "app",
                "state": {"running": {}},
                "lastState": {"terminated": {"containerID": "docker://x"}},
            }
        ]
    }
    check_log_status(pod(restarted), "app", True)
    debugged = {
        "ephemeralContainerStatuses": [
            {"name": "dbg", "state": {"terminated": {"exitCode": 0}}, "lastState": {}}
        ]
    }
    check_log_status(pod(debugged), "dbg", False)  # `kubectl debug`'s container


def test_kubelet_address() -> None:
    node = {
        "metadata": {"name": "n1"},
        "status": {
            "addresses": [
                {"type": "Hostname", "address": "n1"},
                {"type": "InternalIP", "address": "10.0.0.7"},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10251}},
        },
    }
    assert kubelet_address(node) == ("10.0.0.7", 10251)
    assert kubelet_address(
        {"status": {"addresses": [{"type": "InternalIP", "address": "::1"}]}}
    ) == ("::1", 10250)
    with pytest.raises(ApiError, match="no address"):
        kubelet_address({"metadata": {"name": "n"}, "status": {}})


def exec_pod(phase: str = "Running", state: dict | None = None, node: str = "n1") -> dict:
    return {
        "metadata": {"name": "web"},
        "spec": {"nodeName": node, "containers": [{"name": "app"}]},
        "status": {
            "phase": phase,
            "containerStatuses": [{"name": "app", "state": state or {"running": {}}}],
        },
    }


def test_check_exec_status() -> None:
    check_exec_status(exec_pod(), "app", ["true"])
    cases = [
        (exec_pod(), ["app", []], "you must specify at least one command for the container"),
        (exec_pod(node=""), ["app", ["true"]], "pod web does not have a host assigned"),
        (exec_pod("Succeeded"), ["app", ["true"]], "current phase is Succeeded"),
        (exec_pod(state={"waiting": {}}), ["app", ["true"]], "container app is not running in pod"),
    ]
    for manifest, (container, command), message in cases:
        with pytest.raises(ApiError, match=message.replace("[", r"\[")) as err:
            check_exec_status(manifest, container, command)
        assert err.value.code == 400
