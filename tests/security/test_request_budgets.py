"""Issue 11, "Budgets against cheap denial of service": one small request must not
take the apiserver from everyone else. Each test names the finding of the security
review it guards against; each sends the review's request to a real apiserver (one
for this module, on the session's etcd) and times /healthz while it runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.controlplane import ApiServer, Etcd, start_apiserver
from tests.security.probe import healthz_timed

NS = "default"
CM = f"/api/v1/namespaces/{NS}/configmaps"
JSON_PATCH = {"Content-Type": "application/json-patch+json"}
# /healthz answers in milliseconds; a stalled loop shows as seconds.
HEALTHZ_BUDGET = 1.0


@pytest.fixture(scope="module")
def server(etcd: Etcd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    server = start_apiserver(etcd, Path(tmp_path_factory.mktemp("budgets")))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http(server: ApiServer) -> Iterator[httpx.Client]:
    with server.http() as client:
        yield client


def configmap(http: httpx.Client, name: str, data: dict | None = None) -> str:
    http.delete(f"{CM}/{name}")
    r = http.post(CM, json={"metadata": {"name": name}, "data": data or {"a": "b"}})
    assert r.status_code == 201, r.text
    return f"{CM}/{name}"


def test_json_patch_of_doubling_copies_is_bounded_and_healthz_answers(server, http) -> None:
    """Finding: a 1 KB JSON patch of 24 `copy` operations took 35 s and blocked
    /healthz all along. Kubernetes bounds what copies add (JSONPatchMaxCopyBytes,
    3 MiB): 20 doublings of a 40-byte map ask for 40 MB and are refused at 3 MiB."""
    path = configmap(http, "copy-bomb")
    ops: list[dict] = [{"op": "add", "path": "/metadata/labels", "value": {"k": "v" * 40}}]
    ops += [
        {"op": "copy", "from": "/metadata/labels", "path": f"/metadata/labels/k{i}"}
        for i in range(20)
    ]
    body = json.dumps(ops).encode()
    assert len(body) < 2048
    with healthz_timed(server) as probe:
        r = http.patch(path, content=body, headers=JSON_PATCH, timeout=60)
    assert r.status_code == 422, r.text
    status = r.json()
    assert status["reason"] == "Invalid"
    assert "accumulated size increase of copy" in json.dumps(status["details"])
    assert probe.answers and not probe.failures
    print(f"\n/healthz: worst {probe.worst:.3f}s in {probe.answers} answers")
    assert probe.worst < HEALTHZ_BUDGET, f"/healthz took {probe.worst:.2f}s during the patch"


def test_json_patch_of_more_than_10000_operations_is_refused(http) -> None:
    """Kubernetes' MaxJSONPatchOperations: 413 with its message, nothing applied."""
    path = configmap(http, "many-ops")
    ops = [{"op": "test", "path": "/metadata/name", "value": "many-ops"}] * 10001
    r = http.patch(path, content=json.dumps(ops), headers=JSON_PATCH)
    assert r.status_code == 413, r.text
    assert r.json()["reason"] == "RequestEntityTooLarge"
    assert "The allowed maximum operations in a JSON patch is 10000, got 10001" in r.text


_PAIRS = [("abcdefghi"[i], "abcdefghi"[i + 1]) for i in range(8)]
BOMB = "\n".join(
    [
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata: {name: yaml-bomb}",
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    ]
    + [f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]" for p, c in _PAIRS]
)


def test_yaml_alias_bomb_is_refused_at_once(server, http) -> None:
    """Finding: a 429-byte YAML alias bomb sent as application/apply-patch+yaml
    blocked the apiserver for 5.6 s. As go-yaml (sigs.k8s.io/yaml): a 400,
    "document contains excessive aliasing", before anything is expanded."""
    assert len(BOMB) < 500
    with healthz_timed(server) as probe:
        r = http.patch(
            f"{CM}/yaml-bomb",
            params={"fieldManager": "bomber"},
            content=BOMB,
            headers={"Content-Type": "application/apply-patch+yaml"},
            timeout=60,
        )
    assert r.status_code == 400, r.text
    assert "excessive aliasing" in r.json()["message"]
    print(f"\n/healthz: worst {probe.worst:.3f}s in {probe.answers} answers")
    assert probe.worst < HEALTHZ_BUDGET, f"/healthz took {probe.worst:.2f}s during the bomb"
    # ordinary anchors and aliases still work
    r = http.post(
        CM,
        content="metadata: {name: aliased, labels: &l {app: web}, annotations: *l}\n",
        headers={"Content-Type": "application/yaml"},
    )
    assert r.status_code in (201, 409), r.text


def test_a_large_patch_is_decoded_and_applied_off_the_event_loop(server, http) -> None:
    """Finding: expensive decoding and patching stalled the event loop for everyone.
    A 2.5 MB merge patch of 60,000 keys is decoded and applied in a worker thread:
    /healthz keeps answering in well under a second meanwhile."""
    path = configmap(http, "large-patch")
    data = {f"key-{i:06d}": f"v{i}" for i in range(60000)}
    body = json.dumps({"data": data}).encode()
    assert 1_000_000 < len(body) < 3 * 1024 * 1024
    with healthz_timed(server) as probe:
        r = http.patch(
            path,
            content=body,
            headers={"Content-Type": "application/merge-patch+json"},
            timeout=60,
        )
    assert r.status_code == 200, r.text[:300]
    assert len(r.json()["data"]) == 60001
    print(f"\n/healthz: worst {probe.worst:.3f}s in {probe.answers} answers")
    assert probe.worst < HEALTHZ_BUDGET, f"/healthz took {probe.worst:.2f}s during the patch"
    http.delete(path)


@pytest.mark.parametrize(
    ("case", "body"),
    [
        ("deep nesting", b'{"metadata":{"name":"deep"},"data":' + b"[" * 5000 + b"]" * 5000 + b"}"),
        ("deep nesting under the recursion limit", b'{"x":' + b"[" * 900 + b"]" * 900 + b"}"),
        ("lone surrogate", b'{"metadata":{"name":"surrogate"},"data":{"a":"\\ud800"}}'),
        ("NaN", b'{"metadata":{"name":"nan"},"data":{"a":NaN}}'),
    ],
)
def test_malformed_bodies_are_400_never_500(http, case: str, body: bytes) -> None:
    """Finding: deep nesting or a lone surrogate gave 500 Internal Server Error."""
    r = http.post(CM, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, f"{case}: {r.status_code} {r.text[:300]}"
    assert r.json()["reason"] == "BadRequest"


def test_deeply_nested_yaml_is_400_at_once(http) -> None:
    """PyYAML's scanner looks ahead over every open `[` in time quadratic in their
    number (and its composer recurses): 16 KB of them took seconds, then gave 500."""
    body = b"metadata: {name: deep-yaml}\ndata: " + b"[" * 8000 + b"]" * 8000 + b"\n"
    r = http.post(CM, content=body, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 400, r.text[:300]
    assert "nesting too deep" in r.json()["message"]
    assert r.elapsed.total_seconds() < 2, r.elapsed


@pytest.mark.parametrize(
    ("field", "value", "width"),
    [
        ("replicas", 2**31, "int32"),
        ("revisionHistoryLimit", -(2**31) - 1, "int32"),
        ("progressDeadlineSeconds", 2**64, "int32"),
    ],
)
def test_integers_beyond_their_go_type_are_422_naming_the_field(
    http, field: str, value: int, width: str
) -> None:
    """Finding: an integer beyond int64 was stored and then broke `kubectl describe`.
    Integer fields are range-checked as Kubernetes' Go types hold them."""
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "wide"},
        "spec": {
            field: value,
            "selector": {"matchLabels": {"app": "wide"}},
            "template": {
                "metadata": {"labels": {"app": "wide"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }
    r = http.post(f"/apis/apps/v1/namespaces/{NS}/deployments", json=deploy)
    assert r.status_code == 422, r.text[:300]
    causes = r.json()["details"]["causes"]
    assert [c["field"] for c in causes] == [f"spec.{field}"]
    assert width in causes[0]["message"]


def test_an_int64_field_beyond_int64_is_422(http) -> None:
    pod = {
        "metadata": {"name": "wide-pod"},
        "spec": {
            "terminationGracePeriodSeconds": 2**63,
            "containers": [{"name": "c", "image": "busybox"}],
        },
    }
    r = http.post(f"/api/v1/namespaces/{NS}/pods", json=pod)
    assert r.status_code == 422, r.text[:300]
    assert r.json()["details"]["causes"][0]["field"] == "spec.terminationGracePeriodSeconds"
    pod["spec"]["terminationGracePeriodSeconds"] = 2**63 - 1  # the largest int64 is fine
    r = http.post(f"/api/v1/namespaces/{NS}/pods", json=pod, params={"dryRun": "All"})
    assert r.status_code == 201, r.text[:300]


@pytest.mark.parametrize("namespace", ["Not_A_Namespace", "a" * 64, "dots.in.it"])
def test_an_invalid_namespace_in_a_url_is_404_not_an_empty_list(http, namespace: str) -> None:
    """Finding: GET of a collection in an impossible namespace answered an empty 200."""
    r = http.get(f"/api/v1/namespaces/{namespace}/configmaps")
    assert r.status_code == 404, r.text[:300]
    assert r.json()["reason"] == "NotFound"
    assert r.json()["details"]["kind"] == "namespaces"
