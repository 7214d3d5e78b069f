"""Storage and the shared watch against a real etcd: compare-and-swap writes, revisions
as resourceVersions, and watch fan-out with no gap and no duplicate."""

from __future__ import annotations

import asyncio

import pytest

from apiserver.storage import (
    Compacted,
    KeyExists,
    KeyMissing,
    RevisionMismatch,
    Storage,
    object_key,
    prefix_key,
)
from apiserver.watchcache import WatchCache


def run(coro):
    return asyncio.run(coro)


async def connected(etcd) -> Storage:
    storage = Storage([etcd.url])
    await storage.connect()
    return storage


async def first_names(cache: WatchCache, plural: str, after: int, n: int) -> list[str]:
    """The names of the first `n` changes of `plural` after revision `after`."""
    out: list[str] = []
    async for ev, _ in cache.events(plural, after):
        out.append(ev.obj["metadata"]["name"])
        if len(out) == n:
            break
    return out


def test_create_get_update_delete_with_revisions(etcd):
    async def scenario():
        s = await connected(etcd)
        key = object_key("widgets", "ns1", "a")
        created = await s.create(key, {"metadata": {"name": "a"}, "spec": {"n": 1}})
        rv1 = int(created["metadata"]["resourceVersion"])
        with pytest.raises(KeyExists):
            await s.create(key, {"metadata": {"name": "a"}})
        got = await s.get(key)
        assert got["spec"] == {"n": 1} and got["metadata"]["resourceVersion"] == str(rv1)
        updated = await s.update(key, {**got, "spec": {"n": 2}}, rv1)
        rv2 = int(updated["metadata"]["resourceVersion"])
        assert rv2 > rv1
        with pytest.raises(RevisionMismatch) as stale:
            await s.update(key, {**got, "spec": {"n": 3}}, rv1)
        assert stale.value.current["spec"] == {"n": 2}
        assert (await s.get(key))["spec"] == {"n": 2}
        with pytest.raises(RevisionMismatch):
            await s.delete(key, rv1)
        deleted = await s.delete(key, rv2)
        assert int(deleted["metadata"]["resourceVersion"]) > rv2
        assert await s.get(key) is None
        with pytest.raises(KeyMissing):
            await s.delete(key)
        with pytest.raises(KeyMissing):
            await s.update(key, got, rv2)
        await s.close()

    run(scenario())


def test_stored_value_has_no_resource_version(etcd):
    async def scenario():
        s = await connected(etcd)
        key = object_key("widgets", None, "plain")
        await s.create(key, {"metadata": {"name": "plain", "resourceVersion": "999"}})
        kv = await s.client.get(key.encode())
        assert b"resourceVersion" not in kv.value
        await s.delete(key)
        await s.close()

    run(scenario())


def test_list_revision_and_watch_from_it_sees_every_change_once(etcd):
    async def scenario():
        s = await connected(etcd)
        cache = WatchCache(s)
        prefix = prefix_key("gadgets")
        for i in range(3):
            await s.create(object_key("gadgets", "ns", f"g{i}"), {"metadata": {"name": f"g{i}"}})
        items, list_rv = await s.list(prefix)
        assert [o["metadata"]["name"] for o in items] == ["g0", "g1", "g2"]

        seen: list[tuple[str, str, int]] = []

        async def consume(n: int) -> None:
            async for ev, _progress in cache.events("gadgets", list_rv):
                seen.append((ev.type, ev.obj["metadata"]["name"], ev.revision))
                if len(seen) >= n:
                    return

        consumer = asyncio.create_task(consume(4))
        await asyncio.sleep(0.2)
        g0 = await s.get(object_key("gadgets", "ns", "g0"))
        await s.update(
            object_key("gadgets", "ns", "g0"),
            {**g0, "spec": {"x": 1}},
            int(g0["metadata"]["resourceVersion"]),
        )
        await s.create(object_key("gadgets", "ns", "g3"), {"metadata": {"name": "g3"}})
        await s.delete(object_key("gadgets", "ns", "g1"))
        await s.create(object_key("gadgets", "ns", "g4"), {"metadata": {"name": "g4"}})
        await asyncio.wait_for(consumer, 10)
        assert [(t, n) for t, n, _ in seen] == [
            ("MODIFIED", "g0"),
            ("ADDED", "g3"),
            ("DELETED", "g1"),
            ("ADDED", "g4"),
        ]
        revisions = [r for _, _, r in seen]
        assert revisions == sorted(revisions) and revisions[0] > list_rv
        await cache.stop()
        await s.close()

    run(scenario())


def test_many_watchers_share_one_stream_and_old_revisions_come_from_history(etcd):
    async def scenario():
        s = await connected(etcd)
        cache = WatchCache(s)
        first = await s.create(object_key("fans", "ns", "a"), {"metadata": {"name": "a"}})
        old_rv = int(first["metadata"]["resourceVersion"]) - 1
        shared = await cache.start("fans")
        await s.create(object_key("fans", "ns", "b"), {"metadata": {"name": "b"}})

        # From before the shared stream started: served from etcd's history.
        assert await asyncio.wait_for(first_names(cache, "fans", old_rv, 2), 10) == ["a", "b"]
        # Many watchers from the shared window, all see the same event once.
        watchers = [
            asyncio.create_task(first_names(cache, "fans", shared.since, 2)) for _ in range(50)
        ]
        await asyncio.sleep(0.2)
        await s.create(object_key("fans", "ns", "c"), {"metadata": {"name": "c"}})
        results = await asyncio.wait_for(asyncio.gather(*watchers), 10)
        assert all(r == ["b", "c"] for r in results)
        await cache.stop()
        await s.close()

    run(scenario())


def test_a_watch_from_a_revision_the_shared_stream_has_not_reached_starts_after_it(etcd):
    """A client that wrote revision N and watches from N at once may be ahead of the
    shared stream: the changes up to N, which reach the stream later, are not its."""

    async def scenario():
        s = await connected(etcd)
        cache = WatchCache(s)
        shared = await cache.start("leaps")
        ahead = shared.progress + 3  # the third write to come

        watcher = asyncio.create_task(first_names(cache, "leaps", ahead, 2))
        await asyncio.sleep(0)  # subscribed before the writes
        for name in ("w1", "w2", "w3", "w4", "w5"):
            await s.create(object_key("leaps", "ns", name), {"metadata": {"name": name}})
        assert await asyncio.wait_for(watcher, 10) == ["w4", "w5"]
        await cache.stop()
        await s.close()

    run(scenario())


def test_pod_watchers_indexed_by_node_get_their_nodes_changes_only(etcd):
    """A watcher pinned to spec.nodeName=X (a kubelet's) gets the changes of pods that
    were or are on X, from the window's backlog and live; an unpinned watcher gets
    every change; closed watchers leave no index entry behind."""

    async def scenario():
        s = await connected(etcd)
        cache = WatchCache(s)
        shared = await cache.start("pods")
        start = shared.since

        def pod(name: str, node: str = "") -> dict:
            return {"metadata": {"name": name}, "spec": {"nodeName": node} if node else {}}

        async def write(name: str, node: str = "") -> None:
            key = object_key("pods", "ns", name)
            old = await s.get(key)
            if old is None:
                await s.create(key, pod(name, node))
            else:
                await s.update(key, pod(name, node), int(old["metadata"]["resourceVersion"]))

        async def collect(trigger: str | None, n: int, after: int) -> list[tuple[str, str]]:
            out = []
            async for ev, _ in cache.events("pods", after, trigger):
                out.append((ev.type, ev.obj["metadata"]["name"]))
                if len(out) == n:
                    return out
            return out

        await write("on-a", "node-a")  # in the backlog of watchers starting at `start`
        await write("on-b", "node-b")
        live_a = asyncio.create_task(collect("node-a", 5, start))
        everything = asyncio.create_task(collect(None, 7, start))
        unbound = asyncio.create_task(collect("", 2, start))
        await asyncio.sleep(0.2)
        await write("pending")  # unbound: only "" and unpinned watchers
        await write("pending", "node-a")  # bound: "" loses it, node-a gains it
        await write("other", "node-b")
        await write("moved", "node-a")
        await write("moved", "node-b")  # was on node-a: node-a must hear of it
        await s.delete(object_key("pods", "ns", "on-a"))
        assert await asyncio.wait_for(live_a, 10) == [
            ("ADDED", "on-a"),
            ("MODIFIED", "pending"),
            ("ADDED", "moved"),
            ("MODIFIED", "moved"),
            ("DELETED", "on-a"),
        ]
        assert await asyncio.wait_for(unbound, 10) == [
            ("ADDED", "pending"),
            ("MODIFIED", "pending"),
        ]
        assert [n for _, n in await asyncio.wait_for(everything, 10)] == [
            "on-a", "on-b", "pending", "pending", "other", "moved", "moved",
        ]  # fmt: skip
        assert not shared._by_value and not shared._subscribers
        await cache.stop()
        await s.close()

    run(scenario())


def test_watch_from_compacted_revision_raises(etcd):
    async def scenario():
        s = await connected(etcd)
        a = await s.create(object_key("old", "ns", "a"), {"metadata": {"name": "a"}})
        rv = int(a["metadata"]["resourceVersion"])
        b = await s.update(object_key("old", "ns", "a"), {"metadata": {"name": "a"}, "x": 1}, rv)
        await s.compact(int(b["metadata"]["resourceVersion"]))
        with pytest.raises(Compacted):
            async for _ in s.watch(prefix_key("old"), rv):
                break
        await s.close()

    run(scenario())


def test_a_list_larger_than_grpcs_default_message_limit(etcd):
    """Five ~1 MiB objects make a 5 MiB range answer: more than gRPC's 4 MiB default,
    which an unpaginated LIST of ~5,000 pods reaches (bench/scale.py found it)."""

    async def scenario():
        s = await connected(etcd)
        blob = "x" * (1024 * 1024 - 512)  # under etcd's 1.5 MiB request limit
        for i in range(5):
            await s.create(object_key("bigthings", "ns1", f"b{i}"), {"data": {"v": blob}})
        items, _ = await s.list(prefix_key("bigthings", "ns1"))
        assert sorted(len(item["data"]["v"]) for item in items) == [len(blob)] * 5
        await s.close()

    run(scenario())
