"""The scheduler cache: assumed pods count at once; the informer confirms or moves
them; a failed bind forgets them; nodes come and go around their pods."""

from __future__ import annotations

from typing import Any

from scheduler.cache import SchedulerCache
from scheduler.podinfo import PodInfo


def node(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "status": {
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "10"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def pod(name: str, node_name: str = "", cpu: str = "1") -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]}
    if node_name:
        spec["nodeName"] = node_name
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": spec}


def cache_with(*names: str) -> SchedulerCache:
    cache = SchedulerCache()
    for n in names:
        cache.add_node(node(n))
    return cache


def requested(cache: SchedulerCache, name: str) -> tuple[int, int]:
    info = cache.node(name)
    assert info is not None
    return info.req_cpu, info.pod_count


def test_an_assumed_pod_counts_at_once_and_its_confirmation_does_not_count_it_twice():
    cache = cache_with("a")
    cache.assume(PodInfo(pod("p")), "a")
    assert cache.is_assumed("ns/p") and requested(cache, "a") == (1000, 1)
    cache.add_pod(pod("p", "a"))  # the informer shows it bound
    assert not cache.is_assumed("ns/p") and requested(cache, "a") == (1000, 1)
    cache.forget("ns/p")  # a late failure report must not uncount a confirmed pod
    assert requested(cache, "a") == (1000, 1)


def test_a_failed_bind_forgets_the_assumed_pod():
    cache = cache_with("a")
    cache.assume(PodInfo(pod("p")), "a")
    cache.forget("ns/p")
    assert requested(cache, "a") == (0, 0) and cache.node_of("ns/p") is None


def test_a_pod_bound_elsewhere_than_assumed_moves():
    cache = cache_with("a", "b")
    cache.assume(PodInfo(pod("p")), "a")
    cache.add_pod(pod("p", "b"))
    assert requested(cache, "a") == (0, 0) and requested(cache, "b") == (1000, 1)
    assert not cache.is_assumed("ns/p")


def test_updates_replace_and_deletes_uncount():
    cache = cache_with("a")
    cache.add_pod(pod("p", "a", cpu="1"))
    cache.update_pod(pod("p", "a", cpu="2"))
    assert requested(cache, "a") == (2000, 1)
    assert cache.remove_pod("ns/p") is True
    assert requested(cache, "a") == (0, 0)
    assert cache.remove_pod("ns/p") is False


def test_pods_seen_before_their_node_are_kept_and_nodes_list_only_known_nodes():
    cache = SchedulerCache()
    cache.add_pod(pod("early", "late-node"))
    assert cache.nodes() == []
    cache.add_node(node("late-node"))
    assert [n.name for n in cache.nodes()] == ["late-node"]
    assert requested(cache, "late-node") == (1000, 1)
    cache.remove_node("late-node")  # its pod still counts until it is deleted
    assert cache.nodes() == [] and cache.node("late-node") is not None
    cache.remove_pod("ns/early")
    assert cache.node("late-node") is None


def test_node_updates_keep_the_pods():
    cache = cache_with("a")
    cache.add_pod(pod("p", "a"))
    bigger = node("a")
    bigger["status"]["allocatable"]["cpu"] = "8"
    cache.update_node(bigger)
    info = cache.node("a")
    assert info is not None and info.alloc_cpu == 8000 and info.pod_count == 1
