"""Container records read back from `docker inspect`: states, exit codes, the sandbox IP."""

from __future__ import annotations

from typing import Any

import pytest

from kubelet import dockerlabels as L
from kubelet.records import CREATED, EXITED, RUNNING, from_inspect, state_of
from kubelet.timefmt import parse_docker_time


def inspect_data(**state: Any) -> dict[str, Any]:
    return {
        "Id": "abc",
        "Created": "2024-05-01T12:00:00.5Z",
        "Image": "sha256:img",
        "Config": {
            "Image": "web:1",
            "Labels": {
                L.POD_UID: "u",
                L.POD_NAME: "web",
                L.POD_NAMESPACE: "shop",
                L.CONTAINER_NAME: "app",
                L.RESTART_COUNT: "2",
                L.SANDBOX: "false",
                L.CONTAINER_KIND: "app",
                L.CONTAINER_IMAGE: "web:1",
                L.SANDBOX_ID: "sb",
                L.POD_GRACE: "7",
            },
        },
        "State": {
            "Status": "exited",
            "ExitCode": 3,
            "StartedAt": "2024-05-01T12:00:01Z",
            "FinishedAt": "2024-05-01T12:00:09.9Z",
            "OOMKilled": False,
            "Error": "",
            **state,
        },
        "NetworkSettings": {"Networks": {"minik": {"IPAddress": "172.18.0.4"}}},
        "HostConfig": {},
    }


def test_records_from_inspect() -> None:
    record = from_inspect(inspect_data(), "minik")
    assert record is not None
    assert (record.name, record.attempt, record.state, record.exit_code) == ("app", 2, EXITED, 3)
    assert record.image == "web:1" and record.image_id == "sha256:img"
    assert record.sandbox_id == "sb" and record.grace_seconds == 7 and record.ip == ""
    assert record.finished_at == pytest.approx(parse_docker_time("2024-05-01T12:00:09.9Z"))
    assert from_inspect({"Config": {"Labels": {}}}, "minik") is None  # not ours


def test_docker_states() -> None:
    assert state_of({"Status": "running"}) == RUNNING
    assert state_of({"Status": "created"}) == CREATED
    assert state_of({"Status": "created", "Error": "exec failed"}) == EXITED
    assert state_of({"Status": "dead"}) == EXITED
    failed = from_inspect(inspect_data(Status="created", ExitCode=0, Error="no such file"), "m")
    assert failed is not None and failed.exit_code == 128 and failed.error == "no such file"


def test_sandbox_ip() -> None:
    data = inspect_data(Status="running")
    data["Config"]["Labels"][L.SANDBOX] = "true"
    record = from_inspect(data, "minik")
    assert record is not None and record.sandbox and record.ip == "172.18.0.4"
