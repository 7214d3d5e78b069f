"""Restart policies and Kubernetes' crash-loop back-off, with real crashing containers."""

from __future__ import annotations

import httpx

from api.timefmt import parse_time as parse_rfc3339
from tests.e2e.conftest import (
    KubeletProcess,
    container_status,
    create_pod,
    events_for,
    phase,
    pod_manifest,
    wait_pod,
)


def test_crash_loop_backs_off(
    kubelet: KubeletProcess, api: httpx.Client, namespace: str, busybox: str
) -> None:
    crasher = {"name": "crash", "image": busybox, "command": ["sh", "-c", "echo boom; exit 2"]}
    create_pod(api, namespace, pod_manifest("crashy", kubelet.node, [crasher]))
    history: list[dict] = []

    def restarted_twice(pod: dict) -> bool:
        history.append(container_status(pod, "crash"))
        return history[-1].get("restartCount", 0) >= 2

    pod = wait_pod(api, namespace, "crashy", restarted_twice, 40, "restartCount 2")
    assert phase(pod) == "Running"  # restartPolicy Always: a crash-looping pod is Running
    waiting = [
        s
        for s in history
        if (s.get("state") or {}).get("waiting", {}).get("reason") == "CrashLoopBackOff"
    ]
    assert waiting, "the container never showed CrashLoopBackOff"
    status = waiting[0]
    assert "back-off 10s restarting failed container=crash" in status["state"]["waiting"]["message"]
    last = status["lastState"]["terminated"]
    assert last["exitCode"] == 2 and last["reason"] == "Error"
    # The first restart is immediate; the second waits 10 s after the second crash.
    second_crash = parse_rfc3339(last["finishedAt"])
    final = container_status(pod, "crash")
    state = final["state"].get("running") or final["state"].get("terminated")
    if state is None:  # the restarted container crashed already: it is the lastState
        state = final["lastState"]["terminated"]
    second_restart = parse_rfc3339(state.get("startedAt"))
    assert second_crash is not None and second_restart is not None, final
    assert second_restart - second_crash >= 9, (second_crash, second_restart)
    events = events_for(api, namespace, "crashy")
    backoff = next(e for e in events if e["reason"] == "BackOff")
    assert backoff["message"].startswith("Back-off restarting failed container crash in pod")
    assert backoff["type"] == "Warning"


def test_on_failure_and_never_policies_finish(
    kubelet: KubeletProcess, api: httpx.Client, namespace: str, busybox: str
) -> None:
    ok = {"name": "ok", "image": busybox, "command": ["sh", "-c", "exit 0"]}
    fail = {"name": "fail", "image": busybox, "command": ["sh", "-c", "exit 7"]}
    create_pod(api, namespace, pod_manifest("done", kubelet.node, [ok], restartPolicy="OnFailure"))
    create_pod(api, namespace, pod_manifest("broken", kubelet.node, [fail], restartPolicy="Never"))
    done = wait_pod(api, namespace, "done", lambda p: phase(p) == "Succeeded", 20, "Succeeded")
    broken = wait_pod(api, namespace, "broken", lambda p: phase(p) == "Failed", 20, "Failed")
    assert container_status(done, "ok")["restartCount"] == 0
    assert container_status(done, "ok")["state"]["terminated"]["reason"] == "Completed"
    ready = next(c for c in done["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "PodCompleted"
    assert container_status(broken, "fail")["restartCount"] == 0
    assert container_status(broken, "fail")["state"]["terminated"]["exitCode"] == 7
