"""OwnerLookup: resolving a controller reference to an owner we know (kind, name and
uid), and the owners whose selector matches an orphan."""

from __future__ import annotations

import asyncio
from typing import Any

from api.resources import DEPLOYMENTS, REPLICASETS
from controller.util.controllerref import OwnerLookup
from controller.util.informers import InformerFactory

Obj = dict[str, Any]


def owner(name: str, uid: str, selector: Obj | None, namespace: str = "default") -> Obj:
    return {
        "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": namespace, "uid": uid},
        "spec": {"selector": selector},
    }


def pod(labels: Obj, ref: Obj | None = None, namespace: str = "default") -> Obj:
    md: Obj = {"name": "p", "namespace": namespace, "labels": labels}
    if ref is not None:
        md["ownerReferences"] = [ref]
    return {"metadata": md}


def ref(kind: str = "ReplicaSet", name: str = "web", uid: str = "u1") -> Obj:
    return {"kind": kind, "name": name, "uid": uid, "controller": True}


def lookup(*owners: Obj, res: Any = REPLICASETS, **kw: Any) -> OwnerLookup:
    informers = InformerFactory(None)  # never started: the owners are fed below
    found = OwnerLookup(informers, res, **kw)

    async def feed() -> None:
        for obj in owners:
            await informers.informer(res)._upsert(obj)

    asyncio.run(feed())
    return found


def test_owner_is_resolved_by_kind_name_and_uid():
    web = owner("web", "u1", {"matchLabels": {"app": "web"}})
    owners = lookup(web)
    assert owners.owner(pod({}, ref())) is web
    assert owners.owner_key(pod({}, ref())) == "default/web"
    assert owners.owner_key(pod({}, ref(uid="u2"))) is None  # a namesake replaced it
    assert owners.owner_key(pod({}, ref(kind="DaemonSet"))) is None
    assert owners.owner_key(pod({}, ref(name="other"))) is None
    assert owners.owner_key(pod({})) is None
    assert owners.referenced_key(pod({}, ref(uid="u2"))) == "default/web"
    assert owners.referenced_key(pod({}, ref(kind="DaemonSet"))) is None


def test_matching_owners_are_in_the_namespace_with_a_matching_valid_selector():
    web = owner("web", "u1", {"matchLabels": {"app": "web"}})
    other_ns = owner("web", "u2", {"matchLabels": {"app": "web"}}, namespace="prod")
    db = owner("db", "u3", {"matchLabels": {"app": "db"}})
    broken = owner("broken", "u4", {"matchExpressions": [{"key": "app", "operator": "Bad"}]})
    everything = owner("all", "u5", {})
    owners = lookup(web, other_ns, db, broken, everything)
    names = {o["metadata"]["name"] for o in owners.matching(pod({"app": "web"}))}
    assert names == {"web", "all"}


def test_an_empty_selector_can_match_nothing():
    everything = owner("all", "u5", {})
    owners = lookup(everything, res=DEPLOYMENTS, empty_selector_matches=False)
    assert owners.matching(pod({"app": "web"})) == []
