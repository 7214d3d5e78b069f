"""kubelet.solo: which pods need no sandbox, and how the runtime sees their container."""

from __future__ import annotations

from typing import Any

from kubelet import dockerlabels as L
from kubelet.actions import compute_pod_actions
from kubelet.containerspec import DnsSettings, PodNetwork, container_spec
from kubelet.records import EXITED, RUNNING, PodRuntime, from_inspect
from kubelet.solo import runs_alone
from tests.unit.kubelet.builders import container_record, make_pod


def job_pod(**spec: Any) -> dict[str, Any]:
    pod = make_pod(["work"], (), "Never", name="pi-0-abc", namespace="d", uid="u")
    pod["spec"]["hostname"] = "pi-0"
    pod["spec"].update(spec)
    return pod


def test_a_pod_running_one_container_once_runs_alone() -> None:
    assert runs_alone(job_pod())
    assert not runs_alone(make_pod(["work"], (), "OnFailure", name="p", namespace="d", uid="u"))
    assert not runs_alone(make_pod(["a", "b"], (), "Never", name="p", namespace="d", uid="u"))
    assert not runs_alone(make_pod(["a"], ["init"], "Never", name="p", namespace="d", uid="u"))
    assert not runs_alone(job_pod(hostNetwork=True))
    assert not runs_alone(job_pod(shareProcessNamespace=True))
    asks = job_pod()
    field = {"fieldRef": {"fieldPath": "status.podIP"}}
    asks["spec"]["containers"][0]["env"] = [{"name": "IP", "valueFrom": field}]
    assert not runs_alone(asks)
    debugged = job_pod()  # an ephemeral container added later does not change its kind
    debugged["spec"]["ephemeralContainers"] = [{"name": "dbg", "image": "busybox"}]
    assert runs_alone(debugged)


def test_a_solo_container_holds_the_pod_network() -> None:
    pod = job_pod()
    pod["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 8080}]
    spec = container_spec(
        pod,
        pod["spec"]["containers"][0],
        node="n1",
        init=False,
        restart_count=0,
        sandbox_id="",
        env=[],
        command=None,
        args=None,
        binds=[],
        termination_log=None,
        own_network=PodNetwork("net-id", "10.0.0.1", DnsSettings(("10.96.0.10",))),
    )
    hc = spec.host_config
    assert hc["network_mode"] == "net-id"
    assert hc["ipc_mode"] == "shareable"  # as a sandbox's: kubectl debug joins it
    assert hc["dns"] == ["10.96.0.10"]
    assert hc["port_bindings"] == {"80/tcp": [("10.0.0.1", 8080)]}
    assert spec.hostname == "pi-0" and spec.ports == [(80, "tcp")]
    assert spec.labels[L.SOLO] == "true" and spec.labels[L.SANDBOX] == "false"


def inspect(state: str) -> dict[str, Any]:
    labels = {
        L.POD_UID: "u",
        L.POD_NAME: "pi-0-abc",
        L.POD_NAMESPACE: "d",
        L.CONTAINER_NAME: "work",
        L.SANDBOX: "false",
        L.CONTAINER_KIND: "app",
        L.SOLO: "true",
    }
    return {
        "Id": "solo1",
        "Config": {"Labels": labels},
        "State": {"Status": state, "ExitCode": 0},
        "NetworkSettings": {"Networks": {"net-id": {"IPAddress": "10.244.0.9"}}},
    }


def test_the_runtime_sees_it_as_the_pod_container_and_its_sandbox() -> None:
    record = from_inspect(inspect("running"), "net-id")
    assert record is not None and record.solo and not record.sandbox
    assert (record.ip, record.sandbox_id) == ("10.244.0.9", "solo1")
    runtime = PodRuntime.of("u", [record])
    assert runtime.running_sandbox() is record and runtime.latest("work") is record
    assert runtime.all() == [record]


def test_a_solo_pod_is_started_once_and_never_gets_a_sandbox_after() -> None:
    pod = job_pod()
    fresh = compute_pod_actions(pod, PodRuntime.of("u", []))
    assert fresh.create_sandbox and fresh.start == [0]  # podsync starts it alone
    running = container_record(pod, "work", RUNNING, id="solo1", sandbox_id="solo1", solo=True)
    assert compute_pod_actions(pod, PodRuntime.of("u", [running])).nothing
    done = container_record(
        pod, "work", EXITED, id="solo1", sandbox_id="solo1", solo=True, exit_code=0
    )
    after = compute_pod_actions(pod, PodRuntime.of("u", [done]))
    assert not after.create_sandbox and not after.start and not after.kill_pod
    assert compute_pod_actions(pod, PodRuntime.of("u", [done]), terminal=True).nothing
