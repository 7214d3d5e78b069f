"""kubectl's streams end to end on real Docker, for every kubectl minor that speaks a
different protocol: 1.27 and 1.29 (SPDY/3.1 only), 1.30 (WebSocket exec, SPDY
port-forward), 1.33 (WebSocket exec, port-forward tunneled as
`SPDY/3.1+portforward.k8s.io` in a WebSocket); and the official Python client.

One namespace and a few pods are shared by the whole module: an httpd pod that also
serves exec/cp/port-forward, a `stdin`+`tty: false` pod for `kubectl attach`."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.controlplane import ApiServer
from tests.e2e.conftest import KubeletProcess, create_pod, is_ready, pod_manifest, wait_pod
from tests.support.kubectl import Kubectl, binary_for

WEB = "web"
ATTACH = "reader"
MINORS = ["1.27", "1.29", "1.30", "1.33"]


@pytest.fixture(scope="module")
def streams_ns(apiserver: ApiServer, kubelet: KubeletProcess, busybox: str) -> Iterator[str]:
    name = f"streams-{secrets.token_hex(3)}"
    with apiserver.http() as api:
        r = api.post("/api/v1/namespaces", json={"metadata": {"name": name}})
        assert r.status_code == 201, r.text
        serve = "mkdir -p /www && echo hello-$1 > /www/index.html && httpd -f -p $1 -h /www"
        web = pod_manifest(
            WEB,
            kubelet.node,
            [
                {
                    "name": "c",
                    "image": busybox,
                    "command": ["sh", "-c", serve, "sh", "8080"],
                },
                {
                    "name": "second",
                    "image": busybox,
                    "command": ["sh", "-c", serve, "sh", "8081"],
                },
            ],
        )
        web["metadata"]["annotations"] = {"kubectl.kubernetes.io/default-container": "c"}
        create_pod(api, name, web)
        reader = pod_manifest(
            ATTACH,
            kubelet.node,
            [
                {
                    "name": "r",
                    "image": busybox,
                    "command": ["sh", "-c", "echo started; while read l; do echo got:$l; done"],
                    "stdin": True,
                }
            ],
        )
        create_pod(api, name, reader)
        wait_pod(api, name, WEB, is_ready, 60, "Ready")
        wait_pod(api, name, ATTACH, is_ready, 60, "Ready")
        yield name
        api.delete(f"/api/v1/namespaces/{name}")


def _kubectl(minor: str, apiserver: ApiServer, tmp_path: Path) -> Kubectl:
    binary = binary_for(minor)
    if not binary.exists():
        pytest.skip(f"kubectl {minor} is not installed")
    return Kubectl(apiserver.kubeconfig, tmp_path / f"cache-{minor}", binary)


@pytest.mark.parametrize("minor", MINORS)
def test_exec_and_cp(minor: str, apiserver: ApiServer, streams_ns: str, tmp_path: Path) -> None:
    kubectl = _kubectl(minor, apiserver, tmp_path)
    ns = ["-n", streams_ns]
    both = kubectl.run(*ns, "exec", WEB, "--", "sh", "-c", "echo out; echo err >&2", timeout=30)
    assert both.stdout == "out\n" and "err\n" in both.stderr, both
    failed = kubectl.run(*ns, "exec", WEB, "--", "sh", "-c", "exit 3", check=False, timeout=30)
    assert failed.returncode == 3, failed
    piped = kubectl.run(*ns, "exec", "-i", WEB, "--", "cat", input="data\nmore\n", timeout=30)
    assert piped.stdout == "data\nmore\n", piped
    other = kubectl.run(*ns, "exec", WEB, "-c", "second", "--", "cat", "/www/index.html")
    assert other.stdout == "hello-8081\n", other

    payload = secrets.token_hex(40_000) + "\nend\n"
    source = tmp_path / "source.txt"
    source.write_text(payload)
    remote = f"/tmp/copied-{minor}.txt"
    kubectl.run(*ns, "cp", str(source), f"{WEB}:{remote}", "-c", "c", timeout=60)
    back = tmp_path / "back.txt"
    kubectl.run(*ns, "cp", f"{WEB}:{remote}", str(back), "-c", "c", timeout=60)
    assert back.read_text() == payload
