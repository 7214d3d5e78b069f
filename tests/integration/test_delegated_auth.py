"""The scheduler's and the controller manager's secure ports, as Kubernetes' since 1.23:
HTTPS, every caller authenticated by the apiserver (TokenReview) and authorized by
it (SubjectAccessReview on nonResourceURL /metrics), /healthz open to anyone. An
apiserver of this module's own runs --authorization-mode=RBAC; the bootstrap policy
grants /metrics to the group system:monitoring, as Kubernetes'."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from client.kubeconfig import write_kubeconfig
from deploy import processes
from deploy.controlplane import Etcd, make_workdir, remove_workdir, start_apiserver
from tests.support.scrape import parse
from tests.support.wait import eventually

USERS = [
    ("root", "system:masters"),  # the components' own identity here
    ("prom", "system:monitoring"),
    ("jane", ""),  # nothing but system:authenticated
]


@dataclass
class Components:
    tokens: dict[str, str]
    scheduler: str  # https://127.0.0.1:<secure port>
    manager: str


def get(base: str, path: str, user: str | None, tokens: dict[str, str]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {tokens.get(user or '', user)}"} if user else {}
    # the certificate is self-signed (no --tls-cert-file), as Kubernetes' default
    return httpx.get(f"{base}{path}", headers=headers, verify=False, timeout=10)


@pytest.fixture(scope="module")
def components(etcd: Etcd) -> Iterator[Components]:
    workdir = make_workdir("minik-delegated-")
    tokens = processes.write_token_file(workdir / "users.csv", USERS)
    api = start_apiserver(
        etcd,
        workdir,
        ["--authorization-mode=RBAC", f"--token-auth-file={workdir / 'users.csv'}"],
    )
    kubeconfig = workdir / "kubeconfig-root"
    write_kubeconfig(kubeconfig, api.url, tokens["root"], ca_file=api.ca_file)
    scheduler_port, manager_port = processes.free_port(), processes.free_port()
    started: list[processes.Process] = []
    try:

        def python(module: str) -> list[str]:
            return [sys.executable, "-m", module, "--kubeconfig", str(kubeconfig), "--port", "0"]

        started.append(
            processes.spawn(
                "scheduler",
                [
                    *python("scheduler"),
                    "--secure-port",
                    str(scheduler_port),
                    "--scheduler-name",
                    "delegated-auth-test",
                ],
                workdir / "scheduler.log",
            )
        )
        started.append(
            processes.spawn(
                "controller-manager",
                [
                    *python("controller"),
                    "--secure-port",
                    str(manager_port),
                    "--controllers",
                    "replicaset",
                ],
                workdir / "controller-manager.log",
            )
        )
        bases = [f"https://127.0.0.1:{port}" for port in (scheduler_port, manager_port)]
        for base in bases:
            eventually(
                lambda base=base: get(base, "/healthz", None, tokens).status_code == 200,
                timeout=30,
                retry_on=(httpx.HTTPError,),
                message=f"{base}/healthz",
            )
        yield Components(tokens, *bases)
    finally:
        for proc in started:
            proc.stop()
        api.stop()
        remove_workdir(workdir)


def test_healthz_is_open_to_anyone(components: Components) -> None:
    for base in (components.scheduler, components.manager):
        r = get(base, "/healthz", None, components.tokens)
        assert (r.status_code, r.text) == (200, "ok")


@pytest.mark.parametrize("who", ["scheduler", "manager"])
def test_metrics_need_the_monitoring_role(components: Components, who: str) -> None:
    base = getattr(components, who)
    r = get(base, "/metrics", "prom", components.tokens)
    assert r.status_code == 200, r.text
    family = "scheduler_pending_pods" if who == "scheduler" else "workqueue_depth"
    assert parse(r.text).has(family)

    for user, name in ((None, "system:anonymous"), ("jane", "jane")):
        r = get(base, "/metrics", user, components.tokens)
        assert r.status_code == 403, r.text
        status = r.json()
        assert (status["kind"], status["reason"], status["code"]) == ("Status", "Forbidden", 403)
        assert status["message"].startswith(
            f'forbidden: User "{name}" cannot get path "/metrics"'
        ), status

    r = get(base, "/metrics", "not-a-token", components.tokens)
    assert r.status_code == 401, r.text
    assert r.json()["reason"] == "Unauthorized"


def test_plain_http_is_not_served_on_the_secure_port(components: Components) -> None:
    plain = components.scheduler.replace("https://", "http://")
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{plain}/metrics", timeout=5).raise_for_status()
