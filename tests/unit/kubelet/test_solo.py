"""kubelet.solo: which pods need no sandbox, and how the runtime sees their container."""

from __future__ import annotations

from typing import Any

from kubelet import dockerlabels as L
from kubelet.actions import compute_pod_actions, removable
from kubelet.containerspec import DnsSettings, PodNetwork, container_spec
from kubelet.records import EXITED, RUNNING, PodRuntime, from_inspect
from kubelet.runtime import CreateSpec
from kubelet.solo import runs_alone, sticks_to
from tests.unit.kubelet.builders import container_record, make_pod


def job_pod(**spec: Any) -> dict[str, Any]:
    pod = make_pod(["work"], (), "Never", name="pi-0-abc", namespace="d", uid="u")
    pod["spec"]["hostname"] = "pi-0"
    pod["spec"].update(spec)
    return pod


def solo_spec(pod: dict, network: PodNetwork, restart_count: int = 0) -> CreateSpec:
    """The spec of the pod's one container, run without a sandbox on `network`."""
    return container_spec(
        pod,
        pod["spec"]["containers"][0],
        node="n1",
        init=False,
        restart_count=restart_count,
        sandbox_id="",
        env=[],
        command=None,
        args=None,
        binds=[],
        termination_log=None,
        own_network=network,
    )


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
    spec = solo_spec(pod, PodNetwork("net-id", "10.0.0.1", DnsSettings(("10.96.0.10",))))
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


def deployment_pod(policy: str = "Always") -> dict[str, Any]:
    return make_pod(["web"], (), policy, name="web-5d9-x", namespace="d", uid="u")


def test_a_restarting_pod_runs_alone_only_where_the_kubelet_pins_its_ip() -> None:
    assert not runs_alone(deployment_pod())
    assert runs_alone(deployment_pod(), fixed_ip=True)
    assert runs_alone(deployment_pod("OnFailure"), fixed_ip=True)
    two = make_pod(["a", "b"], (), "Always", name="p", namespace="d", uid="u")
    assert not runs_alone(two, fixed_ip=True)
    # with its IP known before the container starts, the downward API's podIP works
    asks = deployment_pod()
    field = {"fieldRef": {"fieldPath": "status.podIP"}}
    asks["spec"]["containers"][0]["env"] = [{"name": "IP", "valueFrom": field}]
    assert runs_alone(asks, fixed_ip=True) and not runs_alone(asks)


def test_a_pod_keeps_the_kind_it_started_with() -> None:
    pod = deployment_pod()
    solo = container_record(pod, "web", EXITED, id="c1", sandbox_id="c1", solo=True)
    sandbox = container_record(pod, "POD", EXITED, id="s1", sandbox=True)
    assert sticks_to(PodRuntime.of("u", []).sandboxes) is None
    assert sticks_to(PodRuntime.of("u", [solo]).sandboxes) is True
    assert sticks_to(PodRuntime.of("u", [sandbox]).sandboxes) is False


def test_a_solo_always_pod_whose_container_ended_starts_a_new_one() -> None:
    pod = deployment_pod()
    died = container_record(
        pod, "web", EXITED, 0, id="c0", sandbox_id="c0", solo=True, exit_code=137
    )
    actions = compute_pod_actions(pod, PodRuntime.of("u", [died]))
    assert actions.start == [0] and not actions.kill_pod
    ok = container_record(pod, "web", EXITED, 0, id="c0", sandbox_id="c0", solo=True, exit_code=0)
    assert compute_pod_actions(pod, PodRuntime.of("u", [ok])).start == [0]
    # OnFailure: a container that succeeded is not run again (kuberuntime's rule)
    on_failure = deployment_pod("OnFailure")
    assert compute_pod_actions(on_failure, PodRuntime.of("u", [died])).start == [0]
    after = compute_pod_actions(on_failure, PodRuntime.of("u", [ok]))
    assert not after.start and not after.create_sandbox


def test_a_failed_liveness_probe_replaces_the_solo_container() -> None:
    pod = deployment_pod()
    running = container_record(pod, "web", RUNNING, 2, id="c2", sandbox_id="c2", solo=True)
    actions = compute_pod_actions(pod, PodRuntime.of("u", [running]), {"c2": "unhealthy"})
    assert actions.kill == {"c2": "unhealthy"} and actions.start == [0]


def test_the_previous_solo_instance_is_kept_for_logs_previous() -> None:
    pod = deployment_pod()
    old = container_record(pod, "web", EXITED, 0, id="c0", sandbox_id="c0", solo=True)
    older = container_record(pod, "web", EXITED, 1, id="c1", sandbox_id="c1", solo=True)
    now = container_record(pod, "web", RUNNING, 2, id="c2", sandbox_id="c2", solo=True)
    runtime = PodRuntime.of("u", [old, older, now])
    assert [r.id for r in removable(runtime)] == ["c0"]


def test_a_solo_container_with_an_allocated_ip_asks_docker_for_it() -> None:
    pod = deployment_pod()
    network = PodNetwork("net-id", "10.0.0.1", DnsSettings(), ip="10.244.0.7")
    spec = solo_spec(pod, network, restart_count=3)
    assert spec.ip == "10.244.0.7" and spec.hostname == "web-5d9-x"
    assert spec.host_config["network_mode"] == "net-id"
    host = deployment_pod()
    host["spec"]["hostNetwork"] = True
    on_host = solo_spec(host, network)
    assert on_host.ip is None
