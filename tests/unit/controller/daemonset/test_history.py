"""controller.daemonset.history: revisions, hashes and cleanup."""

import copy

from controller.daemonset import history
from tests.unit.controller.daemonset.builders import daemonset


def changed(ds, image):
    ds = copy.deepcopy(ds)
    ds["spec"]["template"]["spec"]["containers"][0]["image"] = image
    return ds


def test_snapshot_holds_a_replace_patch_of_the_template():
    ds = daemonset()
    revision = history.snapshot(ds, 3, history.template_hash(ds))
    assert revision["metadata"]["name"] == f"agent-{history.template_hash(ds)}"
    assert revision["revision"] == 3
    assert revision["data"]["spec"]["template"]["$patch"] == "replace"
    assert revision["metadata"]["labels"]["controller-revision-hash"] == history.template_hash(ds)
    assert revision["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"
    assert history.matches(ds, revision)
    assert not history.matches(changed(ds, "busybox:2"), revision)


def test_hash_follows_the_template_and_the_collision_count():
    ds = daemonset()
    assert history.template_hash(ds) == history.template_hash(copy.deepcopy(ds))
    assert history.template_hash(ds) != history.template_hash(changed(ds, "busybox:2"))
    collided = copy.deepcopy(ds)
    collided["status"] = {"collisionCount": 1}
    assert history.template_hash(collided) != history.template_hash(ds)


def test_split_and_numbering():
    ds = daemonset()
    old = history.snapshot(changed(ds, "busybox:0"), 1, "h1")
    current = history.snapshot(ds, 2, "h2")
    assert history.split(ds, [old, current]) == ([current], [old])
    assert history.max_revision([old, current]) == 2
    assert history.newest([old, current]) is current


def test_cleanup_keeps_the_limit_and_revisions_pods_still_run():
    ds = daemonset()
    old = [history.snapshot(changed(ds, f"busybox:{i}"), i, f"h{i}") for i in range(1, 6)]
    assert [r["revision"] for r in history.to_clean(old, 2, set())] == [1, 2, 3]
    assert [r["revision"] for r in history.to_clean(old, 2, {"h1"})] == [2, 3, 4]
    assert history.to_clean(old, 10, set()) == []
