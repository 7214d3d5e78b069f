"""The three-way strategic merge patch of client-side apply, checked against what
kubectl computes, and end to end through the server's own strategic merge patch."""

from __future__ import annotations

import copy
import json

import pytest

from api.patch import merge_patch, strategic_merge_patch
from client import patchmeta
from client.threeway import (
    LAST_APPLIED,
    PatchError,
    go_json,
    last_applied,
    three_way_patch,
    with_last_applied,
)

DEPLOY = patchmeta.for_kind("apps/v1", "Deployment")
POD = patchmeta.for_kind("v1", "Pod")
SERVICE = patchmeta.for_kind("v1", "Service")


def deployment(**spec_overrides: object) -> dict:
    containers = [{"name": "web", "image": "nginx:1", "ports": [{"containerPort": 80}]}]
    spec = {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": containers},
        },
    }
    spec.update(spec_overrides)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": spec,
    }


def live_from(config: dict) -> dict:
    """What the server holds after applying `config`: defaults and status added."""
    live = with_last_applied(config)
    live["metadata"].update(uid="u1", resourceVersion="5", generation=1)
    spec = live["spec"]
    spec.setdefault(
        "strategy",
        {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
    )
    spec.setdefault("revisionHistoryLimit", 10)
    for c in spec["template"]["spec"]["containers"]:
        c.setdefault("imagePullPolicy", "IfNotPresent")
        for p in c.get("ports", []):
            p.setdefault("protocol", "TCP")
    spec["template"]["spec"].setdefault("restartPolicy", "Always")
    live["status"] = {"replicas": 2, "readyReplicas": 2}
    return live


def apply_like_kubectl(config: dict, live: dict) -> tuple[dict, dict]:
    """(patch, new live object) for applying `config` over `live`."""
    patch = three_way_patch(last_applied(live), with_last_applied(config), live, DEPLOY)
    return patch, strategic_merge_patch(live, patch, "Deployment")


def test_unchanged_config_gives_empty_patch():
    config = deployment()
    assert (
        three_way_patch(
            last_applied(live_from(config)), with_last_applied(config), live_from(config), DEPLOY
        )
        == {}
    )


def test_changed_scalar_is_set_and_annotation_updated():
    old = deployment()
    new = deployment(replicas=5)
    patch, result = apply_like_kubectl(new, live_from(old))
    assert patch["spec"] == {"replicas": 5}
    assert set(patch["metadata"]["annotations"]) == {LAST_APPLIED}
    assert result["spec"]["replicas"] == 5
    assert last_applied(result)["spec"]["replicas"] == 5


def test_fields_set_by_server_are_kept():
    patch, result = apply_like_kubectl(deployment(replicas=3), live_from(deployment()))
    assert result["status"] == {"replicas": 2, "readyReplicas": 2}
    assert result["spec"]["revisionHistoryLimit"] == 10
    assert result["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert "status" not in patch


def test_field_dropped_from_config_is_deleted():
    old = deployment(minReadySeconds=5)
    old["metadata"]["labels"] = {"app": "web", "tier": "front"}
    new = deployment()
    new["metadata"]["labels"] = {"app": "web"}
    patch, result = apply_like_kubectl(new, live_from(old))
    assert patch["spec"] == {"minReadySeconds": None}
    assert patch["metadata"]["labels"] == {"tier": None}
    assert "minReadySeconds" not in result["spec"]
    assert result["metadata"]["labels"] == {"app": "web"}


def test_container_list_merges_by_name():
    old = deployment()
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    patch, result = apply_like_kubectl(new, live_from(old))
    assert patch["spec"]["template"]["spec"]["containers"] == [
        {"name": "web", "image": "nginx:2"},
        {"name": "sidecar", "image": "busybox"},
    ]
    containers = result["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["web", "sidecar"]
    assert containers[0]["image"] == "nginx:2"
    assert containers[0]["imagePullPolicy"] == "IfNotPresent"  # server default survives


def test_removed_container_gets_delete_directive():
    old = deployment()
    old["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})
    new = deployment()
    patch, result = apply_like_kubectl(new, live_from(old))
    assert patch["spec"]["template"]["spec"]["containers"] == [
        {"name": "sidecar", "$patch": "delete"}
    ]
    assert [c["name"] for c in result["spec"]["template"]["spec"]["containers"]] == ["web"]


def test_removed_env_var_and_port_inside_a_kept_container():
    old = deployment()
    c = old["spec"]["template"]["spec"]["containers"][0]
    c["env"] = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    c["ports"].append({"containerPort": 443})
    new = deployment()
    new["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    patch, result = apply_like_kubectl(new, live_from(old))
    assert patch["spec"]["template"]["spec"]["containers"] == [
        {
            "name": "web",
            "env": [{"name": "B", "$patch": "delete"}],
            "ports": [{"containerPort": 443, "$patch": "delete"}],
        }
    ]
    kept = result["spec"]["template"]["spec"]["containers"][0]
    assert kept["env"] == [{"name": "A", "value": "1"}]
    assert kept["ports"] == [{"containerPort": 80, "protocol": "TCP"}]


def test_list_without_merge_key_is_replaced_whole():
    old = deployment()
    old["spec"]["template"]["spec"]["containers"][0]["args"] = ["a", "b"]
    new = deployment()
    new["spec"]["template"]["spec"]["containers"][0]["args"] = ["b"]
    patch, result = apply_like_kubectl(new, live_from(old))
    assert patch["spec"]["template"]["spec"]["containers"] == [{"name": "web", "args": ["b"]}]
    assert result["spec"]["template"]["spec"]["containers"][0]["args"] == ["b"]


def test_retain_keys_for_deployment_strategy():
    old = deployment(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}})
    new = deployment(strategy={"type": "Recreate"})
    patch, result = apply_like_kubectl(new, live_from(old))
    assert patch["spec"]["strategy"] == {
        "type": "Recreate",
        "rollingUpdate": None,
        "$retainKeys": ["type"],
    }
    assert result["spec"]["strategy"] == {"type": "Recreate"}


def test_primitive_merge_list_deletions_use_parallel_list():
    old = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "finalizers": ["a/x", "b/y"]},
    }
    new = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "finalizers": ["a/x"]}}
    live = copy.deepcopy(old)
    live["metadata"]["finalizers"].append("server/z")
    patch = three_way_patch(old, new, live, POD)
    assert patch == {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b/y"]}}
    result = strategic_merge_patch(live, patch, "Pod")
    assert result["metadata"]["finalizers"] == ["a/x", "server/z"]


def test_service_ports_merge_by_port():
    old = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 80}, {"port": 443}]},
    }
    new = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 80, "targetPort": 8080}]},
    }
    live = copy.deepcopy(old)
    live["spec"]["clusterIP"] = "10.96.0.10"
    patch = three_way_patch(old, new, live, SERVICE)
    # deletions first, then changes: the order kubectl's merge of the two halves gives
    assert patch == {
        "spec": {"ports": [{"port": 443, "$patch": "delete"}, {"port": 80, "targetPort": 8080}]}
    }
    result = strategic_merge_patch(live, patch, "Service")
    assert result["spec"] == {
        "ports": [{"port": 80, "targetPort": 8080}],
        "clusterIP": "10.96.0.10",
    }


def test_change_made_by_someone_else_is_overwritten_only_where_config_says():
    config = deployment()
    live = live_from(config)
    live["spec"]["replicas"] = 7  # e.g. `kubectl scale`
    live["metadata"]["labels"] = {"added-by": "someone"}
    patch, result = apply_like_kubectl(config, live)
    assert patch == {"spec": {"replicas": 2}}
    assert result["metadata"]["labels"] == {"added-by": "someone"}


def test_merge_key_missing_is_an_error():
    old = deployment()
    new = deployment()
    new["spec"]["template"]["spec"]["containers"] = [{"image": "x"}]
    with pytest.raises(PatchError, match="merge key"):
        three_way_patch(last_applied(live_from(old)), new, live_from(old), DEPLOY)


def test_numbers_and_booleans_compare_like_json():
    config = deployment()
    live = live_from(config)
    live["spec"]["replicas"] = 2.0
    assert three_way_patch(last_applied(live), with_last_applied(config), live, DEPLOY) == {}
    config2 = deployment(paused=True)
    live2 = live_from(deployment(paused=1))
    patch = three_way_patch(last_applied(live2), with_last_applied(config2), live2, DEPLOY)
    assert patch["spec"] == {"paused": True}


def test_unknown_kind_is_a_json_merge_patch():
    assert patchmeta.for_kind("example.com/v1", "Widget") is None
    old = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"items": [{"name": "a"}, {"name": "b"}], "x": 1},
    }
    new = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"items": [{"name": "a"}]},
    }
    patch = three_way_patch(old, new, old, None)
    assert patch == {"spec": {"items": [{"name": "a"}], "x": None}}
    assert merge_patch(old, patch)["spec"] == {"items": [{"name": "a"}]}


def test_last_applied_annotation_matches_kubectl_encoding():
    config = {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "a<b>&c"}]},
    }
    annotated = with_last_applied(config)
    text = annotated["metadata"]["annotations"][LAST_APPLIED]
    assert text == (
        '{"apiVersion":"v1","kind":"Pod","metadata":{"annotations":{},"name":"p",'
        '"namespace":"default"},"spec":{"containers":[{"image":"a\\u003cb\\u003e\\u0026c",'
        '"name":"c"}]}}\n'
    )
    assert json.loads(text)["spec"]["containers"][0]["image"] == "a<b>&c"
    assert "annotations" not in config["metadata"]  # the input is not changed


def test_last_applied_ignores_garbage():
    assert last_applied({"metadata": {"annotations": {LAST_APPLIED: "{not json"}}}) is None
    assert last_applied({"metadata": {}}) is None


def test_go_json_is_compact_sorted_with_newline():
    assert go_json({"b": 1, "a": [True, None]}) == '{"a":[true,null],"b":1}\n'


def test_missing_annotation_means_no_deletions():
    config = deployment()
    live = live_from(deployment(minReadySeconds=3))
    del live["metadata"]["annotations"][LAST_APPLIED]
    patch = three_way_patch(None, with_last_applied(config), live, DEPLOY)
    assert "spec" not in patch  # nothing known to delete, nothing changed
    assert LAST_APPLIED in patch["metadata"]["annotations"]
