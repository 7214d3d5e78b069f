"""`kubectl exec` and `kubectl cp` end to end: the real kubectl (1.32 and 1.33, which
speak the WebSocket remote command protocol) → the apiserver's pods/exec upgrade →
the pod's kubelet → `docker exec` in a real container."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import select
import struct
import subprocess
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets
from websockets.sync.client import connect

from deploy.controlplane import ApiServer
from tests.e2e.conftest import KubeletProcess, create_pod, is_ready, pod_manifest, wait_pod
from tests.support.kubectl import Kubectl, binary_for
from tests.support.wait import Deadline

# The apiserver answers an upgrade within its own bounds (the kubelet's dial alone may
# take wsproxy.OPEN_TIMEOUT_SECONDS); the client waits longer, so a loaded machine is
# judged by the server's answer, not by the client giving up first (CI: 10 s ran out).
HANDSHAKE_SECONDS = 60.0

POD = "shell"


@pytest.fixture(scope="module")
def exec_namespace(apiserver: ApiServer, kubelet: KubeletProcess, busybox: str) -> Iterator[str]:
    """One namespace with one two-container pod, shared by this module's tests."""
    name = f"exec-{secrets.token_hex(3)}"
    with apiserver.http() as api:
        r = api.post("/api/v1/namespaces", json={"metadata": {"name": name}})
        assert r.status_code == 201, r.text
        containers = [
            {
                "name": who,
                "image": busybox,
                "command": ["sleep", "3600"],
                "env": [{"name": "WHO", "value": who}],
            }
            for who in ("side", "main")
        ]
        pod = pod_manifest(POD, kubelet.node, containers)
        pod["metadata"]["annotations"] = {"kubectl.kubernetes.io/default-container": "main"}
        create_pod(api, name, pod)
        wait_pod(api, name, POD, is_ready, 60, "Ready")
        yield name
        api.delete(f"/api/v1/namespaces/{name}")


@pytest.fixture(params=["1.32", "1.33"])
def kubectl(request: pytest.FixtureRequest, apiserver: ApiServer, tmp_path: Path) -> Kubectl:
    minor = request.param
    binary = binary_for(None if minor == "1.32" else minor)
    if not binary.exists():
        pytest.skip(f"kubectl {minor} is not installed")
    return Kubectl(apiserver.kubeconfig, tmp_path / "cache", binary)


def test_exec_output_streams_and_exit_codes(kubectl: Kubectl, exec_namespace: str) -> None:
    ns = ["-n", exec_namespace]
    hi = kubectl.run(*ns, "exec", POD, "--", "echo", "hi", timeout=30)
    assert hi.stdout == "hi\n", hi

    failed = kubectl.run(*ns, "exec", POD, "--", "sh", "-c", "exit 3", check=False, timeout=30)
    assert failed.returncode == 3, failed

    both = kubectl.run(
        *ns, "exec", POD, "--", "sh", "-c", "echo out; echo err >&2; echo out2", timeout=30
    )
    assert both.stdout == "out\nout2\n", both
    assert "err\n" in both.stderr and "err" not in both.stdout, both


def test_exec_stdin_and_container_choice(kubectl: Kubectl, exec_namespace: str) -> None:
    ns = ["-n", exec_namespace]
    piped = kubectl.run(*ns, "exec", "-i", POD, "--", "cat", input="data\nmore\n", timeout=30)
    assert piped.stdout == "data\nmore\n", piped

    default = kubectl.run(*ns, "exec", POD, "--", "sh", "-c", "echo $WHO", timeout=30)
    assert default.stdout == "main\n", default  # the default-container annotation
    side = kubectl.run(*ns, "exec", POD, "-c", "side", "--", "sh", "-c", "echo $WHO", timeout=30)
    assert side.stdout == "side\n", side


def test_exec_missing_pod_and_container(kubectl: Kubectl, exec_namespace: str) -> None:
    ns = ["-n", exec_namespace]
    missing = kubectl.fails(*ns, "exec", "absent", "--", "true", timeout=30)
    assert 'pods "absent" not found' in missing.stderr, missing
    wrong = kubectl.fails(*ns, "exec", POD, "-c", "nope", "--", "true", timeout=30)
    assert "nope" in wrong.stderr, wrong


def test_kubectl_cp_round_trip(kubectl: Kubectl, exec_namespace: str, tmp_path: Path) -> None:
    ns = ["-n", exec_namespace]
    payload = secrets.token_hex(40_000) + "\nend\n"  # larger than one message
    source = tmp_path / "source.txt"
    source.write_text(payload)
    remote = f"/tmp/copied-{secrets.token_hex(3)}.txt"
    kubectl.run(*ns, "cp", str(source), f"{POD}:{remote}", "-c", "main", timeout=60)
    inside = kubectl.run(*ns, "exec", POD, "--", "wc", "-c", remote, timeout=30)
    assert inside.stdout.split()[0] == str(len(payload)), inside
    back = tmp_path / "back.txt"
    kubectl.run(*ns, "cp", f"{POD}:{remote}", str(back), "-c", "main", timeout=60)
    assert back.read_text() == payload


def test_interactive_tty_session(kubectl: Kubectl, exec_namespace: str) -> None:
    """`kubectl exec -it` on a pseudo-terminal: keystrokes in, the shell's answers out."""
    leader, follower = os.openpty()
    # The terminal's size, which kubectl sends as a resize message at the start.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 111, 0, 0))
    proc = subprocess.Popen(
        kubectl.command("-n", exec_namespace, "exec", "-it", POD, "--", "sh"),
        stdin=follower,
        stdout=follower,
        stderr=follower,
        start_new_session=True,
    )
    os.close(follower)
    seen = b""

    def read_until(marker: bytes, timeout: float) -> None:
        nonlocal seen
        deadline = Deadline(timeout, f"{marker!r} on the terminal")
        while marker not in seen:
            if deadline.expired():
                raise deadline.error(repr(seen))
            ready, _, _ = select.select([leader], [], [], min(deadline.remaining(), 0.2))
            if ready:
                try:
                    seen += os.read(leader, 4096)
                except OSError:  # the terminal closed: kubectl has exited
                    raise AssertionError(f"{marker!r} not seen: {seen!r}") from None

    try:
        read_until(b"# ", 30)  # the root shell's prompt
        os.write(leader, b"echo $((6*7))\n")
        read_until(b"42", 15)
        os.write(leader, b"stty size\n")
        read_until(b"33 111", 15)
        os.write(leader, b"exit\n")
        assert proc.wait(timeout=15) == 0, seen
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        os.close(leader)


def _exec_url(apiserver: ApiServer, namespace: str, query: str) -> str:
    base = apiserver.url.replace("https://", "wss://")
    return f"{base}/api/v1/namespaces/{namespace}/pods/{POD}/exec?{query}"


def test_exec_upgrade_is_authenticated_and_validated(
    apiserver: ApiServer, exec_namespace: str
) -> None:
    """The WebSocket upgrade itself: token rules as for every request, Kubernetes Status
    answers before the upgrade, and the channel protocol after it."""
    ssl = apiserver.ssl_context()
    protocols = ["v5.channel.k8s.io", "v4.channel.k8s.io"]
    url = _exec_url(apiserver, exec_namespace, "container=main&command=echo&command=x")

    def refused(url: str, token: str | None) -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with pytest.raises(websockets.InvalidStatus) as err:
            connect(
                url,
                ssl=ssl,
                subprotocols=protocols,
                additional_headers=headers,
                open_timeout=HANDSHAKE_SECONDS,
            )
        return err.value.response.status_code, json.loads(err.value.response.body)

    code, status = refused(url, "not-a-token")
    assert code == 401 and status["reason"] == "Unauthorized"
    code, status = refused(url, None)  # system:anonymous, whom RBAC refuses
    assert code == 403 and 'User "system:anonymous" cannot' in status["message"], status
    no_command = _exec_url(apiserver, exec_namespace, "container=main&stdout=true")
    code, status = refused(no_command, apiserver.token)
    assert code == 400 and status["kind"] == "Status", status
    assert "at least one command" in status["message"]

    headers = {"Authorization": f"Bearer {apiserver.token}"}
    query = "container=main&command=sh&command=-c&command=echo%20a%3B%20exit%205&stdout=true"
    with connect(
        _exec_url(apiserver, exec_namespace, query),
        ssl=ssl,
        subprotocols=protocols,
        additional_headers=headers,
        open_timeout=HANDSHAKE_SECONDS,
    ) as ws:
        assert ws.subprotocol == "v5.channel.k8s.io"
        frames = []
        with pytest.raises(websockets.ConnectionClosedOK):
            while True:
                frames.append(ws.recv(timeout=15))
    assert frames[0] == b"\x01a\n", frames
    assert frames[-1][0] == 3
    status = json.loads(frames[-1][1:])
    assert status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "5"}]


def test_exec_client_leaving_midway(kubectl: Kubectl, exec_namespace: str) -> None:
    """A kubectl killed mid-command ends its session; the next exec is served at once."""
    with kubectl.stream(
        "-n", exec_namespace, "exec", POD, "--", "sh", "-c", "echo up; sleep 30"
    ) as s:
        s.wait_for(lambda line: line == "up", timeout=30)
    after = kubectl.run("-n", exec_namespace, "exec", POD, "--", "echo", "still", timeout=30)
    assert after.stdout == "still\n", after
