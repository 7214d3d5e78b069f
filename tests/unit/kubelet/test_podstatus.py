"""Pod status computation (phase, conditions, container statuses) — pure logic on
records of containers, no Docker."""

from __future__ import annotations

from typing import Any

import pytest

from api.timefmt import rfc3339
from kubelet.podstatus import (
    StatusInputs,
    compute_pod_status,
    container_status_by_name,
    pod_phase,
)
from kubelet.records import CREATED, EXITED, RUNNING, ContainerRecord, PodRuntime
from tests.unit.kubelet.builders import container_record, make_pod

NOW = 1_700_000_000.0
UID = "uid-1"


def pod(
    containers: list[str], inits: list[str] = (), policy: str = "Always", status: Any = None
) -> dict[str, Any]:
    p = make_pod(containers, inits, policy, name="web", namespace="default", uid=UID)
    p["status"] = status or {"phase": "Pending", "qosClass": "BestEffort"}
    return p


OWNER = pod([])


def rec(
    name: str,
    state: str,
    attempt: int = 0,
    *,
    started: float = NOW - 100,
    finished: float | None = None,
    oom: bool = False,
    cid: str | None = None,
    **fields: Any,
) -> ContainerRecord:
    """A container's record; fields: exit_code, init, sandbox, ip, error, message."""
    return container_record(
        OWNER,
        name,
        state,
        attempt,
        id=cid or f"{name}-{attempt}-{state}",
        oom_killed=oom,
        created_at=started - 1,
        started_at=started,
        finished_at=finished if finished is not None else (NOW - 50 if state == EXITED else None),
        image_id="sha256:abc",
        sandbox_id="sb",
        **fields,
    )


def sandbox(running: bool = True) -> ContainerRecord:
    return rec("POD", RUNNING if running else EXITED, sandbox=True, ip="172.18.0.5", cid="sb")


def status_of(p: dict[str, Any], records: list[ContainerRecord], **inputs: Any) -> dict[str, Any]:
    return compute_pod_status(
        p, PodRuntime.of(UID, records), StatusInputs(host_ip="10.0.0.1", now=NOW, **inputs)
    )


def conditions(status: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["status"] for c in status["conditions"]}


def test_running_pod() -> None:
    status = status_of(pod(["a", "b"]), [sandbox(), rec("a", RUNNING), rec("b", RUNNING)])
    assert status["phase"] == "Running"
    assert status["podIP"] == "172.18.0.5" and status["podIPs"] == [{"ip": "172.18.0.5"}]
    assert status["hostIP"] == "10.0.0.1" and status["hostIPs"] == [{"ip": "10.0.0.1"}]
    assert status["startTime"] == rfc3339(NOW)
    assert status["qosClass"] == "BestEffort"
    assert conditions(status) == {
        "PodReadyToStartContainers": "True",
        "Initialized": "True",
        "Ready": "True",
        "ContainersReady": "True",
        "PodScheduled": "True",
    }
    a = container_status_by_name(status, "a")
    assert a is not None
    assert a["state"] == {"running": {"startedAt": rfc3339(NOW - 100)}}
    assert a["ready"] and a["started"] and a["restartCount"] == 0
    assert a["containerID"] == "docker://a-0-running" and a["imageID"] == "sha256:abc"


def test_new_pod_waits_in_container_creating() -> None:
    status = status_of(pod(["a"]), [])
    assert status["phase"] == "Pending"
    assert "podIP" not in status
    a = status["containerStatuses"][0]
    assert a["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert a["ready"] is False and "containerID" not in a
    assert conditions(status)["PodReadyToStartContainers"] == "False"
    assert conditions(status)["Ready"] == "False"


def test_readiness_and_startup_probe_results() -> None:
    records = [sandbox(), rec("a", RUNNING, cid="ca"), rec("b", RUNNING, cid="cb")]
    status = status_of(pod(["a", "b"]), records, ready={"ca": False}, started={"cb": False})
    a, b = status["containerStatuses"]
    assert a["ready"] is False and a["started"] is True
    assert b["ready"] is False and b["started"] is False
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "ContainersNotReady"
    assert ready["message"] == "containers with unready status: [a b]"
    assert status["phase"] == "Running"


def test_crash_loop_shows_waiting_with_last_state() -> None:
    records = [sandbox(), rec("a", EXITED, attempt=3, exit_code=2)]
    reasons = {"a": ("CrashLoopBackOff", "back-off 40s restarting failed container=a")}
    status = status_of(pod(["a"]), records, reasons=reasons)
    a = status["containerStatuses"][0]
    assert a["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert a["lastState"]["terminated"]["exitCode"] == 2
    assert a["lastState"]["terminated"]["reason"] == "Error"
    assert a["restartCount"] == 3
    assert status["phase"] == "Running"  # a crash-looping container counts as stopped


def test_previous_instance_becomes_last_state() -> None:
    records = [
        sandbox(),
        rec("a", RUNNING, attempt=1),
        rec("a", EXITED, attempt=0, exit_code=137, oom=True),
    ]
    a = status_of(pod(["a"]), records)["containerStatuses"][0]
    assert "running" in a["state"] and a["restartCount"] == 1
    terminated = a["lastState"]["terminated"]
    assert terminated["reason"] == "OOMKilled" and terminated["exitCode"] == 137
    assert terminated["containerID"] == "docker://a-0-exited"
    assert terminated["finishedAt"] == rfc3339(NOW - 50)


def test_termination_message_and_cannot_run() -> None:
    records = [
        sandbox(),
        rec("a", EXITED, exit_code=0, message="all done"),
        rec("b", EXITED, exit_code=128, error='exec: "nope": executable file not found'),
    ]
    status = status_of(pod(["a", "b"], policy="Never"), records)
    a, b = status["containerStatuses"]
    assert a["state"]["terminated"] == {
        "exitCode": 0,
        "reason": "Completed",
        "message": "all done",
        "startedAt": rfc3339(NOW - 100),
        "finishedAt": rfc3339(NOW - 50),
        "containerID": "docker://a-0-exited",
    }
    assert b["state"]["terminated"]["reason"] == "ContainerCannotRun"
    assert "executable file not found" in b["state"]["terminated"]["message"]
    assert status["phase"] == "Failed"


@pytest.mark.parametrize(
    ("policy", "codes", "phase"),
    [
        ("Always", [0, 0], "Running"),
        ("OnFailure", [0, 0], "Succeeded"),
        ("OnFailure", [0, 1], "Running"),
        ("Never", [0, 0], "Succeeded"),
        ("Never", [0, 1], "Failed"),
    ],
)
def test_phase_of_finished_containers(policy: str, codes: list[int], phase: str) -> None:
    records = [sandbox(False)] + [
        rec(n, EXITED, exit_code=c) for n, c in zip(("a", "b"), codes, strict=True)
    ]
    status = status_of(pod(["a", "b"], policy=policy), records)
    assert status["phase"] == phase
    if phase == "Succeeded":
        ready = next(c for c in status["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "False" and ready["reason"] == "PodCompleted"


def test_one_running_one_finished_is_running() -> None:
    status = status_of(
        pod(["a", "b"], policy="Never"),
        [sandbox(), rec("a", RUNNING), rec("b", EXITED, exit_code=1)],
    )
    assert status["phase"] == "Running"


def test_init_containers_pending_and_failed() -> None:
    p = pod(["main"], inits=["setup", "migrate"])
    status = status_of(
        p,
        [
            sandbox(),
            rec("setup", EXITED, exit_code=0, init=True),
            rec("migrate", RUNNING, init=True),
        ],
    )
    assert status["phase"] == "Pending"
    init = next(c for c in status["conditions"] if c["type"] == "Initialized")
    assert init["status"] == "False"
    assert init["message"] == "containers with incomplete status: [migrate]"
    main = container_status_by_name(status, "main")
    assert main is not None and main["state"]["waiting"]["reason"] == "PodInitializing"
    setup = container_status_by_name(status, "setup")
    assert setup is not None and setup["ready"] is True

    failed = [sandbox(), rec("setup", EXITED, exit_code=1, init=True)]
    assert status_of(pod(["main"], ["setup"], policy="Never"), failed)["phase"] == "Failed"
    looping = status_of(
        pod(["main"], ["setup"]),
        failed,
        reasons={"setup": ("CrashLoopBackOff", "back-off")},
    )
    assert looping["phase"] == "Pending"


def condition(kind: str, status: str, since: str) -> dict[str, str]:
    return {"type": kind, "status": status, "lastTransitionTime": since}


def test_times_and_ip_carry_over() -> None:
    old = {
        "phase": "Running",
        "startTime": "2020-01-01T00:00:00Z",
        "podIP": "172.18.0.9",
        "qosClass": "Burstable",
        "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2020-01-01T00:00:01Z"},
            {
                "type": "Initialized",
                "status": "False",
                "lastTransitionTime": "2020-01-01T00:00:02Z",
            },
            {
                "type": "PodScheduled",
                "status": "True",
                "lastTransitionTime": "2019-12-31T00:00:00Z",
            },
        ],
    }
    # sandbox gone (pod finishing): the old IP stays, times of unchanged conditions stay
    status = status_of(pod(["a"], status=old), [rec("a", RUNNING)])
    assert status["startTime"] == "2020-01-01T00:00:00Z"
    assert status["podIP"] == "172.18.0.9" and status["qosClass"] == "Burstable"
    by_type = {c["type"]: c for c in status["conditions"]}
    assert by_type["Ready"]["lastTransitionTime"] == "2020-01-01T00:00:01Z"
    assert by_type["Initialized"]["lastTransitionTime"] == rfc3339(NOW)  # it changed
    assert by_type["PodScheduled"]["lastTransitionTime"] == "2019-12-31T00:00:00Z"
    # the same input computes the same status: nothing to write
    again = status_of(pod(["a"], status=status), [rec("a", RUNNING)])
    assert again == status


def test_terminal_phase_is_sticky() -> None:
    old = {"phase": "Succeeded", "startTime": "2020-01-01T00:00:00Z"}
    status = status_of(pod(["a"], policy="Always", status=old), [sandbox(), rec("a", RUNNING)])
    assert status["phase"] == "Succeeded"


@pytest.mark.parametrize(
    ("states", "phase"),
    [
        ([{"waiting": {"reason": "ContainerCreating"}}], "Pending"),
        ([{"running": {}}, {"waiting": {"reason": "ErrImagePull"}}], "Pending"),
        ([{"running": {}}, {"terminated": {"exitCode": 0}}], "Running"),
        ([], "Pending"),
    ],
)
def test_get_phase_table(states: list[dict], phase: str) -> None:
    statuses = [{"name": str(i), "state": s, "lastState": {}} for i, s in enumerate(states)]
    assert pod_phase({"restartPolicy": "Always"}, [], statuses) == phase


def test_created_container_waits() -> None:
    status = status_of(pod(["a"]), [sandbox(), rec("a", CREATED)])
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}


def test_conditions_and_nomination_of_others_are_kept() -> None:
    target = {
        "type": "DisruptionTarget",
        "status": "True",
        "reason": "PreemptionByScheduler",
        "message": "default-scheduler: preempting to accommodate a higher priority pod",
        "lastTransitionTime": "2020-01-01T00:00:00Z",
    }
    old = {"phase": "Running", "conditions": [target], "nominatedNodeName": "n1"}
    status = status_of(pod(["a"], status=old), [sandbox(), rec("a", RUNNING)])
    assert [c for c in status["conditions"] if c["type"] == "DisruptionTarget"] == [target]
    assert conditions(status)["Ready"] == "True"
    assert status["nominatedNodeName"] == "n1"


def test_a_solo_pod_between_two_instances_keeps_its_ip_and_network_condition() -> None:
    """A restarting solo container (kubelet/solo.py): its pod IP stays allocated, so the
    pod keeps podIP and PodReadyToStartContainers as a pod whose sandbox survives."""
    running = {"phase": "Running", "podIP": "10.244.0.7", "podIPs": [{"ip": "10.244.0.7"}]}
    died = rec("a", EXITED, 0, exit_code=137, solo=True, ip="")
    status = status_of(pod(["a"], status=running), [died])
    assert status["phase"] == "Running" and status["podIP"] == "10.244.0.7"
    assert conditions(status)["PodReadyToStartContainers"] == "True"
    never = pod(["a"], policy="Never", status=running)
    assert conditions(status_of(never, [died]))["PodReadyToStartContainers"] == "False"
