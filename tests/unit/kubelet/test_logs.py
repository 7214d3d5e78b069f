"""Container log requests: their options, and which container instance they mean."""

from __future__ import annotations

import pytest

from kubelet.logs import LogOptions, LogRequestError, log_container_id


def test_log_options() -> None:
    options = LogOptions.parse(
        {
            "follow": "true",
            "tailLines": "10",
            "timestamps": "1",
            "sinceSeconds": "60",
            "limitBytes": "100",
        }
    )
    assert options.follow and options.timestamps and not options.previous
    assert options.tail_lines == 10 and options.limit_bytes == 100
    assert options.since(1000.0) == 940.0
    with pytest.raises(LogRequestError):
        LogOptions.parse({"tailLines": "-1"})
    with pytest.raises(LogRequestError):
        LogOptions.parse({"sinceSeconds": "1", "sinceTime": "2024-01-01T00:00:00Z"})


def test_which_container_logs() -> None:
    pod = {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "app"}]}}
    running = {
        "containerStatuses": [
            {
                "name": "app",
                "containerID": "docker://new",
                "state": {"running": {}},
                "lastState": {"terminated": {"containerID": "docker://old"}},
            }
        ]
    }
    assert log_container_id(pod, running, "app", previous=False) == "new"
    assert log_container_id(pod, running, "app", previous=True) == "old"
    looping = {
        "containerStatuses": [
            {
                "name": "app",
                "containerID": "docker://new",
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"containerID": "docker://new"}},
            }
        ]
    }
    assert log_container_id(pod, looping, "app", previous=False) == "new"
    pulling = {
        "containerStatuses": [
            {"name": "app", "state": {"waiting": {"reason": "ErrImagePull"}}, "lastState": {}}
        ]
    }
    with pytest.raises(LogRequestError, match="is waiting to start: image can't be pulled"):
        log_container_id(pod, pulling, "app", previous=False)
    with pytest.raises(LogRequestError, match='previous terminated container "app"'):
        log_container_id(pod, pulling, "app", previous=True)
    with pytest.raises(LogRequestError, match="not valid for pod web"):
        log_container_id(pod, running, "other", previous=False)


def test_an_ephemeral_containers_logs() -> None:
    """`kubectl logs POD -c DEBUGGER` after `kubectl debug`: its status is among the
    ephemeral containers'."""
    pod = {
        "metadata": {"name": "web"},
        "spec": {"containers": [{"name": "app"}], "ephemeralContainers": [{"name": "dbg"}]},
    }
    ended = {
        "ephemeralContainerStatuses": [
            {"name": "dbg", "state": {"terminated": {"containerID": "docker://eph"}}}
        ]
    }
    assert log_container_id(pod, ended, "dbg", previous=False) == "eph"
