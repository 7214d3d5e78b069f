"""The real kubectl as minik's conformance client, with its default validation.

Each test drives `/usr/bin/kubectl` (1.32) against the real apiserver process and
checks both what kubectl prints (what Kubernetes would print) and what the server
then holds. The key flows also run with older and newer minors (1.27 reads only
the protobuf `/openapi/v2`, 1.29 legacy discovery headers, 1.33 the newest), since
each minor asks the server different questions."""

from __future__ import annotations

import json
import re
import secrets
import textwrap
from pathlib import Path

import httpx
import pytest
import yaml

from client.kubeconfig import write_kubeconfig
from tests.support.kubectl import Kubectl, installed_kubectl

MINORS = [None, "1.27", "1.29", "1.33"]  # None: the machine's kubectl, 1.32
DEFAULT_MINOR = "32"


# ---- fixtures and helpers ------------------------------------------------------


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kubectl-cache")


@pytest.fixture
def kubectl(apiserver, cache_root: Path) -> Kubectl:
    return Kubectl(apiserver.kubeconfig, cache_root / "default")


@pytest.fixture(params=MINORS, ids=lambda minor: minor or "default")
def any_kubectl(request: pytest.FixtureRequest, apiserver, cache_root: Path) -> Kubectl:
    minor = request.param
    return installed_kubectl(minor, apiserver.kubeconfig, cache_root / (minor or "default"))


def minor_of(kubectl: Kubectl) -> int:
    match = re.search(r"kubectl\.1\.(\d+)$", str(kubectl.binary))
    return int(match.group(1) if match else DEFAULT_MINOR)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def deployment_yaml(
    name: str = "web",
    replicas: int = 2,
    env: tuple[str, ...] = ("A", "B"),
    sidecar: bool = True,
) -> str:
    env_lines = "".join(f'        - {{name: {e}, value: "{e.lower()}"}}\n' for e in env)
    side = "      - {name: side, image: busybox:1, command: [sleep, '3600']}\n" if sidecar else ""
    return (
        "apiVersion: apps/v1\n"
        "kind: Deployment\n"
        f"metadata:\n  name: {name}\n  labels: {{app: {name}}}\n"
        "spec:\n"
        f"  replicas: {replicas}\n"
        f"  selector: {{matchLabels: {{app: {name}}}}}\n"
        "  template:\n"
        f"    metadata: {{labels: {{app: {name}}}}}\n"
        "    spec:\n"
        "      containers:\n"
        "      - name: main\n"
        "        image: busybox:1\n"
        "        ports: [{containerPort: 80}]\n"
        + ("        env:\n" + env_lines if env else "")
        + side
    )


# Matches no node: these pods stay Pending (and are deleted at once) even if a
# scheduler happens to share the test apiserver.
UNSCHEDULABLE = {"minik.test/no-such-node": "true"}


def pod_body(name: str, labels: dict[str, str] | None = None) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {"app": name}},
        "spec": {
            "nodeSelector": UNSCHEDULABLE,
            "containers": [{"name": "main", "image": "busybox:1"}],
        },
    }


def service_body(name: str, kind: str = "NodePort") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {
            "type": kind,
            "selector": {"app": name},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
        },
    }


def create(http: httpx.Client, path: str, body: dict) -> dict:
    r = http.post(path, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def get_deployment(http: httpx.Client, namespace: str, name: str) -> dict:
    r = http.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
    assert r.status_code == 200, r.text
    return r.json()


def parse_table(text: str) -> list[dict[str, str]]:
    """kubectl's table output as rows keyed by header. Columns are cut at the
    header's positions, since kubectl pads every column to align with it and an
    empty cell (a resource without short names) leaves only spaces."""
    lines = [line for line in text.splitlines() if line.strip()]
    header = lines[0]
    starts = [0] + [m.end() for m in re.finditer(r" {2,}", header)]
    ends = [*starts[1:], None]
    names = [header[a:b].strip() for a, b in zip(starts, ends, strict=True)]
    return [
        {n: line[a:b].strip() for n, a, b in zip(names, starts, ends, strict=True)}
        for line in lines[1:]
    ]


def header_of(text: str) -> list[str]:
    return re.split(r" {2,}", text.splitlines()[0].strip())


def by_name(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {row["NAME"]: row for row in rows}


def field(text: str, name: str) -> str:
    """The value of a `Name:   value` line in describe output."""
    match = re.search(rf"^{re.escape(name)}:[ \t]*(.*)$", text, re.M)
    assert match, f"no {name!r} line in:\n{text}"
    return match.group(1).strip()


# ---- discovery -----------------------------------------------------------------


def test_version_shows_client_and_server(any_kubectl: Kubectl) -> None:
    info = json.loads(any_kubectl.run("version", "-o", "json").stdout)
    assert info["clientVersion"]["minor"].startswith(str(minor_of(any_kubectl)))
    server = info["serverVersion"]
    assert server["major"] == "1"
    assert re.fullmatch(r"v1\.\d+\.\d+(-.+)?", server["gitVersion"])
    plain = any_kubectl.run("version").stdout
    assert "Client Version:" in plain
    assert "Server Version:" in plain and server["gitVersion"] in plain


def test_api_resources_lists_kinds_short_names_and_scope(any_kubectl: Kubectl) -> None:
    out = any_kubectl.run("api-resources").stdout
    assert header_of(out) == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    rows = by_name(parse_table(out))
    expected = {
        "pods": ("po", "v1", "true", "Pod"),
        "services": ("svc", "v1", "true", "Service"),
        "namespaces": ("ns", "v1", "false", "Namespace"),
        "nodes": ("no", "v1", "false", "Node"),
        "deployments": ("deploy", "apps/v1", "true", "Deployment"),
        "replicasets": ("rs", "apps/v1", "true", "ReplicaSet"),
        "daemonsets": ("ds", "apps/v1", "true", "DaemonSet"),
        "statefulsets": ("sts", "apps/v1", "true", "StatefulSet"),
        "controllerrevisions": ("", "apps/v1", "true", "ControllerRevision"),
        "leases": ("", "coordination.k8s.io/v1", "true", "Lease"),
        "endpointslices": ("", "discovery.k8s.io/v1", "true", "EndpointSlice"),
    }
    for name, (short, api_version, namespaced, kind) in expected.items():
        row = rows[name]
        assert (row["SHORTNAMES"], row["APIVERSION"], row["NAMESPACED"], row["KIND"]) == (
            short,
            api_version,
            namespaced,
            kind,
        ), row
    assert not [n for n in rows if "/" in n], "subresources must not be listed"


def test_api_resources_filters_and_wide_verbs(kubectl: Kubectl) -> None:
    cluster = by_name(parse_table(kubectl.run("api-resources", "--namespaced=false").stdout))
    assert {"namespaces", "nodes"} <= set(cluster) and "pods" not in cluster
    apps = by_name(parse_table(kubectl.run("api-resources", "--api-group=apps").stdout))
    assert set(apps) == {
        "deployments",
        "replicasets",
        "daemonsets",
        "statefulsets",
        "controllerrevisions",
    }
    wide = by_name(parse_table(kubectl.run("api-resources", "-o", "wide").stdout))
    assert set(wide["pods"]["VERBS"].split(",")) >= {"create", "get", "list", "watch", "patch"}
    assert "all" in wide["deployments"]["CATEGORIES"].split(",")
    assert "all" in wide["daemonsets"]["CATEGORIES"].split(",")
    assert "all" in wide["statefulsets"]["CATEGORIES"].split(",")


def test_api_versions(kubectl: Kubectl) -> None:
    versions = kubectl.run("api-versions").stdout.split()
    assert {"v1", "apps/v1", "coordination.k8s.io/v1", "discovery.k8s.io/v1"} <= set(versions)


def test_explain_uses_the_servers_schema(kubectl: Kubectl) -> None:
    out = kubectl.run("explain", "deployment.spec.replicas").stdout
    assert field(out, "KIND") == "Deployment"
    assert "FIELD: replicas <integer>" in out
    assert "Number of desired pods" in out
    nested = kubectl.run("explain", "pods.spec.containers.imagePullPolicy").stdout
    assert "FIELD: imagePullPolicy <string>" in nested


def test_explain_endpointslices(any_kubectl: Kubectl) -> None:
    out = any_kubectl.run("explain", "endpointslice.endpoints").stdout
    assert field(out, "KIND") == "EndpointSlice"
    assert (field(out, "GROUP"), field(out, "VERSION")) == ("discovery.k8s.io", "v1")
    assert re.search(r"FIELD: endpoints <\[\]Endpoint>", out), out
    assert re.search(r"^\s+addresses\s+<\[\]string>", out, re.M), out
    ready = any_kubectl.run("explain", "endpointslices.endpoints.conditions.ready").stdout
    assert "FIELD: ready <boolean>" in ready


# ---- apply ---------------------------------------------------------------------


def test_apply_create_unchanged_configured(
    any_kubectl: Kubectl, http: httpx.Client, namespace: str, tmp_path: Path
) -> None:
    manifest = write(tmp_path / "web.yaml", deployment_yaml(replicas=2))
    ns = ("-n", namespace)
    assert any_kubectl.run(*ns, "apply", "-f", str(manifest)).stdout == (
        "deployment.apps/web created\n"
    )
    first = get_deployment(http, namespace, "web")
    last_applied = first["metadata"]["annotations"][
        "kubectl.kubernetes.io/last-applied-configuration"
    ]
    assert json.loads(last_applied)["spec"]["replicas"] == 2

    assert any_kubectl.run(*ns, "apply", "-f", str(manifest)).stdout == (
        "deployment.apps/web unchanged\n"
    )
    again = get_deployment(http, namespace, "web")
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]

    write(manifest, deployment_yaml(replicas=3))
    assert any_kubectl.run(*ns, "apply", "-f", str(manifest)).stdout == (
        "deployment.apps/web configured\n"
    )
    assert get_deployment(http, namespace, "web")["spec"]["replicas"] == 3


def test_apply_removes_what_the_file_no_longer_has(
    any_kubectl: Kubectl, http: httpx.Client, namespace: str, tmp_path: Path
) -> None:
    """Three-way strategic merge: a container and an env var dropped from the file
    leave the live object; a label someone else added stays. Each minor reads the
    patch metadata from a different OpenAPI document (1.27: protobuf v2)."""
    kubectl = any_kubectl
    manifest = write(tmp_path / "web.yaml", deployment_yaml(env=("A", "B"), sidecar=True))
    ns = ("-n", namespace)
    kubectl.run(*ns, "apply", "-f", str(manifest))
    kubectl.run(*ns, "label", "deployment", "web", "team=blue")
    live = get_deployment(http, namespace, "web")["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in live] == ["main", "side"]

    write(manifest, deployment_yaml(env=("A",), sidecar=False))
    assert "deployment.apps/web configured" in kubectl.run(*ns, "apply", "-f", str(manifest)).stdout
    after = get_deployment(http, namespace, "web")
    containers = after["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["main"]
    assert containers[0]["env"] == [{"name": "A", "value": "a"}]
    assert containers[0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert after["metadata"]["labels"] == {"app": "web", "team": "blue"}

    write(manifest, deployment_yaml(env=(), sidecar=False))
    kubectl.run(*ns, "apply", "-f", str(manifest))
    final = get_deployment(http, namespace, "web")["spec"]["template"]["spec"]["containers"][0]
    assert "env" not in final


def test_apply_server_side(
    kubectl: Kubectl, http: httpx.Client, namespace: str, tmp_path: Path
) -> None:
    manifest = write(tmp_path / "ssa.yaml", deployment_yaml("ssa", replicas=1))
    ns = ("-n", namespace)
    out = kubectl.run(*ns, "apply", "--server-side", "-f", str(manifest)).stdout
    assert out == "deployment.apps/ssa serverside-applied\n"
    first = get_deployment(http, namespace, "ssa")
    managers = {(m["manager"], m["operation"]) for m in first["metadata"]["managedFields"]}
    assert ("kubectl", "Apply") in managers

    kubectl.run(*ns, "apply", "--server-side", "-f", str(manifest))
    same = get_deployment(http, namespace, "ssa")
    assert same["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]

    write(manifest, deployment_yaml("ssa", replicas=4, env=("A",), sidecar=False))
    kubectl.run(*ns, "apply", "--server-side", "-f", str(manifest))
    updated = get_deployment(http, namespace, "ssa")
    assert updated["spec"]["replicas"] == 4
    containers = updated["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["main"]
    assert containers[0]["env"] == [{"name": "A", "value": "a"}]


def test_apply_directory_with_multi_document_yaml_then_delete(
    kubectl: Kubectl, http: httpx.Client, namespace: str, tmp_path: Path
) -> None:
    service = """
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: app
        spec:
          type: NodePort
          selector: {app: app}
          ports:
          - {port: 80, targetPort: 8080}
        """
    write(tmp_path / "dir" / "app.yaml", deployment_yaml("app") + textwrap.dedent(service))
    directory = str(tmp_path / "dir") + "/"
    ns = ("-n", namespace)
    out = kubectl.run(*ns, "apply", "-f", directory).stdout
    assert out.splitlines() == ["deployment.apps/app created", "service/app created"]
    svc = http.get(f"/api/v1/namespaces/{namespace}/services/app").json()
    assert re.fullmatch(r"10\.96\.\d+\.\d+", svc["spec"]["clusterIP"])
    assert 30000 <= svc["spec"]["ports"][0]["nodePort"] <= 32767
    out = kubectl.run(*ns, "apply", "-f", directory).stdout
    assert out.splitlines() == ["deployment.apps/app unchanged", "service/app unchanged"]

    out = kubectl.run(*ns, "delete", "-f", directory).stdout
    assert out.splitlines() == ['deployment.apps "app" deleted', 'service "app" deleted']
    # delete -f waits until the objects are gone
    assert http.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/app").status_code == 404
    assert http.get(f"/api/v1/namespaces/{namespace}/services/app").status_code == 404


def test_apply_switches_a_service_between_types(
    kubectl: Kubectl, http: httpx.Client, namespace: str, tmp_path: Path
) -> None:
    """NodePort -> ClusterIP drops the allocated nodePort (and frees it), as the
    Kubernetes service strategy does; ClusterIP -> LoadBalancer allocates one."""
    manifest = tmp_path / "svc.yaml"
    spec = service_body("svc", "NodePort")
    manifest.write_text(yaml.safe_dump(spec))
    ns = ("-n", namespace)
    kubectl.run(*ns, "apply", "-f", str(manifest))
    path = f"/api/v1/namespaces/{namespace}/services"
    node_port = http.get(f"{path}/svc").json()["spec"]["ports"][0]["nodePort"]

    spec["spec"]["type"] = "ClusterIP"
    manifest.write_text(yaml.safe_dump(spec))
    assert kubectl.run(*ns, "apply", "-f", str(manifest)).stdout == "service/svc configured\n"
    live = http.get(f"{path}/svc").json()
    assert live["spec"]["type"] == "ClusterIP"
    assert "nodePort" not in live["spec"]["ports"][0]
    assert "externalTrafficPolicy" not in live["spec"]
    row = by_name(parse_table(kubectl.run(*ns, "get", "svc", "svc").stdout))["svc"]
    assert row["PORT(S)"] == "80/TCP"
    reuse = service_body("reuse", "NodePort")
    reuse["spec"]["ports"][0]["nodePort"] = node_port
    create(http, path, reuse)  # the released nodePort is free again

    spec["spec"]["type"] = "LoadBalancer"
    manifest.write_text(yaml.safe_dump(spec))
    kubectl.run(*ns, "apply", "-f", str(manifest))
    row = by_name(parse_table(kubectl.run(*ns, "get", "svc", "svc").stdout))["svc"]
    assert row["TYPE"] == "LoadBalancer" and row["EXTERNAL-IP"] == "<pending>"
    assert re.fullmatch(r"80:3\d{4}/TCP", row["PORT(S)"])


def test_apply_server_dry_run_writes_nothing(
    kubectl: Kubectl, http: httpx.Client, namespace: str, tmp_path: Path
) -> None:
    manifest = write(tmp_path / "dry.yaml", deployment_yaml("dry"))
    out = kubectl.run("-n", namespace, "apply", "--dry-run=server", "-f", str(manifest)).stdout
    assert out == "deployment.apps/dry created (server dry run)\n"
    assert http.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/dry").status_code == 404


# ---- get -----------------------------------------------------------------------


@pytest.fixture
def populated(http: httpx.Client, namespace: str) -> str:
    """Pods c, a, b (created in that order), a deployment, a replicaset and a
    NodePort service in a fresh namespace."""
    for name, tier in (("c", "back"), ("a", "front"), ("b", "front")):
        create(http, f"/api/v1/namespaces/{namespace}/pods", pod_body(name, {"tier": tier}))
    deploy = yaml.safe_load(deployment_yaml("web", replicas=3))
    create(http, f"/apis/apps/v1/namespaces/{namespace}/deployments", deploy)
    rs = yaml.safe_load(deployment_yaml("web-rs", replicas=2, sidecar=False))
    rs["kind"] = "ReplicaSet"
    create(http, f"/apis/apps/v1/namespaces/{namespace}/replicasets", rs)
    create(http, f"/api/v1/namespaces/{namespace}/services", service_body("web"))
    return namespace


def test_get_tables_have_kubectls_usual_columns(any_kubectl: Kubectl, populated: str) -> None:
    ns = ("-n", populated)
    pods = any_kubectl.run(*ns, "get", "pods").stdout
    assert header_of(pods) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    row = by_name(parse_table(pods))["a"]
    assert (row["READY"], row["STATUS"], row["RESTARTS"]) == ("0/1", "Pending", "0")
    assert re.fullmatch(r"\d+s", row["AGE"])

    deploys = any_kubectl.run(*ns, "get", "deployments").stdout
    assert header_of(deploys) == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    row = by_name(parse_table(deploys))["web"]
    assert (row["READY"], row["UP-TO-DATE"], row["AVAILABLE"]) == ("0/3", "0", "0")

    rs = any_kubectl.run(*ns, "get", "rs").stdout
    assert header_of(rs) == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    row = by_name(parse_table(rs))["web-rs"]
    assert (row["DESIRED"], row["CURRENT"], row["READY"]) == ("2", "0", "0")

    svcs = any_kubectl.run(*ns, "get", "svc").stdout
    assert header_of(svcs) == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    row = by_name(parse_table(svcs))["web"]
    assert row["TYPE"] == "NodePort" and row["EXTERNAL-IP"] == "<none>"
    assert re.fullmatch(r"10\.96\.\d+\.\d+", row["CLUSTER-IP"])
    assert re.fullmatch(r"80:3\d{4}/TCP", row["PORT(S)"])

    namespaces = by_name(parse_table(any_kubectl.run("get", "namespaces").stdout))
    assert namespaces[populated]["STATUS"] == "Active"
    assert {"default", "kube-system"} <= set(namespaces)


def test_get_wide_and_structured_output(kubectl: Kubectl, populated: str) -> None:
    ns = ("-n", populated)
    pods = kubectl.run(*ns, "get", "pods", "-o", "wide").stdout
    assert header_of(pods) == [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED NODE",
        "READINESS GATES",
    ]
    assert by_name(parse_table(pods))["a"]["NODE"] == "<none>"
    deploys = kubectl.run(*ns, "get", "deploy", "-o", "wide").stdout
    assert header_of(deploys)[-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    row = by_name(parse_table(deploys))["web"]
    assert (row["CONTAINERS"], row["IMAGES"], row["SELECTOR"]) == (
        "main,side",
        "busybox:1,busybox:1",
        "app=web",
    )
    svc = by_name(parse_table(kubectl.run(*ns, "get", "svc", "-o", "wide").stdout))["web"]
    assert svc["SELECTOR"] == "app=web"

    as_yaml = yaml.safe_load(kubectl.run(*ns, "get", "pod", "a", "-o", "yaml").stdout)
    assert (as_yaml["kind"], as_yaml["apiVersion"]) == ("Pod", "v1")
    assert as_yaml["spec"]["restartPolicy"] == "Always"
    assert as_yaml["status"]["phase"] == "Pending"
    as_json = json.loads(kubectl.run(*ns, "get", "pods", "-o", "json").stdout)
    assert as_json["kind"] == "List"
    assert sorted(p["metadata"]["name"] for p in as_json["items"]) == ["a", "b", "c"]
    names = kubectl.run(*ns, "get", "pods,deploy", "-o", "name").stdout.split()
    assert sorted(names) == ["deployment.apps/web", "pod/a", "pod/b", "pod/c"]


def test_get_selectors_labels_sorting_and_all_namespaces(kubectl: Kubectl, populated: str) -> None:
    ns = ("-n", populated)
    front = parse_table(kubectl.run(*ns, "get", "pods", "-l", "tier=front").stdout)
    assert sorted(r["NAME"] for r in front) == ["a", "b"]
    not_front = parse_table(kubectl.run(*ns, "get", "pods", "-l", "tier!=front").stdout)
    assert [r["NAME"] for r in not_front] == ["c"]
    by_field = kubectl.run(*ns, "get", "pods", "--field-selector", "metadata.name=b").stdout
    assert [r["NAME"] for r in parse_table(by_field)] == ["b"]
    pending = kubectl.run(*ns, "get", "pods", "--field-selector", "status.phase=Running").stderr
    assert f"No resources found in {populated} namespace." in pending

    labelled = by_name(parse_table(kubectl.run(*ns, "get", "pods", "--show-labels").stdout))
    assert labelled["c"]["LABELS"] == "tier=back"

    sorted_rows = kubectl.run(*ns, "get", "pods", "--sort-by=.metadata.name").stdout
    assert [r["NAME"] for r in parse_table(sorted_rows)] == ["a", "b", "c"]
    by_age = kubectl.run(*ns, "get", "pods", "--sort-by=.metadata.creationTimestamp").stdout
    assert sorted(r["NAME"] for r in parse_table(by_age)) == ["a", "b", "c"]

    everywhere = kubectl.run("get", "pods", "-A").stdout
    assert header_of(everywhere)[:2] == ["NAMESPACE", "NAME"]
    mine = [r["NAME"] for r in parse_table(everywhere) if r["NAMESPACE"] == populated]
    assert sorted(mine) == ["a", "b", "c"]


def test_get_all_shows_every_kind_in_the_category(kubectl: Kubectl, populated: str) -> None:
    out = kubectl.run("-n", populated, "get", "all").stdout
    sections = [parse_table(block) for block in out.strip().split("\n\n")]
    names = {row["NAME"] for rows in sections for row in rows}
    assert {
        "pod/a",
        "pod/b",
        "pod/c",
        "service/web",
        "deployment.apps/web",
        "replicaset.apps/web-rs",
    } <= names


def test_get_watch_prints_rows_for_new_pods(
    kubectl: Kubectl, http: httpx.Client, namespace: str
) -> None:
    pods = f"/api/v1/namespaces/{namespace}/pods"
    create(http, pods, pod_body("first"))
    with kubectl.stream("-n", namespace, "get", "pods", "-w") as watch:
        header = watch.wait_for(lambda line: line.startswith("NAME"))
        assert re.split(r" {2,}", header) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        watch.wait_for(lambda line: line.split()[:1] == ["first"])
        create(http, pods, pod_body("second"))
        row = watch.wait_for(lambda line: line.split()[:1] == ["second"])
        assert row.split()[:4] == ["second", "0/1", "Pending", "0"]
        assert watch.popen.poll() is None, "get -w must keep watching"
    assert watch.popen.poll() is not None


def test_get_watch_events_across_namespaces(
    kubectl: Kubectl, http: httpx.Client, namespace: str
) -> None:
    pods = f"/api/v1/namespaces/{namespace}/pods"
    with kubectl.stream("get", "pods", "-A", "-w", "--output-watch-events") as watch:
        # kubectl prints nothing for an empty list: the header comes with the first row
        create(http, pods, pod_body("seen"))
        watch.wait_for(lambda line: line.split()[:3] == ["ADDED", namespace, "seen"])
        assert watch.lines[0].split()[:3] == ["EVENT", "NAMESPACE", "NAME"]
        # an unscheduled pod goes at once: the watch reports its deletion
        assert http.delete(f"{pods}/seen").status_code == 200
        watch.wait_for(lambda line: line.split()[:3] == ["DELETED", namespace, "seen"])


# ---- describe ------------------------------------------------------------------


def test_describe_deployment_pod_service_namespace(kubectl: Kubectl, populated: str) -> None:
    ns = ("-n", populated)
    deploy = kubectl.run(*ns, "describe", "deployment", "web").stdout
    assert field(deploy, "Name") == "web"
    assert field(deploy, "Namespace") == populated
    assert field(deploy, "Selector") == "app=web"
    assert field(deploy, "Replicas") == (
        "3 desired | 0 updated | 0 total | 0 available | 0 unavailable"
    )
    assert field(deploy, "StrategyType") == "RollingUpdate"
    assert field(deploy, "RollingUpdateStrategy") == "25% max unavailable, 25% max surge"
    assert field(deploy, "    Image") == "busybox:1"

    pod = kubectl.run(*ns, "describe", "pod", "a").stdout
    assert field(pod, "Name") == "a"
    assert field(pod, "Status") == "Pending"
    assert field(pod, "QoS Class") == "BestEffort"
    assert field(pod, "Labels") == "tier=front"
    assert re.search(r"^Containers:\n  main:\n    Image:\s+busybox:1$", pod, re.M)

    svc = kubectl.run(*ns, "describe", "service", "web").stdout
    assert field(svc, "Type") == "NodePort"
    assert re.fullmatch(r"10\.96\.\d+\.\d+", field(svc, "IP"))
    assert re.fullmatch(r"http\s+80/TCP", field(svc, "Port"))
    assert field(svc, "TargetPort") == "8080/TCP"
    assert re.fullmatch(r"http\s+3\d{4}/TCP", field(svc, "NodePort"))

    namespace = kubectl.run("describe", "namespace", populated).stdout
    assert field(namespace, "Name") == populated
    assert field(namespace, "Status") == "Active"
    assert field(namespace, "Labels") == f"kubernetes.io/metadata.name={populated}"


# ---- endpoint slices -----------------------------------------------------------

ENDPOINT_SLICE = """
    apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata:
      name: manual
      labels: {kubernetes.io/service-name: manual}
    addressType: IPv4
    ports: [{port: 80}]
    endpoints:
    - addresses: [10.1.2.3]
      conditions: {ready: true}
    - addresses: [10.1.2.4]
    - addresses: [10.1.2.5]
    - addresses: [10.1.2.6]
"""


def test_endpointslices_apply_get_and_validation(
    kubectl: Kubectl, http: httpx.Client, namespace: str, tmp_path: Path
) -> None:
    ns = ("-n", namespace)
    manifest = write(tmp_path / "eps.yaml", ENDPOINT_SLICE)
    assert kubectl.run(*ns, "apply", "-f", str(manifest)).stdout == (
        "endpointslice.discovery.k8s.io/manual created\n"
    )
    stored = http.get(
        f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices/manual"
    ).json()
    assert stored["ports"] == [{"name": "", "port": 80, "protocol": "TCP"}]  # defaulted
    out = kubectl.run(*ns, "get", "endpointslices").stdout
    assert header_of(out) == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    row = by_name(parse_table(out))["manual"]
    assert (row["ADDRESSTYPE"], row["PORTS"]) == ("IPv4", "80")
    assert row["ENDPOINTS"] == "10.1.2.3,10.1.2.4,10.1.2.5 + 1 more..."
    selected = kubectl.run(*ns, "get", "endpointslices", "-l", "kubernetes.io/service-name=manual")
    assert "manual" in selected.stdout

    write(manifest, ENDPOINT_SLICE.replace("IPv4", "IPv6"))
    failed = kubectl.fails(*ns, "apply", "-f", str(manifest))
    assert 'addressType: Invalid value: "IPv6": field is immutable' in failed.stderr
    write(tmp_path / "bad.yaml", ENDPOINT_SLICE.replace("manual", "bad").replace("10.1.2.3", "x"))
    failed = kubectl.fails(*ns, "apply", "-f", str(tmp_path / "bad.yaml"))
    assert (
        'endpoints[0].addresses[0]: Invalid value: "x": must be a valid IPv4 address'
    ) in failed.stderr
    assert kubectl.run(*ns, "delete", "endpointslice", "manual").stdout == (
        'endpointslice.discovery.k8s.io "manual" deleted\n'
    )


# ---- imperative writes ---------------------------------------------------------


def test_scale_label_annotate(kubectl: Kubectl, http: httpx.Client, populated: str) -> None:
    ns = ("-n", populated)
    out = kubectl.run(*ns, "scale", "deployment", "web", "--replicas=5").stdout
    assert out == "deployment.apps/web scaled\n"
    assert get_deployment(http, populated, "web")["spec"]["replicas"] == 5

    assert kubectl.run(*ns, "label", "deploy", "web", "team=blue").stdout == (
        "deployment.apps/web labeled\n"
    )
    taken = kubectl.run(*ns, "label", "deploy", "web", "team=red", check=False)
    assert not taken.ok and "already has a value (blue)" in taken.stderr
    kubectl.run(*ns, "label", "deploy", "web", "team=red", "--overwrite")
    assert get_deployment(http, populated, "web")["metadata"]["labels"]["team"] == "red"
    assert kubectl.run(*ns, "label", "deploy", "web", "team-").stdout == (
        "deployment.apps/web unlabeled\n"
    )
    assert "team" not in get_deployment(http, populated, "web")["metadata"]["labels"]

    scale = kubectl.run(*ns, "get", "deploy", "web", "--subresource=scale").stdout.split()
    assert scale[:4] == ["NAME", "DESIRED", "AVAILABLE", "AGE"] and scale[4:6] == ["web", "5"]
    status = kubectl.run(*ns, "get", "deploy", "web", "--subresource=status").stdout
    assert status.split()[:5] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]

    assert kubectl.run(*ns, "annotate", "pod", "a", "note=hello").stdout == "pod/a annotated\n"
    pod = http.get(f"/api/v1/namespaces/{populated}/pods/a").json()
    assert pod["metadata"]["annotations"] == {"note": "hello"}


def test_patch_merge_json_strategic(kubectl: Kubectl, http: httpx.Client, populated: str) -> None:
    ns = ("-n", populated, "patch", "deployment", "web")
    merge = kubectl.run(*ns, "--type=merge", "-p", '{"metadata":{"labels":{"via":"merge"}}}')
    assert merge.stdout == "deployment.apps/web patched\n"
    ops = '[{"op":"replace","path":"/spec/replicas","value":7}]'
    kubectl.run(*ns, "--type=json", "-p", ops)
    strategic = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "main", "env": [{"name": "C", "value": "c"}]}]}
            }
        }
    }
    kubectl.run(*ns, "--type=strategic", "-p", json.dumps(strategic))
    live = get_deployment(http, populated, "web")
    assert live["metadata"]["labels"]["via"] == "merge"
    assert live["spec"]["replicas"] == 7
    containers = {c["name"]: c for c in live["spec"]["template"]["spec"]["containers"]}
    assert set(containers) == {"main", "side"}, "strategic merge keeps the other container"
    # Kubernetes puts a patch element it cannot place by the live order first.
    assert [e["name"] for e in containers["main"]["env"]] == ["C", "A", "B"]
    assert containers["main"]["image"] == "busybox:1"
    again = kubectl.run(*ns, "--type=json", "-p", ops).stdout
    assert again == "deployment.apps/web patched (no change)\n"


def test_replace_from_a_file_and_conflict_on_a_stale_one(
    kubectl: Kubectl, http: httpx.Client, populated: str, tmp_path: Path
) -> None:
    ns = ("-n", populated)
    live = yaml.safe_load(kubectl.run(*ns, "get", "deploy", "web", "-o", "yaml").stdout)
    live["spec"]["replicas"] = 6
    manifest = tmp_path / "web.yaml"
    manifest.write_text(yaml.safe_dump(live))
    assert kubectl.run(*ns, "replace", "-f", str(manifest)).stdout == (
        "deployment.apps/web replaced\n"
    )
    assert get_deployment(http, populated, "web")["spec"]["replicas"] == 6

    stale = kubectl.fails(*ns, "replace", "-f", str(manifest))  # resourceVersion now old
    assert (
        'Operation cannot be fulfilled on deployments.apps "web": the object has been '
        "modified; please apply your changes to the latest version and try again"
    ) in stale.stderr


def test_create_namespace_and_delete_it(any_kubectl: Kubectl, http: httpx.Client) -> None:
    name = f"kc-{minor_of(any_kubectl)}-{secrets.token_hex(3)}"
    created = any_kubectl.run("create", "namespace", name, "-v=8")
    assert created.stdout == f"namespace/{name} created\n"
    if minor_of(any_kubectl) >= 32:  # 1.32+ send the object as protobuf
        assert "Content-Type: application/vnd.kubernetes.protobuf" in created.stderr
    ns = http.get(f"/api/v1/namespaces/{name}").json()
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": name}
    assert ns["status"]["phase"] == "Active"
    create(http, f"/api/v1/namespaces/{name}/pods", pod_body("inside"))
    create(http, f"/api/v1/namespaces/{name}/services", service_body("inside"))

    # kubectl waits until the namespace, and so everything in it, is gone
    assert any_kubectl.run("delete", "namespace", name).stdout == f'namespace "{name}" deleted\n'
    assert http.get(f"/api/v1/namespaces/{name}").status_code == 404
    assert http.get(f"/api/v1/namespaces/{name}/pods").json()["items"] == []
    assert http.get(f"/api/v1/namespaces/{name}/services").json()["items"] == []


def test_create_deployment_imperatively(
    kubectl: Kubectl, http: httpx.Client, namespace: str
) -> None:
    out = kubectl.run("-n", namespace, "create", "deployment", "web", "--image=busybox:1")
    assert out.stdout == "deployment.apps/web created\n"
    live = get_deployment(http, namespace, "web")
    assert live["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert live["spec"]["replicas"] == 1
    assert live["spec"]["strategy"]["type"] == "RollingUpdate"
    container = live["spec"]["template"]["spec"]["containers"][0]
    assert (container["name"], container["image"]) == ("busybox", "busybox:1")
    assert container["imagePullPolicy"] == "IfNotPresent"


# ---- errors --------------------------------------------------------------------


UNKNOWN_FIELDS = """
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      replicaz: 2
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers:
          - {name: main, image: busybox:1, imagePullPolicyX: Always}
    """


def test_unknown_fields_are_rejected_by_strict_validation(
    any_kubectl: Kubectl, http: httpx.Client, namespace: str, tmp_path: Path
) -> None:
    kubectl = any_kubectl
    manifest = write(tmp_path / "bad.yaml", UNKNOWN_FIELDS)
    ns = ("-n", namespace)
    failed = kubectl.fails(*ns, "apply", "-f", str(manifest))
    assert f'Error from server (BadRequest): error when creating "{manifest}": ' in failed.stderr
    assert 'Deployment in version "v1" cannot be handled as a Deployment' in failed.stderr
    assert 'strict decoding error: unknown field "spec.replicaz"' in failed.stderr
    assert 'unknown field "spec.template.spec.containers[0].imagePullPolicyX"' in failed.stderr
    assert http.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/web").status_code == 404

    # on an existing object the same file fails in the patch, which changes nothing
    good = write(tmp_path / "good.yaml", deployment_yaml("web", replicas=2))
    kubectl.run(*ns, "apply", "-f", str(good))
    before = get_deployment(http, namespace, "web")["metadata"]["resourceVersion"]
    patched = kubectl.fails(*ns, "apply", "-f", str(manifest))
    assert 'unknown field "spec.replicaz"' in patched.stderr
    assert get_deployment(http, namespace, "web")["metadata"]["resourceVersion"] == before


def test_invalid_name_is_reported_by_field(
    kubectl: Kubectl, namespace: str, tmp_path: Path
) -> None:
    manifest = write(tmp_path / "bad.yaml", deployment_yaml("Bad_Name"))
    failed = kubectl.fails("-n", namespace, "apply", "-f", str(manifest))
    assert (
        'The Deployment "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": '
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters"
    ) in failed.stderr


def test_missing_objects_are_not_found(kubectl: Kubectl, namespace: str) -> None:
    got = kubectl.fails("-n", namespace, "get", "deployment", "nope")
    assert 'Error from server (NotFound): deployments.apps "nope" not found' in got.stderr
    deleted = kubectl.fails("-n", namespace, "delete", "pod", "nope")
    assert 'Error from server (NotFound): pods "nope" not found' in deleted.stderr
    # as in Kubernetes, listing in a namespace that does not exist is an empty list
    empty = kubectl.run("get", "pods", "-n", "no-such-namespace-x")
    assert empty.stdout == ""
    assert empty.stderr == "No resources found in no-such-namespace-x namespace.\n"


def test_unknown_kind_has_no_resource_mapping(kubectl: Kubectl, namespace: str) -> None:
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
    failed = kubectl.fails("-n", namespace, "apply", "-f", "-", input=widget)
    assert "error: resource mapping not found" in failed.stderr
    assert 'no matches for kind "Widget" in version "example.com/v1"' in failed.stderr


def test_wrong_token_is_unauthorized(apiserver, kubectl: Kubectl, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong-kubeconfig"
    write_kubeconfig(wrong, apiserver.url, "not-a-token", ca_file=apiserver.ca_file)
    kubectl.run("get", "pods")  # warms the discovery cache shared below

    # With discovery cached, kubectl's first request is the list, whose Status it reads.
    cached = Kubectl(wrong, kubectl.cache_dir).fails("get", "pods")
    assert "error: You must be logged in to the server (Unauthorized)" in cached.stderr

    # Without it, discovery fails first and kubectl prints client-go's generic text,
    # as it does against any Kubernetes.
    cold = Kubectl(wrong, tmp_path / "cold-cache").fails("get", "pods")
    assert (
        "error: You must be logged in to the server "
        "(the server has asked for the client to provide credentials)"
    ) in cold.stderr
    # a presented, wrong token is refused even on the public /version
    version = Kubectl(wrong, tmp_path / "cold-cache").fails("version")
    assert "You must be logged in to the server" in version.stderr
