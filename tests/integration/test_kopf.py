"""kopf, the Python operator framework, drives minik unchanged: it discovers the API,
watches, patches the objects it handles and posts Events (explicit ones and, when
enabled, its log lines) that `kubectl get events` shows."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy import processes
from deploy.controlplane import ApiServer
from tests.support.kubectl import Kubectl
from tests.support.wait import eventually

OPERATOR = """
import kopf

@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_):
    settings.posting.loggers = True  # log lines of handlers become Events too

@kopf.on.create("configmaps", labels={"kopf-test": "yes"})
def created(body, patch, logger, **_):
    patch.metadata.annotations["seen-by"] = "kopf"
    kopf.info(body, reason="Seen", message="kopf saw " + body.metadata.name)
    logger.info("handled")
"""


@pytest.fixture
def operator(apiserver: ApiServer, namespace: str, tmp_path: Path) -> Iterator[Path]:
    source = tmp_path / "operator.py"
    source.write_text(OPERATOR)
    log = tmp_path / "kopf.log"
    argv = [sys.executable, "-m", "kopf", "run", "--standalone", "-n", namespace, str(source)]
    env = {**os.environ, "KUBECONFIG": str(apiserver.kubeconfig)}
    proc = processes.spawn("kopf", argv, log, env=env)
    try:
        yield log
    finally:
        proc.stop()


def test_kopf_handles_patches_and_posts_events(
    operator: Path, http: httpx.Client, kubectl: Kubectl, namespace: str
) -> None:
    body = {"metadata": {"name": "cfg", "labels": {"kopf-test": "yes"}}, "data": {"a": "b"}}
    assert http.post(f"/api/v1/namespaces/{namespace}/configmaps", json=body).status_code == 201

    def annotated() -> bool:
        cm = http.get(f"/api/v1/namespaces/{namespace}/configmaps/cfg").json()
        return (cm["metadata"].get("annotations") or {}).get("seen-by") == "kopf"

    eventually(annotated, timeout=30, message=f"kopf's patch; its log: {operator}")

    def reasons() -> dict[str, set[str]]:
        events = http.get(f"/api/v1/namespaces/{namespace}/events").json()["items"]
        found: dict[str, set[str]] = {}
        for ev in events:
            found.setdefault(ev["reason"], set()).add(ev["message"])
        return found

    eventually(
        lambda: (
            "kopf saw cfg" in reasons().get("Seen", set())
            and {"handled", "Handler 'created' succeeded."} <= reasons().get("Logging", set())
        ),
        timeout=20,
        message="kopf's events",
    )
    shown = kubectl.run("-n", namespace, "get", "events", "--field-selector=reason=Seen").stdout
    assert "configmap/cfg" in shown and "kopf saw cfg" in shown
