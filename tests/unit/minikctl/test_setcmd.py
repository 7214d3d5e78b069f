"""`minikctl set image`: the patch carries only the changes."""

from __future__ import annotations

import pytest

from minikctl.context import CLIError
from minikctl.setcmd import image_patch, split_args


def test_set_image_patch_has_only_the_changes():
    deployment = {
        "kind": "Deployment",
        "spec": {
            "template": {
                "spec": {
                    "initContainers": [{"name": "init", "image": "busybox"}],
                    "containers": [
                        {"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}]},
                        {"name": "side", "image": "envoy:1"},
                    ],
                }
            }
        },
    }
    patch, errors = image_patch(deployment, {"web": "nginx:1.26", "db": "postgres"})
    assert patch == {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "web"}, {"name": "side"}],
                    "containers": [{"image": "nginx:1.26", "name": "web"}],
                }
            }
        }
    }
    assert errors == ['unable to find container named "db"']
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    every, _ = image_patch(deployment, {"*": "busybox"})
    assert [c["name"] for c in every["spec"]["template"]["spec"]["containers"]] == ["web", "side"]
    assert "initContainers" not in every["spec"]["template"]["spec"]  # already busybox
    pod_patch, _ = image_patch(
        {"kind": "Pod", "spec": {"containers": [{"name": "c", "image": "a"}]}}, {"c": "b"}
    )
    assert pod_patch == {
        "spec": {
            "$setElementOrder/containers": [{"name": "c"}],
            "containers": [{"image": "b", "name": "c"}],
        }
    }
    assert split_args(["deploy/web", "web=nginx:1.26"]) == (["deploy/web"], {"web": "nginx:1.26"})
    with pytest.raises(CLIError, match="all resources must be specified before image changes"):
        split_args(["web=nginx", "deploy/web"])
