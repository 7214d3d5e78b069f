"""`minikctl drain`'s pod filters and its message, as kubectl words it."""

from __future__ import annotations

import argparse
import io

import pytest

from api.disruption import EVICTION_REFUSED
from api.errors import ApiError, NotFound
from minikctl import drain
from minikctl.context import Context
from minikctl.main import build_parser


def drain_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["drain", "n1", *argv])


def pod(owner_kind=None, phase="Running", volumes=(), annotations=None):
    meta = {"name": "p", "namespace": "ns", "annotations": annotations or {}}
    if owner_kind:
        meta["ownerReferences"] = [
            {"kind": owner_kind, "apiVersion": "apps/v1", "name": "o", "controller": True}
        ]
    return {"metadata": meta, "spec": {"volumes": list(volumes)}, "status": {"phase": phase}}


@pytest.mark.parametrize(
    ("p", "argv", "verdict"),
    [
        (pod("ReplicaSet"), [], (True, "Okay", "")),
        (pod(), [], (False, "Error", drain.UNMANAGED_FATAL)),
        (pod(), ["--force"], (True, "Warning", drain.UNMANAGED_WARNING)),
        (pod(phase="Succeeded"), [], (True, "Okay", "")),
        (pod("DaemonSet"), [], (False, "Error", drain.DAEMONSET_FATAL)),
        (pod("DaemonSet"), ["--ignore-daemonsets"], (False, "Warning", drain.DAEMONSET_WARNING)),
        (pod(annotations={drain.MIRROR: "x"}), [], (False, "Skip", "")),
        (
            pod("ReplicaSet", volumes=[{"name": "d", "emptyDir": {}}]),
            [],
            (False, "Error", drain.LOCAL_STORAGE_FATAL),
        ),
        (
            pod("ReplicaSet", volumes=[{"name": "d", "emptyDir": {}}]),
            ["--delete-emptydir-data"],
            (True, "Okay", ""),
        ),
    ],
)
def test_drain_filters(p, argv, verdict):
    v = drain.classify(p, drain_args(*argv))
    assert (v.delete, v.reason, v.message) == verdict


def test_drain_aggregate_reads_like_go():
    assert drain.aggregate(["a"]) == "a"
    assert drain.aggregate(["a", "b"]) == "[a, b]"


class FakeClient:
    """Refuses the first `refusals` evictions with kubectl's 429, then accepts; the pod
    is there until it has been evicted."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.posts = 0
        self.evicted = False

    def create(self, res, body, namespace, name=None, subresource=None):
        assert subresource == "eviction" and body["kind"] == "Eviction"
        self.posts += 1
        if self.posts <= self.refusals:
            raise ApiError(429, EVICTION_REFUSED, "TooManyRequests")
        self.evicted = True
        return {}

    def get(self, res, name, namespace):
        if self.evicted:
            raise NotFound(404, f'pods "{name}" not found')
        return managed_pod()


def managed_pod():
    p = pod("ReplicaSet")
    p["metadata"].update(name="web-1", namespace="ns", uid="u1")
    return p


def test_eviction_is_retried_every_5s_while_a_budget_refuses(monkeypatch):
    sleeps: list[float] = []
    monkeypatch.setattr(drain.time, "sleep", sleeps.append)
    out, err = io.StringIO(), io.StringIO()
    ctx = Context(drain_args(), out=out, err=err)
    ctx.client = FakeClient(refusals=2)  # type: ignore[misc]
    args = drain_args()
    assert drain.evict_one(ctx, managed_pod(), args, None, drain.Progress(ctx)) is None
    assert out.getvalue().splitlines() == ["evicting pod ns/web-1"] * 3 + ["pod/web-1 evicted"]
    retry = (
        'error when evicting pods/"web-1" -n "ns" (will retry after 5s): '
        "Cannot evict pod as it would violate the pod's disruption budget."
    )
    assert err.getvalue().splitlines() == [retry, retry]
    assert sleeps == [5.0, 5.0]


def test_a_refused_eviction_gives_up_at_the_timeout(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(drain.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(drain.time, "sleep", lambda s: clock.__setitem__(0, clock[0] + s))
    ctx = Context(drain_args(), out=io.StringIO(), err=io.StringIO())
    ctx.client = FakeClient(refusals=99)  # type: ignore[misc]
    args = drain_args("--timeout=6s")
    error = drain.evict_one(ctx, managed_pod(), args, 106.0, drain.Progress(ctx))
    assert error == 'error when evicting pods/"web-1" -n "ns": global timeout reached: 6s'
    assert ctx.client.posts == 2  # at 0s and 5s; at 10s the deadline has passed
