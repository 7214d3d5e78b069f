"""`kubectl apply --prune -l ...` with kubectl's default allow-list (ConfigMap,
Endpoints, Namespace, PVC, PV, Pod, ReplicationController, Secret, Service, Job,
CronJob, Ingress, DaemonSet, Deployment, ReplicaSet, StatefulSet): every kind in it must
exist, or kubectl fails outright. An object dropped from the manifests is pruned."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml

from deploy.controlplane import ApiServer
from tests.support.kubectl import MINORS, installed_kubectl


def write(directory: Path, docs: list[dict]) -> None:
    for old in directory.glob("*.yaml"):
        old.unlink()
    for doc in docs:
        (directory / f"{doc['kind'].lower()}-{doc['metadata']['name']}.yaml").write_text(
            yaml.safe_dump(doc)
        )


@pytest.mark.parametrize("minor", MINORS)
def test_apply_prune_with_the_default_allow_list(
    apiserver: ApiServer, http: httpx.Client, namespace: str, tmp_path: Path, minor: str | None
) -> None:
    kubectl = installed_kubectl(minor, apiserver.kubeconfig, tmp_path / "cache")
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    label = {"app": "pruned"}
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "labels": label},
        "data": {"a": "1"},
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "labels": label},
        "spec": {"selector": label, "ports": [{"port": 80}]},
    }
    ns = ("-n", namespace)
    write(manifests, [config, service])
    kubectl.run(*ns, "apply", "--prune", "-l", "app=pruned", "-f", str(manifests))
    assert http.get(f"/api/v1/namespaces/{namespace}/configmaps/settings").status_code == 200

    write(manifests, [service])
    out = kubectl.run(*ns, "apply", "--prune", "-l", "app=pruned", "-f", str(manifests))
    assert "configmap/settings pruned" in out.stdout, (out.stdout, out.stderr)
    assert http.get(f"/api/v1/namespaces/{namespace}/configmaps/settings").status_code == 404
    assert http.get(f"/api/v1/namespaces/{namespace}/services/web").status_code == 200
