"""What every controller that makes pods shares: pods from a template, created in
slow-start batches."""

from __future__ import annotations

import asyncio

from controller.util.pods import pod_from_template, slow_start_batch

# ---- slow start ------------------------------------------------------------------------


def test_slow_start_doubles_batches():
    batches: list[int] = []  # how many ran together, batch by batch
    in_flight = peak = 0

    async def create() -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)
        in_flight -= 1
        if in_flight == 0:
            batches.append(peak)
            peak = 0

    done, error = asyncio.run(slow_start_batch(10, 1, create))
    assert (done, error) == (10, None)
    assert batches == [1, 2, 4, 3]


def test_slow_start_stops_after_a_failing_batch():
    calls = 0

    async def create() -> None:
        nonlocal calls
        calls += 1
        if calls >= 3:
            raise RuntimeError("quota exceeded")

    done, error = asyncio.run(slow_start_batch(20, 1, create))
    assert isinstance(error, RuntimeError)
    assert calls == 3 and done == 2  # batch 1 ok, batch 2 (2 calls) one failed: stop


def test_pod_from_template_is_owned_and_generated():
    owner = {"metadata": {"name": "web-abc", "namespace": "ns", "uid": "u"}}
    template = {
        "metadata": {"labels": {"app": "web"}, "annotations": {"a": "b"}},
        "spec": {"containers": [{"name": "c", "image": "x"}]},
    }
    ref = {"kind": "ReplicaSet", "uid": "u", "controller": True}
    made = pod_from_template(template, owner, ref)
    assert made["metadata"] == {
        "generateName": "web-abc-",
        "namespace": "ns",
        "ownerReferences": [ref],
        "labels": {"app": "web"},
        "annotations": {"a": "b"},
    }
    made["spec"]["containers"][0]["image"] = "changed"
    assert template["spec"]["containers"][0]["image"] == "x"  # a copy
