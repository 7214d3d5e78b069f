"""Custom kinds through the real kubectl (every minor from 1.27 to 1.33): apply a CRD, wait for
it to be Established, then get (printer columns, short name, category), describe,
explain (from the published OpenAPI), apply (client- and server-side), patch, edit,
scale, wait, and delete on its objects."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support.kubectl import ALL_MINORS, Kubectl, installed_kubectl

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


@pytest.fixture(params=ALL_MINORS, ids=lambda minor: minor or "default")
def kubectl(request: pytest.FixtureRequest, apiserver, tmp_path: Path) -> Kubectl:
    return installed_kubectl(request.param, apiserver.kubeconfig, tmp_path / "cache")


@pytest.fixture
def kind(http: httpx.Client) -> Iterator[dict[str, str]]:
    """A CRD of its own per test: `Gizmo<hex>` in `<hex>.example.com`."""
    token = secrets.token_hex(3)
    names = {
        "group": f"g{token}.example.com",
        "plural": f"gizmo{token}s",
        "singular": f"gizmo{token}",
        "kind": f"Gizmo{token}",
        "short": f"gz{token}",
        "category": f"cat{token}",
    }
    yield names
    http.delete(f"{CRDS}/{names['plural']}.{names['group']}")


def crd_yaml(k: dict[str, str]) -> str:
    return f"""
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {k["plural"]}.{k["group"]}
spec:
  group: {k["group"]}
  scope: Namespaced
  names:
    plural: {k["plural"]}
    singular: {k["singular"]}
    kind: {k["kind"]}
    shortNames: [{k["short"]}]
    categories: [{k["category"]}]
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        description: A gizmo students build.
        properties:
          spec:
            type: object
            description: What the gizmo should be.
            required: [image]
            properties:
              image:
                type: string
                description: The container image of the gizmo.
              replicas:
                type: integer
                minimum: 0
                default: 1
          status:
            type: object
            properties:
              replicas: {{type: integer}}
              ready: {{type: boolean}}
    subresources:
      status: {{}}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
    additionalPrinterColumns:
    - name: Image
      type: string
      jsonPath: .spec.image
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
"""


def gizmo_yaml(k: dict[str, str], name: str, image: str = "nginx", extra: str = "") -> str:
    return f"""
apiVersion: {k["group"]}/v1
kind: {k["kind"]}
metadata:
  name: {name}
spec:
  image: {image}
{extra}"""


def test_kubectl_custom_kind(kubectl: Kubectl, kind: dict[str, str], namespace: str, tmp_path):
    k = kind
    out = kubectl.run("apply", "-f", "-", input=crd_yaml(k))
    assert "created" in out.stdout
    kubectl.run(
        "wait", "--for=condition=Established", f"crd/{k['plural']}.{k['group']}", "--timeout=10s"
    )
    ns = ["-n", namespace]
    out = kubectl.run("apply", *ns, "-f", "-", input=gizmo_yaml(k, "one"))
    assert out.stdout.strip() == f"{k['singular']}.{k['group']}/one created"
    kubectl.run("apply", *ns, "--server-side", "-f", "-", input=gizmo_yaml(k, "two", "busybox"))

    rows = [line.split() for line in kubectl.run("get", k["plural"], *ns).stdout.splitlines()]
    assert rows[0] == ["NAME", "IMAGE", "REPLICAS", "AGE"]
    assert [r[:3] for r in rows[1:]] == [["one", "nginx", "1"], ["two", "busybox", "1"]]
    by_short = kubectl.run("get", k["short"], *ns, "-o", "name").stdout.split()
    assert by_short == [f"{k['singular']}.{k['group']}/one", f"{k['singular']}.{k['group']}/two"]
    by_category = kubectl.run("get", k["category"], *ns, "-o", "name").stdout.split()
    assert by_category == by_short

    described = kubectl.run("describe", k["singular"], "one", *ns).stdout
    assert "Name:" in described and "one" in described and "Image:" in described

    explained = kubectl.run("explain", f"{k['plural']}.spec").stdout
    assert "What the gizmo should be." in explained
    assert "The container image of the gizmo." in explained

    # client-side apply again: a change is a (merge) patch, no change is "unchanged"
    out = kubectl.run("apply", *ns, "-f", "-", input=gizmo_yaml(k, "one", "nginx:1.2"))
    assert out.stdout.strip() == f"{k['singular']}.{k['group']}/one configured"
    out = kubectl.run("apply", *ns, "-f", "-", input=gizmo_yaml(k, "one", "nginx:1.2"))
    assert out.stdout.strip() == f"{k['singular']}.{k['group']}/one unchanged"
    kubectl.run("patch", k["singular"], "one", *ns, "--type=merge", "-p", '{"spec":{"replicas":2}}')
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/image: nginx:1.2/image: nginx:1.3/' \"$1\"\n")
    editor.chmod(0o755)
    env_before = os.environ.get("KUBE_EDITOR")
    os.environ["KUBE_EDITOR"] = str(editor)
    try:
        kubectl.run("edit", k["singular"], "one", *ns)
    finally:
        if env_before is None:
            os.environ.pop("KUBE_EDITOR")
        else:
            os.environ["KUBE_EDITOR"] = env_before
    out = kubectl.run("scale", k["singular"], "one", *ns, "--replicas=4")
    assert "scaled" in out.stdout
    got = kubectl.run("get", k["singular"], "one", *ns, "-o", "yaml").stdout
    spec = yaml.safe_load(got)["spec"]
    assert spec == {"image": "nginx:1.3", "replicas": 4}

    # a field the schema does not know is refused by kubectl's server-side validation
    bad = kubectl.fails(
        "apply", *ns, "-f", "-", input=gizmo_yaml(k, "three", extra="  colour: red\n")
    )
    assert 'unknown field "spec.colour"' in bad.stderr
    kubectl.run(
        "wait", k["singular"], "one", *ns, "--for=jsonpath={.spec.replicas}=4", "--timeout=10s"
    )
    with kubectl.stream("get", k["plural"], *ns, "-w") as watching:
        watching.wait_for(lambda line: line.startswith("one "))
        kubectl.run("apply", *ns, "-f", "-", input=gizmo_yaml(k, "four", "redis"))
        line = watching.wait_for(lambda line: line.startswith("four "))
        assert line.split()[:3] == ["four", "redis", "1"]
    kubectl.run("delete", k["singular"], "one", "two", "four", *ns)
    assert kubectl.run("get", k["plural"], *ns, "-o", "name").stdout == ""
    kubectl.run("delete", "crd", f"{k['plural']}.{k['group']}", "--timeout=20s")
