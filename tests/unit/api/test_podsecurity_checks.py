"""Each Pod Security Standards check on its own: what passes, what fails, and the words
Kubernetes prints (k8s.io/pod-security-admission/policy/check_*.go and its tests)."""

from __future__ import annotations

import pytest

from api.podsecurity import checks as c
from api.podsecurity.checks import Forbidden


def spec(*containers: dict, **pod: object) -> dict:
    return {"containers": list(containers), **pod}


def ctr(name: str = "a", **fields: object) -> dict:
    return {"name": name, "image": "img", **fields}


def sc(name: str = "a", **context: object) -> dict:
    return ctr(name, securityContext=context)


def test_privileged_lists_every_privileged_container_of_every_kind() -> None:
    s = {
        "initContainers": [sc("i", privileged=True)],
        "containers": [sc("a", privileged=True), sc("b", privileged=False), ctr("c")],
        "ephemeralContainers": [sc("e", privileged=True)],
    }
    assert c.privileged({}, s) == Forbidden(
        "privileged",
        'containers "i", "a", "e" must not set securityContext.privileged=true',
    )
    assert c.privileged({}, spec(sc("a", privileged=False), ctr("b"))) is None


def test_host_namespaces() -> None:
    assert c.host_namespaces({}, spec(ctr(), hostIPC=True, hostNetwork=True)) == Forbidden(
        "host namespaces", "hostNetwork=true, hostIPC=true"
    )
    assert c.host_namespaces({}, spec(ctr(), hostNetwork=False)) is None


def test_host_path_volumes() -> None:
    s = spec(
        ctr(),
        volumes=[
            {"name": "root", "hostPath": {"path": "/"}},
            {"name": "data", "emptyDir": {}},
            {"name": "sock", "hostPath": {"path": "/var/run/docker.sock"}},
        ],
    )
    assert c.host_path_volumes({}, s) == Forbidden("hostPath volumes", 'volumes "root", "sock"')
    assert c.host_path_volumes({}, spec(ctr(), volumes=[{"name": "d", "emptyDir": {}}])) is None


def test_host_ports_sorts_ports_as_text() -> None:
    s = spec(
        ctr("a", ports=[{"containerPort": 1, "hostPort": 8080}, {"containerPort": 2}]),
        ctr("b", ports=[{"containerPort": 3, "hostPort": 443, "hostIP": "1.2.3.4"}]),
        ctr("c", ports=[{"containerPort": 4, "hostPort": 0}]),
    )
    assert c.host_ports({}, s) == Forbidden(
        "hostPort", 'containers "a", "b" use hostPorts 443, 8080'
    )
    one = spec(ctr("a", ports=[{"containerPort": 80, "hostPort": 80}]))
    assert c.host_ports({}, one) == Forbidden("hostPort", 'container "a" uses hostPort 80')


def test_capabilities_baseline_allows_the_default_set() -> None:
    ok = spec(sc("a", capabilities={"add": ["CHOWN", "NET_BIND_SERVICE"], "drop": ["ALL"]}))
    assert c.capabilities_baseline({}, ok) is None
    bad = spec(
        sc("a", capabilities={"add": ["SYS_ADMIN", "CHOWN"]}),
        sc("b", capabilities={"add": ["NET_RAW", "SYS_ADMIN"]}),
    )
    assert c.capabilities_baseline({}, bad) == Forbidden(
        "non-default capabilities",
        'containers "a", "b" must not include "NET_RAW", "SYS_ADMIN" in '
        "securityContext.capabilities.add",
    )


def test_windows_host_process_names_pod_and_containers() -> None:
    s = {
        "securityContext": {"windowsOptions": {"hostProcess": True}},
        "containers": [sc("a", windowsOptions={"hostProcess": True}), ctr("b")],
    }
    assert c.windows_host_process({}, s) == Forbidden(
        "hostProcess",
        'pod and container "a" must not set securityContext.windowsOptions.hostProcess=true',
    )
    assert c.windows_host_process({}, spec(sc("a", windowsOptions={"hostProcess": False}))) is None


def test_app_armor_fields_and_annotations() -> None:
    s = {
        "securityContext": {"appArmorProfile": {"type": "Unconfined"}},
        "containers": [sc("a", appArmorProfile={"type": "RuntimeDefault"})],
    }
    meta = {
        "annotations": {
            "container.apparmor.security.beta.kubernetes.io/a": "unconfined",
            "container.apparmor.security.beta.kubernetes.io/b": "localhost/mine",
        }
    }
    assert c.app_armor_profile(meta, s) == Forbidden(
        "forbidden AppArmor profiles",
        'pod and annotation must not set AppArmor profile type to "Unconfined", '
        '"container.apparmor.security.beta.kubernetes.io/a="unconfined""',
    )
    fine = spec(sc("a", appArmorProfile={"type": "Localhost", "localhostProfile": "x"}))
    assert c.app_armor_profile({}, fine) is None


def test_proc_mount_and_its_user_namespace_relaxation() -> None:
    s = spec(sc("a", procMount="Unmasked"), sc("b", procMount="Default"))
    expected = Forbidden(
        "procMount", 'container "a" must not set securityContext.procMount to "Unmasked"'
    )
    assert c.proc_mount({}, s) == expected
    assert c.proc_mount_1_35({}, {**s, "hostUsers": False}) is None
    assert c.proc_mount_1_35({}, s) == expected


def test_selinux_options_by_version() -> None:
    s = {
        "securityContext": {"seLinuxOptions": {"type": "spc_t", "user": "root"}},
        "containers": [sc("a", seLinuxOptions={"type": "container_engine_t", "role": "r"})],
    }
    assert c._se_linux_options(c.SELINUX_TYPES_1_31)({}, s) == Forbidden(
        "seLinuxOptions",
        'pod and container "a" set forbidden securityContext.seLinuxOptions: type "spc_t"; '
        "user may not be set; role may not be set",
    )
    engine = spec(sc("a", seLinuxOptions={"type": "container_engine_t"}))
    assert c._se_linux_options(c.SELINUX_TYPES_1_31)({}, engine) is None
    assert c._se_linux_options(c.SELINUX_TYPES_1_0)({}, engine) == Forbidden(
        "seLinuxOptions",
        'container "a" set forbidden securityContext.seLinuxOptions: type "container_engine_t"',
    )


def test_seccomp_baseline_refuses_unconfined_only() -> None:
    s = {
        "securityContext": {"seccompProfile": {"type": "Unconfined"}},
        "containers": [sc("a", seccompProfile={"type": "Unconfined"}), ctr("b")],
    }
    assert c.seccomp_baseline_1_19({}, s) == Forbidden(
        "seccompProfile",
        'pod and container "a" must not set securityContext.seccompProfile.type to "Unconfined"',
    )
    assert c.seccomp_baseline_1_19({}, spec(ctr("a"))) is None  # unset is fine at baseline
    meta = {"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}}
    assert c.seccomp_baseline_1_0(meta, spec(ctr("a"))) == Forbidden(
        "seccompProfile",
        'forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined"',
    )


def test_sysctls_allow_the_safe_set_of_the_version() -> None:
    s = {
        "securityContext": {
            "sysctls": [
                {"name": "net.ipv4.tcp_rmem", "value": "1"},
                {"name": "kernel.msgmax", "value": "1"},
                {"name": "net.ipv4.ip_local_port_range", "value": "1 2"},
            ]
        },
        "containers": [ctr()],
    }
    assert c._sysctls(c.SYSCTLS_1_32)({}, s) == Forbidden("forbidden sysctls", "kernel.msgmax")
    assert c._sysctls(c.SYSCTLS_1_29)({}, s) == Forbidden(
        "forbidden sysctls", "net.ipv4.tcp_rmem, kernel.msgmax"
    )


def test_probe_and_lifecycle_hosts() -> None:
    s = spec(
        ctr("b", livenessProbe={"httpGet": {"port": 80, "host": "10.0.0.1"}}),
        ctr("a", lifecycle={"preStop": {"tcpSocket": {"port": 1, "host": "metadata"}}}),
        ctr("c", readinessProbe={"httpGet": {"port": 80}}),
    )
    assert c.host_probes_and_host_lifecycle({}, s) == Forbidden(
        "probe or lifecycle host",
        'containers "a", "b" use probe or lifecycle hosts "10.0.0.1", "metadata"',
    )


def test_allow_privilege_escalation_must_be_false() -> None:
    s = spec(
        sc("a", allowPrivilegeEscalation=False), sc("b", allowPrivilegeEscalation=True), ctr("c")
    )
    assert c.allow_privilege_escalation({}, s) == Forbidden(
        "allowPrivilegeEscalation != false",
        'containers "b", "c" must set securityContext.allowPrivilegeEscalation=false',
    )
    windows = {**s, "os": {"name": "windows"}}
    assert c._not_on_windows(c.allow_privilege_escalation)({}, windows) is None


def test_capabilities_restricted_drop_all_add_only_net_bind_service() -> None:
    s = spec(
        sc("a", capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}),
        sc("b", capabilities={"drop": ["NET_RAW"], "add": ["CHOWN"]}),
        ctr("c"),
    )
    assert c.capabilities_restricted({}, s) == Forbidden(
        "unrestricted capabilities",
        'containers "b", "c" must set securityContext.capabilities.drop=["ALL"]; '
        'container "b" must not include "CHOWN" in securityContext.capabilities.add',
    )
    assert c.capabilities_restricted({}, spec(sc("a", capabilities={"drop": ["ALL"]}))) is None


def test_restricted_volumes_name_the_first_restricted_source() -> None:
    s = spec(
        ctr(),
        volumes=[
            {"name": "ok1", "configMap": {"name": "x"}},
            {"name": "ok2", "persistentVolumeClaim": {"claimName": "x"}},
            {"name": "host", "hostPath": {"path": "/"}},
            {"name": "share", "nfs": {"server": "s", "path": "/"}},
            {"name": "odd"},
        ],
    )
    assert c.restricted_volumes({}, s) == Forbidden(
        "restricted volume types",
        'volumes "host", "share", "odd" use restricted volume types "hostPath", "nfs", "unknown"',
    )
    one = spec(ctr(), volumes=[{"name": "h", "hostPath": {"path": "/"}}])
    assert c.restricted_volumes({}, one) == Forbidden(
        "restricted volume types", 'volume "h" uses restricted volume type "hostPath"'
    )


def test_run_as_non_root_explicit_then_implicit() -> None:
    explicit = {
        "securityContext": {"runAsNonRoot": False},
        "containers": [sc("a", runAsNonRoot=False), ctr("b")],
    }
    assert c.run_as_non_root({}, explicit) == Forbidden(
        "runAsNonRoot != true",
        'pod and container "a" must not set securityContext.runAsNonRoot=false',
    )
    implicit = spec(sc("a", runAsNonRoot=True), ctr("b"))
    assert c.run_as_non_root({}, implicit) == Forbidden(
        "runAsNonRoot != true",
        'pod or container "b" must set securityContext.runAsNonRoot=true',
    )
    pod_level = {"securityContext": {"runAsNonRoot": True}, "containers": [ctr("a")]}
    assert c.run_as_non_root({}, pod_level) is None
    assert c.run_as_non_root_1_35({}, {**implicit, "hostUsers": False}) is None


def test_run_as_user_zero() -> None:
    s = {
        "securityContext": {"runAsUser": 0},
        "containers": [sc("a", runAsUser=0), sc("b", runAsUser=1000)],
    }
    assert c.run_as_user({}, s) == Forbidden(
        "runAsUser=0", 'pod and container "a" must not set runAsUser=0'
    )
    assert c.run_as_user({}, spec(sc("a", runAsUser=False))) is None  # not an integer 0
    assert c.run_as_user_1_35({}, {**s, "hostUsers": False}) is None


def test_seccomp_restricted_requires_a_profile() -> None:
    assert c.seccomp_restricted({}, spec(ctr("a"), ctr("b"))) == Forbidden(
        "seccompProfile",
        'pod or containers "a", "b" must set securityContext.seccompProfile.type to '
        '"RuntimeDefault" or "Localhost"',
    )
    pod_level = {
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [ctr("a")],
    }
    assert c.seccomp_restricted({}, pod_level) is None
    bad = {**pod_level, "containers": [sc("a", seccompProfile={"type": "Unconfined"})]}
    assert c.seccomp_restricted({}, bad) == Forbidden(
        "seccompProfile",
        'container "a" must not set securityContext.seccompProfile.type to "Unconfined"',
    )


@pytest.mark.parametrize(
    "check", [chk for entry in c.CHECKS for chk in (v.check for v in entry.versions)]
)
def test_every_check_tolerates_odd_shapes(check: c.CheckFn) -> None:
    """Validation has already run, but a check must never raise on what it reads."""
    odd = {
        "containers": [None, {"name": "a", "securityContext": None, "ports": None}],
        "volumes": [None],
        "securityContext": {"sysctls": None},
    }
    check({"annotations": None}, odd)
    check({}, {})
