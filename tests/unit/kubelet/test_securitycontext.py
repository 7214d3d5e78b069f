"""The effective securityContext as Docker arguments, and Kubernetes' runAsNonRoot
verification (kubelet/securitycontext.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubelet import securitycontext as sc
from kubelet.containerspec import container_spec
from kubelet.securitycontext import SecurityContextError, SecurityOptions


def pod(pod_ctx: dict[str, Any] | None = None, **ctx: Any) -> tuple[dict, dict]:
    container = {"name": "c", "image": "i", "securityContext": ctx}
    spec = {"securityContext": pod_ctx or {}, "containers": [container]}
    return {"metadata": {"name": "p", "namespace": "ns", "uid": "u1"}, "spec": spec}, container


def test_container_overrides_pod() -> None:
    p, c = pod({"runAsUser": 1, "runAsGroup": 2, "runAsNonRoot": True}, runAsUser=1000)
    assert sc.effective(p, c) == {"runAsUser": 1000, "runAsGroup": 2, "runAsNonRoot": True}
    assert sc.user_arg(p, c, "") == "1000:2"
    # runAsGroup alone keeps the image's user
    p, c = pod({"runAsGroup": 5})
    assert sc.user_arg(p, c, "app:staff") == "app:5"
    assert sc.user_arg(p, c, "") == "0:5"
    p, c = pod()
    assert sc.user_arg(p, c, "nobody") is None  # Docker uses the image's


def test_docker_settings() -> None:
    p, c = pod(
        {"supplementalGroups": [10, 11], "fsGroup": 2000},
        readOnlyRootFilesystem=True,
        allowPrivilegeEscalation=False,
        capabilities={"add": ["NET_ADMIN"], "drop": ["ALL"]},
    )
    config = sc.host_config(p, c, SecurityOptions())
    assert config == {
        "read_only": True,
        "cap_add": ["NET_ADMIN"],
        "cap_drop": ["ALL"],
        "group_add": ["10", "11", "2000"],
        "security_opt": ["seccomp=unconfined", "no-new-privileges"],
    }
    p, c = pod(privileged=True)
    assert sc.host_config(p, c, SecurityOptions()) == {"privileged": True}


def test_seccomp(tmp_path: Path) -> None:
    default = SecurityOptions()
    on = SecurityOptions(seccomp_default=True, seccomp_root=tmp_path)
    p, c = pod()
    assert sc.seccomp_options(sc.effective(p, c), default) == ["seccomp=unconfined"]
    assert sc.seccomp_options(sc.effective(p, c), on) == []  # Docker's default profile
    p, c = pod({"seccompProfile": {"type": "RuntimeDefault"}})
    assert sc.seccomp_options(sc.effective(p, c), default) == []
    p, c = pod(
        {"seccompProfile": {"type": "RuntimeDefault"}}, seccompProfile={"type": "Unconfined"}
    )
    assert sc.seccomp_options(sc.effective(p, c), on) == ["seccomp=unconfined"]
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "audit.json").write_text('{"defaultAction": "SCMP_ACT_LOG"}')
    local = {"type": "Localhost", "localhostProfile": "profiles/audit.json"}
    p, c = pod(seccompProfile=local)
    assert sc.seccomp_options(sc.effective(p, c), on) == [
        'seccomp={"defaultAction": "SCMP_ACT_LOG"}'
    ]
    for name in ("missing.json", "../etc/passwd", "/etc/passwd"):
        p, c = pod(seccompProfile={"type": "Localhost", "localhostProfile": name})
        with pytest.raises(SecurityContextError) as err:
            sc.seccomp_options(sc.effective(p, c), on)
        assert err.value.reason == "CreateContainerError"


def test_run_as_non_root_messages() -> None:
    where = '(pod: "p_ns(u1)", container: c)'
    p, c = pod({"runAsNonRoot": True})
    assert sc.verify_run_as_non_root(p, c, "") == (
        f"container has runAsNonRoot and image will run as root {where}"
    )
    assert sc.verify_run_as_non_root(p, c, "0:0") is not None
    assert sc.verify_run_as_non_root(p, c, "1000") is None
    assert sc.verify_run_as_non_root(p, c, "app") == (
        "container has runAsNonRoot and image has non-numeric user (app), cannot verify "
        f"user is non-root {where}"
    )
    p, c = pod({"runAsNonRoot": True}, runAsUser=0)
    assert sc.verify_run_as_non_root(p, c, "1000") == (
        f"container's runAsUser breaks non-root policy {where}"
    )
    p, c = pod({"runAsNonRoot": True, "runAsUser": 1000})
    assert sc.verify_run_as_non_root(p, c, "") is None
    p, c = pod({"runAsNonRoot": True}, runAsNonRoot=False)  # the container allows root
    assert sc.verify_run_as_non_root(p, c, "") is None


def test_container_spec_carries_the_security_context() -> None:
    p, c = pod({"runAsUser": 1000, "fsGroup": 3}, allowPrivilegeEscalation=False)
    spec = container_spec(
        p,
        c,
        node="n",
        init=False,
        restart_count=0,
        sandbox_id="s",
        env=[],
        command=None,
        args=None,
        binds=[],
        termination_log=None,
        security=SecurityOptions(seccomp_default=True),
    )
    assert spec.user == "1000"
    assert spec.host_config["group_add"] == ["3"]
    assert spec.host_config["security_opt"] == ["no-new-privileges"]
