"""`minikctl logs` without a cluster: the query kubectl's PodLogOptions become, the choice
of pod and container, and the requests `logs` sends through `Client.stream_text` (an
httpx mock transport stands in for the apiserver)."""

from __future__ import annotations

import argparse
import io
from typing import Any

import httpx
import pytest

from api.errors import ApiError
from client.rest import Client
from minikctl import logs
from minikctl.context import CLIError, Context
from minikctl.main import build_parser
from minikctl.podpick import by_logging_key


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["logs", *argv])


def pod(name: str, containers=("app",), inits=(), annotations=None, **status: Any) -> dict:
    return {
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "ns", "annotations": annotations or {}},
        "spec": {
            "containers": [{"name": c} for c in containers],
            "initContainers": [{"name": c} for c in inits],
        },
        "status": status,
    }


def test_query_is_omitempty():
    assert logs.query(parse("p"), "app") == {"container": "app"}
    args = parse("p", "-f", "-p", "--timestamps", "--tail=5", "--since=90s", "--limit-bytes=100")
    assert logs.query(args, "app") == {
        "container": "app",
        "follow": "true",
        "previous": "true",
        "timestamps": "true",
        "sinceSeconds": 90,
        "tailLines": 5,
        "limitBytes": 100,
    }
    assert "tailLines" not in logs.query(parse("p", "--tail=-1"), "app")
    assert logs.query(parse("-l", "app=web"), "app")["tailLines"] == 10  # kubectl's default
    assert logs.query(parse("p", "--since-time=2024-01-01T00:00:00Z"), "")["sinceTime"] == (
        "2024-01-01T00:00:00Z"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["p", "c", "-c", "d"], "only one of -c or an inline [CONTAINER] arg is allowed"),
        (["p", "--all-containers", "-c", "a"], "--all-containers=true should not be specified"),
        (["p", "--since=1m", "--since-time=2024-01-01T00:00:00Z"], "at most one of"),
        (["p", "--tail=-2"], "--tail must be greater than or equal to -1"),
        (["p", "-l", "a=b"], "only a selector (-l) or a POD name is allowed"),
        ([], "POD or TYPE/NAME is a required argument"),
    ],
)
def test_validation(argv, message):
    with pytest.raises(CLIError) as err:
        logs.validate(parse(*argv))
    assert message in str(err.value)


def test_container_choice():
    err = io.StringIO()
    one = logs.pod_requests(pod("p"), "", parse("p"), err)
    assert [(r.pod, r.container, r.path) for r in one] == [
        ("p", "app", "/api/v1/namespaces/ns/pods/p/log")
    ]
    assert err.getvalue() == ""
    logs.pod_requests(pod("p", ("a", "b"), inits=("setup",)), "", parse("p"), err)
    assert err.getvalue() == 'Defaulted container "a" out of: setup (init), a, b\n'
    annotated = pod("p", ("a", "b"), annotations={logs.DEFAULT_CONTAINER: "b"})
    assert logs.pod_requests(annotated, "", parse("p"), io.StringIO())[0].container == "b"
    every = logs.pod_requests(
        pod("p", ("a", "b"), inits=("i",)), "", parse("p", "--all-containers"), err
    )
    assert [r.container for r in every] == ["i", "a", "b"]
    with pytest.raises(CLIError, match="container zz is not valid for pod p"):
        logs.pod_requests(pod("p"), "zz", parse("p"), err)


def test_best_pod_to_log_first():
    ready = {"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"}
    later = {**ready, "lastTransitionTime": "2024-01-02T00:00:00Z"}
    pods = {
        "unassigned": {"spec": {}, "status": {"phase": "Running", "conditions": [ready]}},
        "pending": {"spec": {"nodeName": "n"}, "status": {"phase": "Pending"}},
        "running": {"spec": {"nodeName": "n"}, "status": {"phase": "Running"}},
        "ready-later": {
            "spec": {"nodeName": "n"},
            "status": {"phase": "Running", "conditions": [later]},
        },
        "ready-first": {
            "spec": {"nodeName": "n"},
            "status": {"phase": "Running", "conditions": [ready]},
        },
    }
    for name, p in pods.items():
        p["metadata"] = {"name": name, "creationTimestamp": "2024-01-01T00:00:00Z"}
    order = [p["metadata"]["name"] for p in sorted(pods.values(), key=by_logging_key)]
    assert order == ["ready-first", "ready-later", "running", "pending", "unassigned"]


# ---- the requests, through Client.stream_text ---------------------------------------------


class FakeServer:
    """Answers GET pod, and pods/NAME/log in several chunks (lines split across them)."""

    def __init__(self, pods: dict[str, dict]) -> None:
        self.pods = pods
        self.log_requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.split("/")
        name = parts[6]
        if name not in self.pods:
            body = {
                "kind": "Status",
                "status": "Failure",
                "reason": "NotFound",
                "code": 404,
                "message": f'pods "{name}" not found',
            }
            return httpx.Response(404, json=body)
        if parts[-1] == "log":
            self.log_requests.append(request)
            container = request.url.params.get("container")
            chunks = [f"{container} one\n{container} tw".encode(), b"o\n", b"no newline"]
            return httpx.Response(200, content=iter(chunks), headers={"Content-Type": "text/plain"})
        return httpx.Response(200, json=self.pods[name])


def context(server: FakeServer, *argv: str) -> tuple[Context, argparse.Namespace]:
    args = parse(*argv, "-n", "ns")
    ctx = Context(args, out=io.StringIO(), err=io.StringIO())
    ctx.__dict__["client"] = Client(
        server="http://apiserver.test", token="t", transport=httpx.MockTransport(server)
    )
    return ctx, args


def test_logs_streams_each_container_in_turn():
    server = FakeServer({"p": pod("p", ("a", "b"))})
    ctx, args = context(server, "p", "--all-containers", "--prefix", "--tail=2")
    assert logs.run(ctx, args) == 0
    assert ctx.out.getvalue() == (
        "[pod/p/a] a one\n[pod/p/a] a two\n[pod/p/a] no newline"
        "[pod/p/b] b one\n[pod/p/b] b two\n[pod/p/b] no newline"
    )
    sent = [(r.url.path, dict(r.url.params)) for r in server.log_requests]
    assert sent == [
        ("/api/v1/namespaces/ns/pods/p/log", {"container": "a", "tailLines": "2"}),
        ("/api/v1/namespaces/ns/pods/p/log", {"container": "b", "tailLines": "2"}),
    ]
    assert server.log_requests[0].headers["authorization"] == "Bearer t"


def test_stream_text_raises_the_servers_status():
    def refuse(request: httpx.Request) -> httpx.Response:
        body = {
            "kind": "Status",
            "status": "Failure",
            "reason": "BadRequest",
            "code": 400,
            "message": 'container "app" in pod "p" is waiting to start: ContainerCreating',
        }
        return httpx.Response(400, json=body)

    client = Client(server="http://apiserver.test", transport=httpx.MockTransport(refuse))
    with pytest.raises(ApiError) as err:
        list(client.stream_text("/api/v1/namespaces/ns/pods/p/log", {"follow": "true"}))
    assert err.value.code == 400 and "waiting to start" in err.value.message
