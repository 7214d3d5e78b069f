"""A LIST's pages and resourceVersions, as kube-apiserver answers them (real apiserver,
real etcd): every page of one list is read at the first page's revision, a past
revision can be read exactly, and bad combinations are refused as Kubernetes refuses
them."""

from __future__ import annotations

import subprocess
from typing import Any

import httpx
import pytest

POD_PATH = "/api/v1/namespaces/{ns}/pods"


def pod(name: str, app: str = "web") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]},
    }


def names(body: dict) -> list[str]:
    return [o["metadata"]["name"] for o in body["items"]]


def listed(http: httpx.Client, path: str, **params: Any) -> dict:
    r = http.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_pages_read_the_first_pages_revision(http, namespace):
    """Changes made between two pages (a create that sorts into a later page, a
    delete, an update) are not seen by the rest of the list: each page answers at the
    first page's resourceVersion, with the count of keys left when nothing is filtered."""
    path = POD_PATH.format(ns=namespace)
    for i in range(5):
        assert http.post(path, json=pod(f"p{i}")).status_code == 201
    first = listed(http, path, limit=2)
    rv = first["metadata"]["resourceVersion"]
    assert names(first) == ["p0", "p1"]
    assert first["metadata"]["remainingItemCount"] == 3
    assert http.post(path, json=pod("p3a")).status_code == 201
    assert http.delete(f"{path}/p4").status_code == 200
    patched = http.patch(
        f"{path}/p3",
        json={"metadata": {"labels": {"app": "changed"}}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    seen, token, pages = names(first), first["metadata"]["continue"], []
    while token:
        page = listed(http, path, limit=2, **{"continue": token})
        pages.append(page)
        seen += names(page)
        token = page["metadata"].get("continue")
    assert seen == ["p0", "p1", "p2", "p3", "p4"]
    assert all(p["metadata"]["resourceVersion"] == rv for p in pages)
    p3 = next(o for o in pages[0]["items"] if o["metadata"]["name"] == "p3")
    assert p3["metadata"]["labels"] == {"app": "web"}  # as it was at rv
    assert "remainingItemCount" not in pages[-1]["metadata"]
    # a new list sees the changes
    assert names(listed(http, path)) == ["p0", "p1", "p2", "p3", "p3a"]


def test_kubectl_gets_every_page(http, namespace, kubectl):
    """kubectl get asks in chunks (--chunk-size, 500 by default) and follows the
    tokens, for its table and for -o name."""
    path = POD_PATH.format(ns=namespace)
    for i in range(5):
        assert http.post(path, json=pod(f"k{i}")).status_code == 201
    table = kubectl.run("get", "pods", "-n", namespace, "--chunk-size=2", "--no-headers")
    assert [line.split()[0] for line in table.stdout.splitlines()] == [f"k{i}" for i in range(5)]
    plain = kubectl.run("get", "pods", "-n", namespace, "--chunk-size=2", "-o", "name")
    assert plain.stdout.split() == [f"pod/k{i}" for i in range(5)]


def test_a_filtered_page_is_filled_from_further_reads(http, namespace):
    """A selector that matches one pod in three still fills each page (etcd is read
    again, from where the last read ended), and no count is promised."""
    path = POD_PATH.format(ns=namespace)
    for i in range(9):
        app = "web" if i % 3 == 0 else "db"
        assert http.post(path, json=pod(f"q{i}", app)).status_code == 201
    first = listed(http, path, limit=2, labelSelector="app=web")
    assert names(first) == ["q0", "q3"]
    assert "remainingItemCount" not in first["metadata"]
    rest = listed(
        http, path, limit=2, labelSelector="app=web", **{"continue": first["metadata"]["continue"]}
    )
    assert names(rest) == ["q6"]
    assert "continue" not in rest["metadata"]


def test_exact_and_not_older_than(http, namespace):
    """resourceVersionMatch=Exact reads the list as it was at that revision (so does a
    page asked for at a resourceVersion, Kubernetes' older rule); NotOlderThan gets
    the newest; a revision etcd has not reached is a 504 with ResourceVersionTooLarge."""
    path = POD_PATH.format(ns=namespace)
    assert http.post(path, json=pod("before")).status_code == 201
    rv = listed(http, path)["metadata"]["resourceVersion"]
    assert http.post(path, json=pod("after")).status_code == 201
    exact = listed(http, path, resourceVersion=rv, resourceVersionMatch="Exact")
    assert names(exact) == ["before"] and exact["metadata"]["resourceVersion"] == rv
    assert names(listed(http, path, resourceVersion=rv, limit=10)) == ["before"]
    newest = listed(http, path, resourceVersion=rv, resourceVersionMatch="NotOlderThan")
    assert names(newest) == ["after", "before"]
    assert int(newest["metadata"]["resourceVersion"]) > int(rv)
    assert names(listed(http, path, resourceVersion=rv)) == ["after", "before"]
    future = str(int(rv) + 100_000)
    for match in ("Exact", "NotOlderThan"):
        r = http.get(path, params={"resourceVersion": future, "resourceVersionMatch": match})
        assert r.status_code == 504, r.text
        status = r.json()
        assert status["reason"] == "Timeout"
        assert status["message"].startswith(f"Timeout: Too large resource version: {future}")
        assert status["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"


@pytest.mark.parametrize(
    ("params", "code", "says"),
    [
        (
            {"resourceVersionMatch": "Exact"},
            422,
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless "
            "resourceVersion is provided",
        ),
        (
            {"resourceVersion": "5", "resourceVersionMatch": "Newest"},
            422,
            'resourceVersionMatch: Unsupported value: "Newest": supported values: '
            '"Exact", "NotOlderThan", ""',
        ),
        (
            {"resourceVersion": "0", "resourceVersionMatch": "Exact"},
            422,
            'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
        ),
        (
            {"resourceVersion": "5", "continue": "abc"},
            400,
            "specifying resource version is not allowed when using continue",
        ),
        ({"resourceVersion": "five"}, 400, "invalid resourceVersion 'five'"),
        ({"resourceVersion": "²"}, 400, "invalid resourceVersion '²'"),
        ({"resourceVersion": "²", "watch": "1"}, 400, "invalid resourceVersion '²'"),
        ({"limit": "2", "continue": "bm90IGpzb24"}, 400, "invalid continue token"),
        (
            {
                "limit": "2",
                "continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MSwic3RhcnQiOiIuLi94In0",
            },
            400,
            "continue key is not valid: ../x",
        ),
    ],
)
def test_bad_list_options_are_refused(http, namespace, params, code, says):
    r = http.get(POD_PATH.format(ns=namespace), params=params)
    assert r.status_code == code, r.text
    if "watch" not in params:  # a deletecollection's list options are checked the same
        r = http.delete(POD_PATH.format(ns=namespace), params=params)
    assert r.status_code == code, r.text
    status = r.json()
    assert status["kind"] == "Status" and says in status["message"]
    if code == 422:
        assert status["reason"] == "Invalid"
        assert status["details"]["kind"] == "ListOptions"
        assert status["details"]["group"] == "meta.k8s.io"
        assert status["details"]["causes"][0]["field"] == "resourceVersionMatch"


def test_a_page_whose_revision_is_compacted_is_410_with_a_token_for_the_rest(own_cluster):
    """As kube-apiserver: the next page of a list whose revision etcd compacted away is
    410 Expired, and the Status carries a continue token that goes on at the newest
    revision (an inconsistent list, which the message says); a list at an exact
    compacted revision is 410 without one."""
    etcd, server = own_cluster
    path = POD_PATH.format(ns="default")
    with server.http() as http:
        for i in range(4):
            assert http.post(path, json=pod(f"c{i}")).status_code == 201
        first = listed(http, path, limit=2)
        old = first["metadata"]["resourceVersion"]
        assert http.post(path, json=pod("c9")).status_code == 201
        latest = listed(http, path)["metadata"]["resourceVersion"]
        subprocess.run(
            ["etcdctl", f"--endpoints={etcd.url}", "compact", latest],
            check=True,
            capture_output=True,
        )
        r = http.get(path, params={"limit": 2, "continue": first["metadata"]["continue"]})
        assert r.status_code == 410, r.text
        status = r.json()
        assert status["reason"] == "Expired"
        assert (
            "Continuing with the provided token results in an inconsistent list"
            in (status["message"])
        )
        rest, token = [], status["metadata"]["continue"]
        while token:
            page = listed(http, path, limit=2, **{"continue": token})
            assert int(page["metadata"]["resourceVersion"]) >= int(latest)
            rest += names(page)
            token = page["metadata"].get("continue")
        assert rest == ["c2", "c3", "c9"]
        gone = http.get(path, params={"resourceVersion": old, "resourceVersionMatch": "Exact"})
        assert gone.status_code == 410, gone.text
        assert gone.json()["message"] == "The resourceVersion for the provided list is too old."
