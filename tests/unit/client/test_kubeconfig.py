"""Kubeconfig discovery and parsing: the file kubectl, minikctl and components share."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
import yaml

from client import kubeconfig
from client.kubeconfig import (
    KubeconfigError,
    default_path,
    in_cluster,
    load,
    parse,
    write_kubeconfig,
)
from client.rest import Client
from client.tokenfile import REREAD_AFTER, TokenFileAuth

DOC = {
    "apiVersion": "v1",
    "kind": "Config",
    "current-context": "dev",
    "clusters": [
        {
            "name": "c1",
            "cluster": {
                "server": "https://127.0.0.1:6443/",
                "certificate-authority-data": base64.b64encode(b"PEM DATA").decode(),
            },
        },
        {
            "name": "c2",
            "cluster": {
                "server": "http://127.0.0.1:8080",
                "insecure-skip-tls-verify": True,
                "certificate-authority": "ca.crt",
            },
        },
    ],
    "users": [
        {"name": "admin", "user": {"token": "secret-token"}},
        {"name": "robot", "user": {"tokenFile": "TOKENFILE"}},
    ],
    "contexts": [
        {"name": "dev", "context": {"cluster": "c1", "user": "admin", "namespace": "team"}},
        {"name": "ops", "context": {"cluster": "c2", "user": "robot"}},
        {"name": "broken", "context": {"cluster": "nope", "user": "admin"}},
    ],
}


def write(path: Path, doc: dict) -> Path:
    path.write_text(yaml.safe_dump(doc))
    return path


def test_current_context(tmp_path):
    cfg = load(write(tmp_path / "config", DOC))
    assert cfg.server == "https://127.0.0.1:6443"  # trailing slash dropped
    assert cfg.token == "secret-token"
    assert cfg.namespace == "team"
    assert cfg.certificate_authority_data == "PEM DATA"
    assert cfg.context == "dev"
    assert not cfg.insecure_skip_tls_verify


def test_context_override_and_token_file(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("file-token\n")
    doc = yaml.safe_load(yaml.safe_dump(DOC))
    doc["users"][1]["user"]["tokenFile"] = str(token_file)
    cfg = load(write(tmp_path / "config", doc), context="ops")
    assert cfg.server == "http://127.0.0.1:8080"
    assert cfg.token == "file-token"
    assert cfg.token_file == str(token_file)  # re-read while running
    assert cfg.namespace == "default"
    assert cfg.insecure_skip_tls_verify
    # relative file paths are relative to the kubeconfig's directory
    assert cfg.certificate_authority == str(tmp_path / "ca.crt")


def test_kubeconfig_env_takes_first_of_a_colon_list(tmp_path, monkeypatch):
    first = write(tmp_path / "first", DOC)
    monkeypatch.setenv("KUBECONFIG", f"{first}:{tmp_path / 'second'}")
    assert default_path() == first
    assert load().server == "https://127.0.0.1:6443"
    # an explicit path wins over the environment
    assert default_path(tmp_path / "explicit") == tmp_path / "explicit"


def test_default_is_home_minik(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_path() == tmp_path / ".minik" / "kubeconfig"


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(KubeconfigError, match="not found"):
        load(tmp_path / "nope")


def test_missing_context_and_cluster(tmp_path):
    path = write(tmp_path / "config", DOC)
    with pytest.raises(KubeconfigError, match='context "prod" does not exist'):
        load(path, context="prod")
    with pytest.raises(KubeconfigError, match='cluster "nope"'):
        load(path, context="broken")
    with pytest.raises(KubeconfigError, match="no current-context"):
        parse({**DOC, "current-context": ""})


def test_bad_yaml(tmp_path):
    path = tmp_path / "config"
    path.write_text("clusters: [\n")
    with pytest.raises(KubeconfigError, match="not valid YAML"):
        load(path)


def test_write_kubeconfig_round_trips(tmp_path):
    path = write_kubeconfig(
        tmp_path / "sub" / "kubeconfig", "http://127.0.0.1:1234", "tok", namespace="ns1"
    )
    cfg = load(path)
    assert (cfg.server, cfg.token, cfg.namespace, cfg.context) == (
        "http://127.0.0.1:1234",
        "tok",
        "ns1",
        "minik",
    )
    assert path.stat().st_mode & 0o777 == 0o600


def serviceaccount_dir(tmp_path: Path) -> Path:
    """What the kubelet mounts at /var/run/secrets/kubernetes.io/serviceaccount."""
    root = tmp_path / "serviceaccount"
    root.mkdir()
    (root / "token").write_text("pod-token")
    (root / "ca.crt").write_text("PEM")
    (root / "namespace").write_text("shop")
    return root


def test_in_cluster_reads_what_the_kubelet_gives_a_pod(tmp_path):
    root = serviceaccount_dir(tmp_path)
    env = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    cfg = in_cluster(root, env)
    assert cfg.server == "https://10.96.0.1:443"
    assert (cfg.token, cfg.token_file) == ("pod-token", str(root / "token"))
    assert cfg.certificate_authority == str(root / "ca.crt")
    assert cfg.namespace == "shop"
    v6 = in_cluster(root, {**env, "KUBERNETES_SERVICE_HOST": "fd00::1"})
    assert v6.server == "https://[fd00::1]:443"
    with pytest.raises(KubeconfigError, match="not in a pod"):
        in_cluster(root, {})
    with pytest.raises(KubeconfigError, match="cannot read the pod's token"):
        in_cluster(tmp_path / "nothing", env)


def test_load_falls_back_to_the_pod_only_when_nothing_is_configured(tmp_path, monkeypatch):
    root = serviceaccount_dir(tmp_path)
    monkeypatch.setattr(kubeconfig, "SERVICEACCOUNT_DIR", root)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    assert load().server == "https://10.96.0.1:443"
    with pytest.raises(KubeconfigError, match="not found"):  # a named file is never skipped
        load(tmp_path / "nope")
    (tmp_path / ".minik").mkdir()
    write(tmp_path / ".minik" / "kubeconfig", DOC)
    assert load().server == "https://127.0.0.1:6443"  # a kubeconfig wins over the pod's


def test_a_token_file_is_read_again_after_a_minute(tmp_path):
    token = tmp_path / "token"
    token.write_text("first")
    now = [0.0]
    auth = TokenFileAuth(str(token), "first", clock=lambda: now[0])
    token.write_text("second\n")
    assert auth.current() == "first"
    now[0] = REREAD_AFTER
    assert auth.current() == "second"
    token.unlink()
    now[0] = 2 * REREAD_AFTER
    assert auth.current() == "second"  # unreadable: the last token is kept


def test_the_client_sends_the_files_token(tmp_path):
    root = serviceaccount_dir(tmp_path)
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(200, json={"kind": "Namespace", "metadata": {"name": "x"}})

    cfg = in_cluster(root, {"KUBERNETES_SERVICE_HOST": "h", "KUBERNETES_SERVICE_PORT": "1"})
    cfg = kubeconfig.KubeConfig(**{**cfg.__dict__, "certificate_authority": None})
    with Client(cfg, transport=httpx.MockTransport(answer)) as client:
        client.get_path("/api/v1/namespaces/x")
    assert seen == ["Bearer pod-token"]
