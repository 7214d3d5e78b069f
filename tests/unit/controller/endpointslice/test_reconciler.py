"""EndpointSlices: one endpoint per pod with Kubernetes' conditions, at most 100 per
slice, grouped by resolved ports, updated in place, a placeholder for a Service with
nothing to list, and the tracker that keeps a lagging cache from double writes.

`FakeStore` applies a plan the way the apiserver would (generated names, uids,
generations), so each test can check that replanning its result changes nothing."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from controller.endpointslice.reconciler import (
    CONTROLLER_NAME,
    MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL,
    Plan,
    endpoint_ports,
    plan,
    pod_endpoint,
)
from controller.endpointslice.tracker import SliceTracker

Obj = dict[str, Any]
SVC_UID = "svc-uid"


def service(ports: list[Obj] | None = None, labels: dict | None = None, **spec: Any) -> Obj:
    return {
        "metadata": {"name": "svc", "namespace": "ns", "uid": SVC_UID, "labels": labels or {}},
        "spec": {
            "selector": {"app": "web"},
            "clusterIP": "10.96.0.10",
            "ports": ports
            if ports is not None
            else [{"name": "web", "port": 80, "targetPort": "http", "protocol": "TCP"}],
            **spec,
        },
    }


def pod(name: str, ip: str | None = None, port: int = 8080, ready: bool = True, **md: Any) -> Obj:
    return {
        "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}", **md},
        "spec": {
            "nodeName": "n1",
            "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": port}]}],
        },
        "status": {
            "phase": "Running",
            **({"podIP": ip} if ip else {}),
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def pods(count: int, start: int = 0) -> list[Obj]:
    return [pod(f"p{i:03d}", f"10.0.{i // 250}.{i % 250 + 1}") for i in range(start, count)]


class FakeStore:
    """Slices as the apiserver would hold them after each write."""

    def __init__(self) -> None:
        self.slices: dict[str, Obj] = {}
        self._ids = itertools.count()
        self.writes: list[tuple[str, str]] = []

    def apply(self, changes: Plan) -> None:
        for s in changes.create:
            s = copy.deepcopy(s)
            n = next(self._ids)
            md = s["metadata"]
            md.update(name=f"{md['generateName']}{n}", uid=f"slice-{n}", generation=1)
            self.slices[md["name"]] = s
            self.writes.append(("create", md["name"]))
        for s in changes.update:
            name = s["metadata"]["name"]
            old = self.slices[name]
            s = copy.deepcopy(s)
            if {k: v for k, v in s.items() if k != "metadata"} != {
                k: v for k, v in old.items() if k != "metadata"
            }:
                s["metadata"]["generation"] = old["metadata"]["generation"] + 1
            self.slices[name] = s
            self.writes.append(("update", name))
        for s in changes.delete:
            del self.slices[s["metadata"]["name"]]
            self.writes.append(("delete", s["metadata"]["name"]))

    def list(self) -> list[Obj]:
        return list(self.slices.values())

    def sync(self, svc: Obj, selected: list[Obj]) -> Plan:
        """Plan against what is stored, apply it, and check a second plan is empty."""
        changes = plan(svc, selected, self.list())
        self.apply(changes)
        again = plan(svc, selected, self.list())
        assert again == Plan(), again
        return changes

    def endpoints(self) -> list[str]:
        return sorted(e["targetRef"]["name"] for s in self.list() for e in s["endpoints"])


def conditions(store: FakeStore) -> dict[str, Obj]:
    return {e["targetRef"]["name"]: e["conditions"] for s in store.list() for e in s["endpoints"]}


# ---- one pod --------------------------------------------------------------------------


def test_a_pod_becomes_an_endpoint():
    endpoint = pod_endpoint(pod("a", "10.0.0.1"), service())
    assert endpoint == {
        "addresses": ["10.0.0.1"],
        "conditions": {"ready": True, "serving": True, "terminating": False},
        "targetRef": {"kind": "Pod", "namespace": "ns", "name": "a", "uid": "uid-a"},
        "nodeName": "n1",
    }
    assert pod_endpoint(pod("b"), service()) is None  # no IP yet


def test_terminating_pods_serve_but_are_not_ready_unless_published():
    terminating = pod("t", "10.0.0.2", deletionTimestamp="2030-01-01T00:00:00Z")
    assert pod_endpoint(terminating, service())["conditions"] == {
        "ready": False,
        "serving": True,
        "terminating": True,
    }
    published = service(publishNotReadyAddresses=True)
    assert pod_endpoint(terminating, published)["conditions"]["ready"] is True
    assert pod_endpoint(pod("n", "10.0.0.3", ready=False), published)["conditions"] == {
        "ready": True,
        "serving": False,
        "terminating": False,
    }


def test_hostname_only_for_the_pods_subdomain():
    p = pod("h", "10.0.0.4")
    p["spec"].update(hostname="h0", subdomain="svc")
    assert pod_endpoint(p, service())["hostname"] == "h0"
    p["spec"]["subdomain"] = "other"
    assert "hostname" not in pod_endpoint(p, service())


def test_ports_resolve_named_target_ports_and_always_carry_a_name():
    ports = [
        {"port": 80, "targetPort": "http", "protocol": "TCP"},
        {"name": "dns", "port": 53, "targetPort": 5353, "protocol": "UDP", "appProtocol": "dns"},
        {"name": "gone", "port": 81, "targetPort": "nope", "protocol": "TCP"},
    ]
    assert endpoint_ports(service(ports), pod("a", "10.0.0.1", port=9000)) == [
        {"name": "", "port": 9000, "protocol": "TCP"},
        {"name": "dns", "port": 5353, "protocol": "UDP", "appProtocol": "dns"},
    ]


# ---- building and keeping slices --------------------------------------------------------


def test_ready_and_not_ready_pods_share_one_slice():
    store = FakeStore()
    selected = [pod("a", "10.0.0.1"), pod("b", "10.0.0.2"), pod("c", "10.0.0.3")]
    selected.append(pod("d", "10.0.0.4", ready=False))
    selected.append(pod("e"))  # no IP: left out
    finished = pod("f", "10.0.0.6")
    finished["status"]["phase"] = "Succeeded"
    changes = store.sync(service(labels={"tier": "web"}), [*selected, finished])
    assert len(changes.create) == 1 and not changes.update and not changes.delete
    (s,) = store.list()
    assert s["metadata"]["generateName"] == "svc-"
    assert s["metadata"]["labels"] == {
        "tier": "web",
        SERVICE_NAME_LABEL: "svc",
        MANAGED_BY_LABEL: CONTROLLER_NAME,
    }
    assert s["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "name": "svc",
            "uid": SVC_UID,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert s["addressType"] == "IPv4"
    assert s["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]
    assert store.endpoints() == ["a", "b", "c", "d"]
    assert conditions(store)["d"] == {"ready": False, "serving": False, "terminating": False}
    assert conditions(store)["a"] == {"ready": True, "serving": True, "terminating": False}


def test_more_than_100_pods_fill_slices_of_100():
    store = FakeStore()
    store.sync(service(), pods(250))
    assert sorted(len(s["endpoints"]) for s in store.list()) == [50, 100, 100]
    assert len(store.endpoints()) == 250 == len(set(store.endpoints()))


def test_scaling_updates_slices_in_place():
    store = FakeStore()
    store.sync(service(), pods(150))
    names = set(store.slices)
    store.writes.clear()
    store.sync(service(), pods(160))  # 10 more: into the slice with room
    assert set(store.slices) == names and [w[0] for w in store.writes] == ["update"]
    assert sorted(len(s["endpoints"]) for s in store.list()) == [60, 100]
    full = next(s for s in store.list() if len(s["endpoints"]) == 100)
    gone = {e["targetRef"]["name"] for e in full["endpoints"]}
    store.writes.clear()
    store.sync(service(), [p for p in pods(160) if p["metadata"]["name"] not in gone])
    assert store.writes == [("delete", full["metadata"]["name"])]  # the other slice is kept
    assert len(store.endpoints()) == 60
    store.writes.clear()
    store.sync(service(), pods(30))  # down to 30: the last slice is rewritten, not replaced
    assert [w[0] for w in store.writes] == ["update"]
    assert len(store.endpoints()) == 30 and len(store.slices) == 1


def test_a_changed_pod_is_rewritten_where_it_is():
    store = FakeStore()
    store.sync(service(), [pod("a", "10.0.0.1"), pod("b", "10.0.0.2")])
    (name,) = store.slices
    store.writes.clear()
    store.sync(service(), [pod("a", "10.0.0.1", ready=False), pod("b", "10.0.0.2")])
    assert store.writes == [("update", name)]
    assert conditions(store)["a"]["ready"] is False
    assert store.slices[name]["metadata"]["generation"] == 2


def test_named_target_ports_split_pods_into_slices():
    store = FakeStore()
    store.sync(service(), [pod("a", "10.0.0.1"), pod("b", "10.0.0.2", port=9090)])
    by_port = {s["ports"][0]["port"]: s for s in store.list()}
    assert {p: [e["targetRef"]["name"] for e in s["endpoints"]] for p, s in by_port.items()} == {
        8080: ["a"],
        9090: ["b"],
    }


def test_no_pods_leave_one_placeholder_which_is_then_reused():
    store = FakeStore()
    changes = store.sync(service(), [])
    (placeholder,) = changes.create
    assert placeholder["endpoints"] == [] and placeholder["ports"] == []
    (name,) = store.slices
    store.writes.clear()
    store.sync(service(), [pod("a", "10.0.0.1")])
    assert store.writes == [("update", name)]  # recycled, not deleted and recreated
    assert store.slices[name]["ports"][0]["port"] == 8080
    store.writes.clear()
    store.sync(service(), [])
    assert store.writes == [("update", name)] and store.slices[name]["endpoints"] == []


def test_service_labels_follow_but_cannot_take_over_reserved_ones():
    store = FakeStore()
    store.sync(service(labels={"v": "1"}), [pod("a", "10.0.0.1")])
    svc = service(labels={"v": "2", SERVICE_NAME_LABEL: "evil", MANAGED_BY_LABEL: "me"})
    changes = store.sync(svc, [pod("a", "10.0.0.1")])
    assert len(changes.update) == 1
    (s,) = store.list()
    assert s["metadata"]["labels"] == {
        "v": "2",
        SERVICE_NAME_LABEL: "svc",
        MANAGED_BY_LABEL: CONTROLLER_NAME,
    }
    headless = service(clusterIP="None")
    store.sync(headless, [pod("a", "10.0.0.1")])
    assert store.list()[0]["metadata"]["labels"]["service.kubernetes.io/headless"] == ""


def test_slices_of_another_owner_are_replaced():
    store = FakeStore()
    store.sync(service(), [pod("a", "10.0.0.1")])
    (old,) = store.slices
    store.slices[old]["metadata"]["ownerReferences"][0]["uid"] = "an-earlier-namesake"
    changes = store.sync(service(), [pod("a", "10.0.0.1")])
    assert [s["metadata"]["name"] for s in changes.delete] == [old]
    assert len(changes.create) == 1 and old not in store.slices


def test_slices_being_deleted_are_ignored():
    store = FakeStore()
    store.sync(service(), [pod("a", "10.0.0.1")])
    (s,) = store.list()
    s["metadata"]["deletionTimestamp"] = "2030-01-01T00:00:00Z"
    changes = plan(service(), [pod("a", "10.0.0.1")], store.list())
    assert len(changes.create) == 1 and not changes.update and not changes.delete


# ---- the tracker ----------------------------------------------------------------------


def slice_(uid: str, generation: int) -> Obj:
    return {
        "metadata": {
            "name": uid,
            "namespace": "ns",
            "uid": uid,
            "generation": generation,
            "labels": {SERVICE_NAME_LABEL: "svc", MANAGED_BY_LABEL: CONTROLLER_NAME},
        }
    }


def test_tracker_sees_a_cache_that_is_behind():
    tracker = SliceTracker()
    assert not tracker.stale("ns/svc", [])
    tracker.wrote(slice_("a", 2))
    assert tracker.stale("ns/svc", [])  # created, not yet in the cache
    assert tracker.stale("ns/svc", [slice_("a", 1)])  # an older generation
    assert not tracker.stale("ns/svc", [slice_("a", 2)])
    assert not tracker.stale("ns/svc", [slice_("a", 3)])  # someone else wrote since
    tracker.expect_deletion(slice_("a", 2))
    assert tracker.stale("ns/svc", [slice_("a", 2)])  # deleted, still in the cache
    assert not tracker.stale("ns/svc", [])
    tracker.deleted(slice_("a", 2))
    assert not tracker.stale("ns/svc", [slice_("a", 2)])
    tracker.wrote(slice_("b", 1))
    tracker.forget("ns/svc")
    assert not tracker.stale("ns/svc", [])
    unmanaged = slice_("c", 1)
    unmanaged["metadata"]["labels"] = {SERVICE_NAME_LABEL: "svc"}
    tracker.wrote(unmanaged)
    assert not tracker.stale("ns/svc", [])
