"""A container's effective securityContext as Docker create arguments (pure).

As Kubernetes' kubelet: the container's own `securityContext` overrides the pod's for
the fields both carry (`runAsUser`, `runAsGroup`, `runAsNonRoot`, `seccompProfile`,
...); `supplementalGroups` and `fsGroup` are the pod's and become the process'
extra groups. `privileged`, `capabilities` (Docker's default set otherwise),
`readOnlyRootFilesystem` and `allowPrivilegeEscalation: false` (no_new_privs) map to
their Docker settings. Seccomp follows Kubernetes: a container without a profile
runs `Unconfined` unless the kubelet's `--seccomp-default` is on, which makes the
default `RuntimeDefault` (Docker's default profile); `Localhost` profiles are files
under the kubelet's seccomp directory (`<root-dir>/seccomp`), whose JSON Docker is
given as `seccomp=<profile>` (as the docker CLI passes a file's content).

`runAsNonRoot` is checked before a container is created, against the user it would
run as (its `runAsUser`, else the image's `USER`), with Kubernetes' messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

# Fields of a PodSecurityContext that apply to every container unless it sets its own.
INHERITED = (
    "runAsUser",
    "runAsGroup",
    "runAsNonRoot",
    "seccompProfile",
    "seLinuxOptions",
    "appArmorProfile",
    "windowsOptions",
)
SECCOMP_DIR = "seccomp"  # under the kubelet's root dir, as /var/lib/kubelet/seccomp


class SecurityContextError(Exception):
    """The container cannot be created as its securityContext asks; the text is the
    container's waiting message."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class SecurityOptions:
    """The kubelet's own settings that shape every container's sandboxing."""

    seccomp_default: bool = False  # --seccomp-default: RuntimeDefault when unset
    seccomp_root: Path | None = None  # where Localhost profiles live


def pod_desc(pod: dict[str, Any]) -> str:
    """Kubernetes' format.Pod: `name_namespace(uid)`."""
    md = pod.get("metadata") or {}
    return f"{md.get('name', '')}_{md.get('namespace', '')}({md.get('uid', '')})"


def effective(pod: dict[str, Any], container: dict[str, Any]) -> dict[str, Any]:
    """As DetermineEffectiveSecurityContext: the pod's inheritable fields, overridden
    by the container's."""
    pod_ctx = (pod.get("spec") or {}).get("securityContext") or {}
    merged = {k: pod_ctx[k] for k in INHERITED if pod_ctx.get(k) is not None}
    own = container.get("securityContext") or {}
    merged.update({k: v for k, v in own.items() if v is not None})
    return merged


def image_user(user: str) -> tuple[int | None, str]:
    """(uid, name) of an image's `USER` (`user[:group]`): a number is a uid, else a
    name; an image without a user runs as root (uid 0)."""
    name = (user or "").split(":", 1)[0]
    if not name:
        return 0, ""
    if name.isdigit():
        return int(name), ""
    return None, name


def verify_run_as_non_root(
    pod: dict[str, Any], container: dict[str, Any], image_user_text: str
) -> str | None:
    """Kubernetes' verifyRunAsNonRoot: the message why the container must not start,
    or None."""
    ctx = effective(pod, container)
    if not ctx.get("runAsNonRoot"):
        return None
    where = f'(pod: "{pod_desc(pod)}", container: {container.get("name", "")})'
    if ctx.get("runAsUser") is not None:
        if int(ctx["runAsUser"]) == 0:
            return f"container's runAsUser breaks non-root policy {where}"
        return None
    uid, name = image_user(image_user_text)
    if uid is None:
        return (
            f"container has runAsNonRoot and image has non-numeric user ({name}), "
            f"cannot verify user is non-root {where}"
        )
    if uid == 0:
        return f"container has runAsNonRoot and image will run as root {where}"
    return None


def user_arg(pod: dict[str, Any], container: dict[str, Any], image_user_text: str) -> str | None:
    """Docker's `User` (`uid[:gid]`): `runAsUser`, else the image's user, with
    `runAsGroup` as the primary group; None leaves the image's."""
    ctx = effective(pod, container)
    user, group = ctx.get("runAsUser"), ctx.get("runAsGroup")
    if user is None and group is None:
        return None
    name = str(user) if user is not None else ((image_user_text or "").split(":", 1)[0] or "0")
    return f"{name}:{group}" if group is not None else name


def extra_groups(pod: dict[str, Any]) -> list[str]:
    """The pod's `supplementalGroups` and `fsGroup`, as Kubernetes adds them to every
    container's process."""
    pod_ctx = (pod.get("spec") or {}).get("securityContext") or {}
    groups = [int(g) for g in pod_ctx.get("supplementalGroups") or []]
    if pod_ctx.get("fsGroup") is not None and int(pod_ctx["fsGroup"]) not in groups:
        groups.append(int(pod_ctx["fsGroup"]))
    return [str(g) for g in groups]


def _localhost_profile(root: Path | None, name: str) -> str:
    if root is None:
        raise SecurityContextError("CreateContainerError", "no seccomp profile root configured")
    rel = PurePosixPath(name)
    if not name or rel.is_absolute() or ".." in rel.parts:
        raise SecurityContextError(
            "CreateContainerError", f"invalid localhost seccomp profile {name!r}"
        )
    path = root.joinpath(*rel.parts)
    try:
        return path.read_text()
    except OSError as err:
        raise SecurityContextError(
            "CreateContainerError",
            f"cannot load seccomp profile {str(path)!r}: {err.strerror or err}",
        ) from None


def seccomp_options(ctx: dict[str, Any], options: SecurityOptions) -> list[str]:
    """Docker's `security_opt` for the seccomp profile (none: Docker's default)."""
    if ctx.get("privileged"):
        return []  # privileged containers run unconfined (Docker does so itself)
    profile = ctx.get("seccompProfile") or {}
    kind = profile.get("type") or ("RuntimeDefault" if options.seccomp_default else "Unconfined")
    if kind == "RuntimeDefault":
        return []
    if kind == "Localhost":
        text = _localhost_profile(options.seccomp_root, profile.get("localhostProfile") or "")
        return [f"seccomp={text}"]
    return ["seccomp=unconfined"]


def host_config(
    pod: dict[str, Any], container: dict[str, Any], options: SecurityOptions
) -> dict[str, Any]:
    """Docker host-config settings for the container's effective securityContext;
    SecurityContextError when a Localhost seccomp profile cannot be read."""
    ctx = effective(pod, container)
    config: dict[str, Any] = {}
    if ctx.get("privileged"):
        config["privileged"] = True
    if ctx.get("readOnlyRootFilesystem"):
        config["read_only"] = True
    caps = ctx.get("capabilities") or {}
    if caps.get("add"):
        config["cap_add"] = [str(c) for c in caps["add"]]
    if caps.get("drop"):
        config["cap_drop"] = [str(c) for c in caps["drop"]]
    groups = extra_groups(pod)
    if groups:
        config["group_add"] = groups
    security_opt = seccomp_options(ctx, options)
    if ctx.get("allowPrivilegeEscalation") is False:
        security_opt.append("no-new-privileges")
    if security_opt:
        config["security_opt"] = security_opt
    return config


def seccomp_root(root_dir: Path) -> Path:
    return root_dir / SECCOMP_DIR


def fs_group(pod: dict[str, Any]) -> int | None:
    value = ((pod.get("spec") or {}).get("securityContext") or {}).get("fsGroup")
    return int(value) if value is not None else None
