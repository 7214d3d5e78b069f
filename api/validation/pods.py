"""Pod and pod-template specs (pkg/apis/core/validation, the pod half): containers,
ports, env, volumes and mounts, resources, probes and lifecycle hooks, tolerations,
host ports, and what a pod update may change."""

from __future__ import annotations

import copy
import json
import re
from decimal import Decimal
from typing import Any

from api import labels as lbl
from api.quantity import QUANTITY_ERROR, QuantityError, parse_quantity
from api.taints import EFFECTS, NO_EXECUTE
from api.validation.field import (
    MAX_INT32,
    NEGATIVE,
    PORT_RANGE,
    Cause,
    as_dict,
    as_int,
    as_list,
    as_str,
    duplicate,
    forbidden,
    invalid,
    invalid_each,
    nonnegative,
    not_found,
    not_supported,
    one_of,
    required,
)
from api.validation.meta import validate_labels
from api.validation.scheduling import preemption_policy

_RESTART_POLICIES = ("Always", "OnFailure", "Never")
_DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
PROTOCOLS = ("SCTP", "TCP", "UDP")
_TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
HOST_PATH_TYPES = (
    "",
    "BlockDevice",
    "CharDevice",
    "Directory",
    "DirectoryOrCreate",
    "File",
    "FileOrCreate",
    "Socket",
)
_PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
_LIFECYCLE_HANDLERS = ("exec", "httpGet", "tcpSocket", "sleep")
_PROBE_NUMBERS = (
    "initialDelaySeconds",
    "timeoutSeconds",
    "periodSeconds",
    "successThreshold",
    "failureThreshold",
)
_ENV_FIELD_PATHS = (
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
)
_ENV_SOURCES = ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")
_STANDARD_CONTAINER_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})
_UPDATABLE_POD_FIELDS = ",".join(
    (
        "`spec.containers[*].image`",
        "`spec.initContainers[*].image`",
        "`spec.activeDeadlineSeconds`",
        "`spec.tolerations` (only additions to existing tolerations)",
        "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously "
        "negative)",
    )
)


_PORT_NAME_CHARS = re.compile(r"[-a-z0-9]+")


def port_name_errors(name: str) -> list[str]:
    """IANA_SVC_NAME rules (IsValidPortName)."""
    errs = []
    if len(name) > 15:
        errs.append(lbl.max_len_error(15))
    if not _PORT_NAME_CHARS.fullmatch(name):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search(r"[a-z]", name):
        errs.append("must contain at least one letter (a-z)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if name.startswith("-") or name.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def port_number(path: str, value: Any) -> list[Cause]:
    number = as_int(value)
    return [] if number is not None and 1 <= number <= 65535 else [invalid(path, value, PORT_RANGE)]


def port_num_or_name(path: str, value: Any) -> list[Cause]:
    """An IntOrString port: a number 1-65535 or an IANA port name."""
    if isinstance(value, str):
        return invalid_each(path, value, port_name_errors(value))
    return port_number(path, value)


def _container_ports(ports: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    names: set[str] = set()
    for i, port in enumerate(as_list(ports)):
        p, port = f"{path}[{i}]", as_dict(port)
        name = as_str(port.get("name"))
        if name:
            errs = port_name_errors(name)
            if errs:
                causes += invalid_each(f"{p}.name", name, errs)
            elif name in names:
                causes.append(duplicate(f"{p}.name", name))
            names.add(name)
        if not port.get("containerPort"):
            causes.append(required(f"{p}.containerPort"))
        else:
            causes += port_number(f"{p}.containerPort", port["containerPort"])
        if port.get("hostPort"):
            causes += port_number(f"{p}.hostPort", port["hostPort"])
        causes += one_of(f"{p}.protocol", port.get("protocol"), PROTOCOLS)
    return causes


def _env(env: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for i, var in enumerate(as_list(env)):
        p, var = f"{path}[{i}]", as_dict(var)
        name = as_str(var.get("name"))
        if not name:
            causes.append(required(f"{p}.name"))
        elif "=" in name or not all(" " <= ch <= "~" for ch in name):
            causes.append(
                invalid(
                    f"{p}.name",
                    name,
                    "a valid environment variable name must "
                    "consist only of printable ASCII characters other than '='",
                )
            )
        value_from = var.get("valueFrom")
        if value_from is None:
            continue
        sources = [s for s in _ENV_SOURCES if as_dict(value_from).get(s) is not None]
        vp = f"{p}.valueFrom"
        if not sources:
            causes.append(
                invalid(
                    vp,
                    "",
                    "must specify one of: `fieldRef`, `resourceFieldRef`, "
                    "`configMapKeyRef` or `secretKeyRef`",
                )
            )
        elif as_str(var.get("value")):
            causes.append(invalid(vp, "", "may not be specified when `value` is not empty"))
        elif len(sources) > 1:
            causes.append(invalid(vp, "", "may not have more than one field specified at a time"))
        field_ref = as_dict(value_from).get("fieldRef")
        if isinstance(field_ref, dict):
            causes += _field_ref(field_ref, f"{vp}.fieldRef")
    return causes


def _field_ref(ref: dict, path: str) -> list[Cause]:
    if not as_str(ref.get("apiVersion")):
        return [required(f"{path}.apiVersion")]
    field_path = as_str(ref.get("fieldPath"))
    if not field_path:
        return [required(f"{path}.fieldPath")]
    subscripted = re.fullmatch(r"(metadata\.(?:labels|annotations))\['(.*)'\]", field_path)
    if subscripted:
        key = subscripted.group(2)
        key = key.lower() if subscripted.group(1).endswith("annotations") else key
        return invalid_each(path, key, lbl.label_key_errors(key))
    if field_path not in _ENV_FIELD_PATHS:
        return [not_supported(f"{path}.fieldPath", field_path, sorted(_ENV_FIELD_PATHS))]
    return []


def _volume_mounts(mounts: Any, path: str, volumes: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    mount_paths: set[str] = set()
    for i, mount in enumerate(as_list(mounts)):
        p, mount = f"{path}[{i}]", as_dict(mount)
        name, mount_path = as_str(mount.get("name")), as_str(mount.get("mountPath"))
        if not name:
            causes.append(required(f"{p}.name"))
        if name not in volumes:
            causes.append(not_found(f"{p}.name", name))
        if not mount_path:
            causes.append(required(f"{p}.mountPath"))
        if mount_path in mount_paths:
            causes.append(invalid(f"{p}.mountPath", mount_path, "must be unique"))
        mount_paths.add(mount_path)
        sub_path = as_str(mount.get("subPath"))
        if sub_path:
            causes += _relative_path(f"{p}.subPath", sub_path)
    return causes


def _relative_path(path: str, value: str) -> list[Cause]:
    causes = []
    if value.startswith("/"):
        causes.append(invalid(path, value, "must be a relative path"))
    if ".." in value.replace("\\", "/").split("/"):
        causes.append(invalid(path, value, "must not contain '..'"))
    return causes


def _overcommit_allowed(resource: str) -> bool:
    native = "/" not in resource or "kubernetes.io/" in resource
    return native and not resource.startswith("hugepages-")


def resource_name_errors(name: str) -> list[str]:
    """validateContainerResourceName: a standard resource, or a fully qualified one."""
    errs = lbl.label_key_errors(name)
    if errs:
        return errs
    if (
        "/" not in name
        and name not in _STANDARD_CONTAINER_RESOURCES
        and not name.startswith("hugepages-")
    ):
        return ["must be a standard resource type or fully qualified"]
    return []


def check_quantity(path: str, value: Any, causes: list[Cause]) -> Decimal | None:
    """The parsed quantity; a cause is appended when it is bad or negative."""
    try:
        number = parse_quantity(value)
    except QuantityError:
        causes.append(invalid(path, as_str(value), QUANTITY_ERROR))
        return None
    if number < 0:
        causes.append(invalid(path, as_str(value), NEGATIVE))
    return number


def _resources(resources: Any, path: str) -> list[Cause]:
    res = as_dict(resources)
    limits, requests = as_dict(res.get("limits")), as_dict(res.get("requests"))
    causes: list[Cause] = []
    parsed_limits: dict[str, Decimal | None] = {}
    for name, value in limits.items():
        p = f"{path}.limits[{name}]"
        causes += invalid_each(p, name, resource_name_errors(name))
        parsed_limits[name] = check_quantity(p, value, causes)
    for name, value in requests.items():
        p = f"{path}.requests[{name}]"
        causes += invalid_each(p, name, resource_name_errors(name))
        request = check_quantity(p, value, causes)
        if name in limits:
            limit = parsed_limits[name]
            if request is None or limit is None:
                continue
            if not _overcommit_allowed(name) and request != limit:
                causes.append(
                    invalid(
                        f"{path}.requests",
                        as_str(value),
                        f"must be equal to {name} limit of {as_str(limits[name])}",
                    )
                )
            elif request > limit:
                causes.append(
                    invalid(
                        f"{path}.requests",
                        as_str(value),
                        f"must be less than or equal to {name} limit of {as_str(limits[name])}",
                    )
                )
        elif not _overcommit_allowed(name):
            causes.append(
                required(f"{path}.limits", "Limit must be set for non overcommitable resources")
            )
    return causes


def _handler(handler: dict, path: str, kinds: tuple[str, ...]) -> list[Cause]:
    present = [k for k in kinds if handler.get(k) is not None]
    if not present:
        return [required(path, "must specify a handler type")]
    causes = [
        forbidden(f"{path}.{k}", "may not specify more than 1 handler type") for k in present[1:]
    ]
    kind, action = present[0], as_dict(handler[present[0]])
    p = f"{path}.{kind}"
    if kind == "exec" and not as_list(action.get("command")):
        causes.append(required(f"{p}.command"))
    elif kind == "httpGet":
        if not as_str(action.get("path")):
            causes.append(required(f"{p}.path"))
        causes += port_num_or_name(f"{p}.port", action.get("port"))
        scheme = action.get("scheme")
        if scheme is not None and scheme not in ("HTTP", "HTTPS"):
            causes.append(not_supported(f"{p}.scheme", scheme, ("HTTP", "HTTPS")))
    elif kind == "tcpSocket":
        causes += port_num_or_name(f"{p}.port", action.get("port"))
    elif kind == "grpc":
        causes += port_number(f"{p}.port", action.get("port"))
    elif kind == "sleep":
        seconds = as_int(action.get("seconds"))
        if seconds is None or seconds <= 0:
            causes.append(invalid(f"{p}.seconds", action.get("seconds"), "must be greater than 0"))
    return causes


def _probe(probe: Any, path: str, which: str) -> list[Cause]:
    if probe is None:
        return []
    probe = as_dict(probe)
    causes = _handler(probe, path, _PROBE_HANDLERS)
    for key in _PROBE_NUMBERS:
        causes += nonnegative(f"{path}.{key}", probe.get(key))
    grace = probe.get("terminationGracePeriodSeconds")
    if grace is not None:
        if which == "readinessProbe":
            causes.append(
                invalid(
                    f"{path}.terminationGracePeriodSeconds",
                    grace,
                    "must not be set for readinessProbes",
                )
            )
        elif as_int(grace) is not None and grace <= 0:
            causes.append(
                invalid(f"{path}.terminationGracePeriodSeconds", grace, "must be greater than 0")
            )
    success = probe.get("successThreshold")
    if which != "readinessProbe" and success is not None and success != 1:
        causes.append(invalid(f"{path}.successThreshold", success, "must be 1"))
    return causes


def _lifecycle(lifecycle: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for hook in ("postStart", "preStop"):
        handler = as_dict(lifecycle).get(hook)
        if handler is not None:
            causes += _handler(as_dict(handler), f"{path}.{hook}", _LIFECYCLE_HANDLERS)
    return causes


def container_common(c: dict, path: str, volumes: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    name = as_str(c.get("name"))
    if not name:
        causes.append(required(f"{path}.name"))
    else:
        causes += invalid_each(f"{path}.name", name, lbl.dns1123_label_errors(name))
    if not as_str(c.get("image")):
        causes.append(required(f"{path}.image"))
    causes += one_of(
        f"{path}.terminationMessagePolicy",
        c.get("terminationMessagePolicy"),
        _TERMINATION_MESSAGE_POLICIES,
    )
    causes += _container_ports(c.get("ports"), f"{path}.ports")
    causes += _env(c.get("env"), f"{path}.env")
    causes += _volume_mounts(c.get("volumeMounts"), f"{path}.volumeMounts", volumes)
    causes += one_of(f"{path}.imagePullPolicy", c.get("imagePullPolicy"), _PULL_POLICIES)
    causes += _resources(c.get("resources"), f"{path}.resources")
    return causes


def _containers(spec: dict, path: str, volumes: set[str], is_pod: bool) -> list[Cause]:
    causes: list[Cause] = []
    containers = [as_dict(c) for c in as_list(spec.get("containers"))]
    if not containers:
        causes.append(required(f"{path}.containers"))
    names: set[str] = set()
    for i, c in enumerate(containers):
        p = f"{path}.containers[{i}]"
        causes += container_common(c, p, volumes)
        name = as_str(c.get("name"))
        if name in names:
            causes.append(duplicate(f"{p}.name", name))
        names.add(name)
        causes += _lifecycle(c.get("lifecycle"), f"{p}.lifecycle") if c.get("lifecycle") else []
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            causes += _probe(c.get(probe), f"{p}.{probe}", probe)
        if c.get("restartPolicy") is not None:
            causes.append(forbidden(f"{p}.restartPolicy", "may not be set for non-init containers"))
    for i, c in enumerate(as_dict(c) for c in as_list(spec.get("initContainers"))):
        p = f"{path}.initContainers[{i}]"
        causes += container_common(c, p, volumes)
        name = as_str(c.get("name"))
        if name in names:
            causes.append(duplicate(f"{p}.name", name))
        elif name:
            names.add(name)
        if c.get("restartPolicy") == "Always":  # a sidecar keeps probes and hooks
            causes += _lifecycle(c.get("lifecycle"), f"{p}.lifecycle")
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                causes += _probe(c.get(probe), f"{p}.{probe}", probe)
            continue
        if c.get("restartPolicy") is not None:
            causes.append(not_supported(f"{p}.restartPolicy", c["restartPolicy"], ["Always"]))
        for key in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
            if c.get(key) is not None:
                causes.append(
                    forbidden(
                        f"{p}.{key}",
                        "may not be set for init containers without restartPolicy=Always",
                    )
                )
    if is_pod:
        for key in ("containers", "initContainers"):
            for i, c in enumerate(as_list(spec.get(key))):
                image = as_str(as_dict(c).get("image"))
                if image != image.strip():
                    causes.append(
                        invalid(
                            f"{path}.{key}[{i}].image",
                            image,
                            "must not have leading or trailing whitespace",
                        )
                    )
    return causes


def _volume_source(volume: dict, path: str) -> list[Cause]:
    sources = [k for k, v in volume.items() if k != "name" and v is not None]
    if not sources:
        return [required(path, "must specify a volume type")]
    causes = [
        forbidden(f"{path}.{k}", "may not specify more than 1 volume type") for k in sources[1:]
    ]
    kind, src = sources[0], as_dict(volume[sources[0]])
    p = f"{path}.{kind}"
    if kind == "emptyDir" and src.get("sizeLimit") is not None:
        try:
            negative = parse_quantity(src["sizeLimit"]) < 0
        except QuantityError:
            negative = True
        if negative:
            causes.append(
                forbidden(f"{p}.sizeLimit", "SizeLimit field must be a valid resource quantity")
            )
    elif kind == "hostPath":
        host_path = as_str(src.get("path"))
        if not host_path:
            causes.append(required(f"{p}.path"))
        else:
            if ".." in host_path.split("/"):
                causes.append(invalid(f"{p}.path", host_path, "must not contain '..'"))
            if src.get("type") is not None and src["type"] not in HOST_PATH_TYPES:
                causes.append(not_supported(f"{p}.type", src["type"], HOST_PATH_TYPES))
    else:
        required_key = {
            "configMap": "name",
            "secret": "secretName",
            "persistentVolumeClaim": "claimName",
        }.get(kind)
        if required_key and not as_str(src.get(required_key)):
            causes.append(required(f"{p}.{required_key}"))
    return causes


def _volumes(volumes: Any, path: str) -> tuple[set[str], list[Cause]]:
    """The names of valid volumes (mounts may refer to them) and the causes."""
    names: set[str] = set()
    causes: list[Cause] = []
    for i, volume in enumerate(as_list(volumes)):
        p, volume = f"{path}[{i}]", as_dict(volume)
        errs = _volume_source(volume, p)
        name = as_str(volume.get("name"))
        if not name:
            errs.append(required(f"{p}.name"))
        else:
            errs += invalid_each(f"{p}.name", name, lbl.dns1123_label_errors(name))
        if name in names:
            errs.append(duplicate(f"{p}.name", name))
        if errs:
            causes += errs
        else:
            names.add(name)
    return names, causes


def _tolerations(tolerations: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for i, tol in enumerate(as_list(tolerations)):
        p, tol = f"{path}[{i}]", as_dict(tol)
        key, op = as_str(tol.get("key")), as_str(tol.get("operator"))
        value, effect = as_str(tol.get("value")), as_str(tol.get("effect"))
        if key:
            causes += invalid_each(f"{p}.key", key, lbl.label_key_errors(key))
        if not key and op != "Exists":
            causes.append(
                invalid(
                    f"{p}.operator",
                    op,
                    "operator must be Exists when `key` is "
                    'empty, which means "match all values and all keys"',
                )
            )
        if tol.get("tolerationSeconds") is not None and effect != NO_EXECUTE:
            causes.append(
                invalid(
                    f"{p}.effect",
                    effect,
                    "effect must be 'NoExecute' when `tolerationSeconds` is set",
                )
            )
        if op in ("Equal", ""):
            errs = lbl.label_value_errors(value)
            if errs:
                causes.append(invalid(f"{p}.operator", value, ";".join(errs)))
        elif op == "Exists":
            if value:
                causes.append(
                    invalid(
                        f"{p}.operator", value, "value must be empty when `operator` is 'Exists'"
                    )
                )
        else:
            causes.append(not_supported(f"{p}.operator", op, ("Equal", "Exists")))
        if effect and effect not in EFFECTS:
            causes.append(not_supported(f"{p}.effect", effect, EFFECTS))
    return causes


def _host_ports(spec: dict, path: str, is_pod: bool) -> list[Cause]:
    causes: list[Cause] = []
    seen: set[str] = set()
    for i, c in enumerate(as_list(spec.get("containers"))):
        for j, port in enumerate(as_list(as_dict(c).get("ports"))):
            port = as_dict(port)
            p = f"{path}.containers[{i}].ports[{j}].hostPort"
            host_port, container_port = port.get("hostPort") or 0, port.get("containerPort")
            if (
                spec.get("hostNetwork") is True
                and (is_pod or host_port)
                and host_port != container_port
            ):
                causes.append(
                    invalid(p, host_port, "must match `containerPort` when `hostNetwork` is true")
                )
            if host_port:
                key = f"{as_str(port.get('protocol'))}/{as_str(port.get('hostIP'))}/{host_port}"
                if key in seen:
                    causes.append(duplicate(p, key))
                seen.add(key)
    return causes


def validate_pod_spec(spec: Any, path: str, *, is_pod: bool = True) -> list[Cause]:
    """A PodSpec at `path` ("spec" for pods, "spec.template.spec" for templates)."""
    spec = as_dict(spec)
    causes: list[Cause] = []
    if spec.get("terminationGracePeriodSeconds") is None:
        causes.append(required(f"{path}.terminationGracePeriodSeconds"))
    volumes, volume_causes = _volumes(spec.get("volumes"), f"{path}.volumes")
    causes += volume_causes
    causes += _containers(spec, path, volumes, is_pod)
    causes += _host_ports(spec, path, is_pod)
    causes += one_of(f"{path}.restartPolicy", spec.get("restartPolicy"), _RESTART_POLICIES)
    causes += one_of(f"{path}.dnsPolicy", spec.get("dnsPolicy"), _DNS_POLICIES)
    if spec.get("dnsPolicy") == "None" and spec.get("dnsConfig") is None:
        causes.append(
            required(f"{path}.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None")
        )
    causes += validate_labels(spec.get("nodeSelector"), f"{path}.nodeSelector")
    for key, check in (
        ("serviceAccountName", lbl.dns1123_subdomain_errors),
        ("nodeName", lbl.dns1123_subdomain_errors),
        ("priorityClassName", lbl.dns1123_subdomain_errors),
        ("hostname", lbl.dns1123_label_errors),
        ("subdomain", lbl.dns1123_label_errors),
    ):
        value = as_str(spec.get(key))
        if value:
            causes += invalid_each(f"{path}.{key}", value, check(value))
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and not (as_int(deadline) is not None and 1 <= deadline <= MAX_INT32):
        causes.append(
            invalid(
                f"{path}.activeDeadlineSeconds",
                deadline,
                f"must be between 1 and {MAX_INT32}, inclusive",
            )
        )
    causes += _tolerations(spec.get("tolerations"), f"{path}.tolerations")
    causes += preemption_policy(f"{path}.preemptionPolicy", spec.get("preemptionPolicy"))
    if spec.get("shareProcessNamespace") is True and spec.get("hostPID") is True:
        # Kubernetes' path: both live in the internal PodSecurityContext
        causes.append(
            invalid(
                f"{path}.securityContext.shareProcessNamespace",
                True,
                "ShareProcessNamespace and HostPID cannot both be enabled",
            )
        )
    return causes


def validate_pod(obj: dict) -> list[Cause]:
    return validate_pod_spec(obj.get("spec"), "spec", is_pod=True)


def comparable(value: Any) -> Any:
    """Drop what Kubernetes' semantic equality treats as unset (null, empty, zero)."""
    if isinstance(value, dict):
        out = {k: comparable(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [], "", False, 0)}
    if isinstance(value, list):
        return [comparable(v) for v in value]
    return value


def _differences(old: Any, new: Any, path: str, out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            _differences(old.get(key), new.get(key), f"{path}.{key}", out)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            _differences(a, b, f"{path}[{i}]", out)
    elif old != new:
        out.append(f"  {path}: {json.dumps(old)} -> {json.dumps(new)}")


def validate_pod_update(new: dict, old: dict) -> list[Cause]:
    """What a pod update may change: images, activeDeadlineSeconds (down only),
    tolerations (additions), schedulingGates (removals)."""
    nspec, ospec = as_dict(new.get("spec")), as_dict(old.get("spec"))
    causes: list[Cause] = []
    for key in ("containers", "initContainers"):
        if len(as_list(nspec.get(key))) != len(as_list(ospec.get(key))):
            return [forbidden(f"spec.{key}", "pod updates may not add or remove containers")]
    new_deadline, old_deadline = (
        nspec.get("activeDeadlineSeconds"),
        ospec.get("activeDeadlineSeconds"),
    )
    if new_deadline is not None:
        if as_int(new_deadline) is None or not 0 <= new_deadline <= MAX_INT32:
            return [
                invalid(
                    "spec.activeDeadlineSeconds",
                    new_deadline,
                    f"must be between 0 and {MAX_INT32}, inclusive",
                )
            ]
        if as_int(old_deadline) is not None and old_deadline < new_deadline:
            return [
                invalid(
                    "spec.activeDeadlineSeconds",
                    new_deadline,
                    "must be less than or equal to previous value",
                )
            ]
    elif old_deadline is not None:
        causes.append(
            invalid(
                "spec.activeDeadlineSeconds",
                None,
                "must not update from a positive integer to nil value",
            )
        )

    def without_seconds(tol: Any) -> Any:
        return comparable({k: v for k, v in as_dict(tol).items() if k != "tolerationSeconds"})

    new_tols = [without_seconds(t) for t in as_list(nspec.get("tolerations"))]
    if any(without_seconds(t) not in new_tols for t in as_list(ospec.get("tolerations"))):
        causes.append(
            forbidden(
                "spec.tolerations",
                "existing toleration can not be modified except its tolerationSeconds",
            )
        )
    old_gates = {as_str(as_dict(g).get("name")) for g in as_list(ospec.get("schedulingGates"))}
    for i, gate in enumerate(as_list(nspec.get("schedulingGates"))):
        name = as_str(as_dict(gate).get("name"))
        if name not in old_gates:
            causes.append(
                forbidden(
                    f"spec.schedulingGates[{i}].name",
                    f"only deletion is allowed, but found new scheduling gate '{name}'",
                )
            )

    munged = copy.deepcopy(nspec)
    for key in ("containers", "initContainers"):
        for mc, oc in zip(as_list(munged.get(key)), as_list(ospec.get(key)), strict=True):
            if isinstance(mc, dict):
                mc["image"] = as_dict(oc).get("image")
    for key in ("activeDeadlineSeconds", "tolerations", "schedulingGates"):
        munged[key] = ospec.get(key)
    old_grace = as_int(ospec.get("terminationGracePeriodSeconds"))
    if old_grace is not None and old_grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    before, after = comparable(ospec), comparable(munged)
    if before != after:
        changes: list[str] = []
        _differences(before, after, "spec", changes)
        causes.append(
            forbidden(
                "spec",
                "pod updates may not change fields other than "
                f"{_UPDATABLE_POD_FIELDS}\n" + "\n".join(changes[:20]),
            )
        )
    return causes
