"""A patch that does not name a resourceVersion is retried on a concurrent write, as
Kubernetes' GuaranteedUpdate retries it; only one that names a resourceVersion gets
409. (`kubectl set image` right after `kubectl scale` met a 409 in the seed
walkthrough: the deployment controller's status write landed between the patch's read
and its write.)"""

from __future__ import annotations

import threading

import httpx

from deploy.controlplane import ApiServer

MERGE = {"Content-Type": "application/merge-patch+json"}
STRATEGIC = {"Content-Type": "application/strategic-merge-patch+json"}


def test_patches_without_a_resource_version_survive_concurrent_writes(
    http: httpx.Client, namespace: str, apiserver: ApiServer
) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    assert http.post(path, json={"metadata": {"name": "cm"}, "data": {}}).status_code == 201
    stop = threading.Event()

    def writer() -> None:
        with apiserver.http() as other:
            i = 0
            while not stop.is_set():
                i += 1
                other.patch(f"{path}/cm", json={"data": {"w": str(i)}}, headers=MERGE)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        codes = [
            http.patch(f"{path}/cm", json={"data": {"n": str(i)}}, headers=STRATEGIC).status_code
            for i in range(200)
        ]
    finally:
        stop.set()
        thread.join()
    assert codes == [200] * 200, {c: codes.count(c) for c in set(codes)}

    stale = http.get(f"{path}/cm").json()["metadata"]["resourceVersion"]
    http.patch(f"{path}/cm", json={"data": {"x": "1"}}, headers=MERGE)
    pinned = {"metadata": {"resourceVersion": stale}, "data": {"x": "2"}}
    assert http.patch(f"{path}/cm", json=pinned, headers=MERGE).status_code == 409
