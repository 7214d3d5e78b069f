"""metrics.k8s.io/v1beta1 as served to the aggregator: request-header authentication."""

from __future__ import annotations

from starlette.testclient import TestClient

from metrics.server import MetricsApi

NODE = {"kind": "NodeMetrics", "metadata": {"name": "n1", "labels": {"role": "a"}}}
POD = {"kind": "PodMetrics", "metadata": {"name": "p", "namespace": "ns", "labels": {}}}


def _client(secret: str | None) -> TestClient:
    return TestClient(MetricsApi(lambda: [NODE], lambda: [POD], secret).app())


def test_the_secret_and_a_remote_user_are_required() -> None:
    client = _client("s3cret")
    path = "/apis/metrics.k8s.io/v1beta1/nodes"
    assert client.get(path, headers={"X-Remote-User": "u"}).status_code == 401
    wrong = {"X-Remote-User": "u", "Authorization": "Bearer nope"}
    assert client.get(path, headers=wrong).status_code == 401
    right = {"X-Remote-User": "u", "Authorization": "Bearer s3cret"}
    assert client.get(path, headers={"Authorization": "Bearer s3cret"}).status_code == 401
    answer = client.get(path, headers=right)
    assert answer.status_code == 200 and answer.json()["items"] == [NODE]


def test_without_a_secret_the_headers_are_trusted() -> None:
    client = _client(None)
    headers = {"X-Remote-User": "u"}
    base = "/apis/metrics.k8s.io/v1beta1"
    assert client.get(f"{base}/nodes?labelSelector=role%3Db", headers=headers).json()["items"] == []
    assert client.get(f"{base}/nodes/n1", headers=headers).json() == NODE
    assert client.get(f"{base}/namespaces/ns/pods/p", headers=headers).json() == POD
    assert client.get(f"{base}/namespaces/other/pods", headers=headers).json()["items"] == []
    bad = client.get(f"{base}/pods?labelSelector=%3D%3D", headers=headers)
    assert bad.status_code == 400
    assert client.get(base, headers=headers).json()["groupVersion"] == "metrics.k8s.io/v1beta1"
