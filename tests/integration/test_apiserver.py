"""The apiserver as a real process on a real etcd: Kubernetes' REST semantics."""

from __future__ import annotations

import json

import httpx

from tests.support.wait import eventually

POD_PATH = "/api/v1/namespaces/{ns}/pods"


def pod(name: str, labels: dict | None = None, image: str = "busybox:1.36") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {"app": "web"}},
        "spec": {"containers": [{"name": "main", "image": image}]},
    }


def deployment(name: str, replicas: int = 2) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}
                    ]
                },
            },
        },
    }


# ---- authentication ----------------------------------------------------------


def test_a_bad_token_gets_401_and_no_token_is_anonymous(apiserver):
    """As kube-apiserver under RBAC: a token nobody knows is 401; no credential at all
    is `system:anonymous`, who may read only the public-info paths."""
    with httpx.Client(base_url=apiserver.url, verify=apiserver.ssl_context()) as anon:
        bad = anon.get("/api/v1/namespaces", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
        assert bad.json()["kind"] == "Status" and bad.json()["reason"] == "Unauthorized"
        r = anon.get("/api/v1/namespaces")
        assert r.status_code == 403
        assert r.json()["message"] == (
            'namespaces is forbidden: User "system:anonymous" cannot list resource '
            '"namespaces" in API group "" at the cluster scope'
        )
        for open_path in ("/version", "/healthz", "/livez", "/readyz"):
            assert anon.get(open_path).status_code == 200, open_path
        assert anon.get("/version").json()["gitVersion"].startswith("v1.")


def test_initial_namespaces_and_kubernetes_service_exist(http):
    names = {n["metadata"]["name"] for n in http.get("/api/v1/namespaces").json()["items"]}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names
    svc = http.get("/api/v1/namespaces/default/services/kubernetes").json()
    assert svc["spec"]["clusterIP"] == "10.96.0.1"


# ---- create / get / update ----------------------------------------------------


def test_create_sets_server_fields_and_defaults(http, namespace):
    r = http.post(POD_PATH.format(ns=namespace), json=pod("web-1"))
    assert r.status_code == 201, r.text
    created = r.json()
    md = created["metadata"]
    assert md["namespace"] == namespace and md["uid"] and md["creationTimestamp"].endswith("Z")
    assert int(md["resourceVersion"]) > 0
    spec = created["spec"]
    assert spec["restartPolicy"] == "Always" and spec["dnsPolicy"] == "ClusterFirst"
    assert spec["schedulerName"] == "default-scheduler"
    assert spec["terminationGracePeriodSeconds"] == 30
    c = spec["containers"][0]
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert c["terminationMessagePath"] == "/dev/termination-log"
    keys = {t["key"] for t in spec["tolerations"]}
    assert {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"} <= keys
    assert created["status"]["phase"] == "Pending"
    got = http.get(f"{POD_PATH.format(ns=namespace)}/web-1").json()
    assert got == created
    assert got["kind"] == "Pod" and got["apiVersion"] == "v1"


def test_generate_name_and_already_exists(http, namespace):
    path = POD_PATH.format(ns=namespace)
    body = pod("")
    body["metadata"] = {"generateName": "gen-"}
    a, b = http.post(path, json=body).json(), http.post(path, json=body).json()
    assert a["metadata"]["name"].startswith("gen-") and len(a["metadata"]["name"]) == 9
    assert a["metadata"]["name"] != b["metadata"]["name"]
    assert http.post(path, json=pod("dup")).status_code == 201
    r = http.post(path, json=pod("dup"))
    assert r.status_code == 409 and r.json()["reason"] == "AlreadyExists"


def test_not_found_is_a_status_naming_the_object(http, namespace):
    r = http.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/web")
    assert r.status_code == 404
    body = r.json()
    assert body["message"] == 'deployments.apps "web" not found'
    assert body["details"] == {"name": "web", "group": "apps", "kind": "deployments"}


def test_unknown_resource_404_carries_empty_details_as_kubernetes(http, namespace):
    # kubectl debug dereferences details.name of a 404: Kubernetes always sends details.
    for path in (
        f"/api/v1/namespaces/{namespace}/gizmos",
        "/apis/nothing.example.com/v1/gizmos",
    ):
        r = http.get(path)
        assert r.status_code == 404
        assert r.json()["details"] == {}, r.json()
    r = http.post("/api/v1/namespaces/default/pods/x/nosuch", json={})
    assert r.status_code in (404, 405) and "details" in r.json()


def test_boolean_query_parameters_parse_as_kube_apiserver(http, namespace):
    """`watch=True` (kubernetes_asyncio) is a watch; `watch=0`/`watch=False` a list."""
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    http.post(path, json={"metadata": {"name": "b"}, "data": {}})
    for value in ("True", "TRUE", "t", "1", ""):
        with http.stream("GET", path, params={"watch": value, "timeoutSeconds": 1}) as r:
            assert r.status_code == 200
            first = json.loads(next(r.iter_lines()))
        assert first["type"] == "ADDED", (value, first)
    for value in ("False", "0", "false"):
        body = http.get(path, params={"watch": value}).json()
        assert body["kind"] == "ConfigMapList", value


def test_stale_resource_version_is_a_conflict_and_generation_tracks_spec(http, namespace):
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    created = http.post(path, json=deployment("web")).json()
    assert created["metadata"]["generation"] == 1
    stale = json.loads(json.dumps(created))
    labelled = json.loads(json.dumps(created))
    labelled["metadata"]["labels"] = {"team": "a"}
    r = http.put(f"{path}/web", json=labelled)
    assert r.status_code == 200 and r.json()["metadata"]["generation"] == 1
    stale["spec"]["replicas"] = 5
    r = http.put(f"{path}/web", json=stale)
    assert r.status_code == 409 and r.json()["reason"] == "Conflict"
    fresh = http.get(f"{path}/web").json()
    assert fresh["spec"]["replicas"] == 2
    fresh["spec"]["replicas"] = 5
    r = http.put(f"{path}/web", json=fresh)
    assert r.status_code == 200 and r.json()["metadata"]["generation"] == 2


def test_update_and_status_subresource_write_only_their_part(http, namespace):
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    created = http.post(path, json=deployment("split")).json()
    with_status = dict(created, status={"replicas": 7})
    r = http.put(f"{path}/split", json=with_status)
    assert r.json().get("status", {}).get("replicas") is None
    current = http.get(f"{path}/split").json()
    current["status"] = {"replicas": 3, "observedGeneration": 1}
    current["spec"]["replicas"] = 9
    r = http.put(f"{path}/split/status", json=current)
    assert r.status_code == 200, r.text
    after = http.get(f"{path}/split").json()
    assert after["status"]["replicas"] == 3 and after["spec"]["replicas"] == 2


# ---- patches --------------------------------------------------------------------


def test_every_patch_type(http, namespace):
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    http.post(path, json=deployment("p"))
    merge = http.patch(
        f"{path}/p",
        content=json.dumps({"spec": {"replicas": 3}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert merge.status_code == 200 and merge.json()["spec"]["replicas"] == 3
    jp = http.patch(
        f"{path}/p",
        content=json.dumps(
            [
                {"op": "replace", "path": "/spec/replicas", "value": 4},
                {"op": "add", "path": "/metadata/labels", "value": {"x": "y"}},
            ]
        ),
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert jp.status_code == 200 and jp.json()["spec"]["replicas"] == 4
    failing = http.patch(
        f"{path}/p",
        content=json.dumps([{"op": "test", "path": "/spec/replicas", "value": 99}]),
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert failing.status_code == 422
    smp = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "sidecar", "image": "busybox:1.36"}]}}
        }
    }
    r = http.patch(
        f"{path}/p",
        content=json.dumps(smp),
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    names = [c["name"] for c in r.json()["spec"]["template"]["spec"]["containers"]]
    assert sorted(names) == ["sidecar", "web"]
    delete_directive = {
        "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}
    }
    r = http.patch(
        f"{path}/p",
        content=json.dumps(delete_directive),
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    assert [c["name"] for c in r.json()["spec"]["template"]["spec"]["containers"]] == ["web"]
    r = http.patch(f"{path}/p", content=b"{}", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415


def test_server_side_apply_creates_updates_and_is_idempotent(http, namespace):
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/ssa"
    headers = {"Content-Type": "application/apply-patch+yaml"}
    params = {"fieldManager": "tester", "force": "false"}
    first = http.patch(path, content=json.dumps(deployment("ssa")), headers=headers, params=params)
    assert first.status_code == 201, first.text
    again = http.patch(path, content=json.dumps(deployment("ssa")), headers=headers, params=params)
    assert again.status_code == 200
    assert (
        again.json()["metadata"]["resourceVersion"] == first.json()["metadata"]["resourceVersion"]
    )
    changed = http.patch(
        path, content=json.dumps(deployment("ssa", replicas=5)), headers=headers, params=params
    )
    assert changed.json()["spec"]["replicas"] == 5
    managers = {m["manager"] for m in changed.json()["metadata"]["managedFields"]}
    assert "tester" in managers
    conflict = http.patch(
        path,
        content=json.dumps(deployment("ssa", replicas=1)),
        headers=headers,
        params={"fieldManager": "other"},
    )
    assert conflict.status_code == 409
    forced = http.patch(
        path,
        content=json.dumps(deployment("ssa", replicas=1)),
        headers=headers,
        params={"fieldManager": "other", "force": "true"},
    )
    assert forced.status_code == 200 and forced.json()["spec"]["replicas"] == 1


# ---- validation and bad input -----------------------------------------------------


def _count(http, path) -> int:
    return len(http.get(path).json()["items"])


def test_invalid_objects_get_422_naming_the_field_and_nothing_is_written(http, namespace):
    path = POD_PATH.format(ns=namespace)
    before = _count(http, path)
    bad = pod("Bad_Name")
    r = http.post(path, json=bad)
    assert r.status_code == 422
    status = r.json()
    assert status["reason"] == "Invalid"
    assert any(c["field"] == "metadata.name" for c in status["details"]["causes"])
    no_image = pod("noimage")
    del no_image["spec"]["containers"][0]["image"]
    r = http.post(path, json=no_image)
    assert r.status_code == 422
    assert r.json()["details"]["causes"][0]["field"] == "spec.containers[0].image"
    dep = deployment("mismatch")
    dep["spec"]["selector"]["matchLabels"] = {"app": "other"}
    r = http.post(f"/apis/apps/v1/namespaces/{namespace}/deployments", json=dep)
    assert r.status_code == 422
    assert _count(http, path) == before


def test_bad_bodies_are_refused_with_a_status(http, namespace):
    path = POD_PATH.format(ns=namespace)
    before = _count(http, path)
    r = http.post(path, content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["kind"] == "Status"
    r = http.post(
        path, content=b"kind: Pod\n  bad: [", headers={"Content-Type": "application/yaml"}
    )
    assert r.status_code == 400
    r = http.post(path, json=deployment("wrong-kind"))
    assert r.status_code == 400 and "does not match" in r.json()["message"]
    r = http.post(
        path, content=b"x" * (3 * 1024 * 1024 + 10), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413
    r = http.post(path, content=b"<pod/>", headers={"Content-Type": "application/xml"})
    assert r.status_code == 415
    r = http.put(f"{path}/other", json=pod("mine"))
    assert r.status_code in (400, 404)
    yaml_body = (
        b"apiVersion: v1\nkind: Pod\nmetadata: {name: from-yaml}\n"
        b"spec: {containers: [{name: a, image: busybox}]}\n"
    )
    r = http.post(path, content=yaml_body, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 201
    assert _count(http, path) == before + 1


def test_unknown_fields_strict_warn_and_ignore(http, namespace):
    path = POD_PATH.format(ns=namespace)
    body = pod("strict")
    body["spec"]["containers"][0]["imagex"] = "typo"
    r = http.post(path, json=body, params={"fieldValidation": "Strict"})
    assert r.status_code == 400
    assert 'unknown field "spec.containers[0].imagex"' in r.json()["message"]
    assert http.get(f"{path}/strict").status_code == 404
    r = http.post(path, json=body, params={"fieldValidation": "Warn"})
    assert r.status_code == 201
    assert "imagex" in r.headers.get("warning", "")
    assert "imagex" not in r.json()["spec"]["containers"][0]
    body["metadata"]["name"] = "ignored"
    r = http.post(path, json=body, params={"fieldValidation": "Ignore"})
    assert r.status_code == 201 and "warning" not in r.headers


def test_method_not_allowed_and_unknown_resources(http, namespace):
    r = http.delete("/api/v1/namespaces", params={"labelSelector": "x=y"})
    assert r.status_code == 405 and r.json()["kind"] == "Status"
    r = http.get(f"/api/v1/namespaces/{namespace}/widgets")
    assert r.status_code == 404


# ---- namespaces -------------------------------------------------------------------------


def test_objects_need_an_existing_namespace(http):
    r = http.post(POD_PATH.format(ns="does-not-exist"), json=pod("x"))
    assert r.status_code == 404 and r.json()["details"]["kind"] == "namespaces"


def test_deleting_a_namespace_deletes_its_contents(http):
    http.post("/api/v1/namespaces", json={"metadata": {"name": "doomed"}})
    http.post(POD_PATH.format(ns="doomed"), json=pod("p1"))
    http.post("/apis/apps/v1/namespaces/doomed/deployments", json=deployment("d1"))
    r = http.delete("/api/v1/namespaces/doomed")
    assert r.status_code == 200
    assert r.json()["status"]["phase"] == "Terminating"
    refused = http.post(POD_PATH.format(ns="doomed"), json=pod("late"))
    assert refused.status_code in (403, 404)
    eventually(
        lambda: http.get("/api/v1/namespaces/doomed").status_code == 404,
        timeout=20,
        interval=0.2,
        message="the namespace gone",
    )
    assert http.get("/apis/apps/v1/namespaces/doomed/deployments").json()["items"] == []
    assert http.get(POD_PATH.format(ns="doomed")).json()["items"] == []
    assert http.delete("/api/v1/namespaces/default").status_code == 403


# ---- selectors -----------------------------------------------------------------------------


def test_label_and_field_selectors(http, namespace):
    path = POD_PATH.format(ns=namespace)
    for name, labels in (
        ("a", {"app": "web", "tier": "fe"}),
        ("b", {"app": "web"}),
        ("c", {"app": "db", "tier": "be"}),
    ):
        assert http.post(path, json=pod(name, labels)).status_code == 201

    def names(**params) -> list[str]:
        r = http.get(path, params=params)
        assert r.status_code == 200, r.text
        return sorted(o["metadata"]["name"] for o in r.json()["items"])

    assert names(labelSelector="app=web") == ["a", "b"]
    assert names(labelSelector="app==web,tier") == ["a"]
    assert names(labelSelector="app!=web") == ["c"]
    assert names(labelSelector="tier in (fe,be)") == ["a", "c"]
    assert names(labelSelector="tier notin (fe)") == ["b", "c"]
    assert names(labelSelector="!tier") == ["b"]
    assert names(fieldSelector="metadata.name=b") == ["b"]
    assert names(fieldSelector="status.phase=Pending,metadata.name!=a") == ["b", "c"]
    assert names(fieldSelector="spec.nodeName=") == ["a", "b", "c"]
    assert http.get(path, params={"fieldSelector": "spec.bogus=1"}).status_code == 400
    assert http.get(path, params={"labelSelector": "a in (b"}).status_code == 400
    r = http.delete(path, params={"labelSelector": "app=web"})
    assert r.status_code == 200
    assert names() == ["c"]


def test_list_limit_and_continue(http, namespace):
    path = POD_PATH.format(ns=namespace)
    for i in range(5):
        http.post(path, json=pod(f"p{i}"))
    first = http.get(path, params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["metadata"]["continue"]
    seen = [o["metadata"]["name"] for o in first["items"]]
    token = first["metadata"]["continue"]
    while token:
        page = http.get(path, params={"limit": 2, "continue": token}).json()
        seen += [o["metadata"]["name"] for o in page["items"]]
        token = page["metadata"].get("continue")
    assert seen == [f"p{i}" for i in range(5)]


def test_list_at_resource_version_0_answers_the_same_from_the_watch_cache(http, namespace):
    """resourceVersion=0 (an informer's first list) is answered from the watch cache's
    shared snapshot, with selectors, kinds and a revision to watch from; a page
    (limit) still reads etcd."""
    path = POD_PATH.format(ns=namespace)
    for name, labels in (("a", {"app": "web"}), ("b", {"app": "db"}), ("c", {"app": "web"})):
        assert http.post(path, json=pod(name, labels)).status_code == 201
    fresh = http.get(path).json()

    def listed(**params) -> dict:
        r = http.get(path, params={"resourceVersion": "0", **params})
        assert r.status_code == 200, r.text
        return r.json()

    cached = listed()
    assert cached["items"] == fresh["items"]  # kind and apiVersion on every item too
    assert int(cached["metadata"]["resourceVersion"]) >= max(
        int(o["metadata"]["resourceVersion"]) for o in fresh["items"]
    )
    names = lambda body: [o["metadata"]["name"] for o in body["items"]]  # noqa: E731
    assert names(listed(labelSelector="app=web")) == ["a", "c"]
    assert names(listed(fieldSelector="metadata.name=b")) == ["b"]
    page = listed(limit="2")
    assert names(page) == ["a", "b"] and page["metadata"]["continue"]
    # a watch from the cached list's revision sees the next change and nothing before
    rv = cached["metadata"]["resourceVersion"]
    with http.stream(
        "GET", path, params={"watch": "1", "resourceVersion": rv, "timeoutSeconds": "5"}
    ) as stream:
        assert http.post(path, json=pod("d")).status_code == 201
        first = json.loads(next(stream.iter_lines()))
    assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "d")
    assert names(listed()) == ["a", "b", "c", "d"]


# ---- services: allocation -----------------------------------------------------------------


def service(name: str, type_: str = "ClusterIP", **spec_extra) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {
            "type": type_,
            "selector": {"app": name},
            "ports": [{"port": 80, **spec_extra.pop("port_extra", {})}],
            **spec_extra,
        },
    }


def test_service_defaults_and_unique_allocation(http, namespace):
    path = f"/api/v1/namespaces/{namespace}/services"
    a = http.post(path, json=service("a")).json()
    b = http.post(path, json=service("b", "NodePort")).json()
    assert (
        a["spec"]["clusterIP"].startswith("10.96.")
        and a["spec"]["clusterIP"] != b["spec"]["clusterIP"]
    )
    port = a["spec"]["ports"][0]
    assert port["protocol"] == "TCP" and port["targetPort"] == 80
    assert a["spec"]["sessionAffinity"] == "None"
    node_port = b["spec"]["ports"][0]["nodePort"]
    assert 30000 <= node_port <= 32767
    taken = http.post(path, json=service("c", "NodePort", port_extra={"nodePort": node_port}))
    assert taken.status_code == 422
    assert taken.json()["details"]["causes"][0]["field"] == "spec.ports[0].nodePort"
    ip_taken = http.post(path, json=service("d", clusterIP=a["spec"]["clusterIP"]))
    assert ip_taken.status_code == 422
    out_of_range = http.post(path, json=service("e", "NodePort", port_extra={"nodePort": 80}))
    assert out_of_range.status_code == 422
    headless = http.post(path, json=service("h", clusterIP="None")).json()
    assert headless["spec"]["clusterIP"] == "None"
    assert http.delete(f"{path}/a").status_code == 200
    reuse = http.post(path, json=service("f", clusterIP=a["spec"]["clusterIP"]))
    assert reuse.status_code == 201


# ---- finalizers, graceful deletion, binding, scale ------------------------------------------


def test_finalizers_hold_an_object_until_removed(http, namespace):
    path = f"/api/v1/namespaces/{namespace}/endpoints"
    http.post(path, json={"metadata": {"name": "held", "finalizers": ["example.com/hold"]}})
    r = http.delete(f"{path}/held")
    assert r.status_code == 200 and r.json()["metadata"]["deletionTimestamp"]
    held = http.get(f"{path}/held").json()
    held["metadata"]["finalizers"] = []
    http.put(f"{path}/held", json=held)
    assert http.get(f"{path}/held").status_code == 404


def test_binding_and_graceful_pod_deletion(http, namespace):
    path = POD_PATH.format(ns=namespace)
    http.post(path, json=pod("unscheduled"))
    assert http.delete(f"{path}/unscheduled").status_code == 200
    assert http.get(f"{path}/unscheduled").status_code == 404

    http.post(path, json=pod("bound"))
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "bound"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"},
    }
    assert http.post(f"{path}/bound/binding", json=binding).status_code == 201
    bound = http.get(f"{path}/bound").json()
    assert bound["spec"]["nodeName"] == "node-1"
    assert any(
        c["type"] == "PodScheduled" and c["status"] == "True" for c in bound["status"]["conditions"]
    )
    assert http.post(f"{path}/bound/binding", json=binding).status_code == 409
    r = http.delete(f"{path}/bound")
    assert r.status_code == 200
    assert r.json()["metadata"]["deletionGracePeriodSeconds"] == 30
    assert http.get(f"{path}/bound").json()["metadata"]["deletionTimestamp"]
    r = http.delete(f"{path}/bound", params={"gracePeriodSeconds": 0})
    assert http.get(f"{path}/bound").status_code == 404


def test_scale_subresource(http, namespace):
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    http.post(path, json=deployment("sc"))
    scale = http.get(f"{path}/sc/scale").json()
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"]["replicas"] == 2 and scale["status"]["selector"] == "app=sc"
    r = http.patch(
        f"{path}/sc/scale",
        content=json.dumps({"spec": {"replicas": 4}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200 and r.json()["spec"]["replicas"] == 4
    assert http.get(f"{path}/sc").json()["spec"]["replicas"] == 4
    r = http.patch(
        f"{path}/sc/scale",
        content=json.dumps({"spec": {"replicas": -1}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 422


def test_tables_for_kubectl_get(http, namespace):
    http.post(POD_PATH.format(ns=namespace), json=pod("t1"))
    r = http.get(
        POD_PATH.format(ns=namespace),
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"},
    )
    table = r.json()
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]][:5] == [
        "Name",
        "Ready",
        "Status",
        "Restarts",
        "Age",
    ]
    row = table["rows"][0]
    assert row["cells"][0] == "t1" and row["cells"][1] == "0/1"
    assert row["object"]["metadata"]["name"] == "t1"
