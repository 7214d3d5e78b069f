"""The Pod Security Standards' checks, one pure function each over a pod's metadata and
spec (plain dicts), with Kubernetes' check ids, versions and words
(k8s.io/pod-security-admission/policy/check_*.go): a check returns None when the pod
passes, else a `Forbidden` whose reason and detail Kubernetes prints as
`privileged (container "c" must not set securityContext.privileged=true)`.

Each check is a `Check` with one `VersionedCheck` per policy version that changed it;
a restricted check may override the baseline check it tightens (its `overrides`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from api.podsecurity.levels import BASELINE, RESTRICTED, Version, v1


@dataclass(frozen=True)
class Forbidden:
    reason: str
    detail: str = ""


CheckFn = Callable[[dict, dict], Forbidden | None]


@dataclass(frozen=True)
class VersionedCheck:
    minimum: Version
    check: CheckFn
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class Check:
    id: str
    level: str
    versions: tuple[VersionedCheck, ...]


# ---- helpers -----------------------------------------------------------------


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def containers(spec: dict) -> Iterator[dict]:
    """Init, app and ephemeral containers, in that order (policy/visitor.go)."""
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in _list(spec.get(key)):
            if isinstance(c, dict):
                yield c


def _name(c: dict) -> str:
    return str(c.get("name") or "")


def _sc(c: dict) -> dict | None:
    """A container's (or pod's) securityContext, None when unset."""
    sc = c.get("securityContext")
    return sc if isinstance(sc, dict) else None


def join_quote(items: list[str]) -> str:
    return '"' + '", "'.join(items) + '"' if items else ""


def plural(singular: str, many: str, count: int) -> str:
    return singular if count == 1 else many


def _containers_phrase(names: list[str]) -> str:
    return f"{plural('container', 'containers', len(names))} {join_quote(names)}"


def _go_quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _is_int(value: Any, wanted: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value == wanted


def _user_namespaced(spec: dict) -> bool:
    """`hostUsers: false`: the pod runs in a user namespace (relaxes some 1.35+ checks)."""
    return spec.get("hostUsers") is False


def _windows(spec: dict) -> bool:
    return _dict(spec.get("os")).get("name") == "windows"


# ---- baseline ----------------------------------------------------------------


def privileged(meta: dict, spec: dict) -> Forbidden | None:
    bad = [_name(c) for c in containers(spec) if (_sc(c) or {}).get("privileged") is True]
    if not bad:
        return None
    return Forbidden(
        "privileged", f"{_containers_phrase(bad)} must not set securityContext.privileged=true"
    )


def host_namespaces(meta: dict, spec: dict) -> Forbidden | None:
    used = [f"{k}=true" for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k) is True]
    return Forbidden("host namespaces", ", ".join(used)) if used else None


def host_path_volumes(meta: dict, spec: dict) -> Forbidden | None:
    bad = [
        str(v.get("name") or "")
        for v in _list(spec.get("volumes"))
        if isinstance(v, dict) and v.get("hostPath") is not None
    ]
    if not bad:
        return None
    return Forbidden(
        "hostPath volumes", f"{plural('volume', 'volumes', len(bad))} {join_quote(bad)}"
    )


def host_ports(meta: dict, spec: dict) -> Forbidden | None:
    bad: list[str] = []
    ports: set[str] = set()
    for c in containers(spec):
        used = [
            p.get("hostPort")
            for p in _list(c.get("ports"))
            if isinstance(p, dict) and p.get("hostPort") not in (None, 0)
        ]
        if used:
            bad.append(_name(c))
            ports.update(str(p) for p in used)
    if not bad:
        return None
    return Forbidden(
        "hostPort",
        f"{_containers_phrase(bad)} {plural('uses', 'use', len(bad))} "
        f"{plural('hostPort', 'hostPorts', len(ports))} {', '.join(sorted(ports))}",
    )


BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)


def capabilities_baseline(meta: dict, spec: dict) -> Forbidden | None:
    bad: list[str] = []
    extra: set[str] = set()
    for c in containers(spec):
        added = [str(a) for a in _list(_dict((_sc(c) or {}).get("capabilities")).get("add"))]
        beyond = [a for a in added if a not in BASELINE_CAPABILITIES]
        if beyond:
            bad.append(_name(c))
            extra.update(beyond)
    if not bad:
        return None
    return Forbidden(
        "non-default capabilities",
        f"{_containers_phrase(bad)} must not include {join_quote(sorted(extra))} in "
        "securityContext.capabilities.add",
    )


def windows_host_process(meta: dict, spec: dict) -> Forbidden | None:
    def host_process(sc: dict | None) -> bool:
        return _dict((sc or {}).get("windowsOptions")).get("hostProcess") is True

    setters = ["pod"] if host_process(_sc(spec)) else []
    bad = [_name(c) for c in containers(spec) if host_process(_sc(c))]
    if bad:
        setters.append(_containers_phrase(bad))
    if not setters:
        return None
    return Forbidden(
        "hostProcess",
        f"{' and '.join(setters)} must not set securityContext.windowsOptions.hostProcess=true",
    )


APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"


def app_armor_profile(meta: dict, spec: dict) -> Forbidden | None:
    def bad_type(sc: dict | None) -> str | None:
        profile = (sc or {}).get("appArmorProfile")
        if not isinstance(profile, dict):
            return None
        kind = str(profile.get("type") or "")
        return None if kind in ("RuntimeDefault", "Localhost") else kind

    setters: list[str] = []
    values: set[str] = set()
    if (kind := bad_type(_sc(spec))) is not None:
        setters.append("pod")
        values.add(kind)
    bad: list[str] = []
    for c in containers(spec):
        if (kind := bad_type(_sc(c))) is not None:
            bad.append(_name(c))
            values.add(kind)
    if bad:
        setters.append(_containers_phrase(bad))
    annotations = sorted(
        f"{k}={_go_quote(str(v))}"
        for k, v in _dict(meta.get("annotations")).items()
        if k.startswith(APPARMOR_ANNOTATION_PREFIX)
        and not (not v or v == "runtime/default" or str(v).startswith("localhost/"))
    )
    listed = sorted(values) + annotations
    if annotations:
        setters.append(plural("annotation", "annotations", len(annotations)))
    if not setters:
        return None
    return Forbidden(
        plural("forbidden AppArmor profile", "forbidden AppArmor profiles", len(listed)),
        f"{' and '.join(setters)} must not set AppArmor profile type to {join_quote(listed)}",
    )


def proc_mount(meta: dict, spec: dict) -> Forbidden | None:
    bad: list[str] = []
    kinds: set[str] = set()
    for c in containers(spec):
        value = (_sc(c) or {}).get("procMount")
        if value is not None and value != "Default":
            bad.append(_name(c))
            kinds.add(str(value))
    if not bad:
        return None
    return Forbidden(
        "procMount",
        f"{_containers_phrase(bad)} must not set securityContext.procMount to "
        f"{join_quote(sorted(kinds))}",
    )


def proc_mount_1_35(meta: dict, spec: dict) -> Forbidden | None:
    return None if _user_namespaced(spec) else proc_mount(meta, spec)


SELINUX_TYPES_1_0 = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
SELINUX_TYPES_1_31 = SELINUX_TYPES_1_0 | {"container_engine_t"}


def _se_linux_options(allowed: frozenset[str]) -> CheckFn:
    def check(meta: dict, spec: dict) -> Forbidden | None:
        bad_types: set[str] = set()
        flags = {"user": False, "role": False}

        def valid(sc: dict | None) -> bool:
            opts = (sc or {}).get("seLinuxOptions")
            if not isinstance(opts, dict):
                return True
            ok = True
            kind = str(opts.get("type") or "")
            if kind not in allowed:
                ok = False
                bad_types.add(kind)
            for key in ("user", "role"):
                if opts.get(key):
                    ok, flags[key] = False, True
            return ok

        setters = [] if valid(_sc(spec)) else ["pod"]
        bad = [_name(c) for c in containers(spec) if not valid(_sc(c))]
        if bad:
            setters.append(_containers_phrase(bad))
        if not setters:
            return None
        data = []
        if bad_types:
            data.append(
                f"{plural('type', 'types', len(bad_types))} {join_quote(sorted(bad_types))}"
            )
        data += [f"{key} may not be set" for key in ("user", "role") if flags[key]]
        return Forbidden(
            "seLinuxOptions",
            f"{' and '.join(setters)} set forbidden securityContext.seLinuxOptions: "
            f"{'; '.join(data)}",
        )

    return check


SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_ANNOTATION_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"


def seccomp_baseline_1_0(meta: dict, spec: dict) -> Forbidden | None:
    """Before v1.19 the profile lived in alpha annotations."""
    annotations = _dict(meta.get("annotations"))

    def valid(value: Any) -> bool:
        text = str(value)
        return text in ("runtime/default", "docker/default") or text.startswith("localhost/")

    keys = [SECCOMP_POD_ANNOTATION] + [
        SECCOMP_CONTAINER_ANNOTATION_PREFIX + _name(c) for c in containers(spec)
    ]
    bad = sorted(
        {
            f"{k}={_go_quote(str(annotations[k]))}"
            for k in keys
            if k in annotations and not valid(annotations[k])
        }
    )
    if not bad:
        return None
    return Forbidden(
        "seccompProfile",
        f"forbidden {plural('annotation', 'annotations', len(bad))} {', '.join(bad)}",
    )


def _seccomp_type(sc: dict | None) -> str | None:
    """The seccompProfile.type set in a securityContext, None when no profile is set."""
    profile = (sc or {}).get("seccompProfile")
    return str(profile.get("type") or "") if isinstance(profile, dict) else None


def _valid_seccomp(kind: str) -> bool:
    return kind in ("RuntimeDefault", "Localhost")


def seccomp_baseline_1_19(meta: dict, spec: dict) -> Forbidden | None:
    setters: list[str] = []
    values: set[str] = set()
    pod_type = _seccomp_type(_sc(spec))
    if pod_type is not None and not _valid_seccomp(pod_type):
        setters.append("pod")
        values.add(pod_type)
    bad: list[str] = []
    for c in containers(spec):
        kind = _seccomp_type(_sc(c))
        if kind is not None and not _valid_seccomp(kind):
            bad.append(_name(c))
            values.add(kind)
    if bad:
        setters.append(_containers_phrase(bad))
    if not setters:
        return None
    return Forbidden(
        "seccompProfile",
        f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to "
        f"{join_quote(sorted(values))}",
    )


SYSCTLS_1_0 = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
    }
)
SYSCTLS_1_27 = SYSCTLS_1_0 | {"net.ipv4.ip_local_reserved_ports"}
SYSCTLS_1_29 = SYSCTLS_1_27 | {
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
SYSCTLS_1_32 = SYSCTLS_1_29 | {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}
SYSCTLS_1_37 = SYSCTLS_1_32 | {"net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"}


def _sysctls(allowed: frozenset[str]) -> CheckFn:
    def check(meta: dict, spec: dict) -> Forbidden | None:
        names = [
            str(s.get("name"))
            for s in _list((_sc(spec) or {}).get("sysctls"))
            if isinstance(s, dict)
        ]
        bad = [n for n in names if n not in allowed]
        return Forbidden("forbidden sysctls", ", ".join(bad)) if bad else None

    return check


def host_probes_and_host_lifecycle(meta: dict, spec: dict) -> Forbidden | None:
    """v1.34: probes and lifecycle handlers must not name another host."""
    bad: set[str] = set()
    hosts: set[str] = set()

    def handler_hosts(handler: Any) -> list[str]:
        h = _dict(handler)
        return [
            str(_dict(h.get(k)).get("host"))
            for k in ("httpGet", "tcpSocket")
            if _dict(h.get(k)).get("host")
        ]

    for c in containers(spec):
        lifecycle = _dict(c.get("lifecycle"))
        handlers = [c.get(p) for p in ("livenessProbe", "readinessProbe", "startupProbe")]
        handlers += [lifecycle.get("postStart"), lifecycle.get("preStop")]
        found = [h for handler in handlers for h in handler_hosts(handler)]
        if found:
            bad.add(_name(c))
            hosts.update(found)
    if not bad:
        return None
    return Forbidden(
        "probe or lifecycle host",
        f"{_containers_phrase(sorted(bad))} {plural('uses', 'use', len(bad))} "
        f"{plural('probe or lifecycle host', 'probe or lifecycle hosts', len(hosts))} "
        f"{join_quote(sorted(hosts))}",
    )


# ---- restricted --------------------------------------------------------------


def allow_privilege_escalation(meta: dict, spec: dict) -> Forbidden | None:
    bad = [
        _name(c)
        for c in containers(spec)
        if (_sc(c) or {}).get("allowPrivilegeEscalation") is not False
    ]
    if not bad:
        return None
    return Forbidden(
        "allowPrivilegeEscalation != false",
        f"{_containers_phrase(bad)} must set securityContext.allowPrivilegeEscalation=false",
    )


def _not_on_windows(check: CheckFn) -> CheckFn:
    """From v1.25 a pod with `os.name: windows` passes (its API forbids the fields)."""

    def windows_exempt(meta: dict, spec: dict) -> Forbidden | None:
        return None if _windows(spec) else check(meta, spec)

    return windows_exempt


def capabilities_restricted(meta: dict, spec: dict) -> Forbidden | None:
    missing_drop: list[str] = []
    adding: list[str] = []
    forbidden: set[str] = set()
    for c in containers(spec):
        caps = (_sc(c) or {}).get("capabilities")
        if not isinstance(caps, dict):
            missing_drop.append(_name(c))
            continue
        if "ALL" not in [str(d) for d in _list(caps.get("drop"))]:
            missing_drop.append(_name(c))
        added = [str(a) for a in _list(caps.get("add")) if a != "NET_BIND_SERVICE"]
        if added:
            adding.append(_name(c))
            forbidden.update(added)
    details = []
    if missing_drop:
        details.append(
            f'{_containers_phrase(missing_drop)} must set securityContext.capabilities.drop=["ALL"]'
        )
    if adding:
        details.append(
            f"{_containers_phrase(adding)} must not include {join_quote(sorted(forbidden))} in "
            "securityContext.capabilities.add"
        )
    return Forbidden("unrestricted capabilities", "; ".join(details)) if details else None


ALLOWED_RESTRICTED_VOLUMES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "image",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
# the restricted sources, in the order Kubernetes names the first one a volume sets
RESTRICTED_VOLUME_SOURCES = (
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
)


def restricted_volumes(meta: dict, spec: dict) -> Forbidden | None:
    bad: list[str] = []
    kinds: set[str] = set()
    for v in _list(spec.get("volumes")):
        if not isinstance(v, dict):
            continue
        if any(v.get(k) is not None for k in ALLOWED_RESTRICTED_VOLUMES):
            continue
        bad.append(str(v.get("name") or ""))
        kinds.add(next((k for k in RESTRICTED_VOLUME_SOURCES if v.get(k) is not None), "unknown"))
    if not bad:
        return None
    return Forbidden(
        "restricted volume types",
        f"{plural('volume', 'volumes', len(bad))} {join_quote(bad)} "
        f"{plural('uses', 'use', len(bad))} "
        f"{plural('restricted volume type', 'restricted volume types', len(kinds))} "
        f"{join_quote(sorted(kinds))}",
    )


def run_as_non_root(meta: dict, spec: dict) -> Forbidden | None:
    setters: list[str] = []
    pod_value = (_sc(spec) or {}).get("runAsNonRoot")
    if pod_value is False:
        setters.append("pod")
    explicit: list[str] = []
    implicit: list[str] = []
    for c in containers(spec):
        value = (_sc(c) or {}).get("runAsNonRoot")
        if value is not None:
            if value is False:
                explicit.append(_name(c))
        elif pod_value is not True:
            implicit.append(_name(c))
    if explicit:
        setters.append(_containers_phrase(explicit))
    if setters:
        return Forbidden(
            "runAsNonRoot != true",
            f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false",
        )
    if implicit:
        return Forbidden(
            "runAsNonRoot != true",
            f"pod or {_containers_phrase(implicit)} must set securityContext.runAsNonRoot=true",
        )
    return None


def run_as_non_root_1_35(meta: dict, spec: dict) -> Forbidden | None:
    return None if _user_namespaced(spec) else run_as_non_root(meta, spec)


def run_as_user(meta: dict, spec: dict) -> Forbidden | None:
    setters = ["pod"] if _is_int((_sc(spec) or {}).get("runAsUser"), 0) else []
    bad = [_name(c) for c in containers(spec) if _is_int((_sc(c) or {}).get("runAsUser"), 0)]
    if bad:
        setters.append(_containers_phrase(bad))
    if not setters:
        return None
    return Forbidden("runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0")


def run_as_user_1_35(meta: dict, spec: dict) -> Forbidden | None:
    return None if _user_namespaced(spec) else run_as_user(meta, spec)


def seccomp_restricted(meta: dict, spec: dict) -> Forbidden | None:
    setters: list[str] = []
    values: set[str] = set()
    pod_type = _seccomp_type(_sc(spec))
    pod_set = False
    if pod_type is not None:
        if _valid_seccomp(pod_type):
            pod_set = True
        else:
            setters.append("pod")
            values.add(pod_type)
    explicit: list[str] = []
    implicit: list[str] = []
    for c in containers(spec):
        kind = _seccomp_type(_sc(c))
        if kind is not None:
            if not _valid_seccomp(kind):
                explicit.append(_name(c))
                values.add(kind)
        elif not pod_set:
            implicit.append(_name(c))
    if explicit:
        setters.append(_containers_phrase(explicit))
    if setters:
        return Forbidden(
            "seccompProfile",
            f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to "
            f"{join_quote(sorted(values))}",
        )
    if implicit:
        return Forbidden(
            "seccompProfile",
            f"pod or {_containers_phrase(implicit)} must set securityContext.seccompProfile.type "
            'to "RuntimeDefault" or "Localhost"',
        )
    return None


# ---- the table -----------------------------------------------------------------


def _one(minimum: Version, fn: CheckFn, overrides: tuple[str, ...] = ()) -> VersionedCheck:
    return VersionedCheck(minimum, fn, overrides)


CHECKS: tuple[Check, ...] = (
    Check("appArmorProfile", BASELINE, (_one(v1(0), app_armor_profile),)),
    Check("capabilities_baseline", BASELINE, (_one(v1(0), capabilities_baseline),)),
    Check("hostNamespaces", BASELINE, (_one(v1(0), host_namespaces),)),
    Check("hostPathVolumes", BASELINE, (_one(v1(0), host_path_volumes),)),
    Check("hostPorts", BASELINE, (_one(v1(0), host_ports),)),
    Check("hostProbesAndHostLifecycle", BASELINE, (_one(v1(34), host_probes_and_host_lifecycle),)),
    Check("privileged", BASELINE, (_one(v1(0), privileged),)),
    Check("procMount", BASELINE, (_one(v1(0), proc_mount), _one(v1(35), proc_mount_1_35))),
    Check(
        "seLinuxOptions",
        BASELINE,
        (
            _one(v1(0), _se_linux_options(SELINUX_TYPES_1_0)),
            _one(v1(31), _se_linux_options(SELINUX_TYPES_1_31)),
        ),
    ),
    Check(
        "seccompProfile_baseline",
        BASELINE,
        (_one(v1(0), seccomp_baseline_1_0), _one(v1(19), seccomp_baseline_1_19)),
    ),
    Check(
        "sysctls",
        BASELINE,
        (
            _one(v1(0), _sysctls(SYSCTLS_1_0)),
            _one(v1(27), _sysctls(SYSCTLS_1_27)),
            _one(v1(29), _sysctls(SYSCTLS_1_29)),
            _one(v1(32), _sysctls(SYSCTLS_1_32)),
            _one(v1(37), _sysctls(SYSCTLS_1_37)),
        ),
    ),
    Check("windowsHostProcess", BASELINE, (_one(v1(0), windows_host_process),)),
    Check(
        "allowPrivilegeEscalation",
        RESTRICTED,
        (
            _one(v1(8), allow_privilege_escalation),
            _one(v1(25), _not_on_windows(allow_privilege_escalation)),
        ),
    ),
    Check(
        "capabilities_restricted",
        RESTRICTED,
        (
            _one(v1(22), capabilities_restricted, ("capabilities_baseline",)),
            _one(v1(25), _not_on_windows(capabilities_restricted), ("capabilities_baseline",)),
        ),
    ),
    Check("procMount_restricted", RESTRICTED, (_one(v1(35), proc_mount, ("procMount",)),)),
    Check(
        "restrictedVolumes", RESTRICTED, (_one(v1(0), restricted_volumes, ("hostPathVolumes",)),)
    ),
    Check(
        "runAsNonRoot",
        RESTRICTED,
        (_one(v1(0), run_as_non_root), _one(v1(35), run_as_non_root_1_35)),
    ),
    Check("runAsUser", RESTRICTED, (_one(v1(23), run_as_user), _one(v1(35), run_as_user_1_35))),
    Check(
        "seccompProfile_restricted",
        RESTRICTED,
        (
            _one(v1(19), seccomp_restricted, ("seccompProfile_baseline",)),
            _one(v1(25), _not_on_windows(seccomp_restricted), ("seccompProfile_baseline",)),
        ),
    ),
)
