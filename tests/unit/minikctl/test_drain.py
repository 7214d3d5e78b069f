"""`minikctl drain`'s pod filters and its message, as kubectl words it."""

from __future__ import annotations

import argparse

import pytest

from minikctl import drain
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
