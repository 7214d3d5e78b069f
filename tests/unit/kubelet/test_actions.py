"""What a pod sync decides to do (kuberuntime's computePodActions) — pure logic."""

from __future__ import annotations

from typing import Any

from kubelet.actions import compute_pod_actions, next_init_container, removable, should_restart
from kubelet.dockerlabels import container_hash
from kubelet.records import CREATED, EXITED, RUNNING, UNKNOWN, ContainerRecord, PodRuntime
from tests.unit.kubelet.builders import container_record, make_pod, spec_container

UID = "u"


POD_NAME, NAMESPACE = "p", "d"


def pod(containers: list[str], inits: list[str] = (), policy: str = "Always") -> dict[str, Any]:
    return make_pod(containers, inits, policy, name=POD_NAME, namespace=NAMESPACE, uid=UID)


OWNER = pod([])


def rec(
    name: str,
    state: str,
    attempt: int = 0,
    *,
    sandbox_id: str = "sb0",
    spec_hash: str | None = None,
    created: float = 0.0,
    **fields: Any,
) -> ContainerRecord:
    """A container's record; fields: exit_code, init."""
    return container_record(
        OWNER,
        name,
        state,
        attempt,
        id=f"{name}-{attempt}-{sandbox_id}",
        created_at=created or float(attempt),
        sandbox_id=sandbox_id,
        spec_hash=container_hash(spec_container(name)) if spec_hash is None else spec_hash,
        **fields,
    )


def sandbox(state: str = RUNNING, attempt: int = 0) -> ContainerRecord:
    return container_record(
        OWNER,
        "POD",
        state,
        attempt,
        id=f"sb{attempt}",
        sandbox=True,
        created_at=float(attempt),
        ip="172.18.0.2",
    )


def runtime(*records: ContainerRecord) -> PodRuntime:
    return PodRuntime.of(UID, list(records))


def test_new_pod_gets_a_sandbox_and_its_containers() -> None:
    actions = compute_pod_actions(pod(["a", "b"]), runtime())
    assert actions.create_sandbox and actions.sandbox_attempt == 0
    assert actions.start == [0, 1] and not actions.kill_pod


def test_new_pod_with_init_containers_starts_the_first_init() -> None:
    actions = compute_pod_actions(pod(["a"], inits=["i1", "i2"]), runtime())
    assert actions.create_sandbox and actions.next_init == 0 and actions.start == []


def test_steady_pod_needs_nothing() -> None:
    actions = compute_pod_actions(pod(["a"]), runtime(sandbox(), rec("a", RUNNING)))
    assert actions.nothing


def test_dead_sandbox_is_recreated_and_everything_restarted() -> None:
    actions = compute_pod_actions(pod(["a"]), runtime(sandbox(EXITED), rec("a", RUNNING)))
    assert actions.kill_pod and actions.create_sandbox and actions.sandbox_attempt == 1
    assert actions.start == [0]


def test_never_pod_that_ran_is_not_rerun_when_its_sandbox_dies() -> None:
    actions = compute_pod_actions(
        pod(["a"], policy="Never"), runtime(sandbox(EXITED), rec("a", EXITED, exit_code=0))
    )
    assert not actions.create_sandbox and actions.start == []


def test_restart_policies() -> None:
    crashed = rec("a", EXITED, exit_code=1)
    done = rec("a", EXITED, exit_code=0)
    assert compute_pod_actions(pod(["a"]), runtime(sandbox(), crashed)).start == [0]
    assert compute_pod_actions(pod(["a"]), runtime(sandbox(), done)).start == [0]
    on_failure = pod(["a"], policy="OnFailure")
    assert compute_pod_actions(on_failure, runtime(sandbox(), crashed)).start == [0]
    finished = compute_pod_actions(on_failure, runtime(sandbox(), done))
    assert finished.start == [] and finished.kill_pod  # nothing left: stop the sandbox
    never = compute_pod_actions(pod(["a"], policy="Never"), runtime(sandbox(), crashed))
    assert never.start == [] and never.kill_pod


def test_should_restart() -> None:
    assert should_restart(None, "Never")
    assert should_restart(rec("a", CREATED), "Never")
    assert should_restart(rec("a", UNKNOWN), "Never")
    assert not should_restart(rec("a", RUNNING), "Always")
    assert not should_restart(rec("a", EXITED, exit_code=0), "OnFailure")


def test_failed_liveness_kills_and_restarts() -> None:
    running = rec("a", RUNNING)
    why = "Container a failed liveness probe, will be restarted"
    actions = compute_pod_actions(pod(["a"]), runtime(sandbox(), running), {running.id: why})
    assert actions.kill == {running.id: why} and actions.start == [0]
    never = compute_pod_actions(
        pod(["a"], policy="Never"), runtime(sandbox(), running), {running.id: why}
    )
    assert never.kill == {running.id: why} and never.start == [] and never.kill_pod


def test_changed_spec_replaces_the_container() -> None:
    stale = rec("a", RUNNING, spec_hash="0000")
    actions = compute_pod_actions(pod(["a"]), runtime(sandbox(), stale))
    assert actions.start == [0] and "definition changed" in actions.kill[stale.id]


def test_terminal_pod_only_stops() -> None:
    actions = compute_pod_actions(pod(["a"]), runtime(sandbox(), rec("a", RUNNING)), terminal=True)
    assert actions.kill_pod and not actions.create_sandbox and actions.start == []
    assert compute_pod_actions(pod(["a"]), runtime(sandbox(EXITED)), terminal=True).nothing


def test_init_containers_in_order() -> None:
    p = pod(["main"], inits=["i1", "i2"])
    first_done = runtime(sandbox(), rec("i1", EXITED, exit_code=0, init=True))
    assert compute_pod_actions(p, first_done).next_init == 1
    running = runtime(sandbox(), rec("i1", RUNNING, init=True))
    assert compute_pod_actions(p, running).nothing
    all_done = runtime(
        sandbox(),
        rec("i1", EXITED, exit_code=0, init=True),
        rec("i2", EXITED, exit_code=0, init=True),
    )
    assert compute_pod_actions(p, all_done).start == [0]


def test_failed_init_container_retries_or_fails_the_pod() -> None:
    failed = runtime(sandbox(), rec("i1", EXITED, exit_code=1, init=True))
    retry = compute_pod_actions(pod(["main"], inits=["i1"]), failed)
    assert retry.next_init == 0 and not retry.kill_pod
    give_up = compute_pod_actions(pod(["main"], inits=["i1"], policy="Never"), failed)
    assert give_up.kill_pod and give_up.next_init is None


def test_init_containers_of_an_old_sandbox_do_not_count() -> None:
    """After a sandbox is recreated, init containers run again in the new one."""
    p = pod(["main"], inits=["i1"])
    old = rec("i1", EXITED, exit_code=0, init=True, sandbox_id="sb0")
    actions = compute_pod_actions(p, runtime(sandbox(EXITED, 0), sandbox(RUNNING, 1), old))
    assert actions.next_init == 0 and not actions.create_sandbox
    failed, index, done = next_init_container(p, runtime(old))
    assert (failed, index, done) == (None, None, True)


def test_removable_keeps_newest_and_one_previous() -> None:
    records = runtime(
        sandbox(RUNNING, 2),
        sandbox(EXITED, 1),
        sandbox(EXITED, 0),
        rec("a", RUNNING, 3),
        rec("a", EXITED, 2, exit_code=1),
        rec("a", EXITED, 1, exit_code=1),
        rec("b", EXITED, 5, exit_code=1),
        rec("b", EXITED, 4, exit_code=1),
    )
    doomed = {r.id for r in removable(records)}
    assert doomed == {"sb1", "sb0", "a-1-sb0", "b-4-sb0"}


def test_ephemeral_containers_start_once_and_are_never_restarted() -> None:
    debugged = pod(["a"])
    debugged["spec"]["ephemeralContainers"] = [spec_container("dbg")]
    fresh = compute_pod_actions(debugged, runtime(sandbox(), rec("a", RUNNING)))
    assert fresh.start_ephemeral == [0] and not fresh.nothing
    ran = runtime(sandbox(), rec("a", RUNNING), rec("dbg", EXITED, exit_code=1))
    assert compute_pod_actions(debugged, ran).nothing
    finished = pod(["a"], policy="Never")
    finished["spec"]["ephemeralContainers"] = [spec_container("dbg")]
    stopped = compute_pod_actions(finished, runtime(sandbox(), rec("a", EXITED, exit_code=0)))
    assert (
        stopped.start_ephemeral == [] and stopped.kill_pod
    )  # a pod with nothing left to run starts nothing
