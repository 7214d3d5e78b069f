"""api.patch: JSON merge patch, JSON patch, strategic merge patch and server-side apply,
pinned to kube-apiserver's behaviour (cases from apimachinery's strategicpatch tests and
from what kubectl actually sends)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from api.errors import ApiError, Conflict
from api.patch import (
    apply_patch,
    fields_v1,
    json_patch,
    list_strategy,
    merge_patch,
    strategic_merge_patch,
    update_managed_fields,
)

# helpers


def smp(doc: dict, patch: dict, kind: str | None = None) -> dict:
    """Strategic merge patch that also checks the inputs are untouched and no
    directive survives into the result."""
    before_doc, before_patch = copy.deepcopy(doc), copy.deepcopy(patch)
    out = strategic_merge_patch(doc, patch, kind)
    assert doc == before_doc and patch == before_patch
    assert not _directives(out), _directives(out)
    return out


def _directives(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [k for k in value if k.startswith("$")]
        return found + [d for v in value.values() for d in _directives(v)]
    if isinstance(value, list):
        return [d for v in value for d in _directives(v)]
    return []


def error_of(fn, *args, **kwargs) -> ApiError:
    with pytest.raises(ApiError) as info:
        fn(*args, **kwargs)
    return info.value


def deployment(containers: list[dict], **spec: Any) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 1, **spec, "template": {"spec": {"containers": containers}}},
    }


def containers_of(obj: dict) -> list[dict]:
    return obj["spec"]["template"]["spec"]["containers"]


def names(items: list[dict], key: str = "name") -> list[Any]:
    return [it[key] for it in items]


# JSON merge patch (RFC 7386)


def test_merge_patch_merges_maps_deletes_nulls_replaces_lists():
    doc = {"a": {"b": 1, "c": 2}, "l": [1, 2, 3], "gone": "x"}
    patch = {"a": {"c": None, "d": {"e": None, "f": 1}}, "l": [9], "gone": None}
    before = copy.deepcopy(doc)
    assert merge_patch(doc, patch) == {"a": {"b": 1, "d": {"f": 1}}, "l": [9]}
    assert doc == before


def test_merge_patch_result_shares_nothing_with_inputs():
    patch = {"spec": {"ports": [{"port": 80}]}}
    out = merge_patch({}, patch)
    out["spec"]["ports"][0]["port"] = 1
    assert patch["spec"]["ports"][0]["port"] == 80


def test_merge_patch_scale_as_kubectl_sends_it():
    scale = {"kind": "Scale", "spec": {"replicas": 1}, "status": {"replicas": 1}}
    assert merge_patch(scale, {"spec": {"replicas": 3}})["spec"] == {"replicas": 3}


@pytest.mark.parametrize("body", [[{"op": "add"}], "x", 3, None])
def test_merge_patch_body_must_be_an_object(body):
    assert error_of(merge_patch, {}, body).code == 400


# JSON patch (RFC 6902)


def test_json_patch_replace_add_remove_and_passing_test():
    doc = {"metadata": {"annotations": {"a": "1"}}, "spec": {"replicas": 1, "x": True}}
    ops = [
        {"op": "test", "path": "/spec/replicas", "value": 1},
        {"op": "replace", "path": "/spec/replicas", "value": 3},
        {"op": "add", "path": "/metadata/annotations/b~1c", "value": "2"},
        {"op": "remove", "path": "/spec/x"},
    ]
    before = copy.deepcopy(doc)
    out = json_patch(doc, ops)
    assert out == {"metadata": {"annotations": {"a": "1", "b/c": "2"}}, "spec": {"replicas": 3}}
    assert doc == before


def test_json_patch_rollout_undo_replaces_template_and_annotations():
    doc = deployment([{"name": "web", "image": "nginx:2"}])
    doc["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "2"}
    template = {
        "metadata": {"creationTimestamp": None},
        "spec": {"containers": [{"name": "web", "image": "nginx:1", "resources": {}}]},
    }
    ops = [
        {"op": "replace", "path": "/spec/template", "value": template},
        {
            "op": "replace",
            "path": "/metadata/annotations",
            "value": {"deployment.kubernetes.io/revision": "1"},
        },
    ]
    out = json_patch(doc, ops)
    assert out["spec"]["template"] == template
    assert out["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "1"}


def test_json_patch_failed_test_is_422_as_kube_apiserver_words_it():
    err = error_of(
        json_patch,
        {"spec": {"replicas": 1}},
        [
            {"op": "test", "path": "/spec/replicas", "value": 5},
            {"op": "replace", "path": "/spec/replicas", "value": 9},
        ],
    )
    assert (err.code, err.reason) == (422, "Invalid")
    assert err.message == "the server rejected our request due to an error in our request"
    assert "not equal" in str(err.__cause__)  # the library's reason, for server logs


@pytest.mark.parametrize(
    "op",
    [
        {"op": "remove", "path": "/spec/missing"},
        {"op": "replace", "path": "/nope/deeper", "value": 1},
        {"op": "add", "path": "/spec/list/7", "value": 1},
        {"op": "frobnicate", "path": "/spec"},
        {"op": "add", "value": 1},
        {"op": "add", "path": "no-slash", "value": 1},
        {"op": "move", "from": "/spec/missing", "path": "/spec/b"},
    ],
)
def test_json_patch_that_cannot_apply_is_422(op):
    assert error_of(json_patch, {"spec": {"list": [1]}}, [op]).code == 422


@pytest.mark.parametrize("body", [{"op": "add", "path": "/a", "value": 1}, ["op"], "[]", None])
def test_json_patch_body_not_a_list_of_operations_is_400(body):
    assert error_of(json_patch, {}, body).code == 400


def test_json_patch_replacing_the_root_with_a_non_object_is_422():
    assert error_of(json_patch, {}, [{"op": "replace", "path": "", "value": 3}]).code == 422


def test_json_patch_operation_limit_is_413():
    ops = [{"op": "test", "path": "", "value": {}}] * 10001
    assert error_of(json_patch, {}, ops).code == 413


# strategic merge patch: maps, nulls, atomic lists


def test_smp_null_deletes_and_maps_merge():
    doc = {"metadata": {"labels": {"app": "web", "tier": "fe"}}, "spec": {"paused": True}}
    out = smp(
        doc,
        {
            "metadata": {"labels": {"tier": None, "env": "prod"}},
            "spec": {"paused": None},
            "missing": None,
        },
    )
    assert out == {"metadata": {"labels": {"app": "web", "env": "prod"}}, "spec": {}}


def test_smp_body_must_be_an_object():
    assert error_of(strategic_merge_patch, {}, [{"name": "x"}]).code == 400


@pytest.mark.parametrize(
    "field,old,new",
    [
        ("tolerations", [{"key": "a", "operator": "Exists"}], [{"key": "b", "operator": "Exists"}]),
        ("readinessGates", [{"conditionType": "a"}], [{"conditionType": "b"}]),
    ],
)
def test_smp_lists_without_merge_key_are_replaced(field, old, new):
    pod = {"kind": "Pod", "spec": {field: old}}
    assert smp(pod, {"spec": {field: new}})["spec"][field] == new


def test_smp_container_args_and_endpoint_subsets_are_replaced():
    pod = {"kind": "Pod", "spec": {"containers": [{"name": "c", "args": ["a", "b"]}]}}
    out = smp(pod, {"spec": {"containers": [{"name": "c", "args": ["z"]}]}})
    assert out["spec"]["containers"] == [{"name": "c", "args": ["z"]}]
    ep = {"kind": "Endpoints", "subsets": [{"addresses": [{"ip": "10.0.0.1"}]}]}
    new = [{"addresses": [{"ip": "10.0.0.2"}]}]
    assert smp(ep, {"subsets": new})["subsets"] == new


# strategic merge patch: lists merged by key, per key family

KEY_FAMILIES = [
    # (kind, path to the list, merge key, live list, patch list, expected list)
    (
        "Pod",
        ("spec", "containers"),
        "name",
        [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}],
        [{"name": "b", "image": "2"}],
        [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}],
    ),
    (
        "Pod",
        ("spec", "initContainers"),
        "name",
        [{"name": "init", "image": "1", "command": ["x"]}],
        [{"name": "init", "image": "2"}],
        [{"name": "init", "image": "2", "command": ["x"]}],
    ),
    (
        "Pod",
        ("spec", "ephemeralContainers"),
        "name",
        [{"name": "debug", "image": "busybox"}],
        [{"name": "debug", "tty": True}],
        [{"name": "debug", "image": "busybox", "tty": True}],
    ),
    (
        "Pod",
        ("spec", "volumes"),
        "name",
        [{"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "a"}}],
        [{"name": "cfg", "configMap": {"name": "b"}}],
        [{"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "b"}}],
    ),
    (
        "Pod",
        ("spec", "imagePullSecrets"),
        "name",
        [{"name": "one"}],
        [{"name": "two"}],
        [{"name": "two"}, {"name": "one"}],
    ),
    (
        "Pod",
        ("spec", "hostAliases"),
        "ip",
        [{"ip": "10.0.0.1", "hostnames": ["a"]}],
        [{"ip": "10.0.0.1", "hostnames": ["b"]}],
        [{"ip": "10.0.0.1", "hostnames": ["b"]}],
    ),
    (
        "Pod",
        ("spec", "topologySpreadConstraints"),
        "topologyKey",
        [{"topologyKey": "zone", "maxSkew": 1}],
        [{"topologyKey": "zone", "maxSkew": 2}],
        [{"topologyKey": "zone", "maxSkew": 2}],
    ),
    (
        "Pod",
        ("status", "conditions"),
        "type",
        [{"type": "Ready", "status": "False"}, {"type": "PodScheduled", "status": "True"}],
        [{"type": "Ready", "status": "True"}],
        [{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}],
    ),
    (
        "Pod",
        ("status", "podIPs"),
        "ip",
        [{"ip": "10.1.0.5"}],
        [{"ip": "fd00::5"}],
        [{"ip": "fd00::5"}, {"ip": "10.1.0.5"}],
    ),
    (
        "Node",
        ("status", "addresses"),
        "type",
        [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": "n1"}],
        [{"type": "InternalIP", "address": "10.0.0.2"}],
        [{"type": "InternalIP", "address": "10.0.0.2"}, {"type": "Hostname", "address": "n1"}],
    ),
    (
        "Node",
        ("status", "conditions"),
        "type",
        [{"type": "Ready", "status": "True"}, {"type": "DiskPressure", "status": "False"}],
        [{"type": "DiskPressure", "status": "True"}],
        [{"type": "Ready", "status": "True"}, {"type": "DiskPressure", "status": "True"}],
    ),
    (
        "Deployment",
        ("status", "conditions"),
        "type",
        [{"type": "Available", "status": "True"}],
        [{"type": "Progressing", "status": "True"}],
        [{"type": "Progressing", "status": "True"}, {"type": "Available", "status": "True"}],
    ),
    (
        "Service",
        ("spec", "ports"),
        "port",
        [{"name": "http", "port": 80, "targetPort": 8080}, {"name": "https", "port": 443}],
        [{"port": 80, "targetPort": 9090}],
        [{"name": "http", "port": 80, "targetPort": 9090}, {"name": "https", "port": 443}],
    ),
    (
        "ReplicaSet",
        ("metadata", "ownerReferences"),
        "uid",
        [{"uid": "u1", "name": "a", "controller": True}],
        [{"uid": "u1", "controller": False}],
        [{"uid": "u1", "name": "a", "controller": False}],
    ),
    ("Pod", ("metadata", "finalizers"), None, ["a", "b"], ["b", "c"], ["a", "b", "c"]),
    (
        "Node",
        ("spec", "podCIDRs"),
        None,
        ["10.1.0.0/24"],
        ["fd00::/64"],
        ["fd00::/64", "10.1.0.0/24"],
    ),
]


def _nest(path: tuple[str, ...], value: Any) -> dict:
    for key in reversed(path):
        value = {key: value}
    return value


@pytest.mark.parametrize(
    "kind,path,key,live,patch,want",
    KEY_FAMILIES,
    ids=[f"{k}:{'.'.join(p)}" for k, p, *_ in KEY_FAMILIES],
)
def test_smp_merges_each_key_family(kind, path, key, live, patch, want):
    assert list_strategy(path, kind).key == (key or "")
    out = smp({"kind": kind, **_nest(path, live)}, _nest(path, patch))
    for step in path:
        out = out[step]
    assert out == want


CONTAINER_FIELDS = [
    (
        "env",
        "name",
        [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        [{"name": "B", "value": "3"}],
        [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}],
    ),
    (
        "ports",
        "containerPort",
        [{"containerPort": 80, "protocol": "TCP"}],
        [{"containerPort": 80, "name": "http"}],
        [{"containerPort": 80, "protocol": "TCP", "name": "http"}],
    ),
    (
        "volumeMounts",
        "mountPath",
        [{"name": "a", "mountPath": "/data"}],
        [{"name": "b", "mountPath": "/data"}],
        [{"name": "b", "mountPath": "/data"}],
    ),
    (
        "volumeDevices",
        "devicePath",
        [{"name": "a", "devicePath": "/dev/x"}],
        [{"name": "b", "devicePath": "/dev/y"}],
        [{"name": "b", "devicePath": "/dev/y"}, {"name": "a", "devicePath": "/dev/x"}],
    ),
]


@pytest.mark.parametrize("container_list", ["containers", "initContainers", "ephemeralContainers"])
@pytest.mark.parametrize(
    "field,key,live,patch,want", CONTAINER_FIELDS, ids=[c[0] for c in CONTAINER_FIELDS]
)
def test_smp_merges_container_fields_inside_a_deployment_template(
    container_list, field, key, live, patch, want
):
    doc = deployment([])
    doc["spec"]["template"]["spec"] = {container_list: [{"name": "web", field: live}]}
    patch_doc = {"spec": {"template": {"spec": {container_list: [{"name": "web", field: patch}]}}}}
    out = smp(doc, patch_doc)
    assert out["spec"]["template"]["spec"][container_list] == [{"name": "web", field: want}]
    assert list_strategy(("spec", "template", "spec", container_list, field)).key == key


def test_smp_ports_key_depends_on_where_the_list_is():
    assert list_strategy(("spec", "ports"), "Service").key == "port"
    assert list_strategy(("spec", "containers", "ports"), "Pod").key == "containerPort"
    assert not list_strategy(("spec", "ports"), "Deployment").merges
    assert not list_strategy(("spec", "template", "spec", "ports")).merges
    assert not list_strategy(("spec", "tolerations"), "Pod").merges


def test_smp_takes_the_kind_from_the_document():
    svc = {"kind": "NotAService", "spec": {"ports": [{"port": 80}, {"port": 81}]}}
    assert smp(svc, {"spec": {"ports": [{"port": 80}]}})["spec"]["ports"] == [{"port": 80}]
    svc["kind"] = "Service"
    assert len(smp(svc, {"spec": {"ports": [{"port": 80}]}})["spec"]["ports"]) == 2


def test_smp_merged_list_element_keeps_fields_the_patch_does_not_mention():
    doc = deployment(
        [
            {
                "name": "web",
                "image": "nginx:1",
                "ports": [{"containerPort": 80, "protocol": "TCP"}],
            },
            {"name": "sidecar", "image": "busybox"},
        ]
    )
    out = smp(
        doc, {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}}
    )
    assert containers_of(out) == [
        {"name": "web", "image": "nginx:2", "ports": [{"containerPort": 80, "protocol": "TCP"}]},
        {"name": "sidecar", "image": "busybox"},
    ]


def test_smp_new_element_goes_first_without_set_element_order():
    """Kubernetes puts patch elements it cannot place by the live order first."""
    doc = deployment([{"name": "a"}, {"name": "b"}])
    out = smp(doc, {"spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}})
    assert names(containers_of(out)) == ["c", "a", "b"]


def test_smp_patch_order_wins_over_live_order():
    """apimachinery: 'preserve the order from the patch in a merging list 2'."""
    doc = {
        "kind": "Pod",
        "spec": {"containers": [{"name": "1"}, {"name": "2", "v": "b"}, {"name": "3"}]},
    }
    out = smp(doc, {"spec": {"containers": [{"name": "3", "v": "c"}, {"name": "1", "v": "a"}]}})
    assert out["spec"]["containers"] == [
        {"name": "2", "v": "b"},
        {"name": "3", "v": "c"},
        {"name": "1", "v": "a"},
    ]


def test_smp_primitive_set_merge_dedupes():
    out = smp({"metadata": {"finalizers": ["a", "a", "b"]}}, {"metadata": {"finalizers": ["b"]}})
    assert out["metadata"]["finalizers"] == ["a", "b"]


def test_smp_missing_merge_key_is_400():
    err = error_of(
        strategic_merge_patch,
        {"kind": "Pod", "spec": {"containers": []}},
        {"spec": {"containers": [{"image": "nginx"}]}},
    )
    assert err.code == 400 and "does not contain declared merge key: name" in err.message


def test_smp_merged_list_of_maps_must_hold_maps():
    err = error_of(strategic_merge_patch, {"kind": "Pod"}, {"spec": {"containers": ["web"]}})
    assert err.code == 400


def test_smp_adds_lists_and_maps_that_were_absent():
    out = smp(
        {"kind": "Pod", "spec": {}},
        {
            "spec": {
                "containers": [{"name": "a", "env": [{"name": "X", "value": "1"}]}],
                "nodeSelector": {"disk": "ssd", "gone": None},
            }
        },
    )
    assert out["spec"] == {
        "containers": [{"name": "a", "env": [{"name": "X", "value": "1"}]}],
        "nodeSelector": {"disk": "ssd"},
    }


def test_smp_type_change_replaces():
    assert smp({"a": {"b": 1}}, {"a": "x"}) == {"a": "x"}
    assert smp({"a": "x"}, {"a": {"b": 1}}) == {"a": {"b": 1}}


# strategic merge patch: $patch


def test_smp_patch_delete_list_element_removes_every_match():
    doc = {
        "kind": "Pod",
        "spec": {
            "containers": [{"name": "1"}, {"name": "1"}, {"name": "2", "v": "a"}, {"name": "3"}]
        },
    }
    out = smp(
        doc,
        {
            "spec": {
                "containers": [{"name": "1", "$patch": "delete"}, {"name": "3", "$patch": "delete"}]
            }
        },
    )
    assert out["spec"]["containers"] == [{"name": "2", "v": "a"}]


def test_smp_patch_delete_of_a_missing_element_is_harmless():
    doc = {"kind": "Pod", "spec": {"containers": [{"name": "a"}]}}
    out = smp(doc, {"spec": {"containers": [{"name": "zz", "$patch": "delete"}]}})
    assert out["spec"]["containers"] == [{"name": "a"}]


def test_smp_patch_delete_needs_the_merge_key():
    err = error_of(
        strategic_merge_patch,
        {"kind": "Pod", "spec": {"containers": []}},
        {"spec": {"containers": [{"$patch": "delete", "image": "x"}]}},
    )
    assert err.code == 400


def test_smp_patch_replace_element_replaces_the_whole_list():
    doc = {"kind": "Pod", "spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b"}]}}
    out = smp(doc, {"spec": {"containers": [{"$patch": "replace"}, {"name": "c"}]}})
    assert out["spec"]["containers"] == [{"name": "c"}]
    out = smp(doc, {"spec": {"containers": [{"$patch": "replace"}]}})
    assert out["spec"]["containers"] == []


def test_smp_patch_replace_on_a_map():
    doc = {"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"x": 1}}
    out = smp(doc, {"metadata": {"labels": {"$patch": "replace", "c": "3"}}})
    assert out == {"metadata": {"labels": {"c": "3"}}, "spec": {"x": 1}}
    assert smp({"name": 1, "value": 1}, {"$patch": "replace", "other": "a"}) == {"other": "a"}


def test_smp_patch_delete_on_a_map_empties_it():
    """apimachinery: 'delete map from nested map' leaves `{}`."""
    doc = {"simpleMap": {"key1": 1, "key2": 1}, "other": "a"}
    assert smp(doc, {"simpleMap": {"$patch": "delete"}}) == {"simpleMap": {}, "other": "a"}
    assert smp({"other": "a"}, {"simpleMap": {"$patch": "delete"}}) == {"other": "a"}


def test_smp_patch_merge_is_the_default_made_explicit():
    doc = {
        "kind": "Pod",
        "metadata": {"labels": {"a": "1"}},
        "spec": {"containers": [{"name": "a", "image": "1"}]},
    }
    out = smp(
        doc,
        {
            "metadata": {"labels": {"$patch": "merge", "b": "2"}},
            "spec": {"containers": [{"name": "a", "$patch": "merge", "image": "2"}]},
        },
    )
    assert out["metadata"]["labels"] == {"a": "1", "b": "2"}
    assert out["spec"]["containers"] == [{"name": "a", "image": "2"}]


@pytest.mark.parametrize(
    "patch",
    [
        {"metadata": {"$patch": "destroy"}},
        {"spec": {"containers": [{"name": "a", "$patch": "keep"}]}},
    ],
)
def test_smp_unknown_patch_type_is_400(patch):
    err = error_of(strategic_merge_patch, {"kind": "Pod", "spec": {"containers": []}}, patch)
    assert err.code == 400 and "unknown patch type" in err.message


@pytest.mark.parametrize("key", ["$foo", "$setElementOrder", "$deleteFromPrimitiveList"])
def test_smp_unknown_or_malformed_directive_keys_are_400(key):
    assert error_of(strategic_merge_patch, {}, {key: []}).code == 400


# strategic merge patch: $setElementOrder


def test_smp_kubectl_client_side_apply_patch_updates_the_image():
    """The patch kubectl apply sends after editing one container's image."""
    live = deployment(
        [
            {
                "name": "web",
                "image": "nginx:1",
                "imagePullPolicy": "IfNotPresent",
                "terminationMessagePath": "/dev/termination-log",
            }
        ]
    )
    live["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": "{}"}
    last = json.dumps(deployment([{"name": "web", "image": "nginx:2"}]))
    patch = {
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": last}},
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "web"}],
                    "containers": [{"image": "nginx:2", "name": "web"}],
                }
            }
        },
    }
    out = smp(live, patch)
    assert containers_of(out) == [
        {
            "name": "web",
            "image": "nginx:2",
            "imagePullPolicy": "IfNotPresent",
            "terminationMessagePath": "/dev/termination-log",
        }
    ]
    assert out["metadata"]["annotations"] == {
        "kubectl.kubernetes.io/last-applied-configuration": last
    }
    assert out["spec"]["replicas"] == 1


def test_smp_kubectl_client_side_apply_patch_removes_a_container_and_env():
    live = deployment(
        [
            {
                "name": "web",
                "image": "nginx",
                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            },
            {"name": "sidecar", "image": "busybox"},
        ]
    )
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "web"}],
                    "containers": [
                        {
                            "$setElementOrder/env": [{"name": "A"}],
                            "name": "web",
                            "env": [{"$patch": "delete", "name": "B"}],
                        },
                        {"$patch": "delete", "name": "sidecar"},
                    ],
                }
            }
        }
    }
    assert containers_of(smp(live, patch)) == [
        {"name": "web", "image": "nginx", "env": [{"name": "A", "value": "1"}]}
    ]


def test_smp_kubectl_client_side_apply_patch_adds_a_container_in_config_order():
    live = deployment([{"name": "web", "image": "nginx"}])
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [
                        {"name": "init"},
                        {"name": "web"},
                        {"name": "log"},
                    ],
                    "containers": [{"name": "init", "image": "a"}, {"name": "log", "image": "b"}],
                }
            }
        }
    }
    assert names(containers_of(smp(live, patch))) == ["init", "web", "log"]


def test_smp_set_element_order_interleaves_server_only_elements():
    """apimachinery: 'merge lists of maps' (three-way result)."""
    live = {
        "kind": "Pod",
        "spec": {
            "containers": [{"name": "1", "other": "a"}, {"name": "2", "value": 2, "other": "b"}]
        },
    }
    patch = {
        "spec": {
            "$setElementOrder/containers": [
                {"name": "4"},
                {"name": "1"},
                {"name": "2"},
                {"name": "3"},
            ],
            "containers": [{"name": "4", "value": 4}, {"name": "3", "value": 3}],
        }
    }
    assert names(smp(live, patch)["spec"]["containers"]) == ["4", "1", "2", "3"]
    live["spec"]["containers"].insert(1, {"name": "server-only"})
    assert names(smp(live, patch)["spec"]["containers"]) == ["4", "1", "server-only", "2", "3"]


def test_smp_set_element_order_alone_reorders():
    live = {"kind": "Pod", "spec": {"containers": [{"name": "a"}, {"name": "b"}]}}
    patch = {"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}}
    assert names(smp(live, patch)["spec"]["containers"]) == ["b", "a"]


def test_smp_set_element_order_naming_absent_elements_is_fine():
    """apimachinery: '$setElementOrder contains item that is not present'."""
    live = {"metadata": {"finalizers": ["1", "3"]}}
    patch = {"metadata": {"$setElementOrder/finalizers": ["3", "2", "1"]}}
    assert smp(live, patch)["metadata"]["finalizers"] == ["3", "1"]


def test_smp_set_element_order_must_agree_with_the_patch_list():
    live = {"kind": "Pod", "spec": {"containers": [{"name": "1"}, {"name": "3"}, {"name": "2"}]}}
    patch = {
        "spec": {
            "$setElementOrder/containers": [{"name": "1"}, {"name": "2"}, {"name": "3"}],
            "containers": [{"name": "3", "v": 3}, {"name": "1", "v": 1}],
        }
    }
    err = error_of(strategic_merge_patch, live, patch)
    assert err.code == 400 and "doesn't match" in err.message


def test_smp_set_element_order_for_a_list_being_created():
    patch = {
        "spec": {
            "$setElementOrder/volumes": [{"name": "b"}, {"name": "a"}],
            "volumes": [{"name": "b", "emptyDir": {}}, {"name": "a", "emptyDir": {}}],
        }
    }
    out = smp({"kind": "Pod", "spec": {}}, patch)
    assert names(out["spec"]["volumes"]) == ["b", "a"]


def test_smp_set_element_order_with_a_deleted_list():
    live = {"kind": "Pod", "spec": {"volumes": [{"name": "a"}]}}
    patch = {"spec": {"$setElementOrder/volumes": [], "volumes": None}}
    assert smp(live, patch) == {"kind": "Pod", "spec": {}}


# strategic merge patch: $retainKeys


def test_smp_retain_keys_switches_deployment_strategy_to_recreate():
    live = deployment(
        [],
        strategy={
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
        },
    )
    patch = {
        "spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": None}}
    }
    assert smp(live, patch)["spec"]["strategy"] == {"type": "Recreate"}


def test_smp_retain_keys_switches_a_volume_source():
    live = {
        "kind": "Pod",
        "spec": {"volumes": [{"name": "data", "emptyDir": {}}, {"name": "other", "emptyDir": {}}]},
    }
    patch = {
        "spec": {
            "$setElementOrder/volumes": [{"name": "data"}, {"name": "other"}],
            "volumes": [
                {
                    "$retainKeys": ["hostPath", "name"],
                    "name": "data",
                    "hostPath": {"path": "/srv"},
                    "emptyDir": None,
                }
            ],
        }
    }
    assert smp(live, patch)["spec"]["volumes"] == [
        {"name": "data", "hostPath": {"path": "/srv"}},
        {"name": "other", "emptyDir": {}},
    ]


def test_smp_retain_keys_must_list_every_key_the_patch_sets():
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 1}}}}
    assert error_of(strategic_merge_patch, deployment([]), patch).code == 400
    bad = {"spec": {"strategy": {"$retainKeys": "type"}}}
    assert error_of(strategic_merge_patch, deployment([]), bad).code == 400


# strategic merge patch: $deleteFromPrimitiveList


def test_smp_delete_from_primitive_list():
    live = {"metadata": {"finalizers": ["a", "b", "b", "c"]}}
    out = smp(live, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "zz"]}})
    assert out["metadata"]["finalizers"] == ["a", "c"]


def test_smp_delete_from_primitive_list_with_order_and_additions():
    """apimachinery: 'add and delete items in lists of scalars' (three-way result)."""
    live = {"metadata": {"finalizers": ["1", "2", "3", "4"]}}
    patch = {
        "metadata": {
            "$setElementOrder/finalizers": ["1", "2", "4"],
            "$deleteFromPrimitiveList/finalizers": ["3"],
        }
    }
    assert smp(live, patch)["metadata"]["finalizers"] == ["1", "2", "4"]
    live = {"metadata": {"finalizers": ["1", "2", "3"]}}
    patch["metadata"]["finalizers"] = ["4"]
    assert smp(live, patch)["metadata"]["finalizers"] == ["1", "2", "4"]


def test_smp_delete_from_a_missing_primitive_list_adds_nothing():
    assert smp({"foo": ["bar"]}, {"$deleteFromPrimitiveList/finalizers": ["3"]}) == {"foo": ["bar"]}


def test_smp_delete_from_primitive_list_works_on_atomic_lists_too():
    pod = {"kind": "Pod", "spec": {"containers": [{"name": "c", "args": ["1", "2", "3"]}]}}
    patch = {"spec": {"containers": [{"name": "c", "$deleteFromPrimitiveList/args": ["2"]}]}}
    assert smp(pod, patch)["spec"]["containers"][0]["args"] == ["1", "3"]


def test_smp_delete_from_primitive_list_must_be_a_list():
    err = error_of(strategic_merge_patch, {}, {"$deleteFromPrimitiveList/finalizers": "a"})
    assert err.code == 400


# server-side apply

T1, T2, T3 = "2024-01-01T00:00:01Z", "2024-01-01T00:00:02Z", "2024-01-01T00:00:03Z"


def config(
    image: str = "nginx:1",
    replicas: int = 1,
    labels: dict | None = None,
    containers: list[dict] | None = None,
) -> dict:
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "labels": labels if labels is not None else {"app": "web"},
        },
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": containers or [{"name": "web", "image": image}]}},
        },
    }
    if not obj["metadata"]["labels"]:
        del obj["metadata"]["labels"]
    return obj


def entries(obj: dict) -> list[dict]:
    return obj["metadata"].get("managedFields", [])


def entry_of(obj: dict, manager: str) -> dict:
    return next(e for e in entries(obj) if e["manager"] == manager)


def test_apply_creates_the_object_with_its_managed_fields():
    applied = config()
    before = copy.deepcopy(applied)
    out = apply_patch(None, applied, "kubectl", now=T1)
    assert applied == before
    assert {k: v for k, v in out.items() if k != "metadata"} == {
        k: v for k, v in applied.items() if k != "metadata"
    }
    assert out["metadata"]["labels"] == {"app": "web"}
    assert entries(out) == [
        {
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "apps/v1",
            "time": T1,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:template": {
                        "f:spec": {
                            "f:containers": {
                                'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}}
                            }
                        }
                    },
                },
            },
        }
    ]


def test_apply_is_idempotent():
    first = apply_patch(None, config(), "kubectl", now=T1)
    live = copy.deepcopy(first)
    live["metadata"].update(uid="u1", resourceVersion="5")
    live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "IfNotPresent"
    again = apply_patch(live, config(), "kubectl", now=T2)
    assert again == live
    assert apply_patch(again, config(), "kubectl", now=T3) == live


def test_apply_updates_fields_and_keeps_unowned_ones():
    live = apply_patch(None, config(), "kubectl", now=T1)
    live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "IfNotPresent"
    live["status"] = {"replicas": 1}
    out = apply_patch(live, config(image="nginx:2", replicas=3), "kubectl", now=T2)
    assert containers_of(out) == [
        {"name": "web", "image": "nginx:2", "imagePullPolicy": "IfNotPresent"}
    ]
    assert out["spec"]["replicas"] == 3 and out["status"] == {"replicas": 1}
    assert entry_of(out, "kubectl")["time"] == T2


def test_apply_removes_fields_dropped_from_the_config():
    two = [
        {"name": "web", "image": "nginx", "env": [{"name": "A", "value": "1"}]},
        {"name": "sidecar", "image": "busybox"},
    ]
    live = apply_patch(
        None, config(labels={"app": "web", "tier": "fe"}, containers=two), "kubectl", now=T1
    )
    out = apply_patch(
        live,
        config(labels={"app": "web"}, containers=[{"name": "web", "image": "nginx"}]),
        "kubectl",
        now=T2,
    )
    assert out["metadata"]["labels"] == {"app": "web"}
    assert containers_of(out) == [{"name": "web", "image": "nginx"}]
    fields = entry_of(out, "kubectl")["fieldsV1"]
    assert 'k:{"name":"sidecar"}' not in json.dumps(fields)
    out = apply_patch(out, config(labels={}), "kubectl", now=T3)
    assert "labels" not in out["metadata"]


def test_apply_keeps_fields_owned_by_other_managers():
    live = apply_patch(None, config(labels={"app": "web", "team": "a"}), "kubectl", now=T1)
    live = apply_patch(
        live,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"team": "a"}},
        },
        "team-tool",
        now=T1,
    )
    assert sorted(e["manager"] for e in entries(live)) == ["kubectl", "team-tool"]
    out = apply_patch(live, config(labels={"app": "web"}), "kubectl", now=T2)
    assert out["metadata"]["labels"] == {"app": "web", "team": "a"}
    out = apply_patch(
        out,
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}},
        "team-tool",
        now=T3,
    )
    assert out["metadata"]["labels"] == {"app": "web"}
    assert [e["manager"] for e in entries(out)] == ["kubectl"]


def test_apply_merges_lists_by_key_with_another_managers_elements():
    live = apply_patch(None, config(), "kubectl", now=T1)
    sidecar = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "mesh", "image": "envoy"}]}}},
    }
    live = apply_patch(live, sidecar, "injector", now=T2)
    assert names(containers_of(live)) == ["mesh", "web"]
    out = apply_patch(live, config(image="nginx:2"), "kubectl", now=T3)
    assert containers_of(out) == [
        {"name": "mesh", "image": "envoy"},
        {"name": "web", "image": "nginx:2"},
    ]


def test_apply_conflict_with_another_applier_is_409():
    live = apply_patch(None, config(), "kubectl", now=T1)
    err = error_of(apply_patch, live, config(replicas=5), "ci-bot", now=T2)
    assert isinstance(err, Conflict) and (err.code, err.reason) == (409, "Conflict")
    assert err.message == ('Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas')
    assert err.causes == [
        {
            "type": "FieldManagerConflict",
            "message": 'conflict with "kubectl"',
            "field": ".spec.replicas",
        }
    ]


def test_apply_conflict_message_for_several_fields():
    live = apply_patch(None, config(), "kubectl", now=T1)
    err = error_of(apply_patch, live, config(image="nginx:9", replicas=5), "ci-bot")
    assert err.message == (
        'Apply failed with 2 conflicts: conflicts with "kubectl":\n'
        "- .spec.replicas\n"
        '- .spec.template.spec.containers[name="web"].image'
    )


def test_apply_same_value_is_shared_ownership_not_a_conflict():
    live = apply_patch(None, config(), "kubectl", now=T1)
    out = apply_patch(live, config(), "ci-bot", now=T2)
    assert {k: v for k, v in out.items() if k != "metadata"} == {
        k: v for k, v in live.items() if k != "metadata"
    }
    assert entry_of(out, "ci-bot")["fieldsV1"] == entry_of(out, "kubectl")["fieldsV1"]


def test_apply_force_takes_the_field_over():
    live = apply_patch(None, config(), "kubectl", now=T1)
    out = apply_patch(
        live,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {"replicas": 5},
        },
        "ci-bot",
        force=True,
        now=T2,
    )
    assert out["spec"]["replicas"] == 5
    assert "f:replicas" not in entry_of(out, "kubectl")["fieldsV1"]["f:spec"]
    assert entry_of(out, "ci-bot")["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    # kubectl no longer owns replicas: re-applying its config conflicts with ci-bot
    err = error_of(apply_patch, out, config(), "kubectl")
    assert err.message.endswith('conflict with "ci-bot": .spec.replicas')


def test_apply_conflicts_with_update_managers_too():
    created = update_managed_fields(None, config(), "kubectl-create", now=T1)
    err = error_of(apply_patch, created, config(image="nginx:2"), "kubectl")
    assert err.message == (
        'Apply failed with 1 conflict: conflict with "kubectl-create" using '
        'apps/v1: .spec.template.spec.containers[name="web"].image'
    )
    out = apply_patch(created, config(image="nginx:2"), "kubectl", force=True, now=T2)
    assert containers_of(out)[0]["image"] == "nginx:2"
    assert "f:image" not in json.dumps(entry_of(out, "kubectl-create")["fieldsV1"])


@pytest.mark.parametrize("body", [[1], "x", None])
def test_apply_body_must_be_an_object(body):
    assert error_of(apply_patch, None, body, "kubectl").code == 400


def test_apply_rejects_managed_fields_and_directives_in_the_config():
    with_mf = config()
    with_mf["metadata"]["managedFields"] = [{"manager": "x"}]
    assert error_of(apply_patch, None, with_mf, "kubectl").code == 400
    directive = config()
    directive["spec"]["$patch"] = "replace"
    assert error_of(apply_patch, None, directive, "kubectl").code == 400


def test_apply_null_in_the_config_states_no_opinion():
    live = apply_patch(None, config(), "kubectl", now=T1)
    cfg = config()
    cfg["spec"]["paused"] = None
    assert apply_patch(live, cfg, "kubectl", now=T2) == live


# field sets


def test_fields_v1_notation():
    obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "p",
            "namespace": "d",
            "uid": "u",
            "resourceVersion": "1",
            "finalizers": ["x/y"],
            "labels": {"a": "b"},
            "annotations": {},
        },
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "i",
                    "args": ["1"],
                    "ports": [{"containerPort": 80}],
                    "resources": {},
                }
            ],
            "tolerations": [{"key": "k"}],
        },
    }
    assert fields_v1(obj) == {
        "f:metadata": {
            "f:annotations": {},
            "f:finalizers": {'v:"x/y"': {}},
            "f:labels": {"f:a": {}},
        },
        "f:spec": {
            "f:containers": {
                'k:{"name":"c"}': {
                    ".": {},
                    "f:args": {},
                    "f:image": {},
                    "f:name": {},
                    "f:ports": {'k:{"containerPort":80}': {".": {}, "f:containerPort": {}}},
                    "f:resources": {},
                }
            },
            "f:tolerations": {},
        },
    }


def test_update_managed_fields_moves_changed_fields_to_the_writer():
    live = apply_patch(None, config(), "kubectl", now=T1)
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 4
    out = update_managed_fields(live, scaled, "kubectl-scale", now=T2)
    assert out["spec"]["replicas"] == 4
    assert "f:replicas" not in entry_of(out, "kubectl")["fieldsV1"]["f:spec"]
    assert entry_of(out, "kubectl-scale") == {
        "manager": "kubectl-scale",
        "operation": "Update",
        "apiVersion": "apps/v1",
        "time": T2,
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:spec": {"f:replicas": {}}},
    }
    assert update_managed_fields(out, copy.deepcopy(out), "kubectl-scale", now=T3) == out


def test_update_managed_fields_for_a_status_write():
    live = apply_patch(None, config(), "kubectl", now=T1)
    new = copy.deepcopy(live)
    new["status"] = {"replicas": 1}
    out = update_managed_fields(live, new, "controller", subresource="status", now=T2)
    assert entry_of(out, "controller")["subresource"] == "status"
    assert entry_of(out, "controller")["fieldsV1"] == {"f:status": {"f:replicas": {}}}
    assert entry_of(out, "kubectl") == entry_of(live, "kubectl")


def test_update_managed_fields_keeps_element_ownership_when_only_its_fields_change():
    live = apply_patch(None, config(), "kubectl", now=T1)
    new = copy.deepcopy(live)
    containers_of(new)[0]["env"] = [{"name": "X", "value": "1"}]
    out = update_managed_fields(live, new, "injector", now=T2)
    assert entry_of(out, "kubectl") == entry_of(live, "kubectl")
    assert entry_of(out, "injector")["fieldsV1"] == {
        "f:spec": {
            "f:template": {
                "f:spec": {
                    "f:containers": {
                        'k:{"name":"web"}': {
                            "f:env": {'k:{"name":"X"}': {".": {}, "f:name": {}, "f:value": {}}}
                        }
                    }
                }
            }
        }
    }
    # the applier drops its container: the injector's env keeps the element (and its key)
    dropped = apply_patch(out, config(containers=[{"name": "other", "image": "x"}]), "kubectl")
    assert containers_of(dropped) == [
        {"name": "other", "image": "x"},
        {"name": "web", "env": [{"name": "X", "value": "1"}]},
    ]
