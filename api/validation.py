"""Validation of objects as Kubernetes validates them (pkg/apis/core/validation,
pkg/apis/apps/validation, pkg/apis/discovery/validation, apimachinery's ObjectMeta
rules): a list of causes, each `{"field", "message", "reason"}` with Kubernetes' field
paths and wording, which the apiserver returns in a 422 `Invalid` Status.

It expects a defaulted object (api.defaults runs first, as in Kubernetes), so a missing
enum such as `restartPolicy` is reported as "Required value". It never raises on odd
shapes: type checks (api.schema.type_errors) run before it."""

from __future__ import annotations

import copy
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from api import configdata
from api import labels as lbl
from api.errors import ApiError
from api.quantity import QUANTITY_ERROR, QuantityError, parse_quantity
from api.resources import by_kind

Cause = dict[str, str]

MAX_INT32 = 2**31 - 1
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
IMMUTABLE = "field is immutable"
NEGATIVE = "must be greater than or equal to 0"
PORT_RANGE = "must be between 1 and 65535, inclusive"
IP_ERROR = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
CIDR_ERROR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"

# ---------------------------------------------------------------------------
# Causes, worded as apimachinery's field.Error
# ---------------------------------------------------------------------------


class GoText(str):
    """A value already rendered the way Go's %#v prints it; shown as is."""


def go_value(value: Any) -> str:
    """A bad value as Kubernetes prints it in "Invalid value: <v>": strings quoted,
    numbers bare, string maps and lists in Go syntax, anything else as JSON."""
    if isinstance(value, GoText):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
        return go_string_map(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return go_string_list(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def go_string_map(value: Mapping[str, Any] | None) -> str:
    if value is None:
        return "map[string]string(nil)"
    items = ", ".join(f"{json.dumps(k)}:{json.dumps(str(v))}" for k, v in sorted(value.items()))
    return f"map[string]string{{{items}}}"


def go_string_list(value: list[Any] | None) -> str:
    if value is None:
        return "[]string(nil)"
    return "[]string{" + ", ".join(json.dumps(str(v)) for v in value) + "}"


def cause(reason: str, path: str, message: str) -> Cause:
    return {"field": path, "message": message, "reason": reason}


def required(path: str, detail: str = "") -> Cause:
    return cause("FieldValueRequired", path, "Required value" + (f": {detail}" if detail else ""))


def invalid(path: str, value: Any, detail: str = "") -> Cause:
    text = f"Invalid value: {go_value(value)}" + (f": {detail}" if detail else "")
    return cause("FieldValueInvalid", path, text)


def not_supported(path: str, value: Any, supported: Iterable[str]) -> Cause:
    values = ", ".join(json.dumps(v) for v in supported)
    text = f"Unsupported value: {go_value(value)}" + (
        f": supported values: {values}" if values else ""
    )
    return cause("FieldValueNotSupported", path, text)


def duplicate(path: str, value: Any, detail: str = "") -> Cause:
    text = f"Duplicate value: {go_value(value)}" + (f": {detail}" if detail else "")
    return cause("FieldValueDuplicate", path, text)


def forbidden(path: str, detail: str) -> Cause:
    return cause("FieldValueForbidden", path, f"Forbidden: {detail}")


def not_found(path: str, value: Any) -> Cause:
    return cause("FieldValueNotFound", path, f"Not found: {go_value(value)}")


def too_long(path: str, limit: int) -> Cause:
    return cause("FieldValueTooLong", path, f"Too long: must have at most {limit} bytes")


# ---------------------------------------------------------------------------
# small readers that tolerate any JSON shape
# ---------------------------------------------------------------------------


def _d(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list:
    return value if isinstance(value, list) else []


def _s(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _enum(path: str, value: Any, supported: Iterable[str]) -> list[Cause]:
    """Required when empty, NotSupported when not one of `supported`."""
    if value in (None, ""):
        return [required(path)]
    return [] if value in supported else [not_supported(path, value, supported)]


def _nonnegative(path: str, value: Any) -> list[Cause]:
    number = _int(value)
    return [invalid(path, number, NEGATIVE)] if number is not None and number < 0 else []


def _each(path: str, value: str, messages: Iterable[str]) -> list[Cause]:
    return [invalid(path, value, m) for m in messages]


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _is_cidr(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return "/" in value


# ---------------------------------------------------------------------------
# names, labels, annotations, metadata
# ---------------------------------------------------------------------------

NameCheck = Callable[[str], list[str]]
_STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})


def _mask_trailing_dash(name: str) -> str:
    """generateName may end in '-' (Kubernetes' maskTrailingDash, quirk included)."""
    return name[:-2] + "a" if len(name) > 1 and name.endswith("-") else name


def validate_labels(labels: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for key, value in sorted(_d(labels).items()):
        causes += _each(path, key, lbl.label_key_errors(key))
        causes += _each(path, _s(value), lbl.label_value_errors(_s(value)))
    return causes


def validate_annotations(annotations: Any, path: str) -> list[Cause]:
    notes = _d(annotations)
    causes: list[Cause] = []
    for key in sorted(notes):
        causes += _each(path, key, lbl.label_key_errors(key.lower()))
    size = sum(len(k.encode()) + len(_s(v).encode()) for k, v in notes.items())
    if size > TOTAL_ANNOTATION_SIZE_LIMIT:
        causes.append(too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT))
    return causes


def validate_label_selector(selector: Any, path: str) -> list[Cause]:
    """A metav1.LabelSelector's syntax (ValidateLabelSelector)."""
    sel = _d(selector)
    causes = validate_labels(sel.get("matchLabels"), f"{path}.matchLabels")
    for i, expr in enumerate(_l(sel.get("matchExpressions"))):
        p = f"{path}.matchExpressions[{i}]"
        expr = _d(expr)
        op, values = expr.get("operator"), _l(expr.get("values"))
        if op in ("In", "NotIn"):
            if not values:
                causes.append(
                    required(f"{p}.values", "must be specified when `operator` is 'In' or 'NotIn'")
                )
        elif op in ("Exists", "DoesNotExist"):
            if values:
                causes.append(
                    forbidden(
                        f"{p}.values",
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    )
                )
        else:
            causes.append(invalid(f"{p}.operator", _s(op), "not a valid selector operator"))
        key = _s(expr.get("key"))
        causes += _each(f"{p}.key", key, lbl.label_key_errors(key))
        for j, value in enumerate(values):
            causes += _each(f"{p}.values[{j}]", _s(value), lbl.label_value_errors(_s(value)))
    return causes


def go_label_selector(selector: Any) -> GoText:
    """A label selector object as Go's %#v prints a v1.LabelSelector."""
    if selector is None:
        return GoText("(*v1.LabelSelector)(nil)")
    sel = _d(selector)
    match_labels = sel.get("matchLabels")
    exprs = sel.get("matchExpressions")
    if exprs is None:
        rendered = "[]v1.LabelSelectorRequirement(nil)"
    else:
        items = []
        for e in _l(exprs):
            e = _d(e)
            values = e.get("values")
            items.append(
                f"v1.LabelSelectorRequirement{{Key:{json.dumps(_s(e.get('key')))}, "
                f"Operator:{json.dumps(_s(e.get('operator')))}, "
                f"Values:{go_string_list(values if isinstance(values, list) else None)}}}"
            )
        rendered = "[]v1.LabelSelectorRequirement{" + ", ".join(items) + "}"
    ml = go_string_map(match_labels if isinstance(match_labels, dict) else None)
    return GoText(f"v1.LabelSelector{{MatchLabels:{ml}, MatchExpressions:{rendered}}}")


def _owner_references(refs: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    controller = ""
    for ref in _l(refs):
        ref = _d(ref)
        api_version = _s(ref.get("apiVersion"))
        if not api_version.rpartition("/")[2]:
            causes.append(invalid(f"{path}.apiVersion", api_version, "version must not be empty"))
        for key in ("kind", "name", "uid"):
            if not _s(ref.get(key)):
                causes.append(invalid(f"{path}.{key}", "", "must not be empty"))
        if ref.get("controller") is True:
            current = f"{_s(ref.get('kind'))}/{_s(ref.get('name'))}"
            if controller:
                causes.append(
                    invalid(
                        path,
                        refs,
                        "Only one reference can have Controller set "
                        f'to true. Found "true" in references for {controller} '
                        f"and {current}",
                    )
                )
            else:
                controller = current
    return causes


def _finalizer_errors(name: str) -> list[str]:
    errs = lbl.label_key_errors(name)
    if not errs and "/" not in name and name not in _STANDARD_FINALIZERS:
        errs = ["name is neither a standard finalizer name nor is it fully qualified"]
    return errs


def validate_metadata(kind: str, obj: dict, name_check: NameCheck) -> list[Cause]:
    """ObjectMeta on create (the server has already filled in a generated name)."""
    md = _d(obj.get("metadata"))
    causes: list[Cause] = []
    generate_name = _s(md.get("generateName"))
    if generate_name:
        causes += _each(
            "metadata.generateName", generate_name, name_check(_mask_trailing_dash(generate_name))
        )
    name = _s(md.get("name"))
    if not name:
        causes.append(required("metadata.name", "name or generateName is required"))
    else:
        causes += _each("metadata.name", name, name_check(name))
    resource = by_kind(kind)
    if resource is not None and resource.namespaced:
        namespace = _s(md.get("namespace"))
        if not namespace:
            causes.append(required("metadata.namespace"))
        else:
            causes += _each("metadata.namespace", namespace, lbl.dns1123_label_errors(namespace))
    causes += _nonnegative("metadata.generation", md.get("generation"))
    causes += validate_labels(md.get("labels"), "metadata.labels")
    causes += validate_annotations(md.get("annotations"), "metadata.annotations")
    causes += _owner_references(md.get("ownerReferences"), "metadata.ownerReferences")
    finalizers = [_s(f) for f in _l(md.get("finalizers"))]
    for i, fin in enumerate(finalizers):
        causes += _each(f"metadata.finalizers[{i}]", fin, _finalizer_errors(fin))
    if "orphan" in finalizers and "foregroundDeletion" in finalizers:
        causes.append(
            invalid(
                "metadata.finalizers",
                finalizers,
                "finalizer orphan and foregroundDeletion cannot be both set",
            )
        )
    return causes


def _metadata_update(new: dict, old: dict) -> list[Cause]:
    nmd, omd = _d(new.get("metadata")), _d(old.get("metadata"))
    causes = [
        invalid(f"metadata.{k}", _s(nmd.get(k)), IMMUTABLE)
        for k in ("name", "namespace")
        if _s(nmd.get(k)) != _s(omd.get(k))
    ]
    if nmd.get("uid") and omd.get("uid") and nmd["uid"] != omd["uid"]:
        causes.append(invalid("metadata.uid", _s(nmd["uid"]), IMMUTABLE))
    return causes


# ---------------------------------------------------------------------------
# pod specs
# ---------------------------------------------------------------------------

_RESTART_POLICIES = ("Always", "OnFailure", "Never")
_DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_PROTOCOLS = ("SCTP", "TCP", "UDP")
_TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
_HOST_PATH_TYPES = (
    "",
    "BlockDevice",
    "CharDevice",
    "Directory",
    "DirectoryOrCreate",
    "File",
    "FileOrCreate",
    "Socket",
)
_TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
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


def port_name_errors(name: str) -> list[str]:
    """IANA_SVC_NAME rules (IsValidPortName)."""
    errs = []
    if len(name) > 15:
        errs.append(lbl.max_len_error(15))
    if not re.fullmatch(r"[-a-z0-9]+", name):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search(r"[a-z]", name):
        errs.append("must contain at least one letter (a-z)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if name.startswith("-") or name.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def _port_number(path: str, value: Any) -> list[Cause]:
    number = _int(value)
    return [] if number is not None and 1 <= number <= 65535 else [invalid(path, value, PORT_RANGE)]


def _port_num_or_name(path: str, value: Any) -> list[Cause]:
    """An IntOrString port: a number 1-65535 or an IANA port name."""
    if isinstance(value, str):
        return _each(path, value, port_name_errors(value))
    return _port_number(path, value)


def _container_ports(ports: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    names: set[str] = set()
    for i, port in enumerate(_l(ports)):
        p, port = f"{path}[{i}]", _d(port)
        name = _s(port.get("name"))
        if name:
            errs = port_name_errors(name)
            if errs:
                causes += _each(f"{p}.name", name, errs)
            elif name in names:
                causes.append(duplicate(f"{p}.name", name))
            names.add(name)
        if not port.get("containerPort"):
            causes.append(required(f"{p}.containerPort"))
        else:
            causes += _port_number(f"{p}.containerPort", port["containerPort"])
        if port.get("hostPort"):
            causes += _port_number(f"{p}.hostPort", port["hostPort"])
        causes += _enum(f"{p}.protocol", port.get("protocol"), _PROTOCOLS)
    return causes


def _env(env: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for i, var in enumerate(_l(env)):
        p, var = f"{path}[{i}]", _d(var)
        name = _s(var.get("name"))
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
        sources = [s for s in _ENV_SOURCES if _d(value_from).get(s) is not None]
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
        elif _s(var.get("value")):
            causes.append(invalid(vp, "", "may not be specified when `value` is not empty"))
        elif len(sources) > 1:
            causes.append(invalid(vp, "", "may not have more than one field specified at a time"))
        field_ref = _d(value_from).get("fieldRef")
        if isinstance(field_ref, dict):
            causes += _field_ref(field_ref, f"{vp}.fieldRef")
    return causes


def _field_ref(ref: dict, path: str) -> list[Cause]:
    if not _s(ref.get("apiVersion")):
        return [required(f"{path}.apiVersion")]
    field_path = _s(ref.get("fieldPath"))
    if not field_path:
        return [required(f"{path}.fieldPath")]
    subscripted = re.fullmatch(r"(metadata\.(?:labels|annotations))\['(.*)'\]", field_path)
    if subscripted:
        key = subscripted.group(2)
        key = key.lower() if subscripted.group(1).endswith("annotations") else key
        return _each(path, key, lbl.label_key_errors(key))
    if field_path not in _ENV_FIELD_PATHS:
        return [not_supported(f"{path}.fieldPath", field_path, sorted(_ENV_FIELD_PATHS))]
    return []


def _volume_mounts(mounts: Any, path: str, volumes: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    mount_paths: set[str] = set()
    for i, mount in enumerate(_l(mounts)):
        p, mount = f"{path}[{i}]", _d(mount)
        name, mount_path = _s(mount.get("name")), _s(mount.get("mountPath"))
        if not name:
            causes.append(required(f"{p}.name"))
        if name not in volumes:
            causes.append(not_found(f"{p}.name", name))
        if not mount_path:
            causes.append(required(f"{p}.mountPath"))
        if mount_path in mount_paths:
            causes.append(invalid(f"{p}.mountPath", mount_path, "must be unique"))
        mount_paths.add(mount_path)
        sub_path = _s(mount.get("subPath"))
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


def _resource_name_errors(name: str) -> list[str]:
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


def _quantity(path: str, value: Any, causes: list[Cause]) -> Decimal | None:
    """The parsed quantity; a cause is appended when it is bad or negative."""
    try:
        number = parse_quantity(value)
    except QuantityError:
        causes.append(invalid(path, _s(value), QUANTITY_ERROR))
        return None
    if number < 0:
        causes.append(invalid(path, _s(value), NEGATIVE))
    return number


def _resources(resources: Any, path: str) -> list[Cause]:
    res = _d(resources)
    limits, requests = _d(res.get("limits")), _d(res.get("requests"))
    causes: list[Cause] = []
    parsed_limits: dict[str, Decimal | None] = {}
    for name, value in limits.items():
        p = f"{path}.limits[{name}]"
        causes += _each(p, name, _resource_name_errors(name))
        parsed_limits[name] = _quantity(p, value, causes)
    for name, value in requests.items():
        p = f"{path}.requests[{name}]"
        causes += _each(p, name, _resource_name_errors(name))
        request = _quantity(p, value, causes)
        if name in limits:
            limit = parsed_limits[name]
            if request is None or limit is None:
                continue
            if not _overcommit_allowed(name) and request != limit:
                causes.append(
                    invalid(
                        f"{path}.requests",
                        _s(value),
                        f"must be equal to {name} limit of {_s(limits[name])}",
                    )
                )
            elif request > limit:
                causes.append(
                    invalid(
                        f"{path}.requests",
                        _s(value),
                        f"must be less than or equal to {name} limit of {_s(limits[name])}",
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
    kind, action = present[0], _d(handler[present[0]])
    p = f"{path}.{kind}"
    if kind == "exec" and not _l(action.get("command")):
        causes.append(required(f"{p}.command"))
    elif kind == "httpGet":
        if not _s(action.get("path")):
            causes.append(required(f"{p}.path"))
        causes += _port_num_or_name(f"{p}.port", action.get("port"))
        scheme = action.get("scheme")
        if scheme is not None and scheme not in ("HTTP", "HTTPS"):
            causes.append(not_supported(f"{p}.scheme", scheme, ("HTTP", "HTTPS")))
    elif kind == "tcpSocket":
        causes += _port_num_or_name(f"{p}.port", action.get("port"))
    elif kind == "grpc":
        causes += _port_number(f"{p}.port", action.get("port"))
    elif kind == "sleep":
        seconds = _int(action.get("seconds"))
        if seconds is None or seconds <= 0:
            causes.append(invalid(f"{p}.seconds", action.get("seconds"), "must be greater than 0"))
    return causes


def _probe(probe: Any, path: str, which: str) -> list[Cause]:
    if probe is None:
        return []
    probe = _d(probe)
    causes = _handler(probe, path, _PROBE_HANDLERS)
    for key in _PROBE_NUMBERS:
        causes += _nonnegative(f"{path}.{key}", probe.get(key))
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
        elif _int(grace) is not None and grace <= 0:
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
        handler = _d(lifecycle).get(hook)
        if handler is not None:
            causes += _handler(_d(handler), f"{path}.{hook}", _LIFECYCLE_HANDLERS)
    return causes


def _container_common(c: dict, path: str, volumes: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    name = _s(c.get("name"))
    if not name:
        causes.append(required(f"{path}.name"))
    else:
        causes += _each(f"{path}.name", name, lbl.dns1123_label_errors(name))
    if not _s(c.get("image")):
        causes.append(required(f"{path}.image"))
    causes += _enum(
        f"{path}.terminationMessagePolicy",
        c.get("terminationMessagePolicy"),
        _TERMINATION_MESSAGE_POLICIES,
    )
    causes += _container_ports(c.get("ports"), f"{path}.ports")
    causes += _env(c.get("env"), f"{path}.env")
    causes += _volume_mounts(c.get("volumeMounts"), f"{path}.volumeMounts", volumes)
    causes += _enum(f"{path}.imagePullPolicy", c.get("imagePullPolicy"), _PULL_POLICIES)
    causes += _resources(c.get("resources"), f"{path}.resources")
    return causes


def _containers(spec: dict, path: str, volumes: set[str], is_pod: bool) -> list[Cause]:
    causes: list[Cause] = []
    containers = [_d(c) for c in _l(spec.get("containers"))]
    if not containers:
        causes.append(required(f"{path}.containers"))
    names: set[str] = set()
    for i, c in enumerate(containers):
        p = f"{path}.containers[{i}]"
        causes += _container_common(c, p, volumes)
        name = _s(c.get("name"))
        if name in names:
            causes.append(duplicate(f"{p}.name", name))
        names.add(name)
        causes += _lifecycle(c.get("lifecycle"), f"{p}.lifecycle") if c.get("lifecycle") else []
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            causes += _probe(c.get(probe), f"{p}.{probe}", probe)
        if c.get("restartPolicy") is not None:
            causes.append(forbidden(f"{p}.restartPolicy", "may not be set for non-init containers"))
    for i, c in enumerate(_d(c) for c in _l(spec.get("initContainers"))):
        p = f"{path}.initContainers[{i}]"
        causes += _container_common(c, p, volumes)
        name = _s(c.get("name"))
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
            for i, c in enumerate(_l(spec.get(key))):
                image = _s(_d(c).get("image"))
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
    kind, src = sources[0], _d(volume[sources[0]])
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
        host_path = _s(src.get("path"))
        if not host_path:
            causes.append(required(f"{p}.path"))
        else:
            if ".." in host_path.split("/"):
                causes.append(invalid(f"{p}.path", host_path, "must not contain '..'"))
            if src.get("type") is not None and src["type"] not in _HOST_PATH_TYPES:
                causes.append(not_supported(f"{p}.type", src["type"], _HOST_PATH_TYPES))
    else:
        required_key = {
            "configMap": "name",
            "secret": "secretName",
            "persistentVolumeClaim": "claimName",
        }.get(kind)
        if required_key and not _s(src.get(required_key)):
            causes.append(required(f"{p}.{required_key}"))
    return causes


def _volumes(volumes: Any, path: str) -> tuple[set[str], list[Cause]]:
    """The names of valid volumes (mounts may refer to them) and the causes."""
    names: set[str] = set()
    causes: list[Cause] = []
    for i, volume in enumerate(_l(volumes)):
        p, volume = f"{path}[{i}]", _d(volume)
        errs = _volume_source(volume, p)
        name = _s(volume.get("name"))
        if not name:
            errs.append(required(f"{p}.name"))
        else:
            errs += _each(f"{p}.name", name, lbl.dns1123_label_errors(name))
        if name in names:
            errs.append(duplicate(f"{p}.name", name))
        if errs:
            causes += errs
        else:
            names.add(name)
    return names, causes


def _tolerations(tolerations: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for i, tol in enumerate(_l(tolerations)):
        p, tol = f"{path}[{i}]", _d(tol)
        key, op = _s(tol.get("key")), _s(tol.get("operator"))
        value, effect = _s(tol.get("value")), _s(tol.get("effect"))
        if key:
            causes += _each(f"{p}.key", key, lbl.label_key_errors(key))
        if not key and op != "Exists":
            causes.append(
                invalid(
                    f"{p}.operator",
                    op,
                    "operator must be Exists when `key` is "
                    'empty, which means "match all values and all keys"',
                )
            )
        if tol.get("tolerationSeconds") is not None and effect != "NoExecute":
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
        if effect and effect not in _TAINT_EFFECTS:
            causes.append(not_supported(f"{p}.effect", effect, _TAINT_EFFECTS))
    return causes


def _host_ports(spec: dict, path: str, is_pod: bool) -> list[Cause]:
    causes: list[Cause] = []
    seen: set[str] = set()
    for i, c in enumerate(_l(spec.get("containers"))):
        for j, port in enumerate(_l(_d(c).get("ports"))):
            port = _d(port)
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
                key = f"{_s(port.get('protocol'))}/{_s(port.get('hostIP'))}/{host_port}"
                if key in seen:
                    causes.append(duplicate(p, key))
                seen.add(key)
    return causes


def validate_pod_spec(spec: Any, path: str, *, is_pod: bool = True) -> list[Cause]:
    """A PodSpec at `path` ("spec" for pods, "spec.template.spec" for templates)."""
    spec = _d(spec)
    causes: list[Cause] = []
    if spec.get("terminationGracePeriodSeconds") is None:
        causes.append(required(f"{path}.terminationGracePeriodSeconds"))
    volumes, volume_causes = _volumes(spec.get("volumes"), f"{path}.volumes")
    causes += volume_causes
    causes += _containers(spec, path, volumes, is_pod)
    causes += _host_ports(spec, path, is_pod)
    causes += _enum(f"{path}.restartPolicy", spec.get("restartPolicy"), _RESTART_POLICIES)
    causes += _enum(f"{path}.dnsPolicy", spec.get("dnsPolicy"), _DNS_POLICIES)
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
        value = _s(spec.get(key))
        if value:
            causes += _each(f"{path}.{key}", value, check(value))
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and not (_int(deadline) is not None and 1 <= deadline <= MAX_INT32):
        causes.append(
            invalid(
                f"{path}.activeDeadlineSeconds",
                deadline,
                f"must be between 1 and {MAX_INT32}, inclusive",
            )
        )
    causes += _tolerations(spec.get("tolerations"), f"{path}.tolerations")
    return causes


def _pod(obj: dict) -> list[Cause]:
    return validate_pod_spec(obj.get("spec"), "spec", is_pod=True)


def _comparable(value: Any) -> Any:
    """Drop what Kubernetes' semantic equality treats as unset (null, empty, zero)."""
    if isinstance(value, dict):
        out = {k: _comparable(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [], "", False, 0)}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
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


def _pod_update(new: dict, old: dict) -> list[Cause]:
    """What a pod update may change: images, activeDeadlineSeconds (down only),
    tolerations (additions), schedulingGates (removals)."""
    nspec, ospec = _d(new.get("spec")), _d(old.get("spec"))
    causes: list[Cause] = []
    for key in ("containers", "initContainers"):
        if len(_l(nspec.get(key))) != len(_l(ospec.get(key))):
            return [forbidden(f"spec.{key}", "pod updates may not add or remove containers")]
    new_deadline, old_deadline = (
        nspec.get("activeDeadlineSeconds"),
        ospec.get("activeDeadlineSeconds"),
    )
    if new_deadline is not None:
        if _int(new_deadline) is None or not 0 <= new_deadline <= MAX_INT32:
            return [
                invalid(
                    "spec.activeDeadlineSeconds",
                    new_deadline,
                    f"must be between 0 and {MAX_INT32}, inclusive",
                )
            ]
        if _int(old_deadline) is not None and old_deadline < new_deadline:
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
        return _comparable({k: v for k, v in _d(tol).items() if k != "tolerationSeconds"})

    new_tols = [without_seconds(t) for t in _l(nspec.get("tolerations"))]
    if any(without_seconds(t) not in new_tols for t in _l(ospec.get("tolerations"))):
        causes.append(
            forbidden(
                "spec.tolerations",
                "existing toleration can not be modified except its tolerationSeconds",
            )
        )
    old_gates = {_s(_d(g).get("name")) for g in _l(ospec.get("schedulingGates"))}
    for i, gate in enumerate(_l(nspec.get("schedulingGates"))):
        name = _s(_d(gate).get("name"))
        if name not in old_gates:
            causes.append(
                forbidden(
                    f"spec.schedulingGates[{i}].name",
                    f"only deletion is allowed, but found new scheduling gate '{name}'",
                )
            )

    munged = copy.deepcopy(nspec)
    for key in ("containers", "initContainers"):
        for mc, oc in zip(_l(munged.get(key)), _l(ospec.get(key)), strict=True):
            if isinstance(mc, dict):
                mc["image"] = _d(oc).get("image")
    for key in ("activeDeadlineSeconds", "tolerations", "schedulingGates"):
        munged[key] = ospec.get(key)
    old_grace = _int(ospec.get("terminationGracePeriodSeconds"))
    if old_grace is not None and old_grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    before, after = _comparable(ospec), _comparable(munged)
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


# ---------------------------------------------------------------------------
# workloads
# ---------------------------------------------------------------------------


def _int_or_percent(path: str, value: Any) -> tuple[int, list[Cause]]:
    """(numeric value, causes) for a maxSurge/maxUnavailable; bad strings count as 0."""
    if isinstance(value, str):
        if re.fullmatch(r"[0-9]+%", value):
            return int(value[:-1]), []
        return 0, [
            invalid(
                path,
                value,
                lbl.regex_error(
                    "a valid percent string must be a numeric string followed by an ending '%'",
                    "[0-9]+%",
                    "1%",
                    "93%",
                ),
            )
        ]
    number = _int(value)
    if number is None:
        return 0, [invalid(path, value, "must be an integer or percentage (e.g '5%')")]
    return number, _nonnegative(path, number)


def _strategy(strategy: Any, path: str) -> list[Cause]:
    strategy = _d(strategy)
    kind = strategy.get("type")
    rolling = strategy.get("rollingUpdate")
    if kind == "Recreate":
        if rolling is not None:
            return [
                forbidden(
                    f"{path}.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'",
                )
            ]
        return []
    if kind != "RollingUpdate":
        return [not_supported(f"{path}.type", kind, ("Recreate", "RollingUpdate"))]
    if rolling is None:
        return [required(f"{path}.rollingUpdate", "this should be defaulted and never be nil")]
    rp = f"{path}.rollingUpdate"
    rolling = _d(rolling)
    unavailable, causes = _int_or_percent(f"{rp}.maxUnavailable", rolling.get("maxUnavailable"))
    surge, surge_causes = _int_or_percent(f"{rp}.maxSurge", rolling.get("maxSurge"))
    causes += surge_causes
    if unavailable == 0 and surge == 0:
        causes.append(
            invalid(
                f"{rp}.maxUnavailable",
                rolling.get("maxUnavailable"),
                "may not be 0 when `maxSurge` is 0",
            )
        )
    max_unavailable = rolling.get("maxUnavailable")
    if isinstance(max_unavailable, str) and max_unavailable.endswith("%") and unavailable > 100:
        causes.append(
            invalid(f"{rp}.maxUnavailable", max_unavailable, "must not be greater than 100%")
        )
    return causes


def _workload(obj: dict, is_deployment: bool) -> list[Cause]:
    """Deployment and ReplicaSet specs: selector, template, counts, strategy."""
    spec = _d(obj.get("spec"))
    causes = _nonnegative("spec.replicas", spec.get("replicas"))
    causes += _nonnegative("spec.minReadySeconds", spec.get("minReadySeconds"))
    selector = spec.get("selector")
    if selector is None:
        causes.append(required("spec.selector"))
    else:
        causes += validate_label_selector(selector, "spec.selector")
        sel = _d(selector)
        if not _d(sel.get("matchLabels")) and not _l(sel.get("matchExpressions")):
            causes.append(
                invalid(
                    "spec.selector",
                    go_label_selector(selector),
                    "empty selector is invalid for deployment",
                )
            )
    try:
        matcher: lbl.LabelSelector | None = lbl.from_label_selector(selector)
    except ApiError:
        matcher = None
        causes.append(
            invalid("spec.selector", go_label_selector(selector), "invalid label selector")
        )
    template = _d(spec.get("template"))
    template_md = _d(template.get("metadata"))
    template_labels = template_md.get("labels")
    if matcher is not None and not matcher.empty and not matcher.matches(_d(template_labels)):
        shown = GoText(
            go_string_map(template_labels if isinstance(template_labels, dict) else None)
        )
        causes.append(
            invalid(
                "spec.template.metadata.labels",
                shown,
                "`selector` does not match template `labels`",
            )
        )
    causes += validate_labels(template_labels, "spec.template.metadata.labels")
    causes += validate_annotations(
        template_md.get("annotations"), "spec.template.metadata.annotations"
    )
    pod_spec = _d(template.get("spec"))
    causes += validate_pod_spec(pod_spec, "spec.template.spec", is_pod=False)
    restart = pod_spec.get("restartPolicy")
    if restart not in (None, "", "Always"):
        causes.append(not_supported("spec.template.spec.restartPolicy", restart, ["Always"]))
    if pod_spec.get("activeDeadlineSeconds") is not None:
        causes.append(
            forbidden(
                "spec.template.spec.activeDeadlineSeconds",
                "activeDeadlineSeconds in ReplicaSet is not Supported",
            )
        )
    if is_deployment:
        causes += _strategy(spec.get("strategy"), "spec.strategy")
        causes += _nonnegative("spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
        deadline = _int(spec.get("progressDeadlineSeconds"))
        if deadline is not None:
            causes += _nonnegative("spec.progressDeadlineSeconds", deadline)
            if deadline <= (_int(spec.get("minReadySeconds")) or 0):
                causes.append(
                    invalid(
                        "spec.progressDeadlineSeconds",
                        deadline,
                        "must be greater than minReadySeconds",
                    )
                )
    return causes


def _selector_update(new: dict, old: dict) -> list[Cause]:
    """apps/v1 workload selectors cannot change (nil and empty maps count as equal)."""
    new_sel, old_sel = _d(new.get("spec")).get("selector"), _d(old.get("spec")).get("selector")
    if _comparable(_d(new_sel)) != _comparable(_d(old_sel)) or (new_sel is None) != (
        old_sel is None
    ):
        return [invalid("spec.selector", go_label_selector(new_sel), IMMUTABLE)]
    return []


# ---------------------------------------------------------------------------
# services and endpoints
# ---------------------------------------------------------------------------

_SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")


def _cluster_ips(spec: dict) -> list[str]:
    ips = [_s(ip) for ip in _l(spec.get("clusterIPs"))]
    if not ips and _s(spec.get("clusterIP")):
        ips = [_s(spec.get("clusterIP"))]
    return ips


def _service_port(port: dict, path: str, require_name: bool, names: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    name = _s(port.get("name"))
    if require_name and not name:
        causes.append(required(f"{path}.name"))
    elif name:
        causes += _each(f"{path}.name", name, lbl.dns1123_label_errors(name))
        if name in names:
            causes.append(duplicate(f"{path}.name", name))
        names.add(name)
    causes += _port_number(f"{path}.port", port.get("port"))
    causes += _enum(f"{path}.protocol", port.get("protocol"), _PROTOCOLS)
    causes += _port_num_or_name(f"{path}.targetPort", port.get("targetPort"))
    return causes


def _service_cluster_ips(spec: dict) -> list[Cause]:
    causes: list[Cause] = []
    cluster_ip, ips = _s(spec.get("clusterIP")), [_s(i) for i in _l(spec.get("clusterIPs"))]
    if cluster_ip and ips and ips[0] != cluster_ip:
        causes.append(invalid("spec.clusterIPs", ips, "first value must match `clusterIP`"))
    elif not cluster_ip and ips:
        causes.append(
            invalid("spec.clusterIPs", ips, "must be empty when `clusterIP` is not specified")
        )
    seen: set[str] = set()
    for i, family in enumerate(_l(spec.get("ipFamilies"))):
        if family not in ("IPv4", "IPv6"):
            causes.append(not_supported(f"spec.ipFamilies[{i}]", family, ("IPv4", "IPv6")))
        if family in seen:
            causes.append(duplicate(f"spec.ipFamilies[{i}]", family))
        seen.add(family)
    policy = spec.get("ipFamilyPolicy")
    policies = ("PreferDualStack", "RequireDualStack", "SingleStack")
    if policy is not None and policy not in policies:
        causes.append(not_supported("spec.ipFamilyPolicy", policy, policies))
    for i, ip in enumerate(_cluster_ips(spec)):
        if i == 0 and ip == "None":
            if len(_cluster_ips(spec)) > 1:
                causes.append(
                    invalid(
                        "spec.clusterIPs",
                        _cluster_ips(spec),
                        "'None' must be the first and only value",
                    )
                )
        elif not _is_ip(ip):
            causes.append(invalid(f"spec.clusterIPs[{i}]", ip, IP_ERROR))
    if len(_cluster_ips(spec)) > 2:
        causes.append(
            invalid("spec.clusterIPs", _cluster_ips(spec), "may only hold up to 2 values")
        )
    return causes


def _service(obj: dict) -> list[Cause]:
    spec = _d(obj.get("spec"))
    svc_type = spec.get("type")
    ports = [_d(p) for p in _l(spec.get("ports"))]
    ips = _cluster_ips(spec)
    headless = ips == ["None"]
    causes: list[Cause] = []
    if not ports and not headless and svc_type != "ExternalName":
        causes.append(required("spec.ports"))
    if svc_type in ("LoadBalancer", "NodePort") and headless:
        causes.append(
            invalid(
                "spec.clusterIPs[0]", "None", f"may not be set to 'None' for {svc_type} services"
            )
        )
    if svc_type == "ExternalName":
        for key in ("clusterIPs", "ipFamilies"):
            if _l(spec.get(key)) or (key == "clusterIPs" and ips):
                causes.append(forbidden(f"spec.{key}", "may not be set for ExternalName services"))
        if spec.get("ipFamilyPolicy") is not None:
            causes.append(
                forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services")
            )
        cname = _s(spec.get("externalName")).removesuffix(".")
        if cname:
            causes += _each("spec.externalName", cname, lbl.dns1123_subdomain_errors(cname))
        else:
            causes.append(required("spec.externalName"))
    names: set[str] = set()
    for i, port in enumerate(ports):
        causes += _service_port(port, f"spec.ports[{i}]", len(ports) > 1, names)
    if spec.get("selector") is not None:
        causes += validate_labels(spec.get("selector"), "spec.selector")
    affinity = spec.get("sessionAffinity")
    causes += _enum("spec.sessionAffinity", affinity, ("ClientIP", "None"))
    config = spec.get("sessionAffinityConfig")
    if affinity == "ClientIP":
        timeout = _d(_d(config).get("clientIP")).get("timeoutSeconds")
        if _int(timeout) is None or not 0 < timeout <= 86400:
            causes.append(
                invalid(
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                    timeout,
                    "must be greater than 0 and less than 86400",
                )
            )
    elif affinity == "None" and config is not None:
        causes.append(
            forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None")
        )
    if svc_type != "ExternalName":
        causes += _service_cluster_ips(spec)
    for i, ip in enumerate(_l(spec.get("externalIPs"))):
        if not _is_ip(_s(ip)):
            causes.append(invalid(f"spec.externalIPs[{i}]", _s(ip), IP_ERROR))
    causes += _enum("spec.type", svc_type, _SERVICE_TYPES)
    node_ports: set[tuple[str, int]] = set()
    port_keys: set[tuple[str, Any]] = set()
    for i, port in enumerate(ports):
        node_port = port.get("nodePort")
        if node_port:
            if svc_type == "ClusterIP":
                causes.append(
                    forbidden(
                        f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'"
                    )
                )
            key = (_s(port.get("protocol")), node_port)
            if key in node_ports:
                causes.append(duplicate(f"spec.ports[{i}].nodePort", node_port))
            node_ports.add(key)
        port_key = (_s(port.get("protocol")), port.get("port"))
        if port_key in port_keys:
            causes.append(
                duplicate(f"spec.ports[{i}]", {"port": port.get("port"), "protocol": port_key[0]})
            )
        port_keys.add(port_key)
    ranges = _l(spec.get("loadBalancerSourceRanges"))
    if ranges and svc_type != "LoadBalancer":
        causes.append(
            forbidden(
                "spec.loadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'"
            )
        )
    for i, cidr in enumerate(ranges):
        if not _is_cidr(_s(cidr).strip()):
            causes.append(invalid(f"spec.loadBalancerSourceRanges[{i}]", _s(cidr), CIDR_ERROR))
    allocate = spec.get("allocateLoadBalancerNodePorts")
    if allocate is not None and svc_type != "LoadBalancer":
        causes.append(
            forbidden(
                "spec.allocateLoadBalancerNodePorts",
                "may only be used when `type` is 'LoadBalancer'",
            )
        )
    if svc_type == "LoadBalancer" and allocate is None:
        causes.append(required("spec.allocateLoadBalancerNodePorts"))
    external = svc_type in ("NodePort", "LoadBalancer") or (
        svc_type == "ClusterIP" and bool(_l(spec.get("externalIPs")))
    )
    etp = spec.get("externalTrafficPolicy")
    if external:
        causes += _enum("spec.externalTrafficPolicy", etp, ("Cluster", "Local"))
    elif etp not in (None, ""):
        causes.append(
            invalid(
                "spec.externalTrafficPolicy",
                etp,
                "may only be set for externally-accessible services",
            )
        )
    itp = spec.get("internalTrafficPolicy")
    if itp is None and svc_type in ("ClusterIP", "NodePort", "LoadBalancer"):
        causes.append(required("spec.internalTrafficPolicy"))
    elif itp is not None and itp not in ("Cluster", "Local"):
        causes.append(not_supported("spec.internalTrafficPolicy", itp, ("Cluster", "Local")))
    return causes


def _service_update(new: dict, old: dict) -> list[Cause]:
    """An allocated cluster IP may not change (it may be set once, from empty)."""
    nspec, ospec = _d(new.get("spec")), _d(old.get("spec"))
    if "ExternalName" in (nspec.get("type"), ospec.get("type")):
        return []
    new_ips, old_ips = _cluster_ips(nspec), _cluster_ips(ospec)
    if not new_ips or (new_ips == ["None"] and old_ips == ["None"]):
        return []  # none given: the server keeps the allocated one, as Kubernetes does
    path = "spec.clusterIPs"
    if len(new_ips) == len(old_ips):
        return [
            invalid(f"{path}[{i}]", new_ips, "may not change once set")
            for i, ip in enumerate(old_ips)
            if ip != new_ips[i]
        ]
    if len(old_ips) > len(new_ips):
        if new_ips[0] != old_ips[0]:
            return [invalid(f"{path}[0]", new_ips, "may not change once set")]
        return []
    if old_ips and new_ips[0] != old_ips[0]:
        return [invalid(f"{path}[0]", new_ips, "may not change once set")]
    return []


def _endpoints(obj: dict) -> list[Cause]:
    causes: list[Cause] = []
    for i, subset in enumerate(_l(obj.get("subsets"))):
        p, subset = f"subsets[{i}]", _d(subset)
        if not _l(subset.get("addresses")) and not _l(subset.get("notReadyAddresses")):
            causes.append(required(p, "must specify `addresses` or `notReadyAddresses`"))
        for key in ("addresses", "notReadyAddresses"):
            for j, address in enumerate(_l(subset.get(key))):
                ap, address = f"{p}.{key}[{j}]", _d(address)
                ip = _s(address.get("ip"))
                if not ip:
                    causes.append(required(f"{ap}.ip"))
                elif not _is_ip(ip):
                    causes.append(invalid(f"{ap}.ip", ip, IP_ERROR))
                hostname = _s(address.get("hostname"))
                if hostname:
                    causes += _each(f"{ap}.hostname", hostname, lbl.dns1123_label_errors(hostname))
                node = address.get("nodeName")
                if node is not None:
                    causes += _each(
                        f"{ap}.nodeName", _s(node), lbl.dns1123_subdomain_errors(_s(node))
                    )
        ports = [_d(port) for port in _l(subset.get("ports"))]
        for j, port in enumerate(ports):
            pp = f"{p}.ports[{j}]"
            name = _s(port.get("name"))
            if len(ports) > 1 and not name:
                causes.append(required(f"{pp}.name"))
            elif name:
                causes += _each(f"{pp}.name", name, lbl.dns1123_label_errors(name))
            causes += _port_number(f"{pp}.port", port.get("port"))
            causes += _enum(f"{pp}.protocol", port.get("protocol"), _PROTOCOLS)
    return causes


# ---------------------------------------------------------------------------
# endpoint slices (pkg/apis/discovery/validation)
# ---------------------------------------------------------------------------

_ADDRESS_TYPES = ("FQDN", "IPv4", "IPv6")
MAX_SLICE_ENDPOINTS = 1000
MAX_ENDPOINT_ADDRESSES = 100
MAX_SLICE_PORTS = 20000
MAX_TOPOLOGY_LABELS = 16
MAX_ZONE_HINTS = 8


def too_many(path: str, actual: int, limit: int) -> Cause:
    items = "item" if limit == 1 else "items"
    return cause(
        "FieldValueTooMany", path, f"Too many: {actual}: must have at most {limit} {items}"
    )


def _fqdn(path: str, name: str) -> list[Cause]:
    """IsFullyQualifiedDomainName."""
    name = name.removesuffix(".")
    if not name:
        return [required(path)]
    errs = lbl.dns1123_subdomain_errors(name)
    if errs:
        return [invalid(path, name, ",".join(errs))]
    if len(name.split(".")) < 2:
        return [
            invalid(path, name, "should be a domain with at least two segments separated by dots")
        ]
    for label in name.split("."):
        if errs := lbl.dns1123_label_errors(label):
            return [invalid(path, label, ",".join(errs))]
    return []


def _slice_address(path: str, address: str, address_type: str) -> list[Cause]:
    """Addresses of a known type must be of that type; others are not checked. (Unlike
    Kubernetes, loopback addresses are allowed: a minik node's address may be one.)"""
    if address_type in ("IPv4", "IPv6"):
        version = 4 if address_type == "IPv4" else 6
        try:
            ok = ipaddress.ip_address(address).version == version
        except ValueError:
            ok = False
        return [] if ok else [invalid(path, address, f"must be a valid {address_type} address")]
    return _fqdn(path, address) if address_type == "FQDN" else []


def _slice_endpoint(endpoint: dict, path: str, address_type: str) -> list[Cause]:
    causes: list[Cause] = []
    addresses = [_s(a) for a in _l(endpoint.get("addresses"))]
    if not addresses:
        causes.append(required(f"{path}.addresses", "must contain at least 1 address"))
    elif len(addresses) > MAX_ENDPOINT_ADDRESSES:
        causes.append(too_many(f"{path}.addresses", len(addresses), MAX_ENDPOINT_ADDRESSES))
    for i, address in enumerate(addresses):
        causes += _slice_address(f"{path}.addresses[{i}]", address, address_type)
    node = endpoint.get("nodeName")
    if node is not None:
        causes += _each(f"{path}.nodeName", _s(node), lbl.dns1123_subdomain_errors(_s(node)))
    topology = _d(endpoint.get("deprecatedTopology"))
    if len(topology) > MAX_TOPOLOGY_LABELS:
        causes.append(too_many(f"{path}.deprecatedTopology", len(topology), MAX_TOPOLOGY_LABELS))
    causes += validate_labels(topology, f"{path}.deprecatedTopology")
    hostname = endpoint.get("hostname")
    if hostname is not None:
        causes += _each(f"{path}.hostname", _s(hostname), lbl.dns1123_label_errors(_s(hostname)))
    zones = _l(_d(endpoint.get("hints")).get("forZones"))
    if len(zones) > MAX_ZONE_HINTS:
        return [*causes, too_many(f"{path}.hints.forZones", len(zones), MAX_ZONE_HINTS)]
    seen: set[str] = set()
    for i, zone in enumerate(zones):
        zp, name = f"{path}.hints.forZones[{i}].name", _s(_d(zone).get("name"))
        if name in seen:
            causes.append(duplicate(zp, name))
        seen.add(name)
        causes += _each(zp, name, lbl.label_value_errors(name))
    return causes


def _slice_ports(ports: list, path: str) -> list[Cause]:
    if len(ports) > MAX_SLICE_PORTS:
        return [too_many(path, len(ports), MAX_SLICE_PORTS)]
    causes: list[Cause] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        p, port = f"{path}[{i}]", _d(port)
        name = _s(port.get("name"))
        if name:
            causes += _each(f"{p}.name", name, lbl.dns1123_label_errors(name))
        if name in names:
            causes.append(duplicate(f"{p}.name", name))
        names.add(name)
        protocol = port.get("protocol")
        if protocol is None:
            causes.append(required(f"{p}.protocol"))
        elif protocol not in _PROTOCOLS:
            causes.append(not_supported(f"{p}.protocol", protocol, _PROTOCOLS))
        app_protocol = port.get("appProtocol")
        if app_protocol is not None:
            causes += _each(
                f"{p}.appProtocol", _s(app_protocol), lbl.label_key_errors(_s(app_protocol))
            )
    return causes


def _endpointslice(obj: dict) -> list[Cause]:
    address_type = obj.get("addressType")
    causes = _enum("addressType", address_type, _ADDRESS_TYPES)
    endpoints = _l(obj.get("endpoints"))
    if len(endpoints) > MAX_SLICE_ENDPOINTS:
        causes.append(too_many("endpoints", len(endpoints), MAX_SLICE_ENDPOINTS))
    else:
        for i, endpoint in enumerate(endpoints):
            causes += _slice_endpoint(_d(endpoint), f"endpoints[{i}]", _s(address_type))
    return causes + _slice_ports(_l(obj.get("ports")), "ports")


def _endpointslice_update(new: dict, old: dict) -> list[Cause]:
    if new.get("addressType") != old.get("addressType"):
        return [invalid("addressType", _s(new.get("addressType")), IMMUTABLE)]
    return []


# ---------------------------------------------------------------------------
# configmaps and secrets
# ---------------------------------------------------------------------------

MAX_SECRET_SIZE = 1024 * 1024  # core.MaxSecretSize, for ConfigMaps too
_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
_CONFIG_KEY_MSG = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
IMMUTABLE_WHEN_SET = "field is immutable when `immutable` is set"
# Secret type -> the data keys it requires (all of them, or, for basic-auth, either)
_SECRET_TYPE_KEYS = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}
_JSON_KEYS = (".dockerconfigjson", ".dockercfg")


def config_key_errors(key: str) -> list[str]:
    """apimachinery's IsConfigMapKey."""
    errs = []
    if len(key) > 253:
        errs.append(lbl.max_len_error(253))
    if not _CONFIG_KEY.fullmatch(key):
        errs.append(
            lbl.regex_error(_CONFIG_KEY_MSG, _CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name")
        )
    if key in (".", ".."):
        errs.append(f"must not be '{key}'")
    elif key.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def _config_keys(obj: dict, field: str) -> list[Cause]:
    causes = []
    for key in sorted(_d(obj.get(field))):
        causes += [invalid(f"{field}[{key}]", key, m) for m in config_key_errors(key)]
    return causes


def _configmap(obj: dict) -> list[Cause]:
    causes = _config_keys(obj, "data") + _config_keys(obj, "binaryData")
    binary = _d(obj.get("binaryData"))
    for key in sorted(_d(obj.get("data"))):
        if key in binary:
            causes.append(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
    if configdata.size("ConfigMap", obj) > MAX_SECRET_SIZE:
        causes.append(too_long("", MAX_SECRET_SIZE))
    return causes


def _secret(obj: dict) -> list[Cause]:
    causes = _config_keys(obj, "data")
    data = _d(obj.get("data"))
    if configdata.size("Secret", obj) > MAX_SECRET_SIZE:
        causes.append(too_long("data", MAX_SECRET_SIZE))
    kind = _s(obj.get("type"))
    if kind == "kubernetes.io/service-account-token":
        annotations = _d(_d(obj.get("metadata")).get("annotations"))
        if not _s(annotations.get("kubernetes.io/service-account.name")):
            causes.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
    elif kind == "kubernetes.io/basic-auth" and "username" not in data and "password" not in data:
        causes += [required("data[username]"), required("data[password]")]
    for key in _SECRET_TYPE_KEYS.get(kind, ()):
        if key not in data or (key == "ssh-privatekey" and not data[key]):
            causes.append(required(f"data[{key}]"))
        elif key in _JSON_KEYS:
            try:
                ok = isinstance(json.loads(configdata.decode(data[key]) or b"null"), dict)
            except ValueError as err:
                causes.append(invalid(f"data[{key}]", "<secret contents redacted>", str(err)))
                continue
            if not ok:
                causes.append(
                    invalid(
                        f"data[{key}]",
                        "<secret contents redacted>",
                        "json: cannot unmarshal into Go value of type map[string]interface {}",
                    )
                )
    return causes


def _immutable_data(new: dict, old: dict, fields: tuple[str, ...]) -> list[Cause]:
    if old.get("immutable") is not True:
        return []
    causes = []
    if new.get("immutable") is not True:
        causes.append(forbidden("immutable", IMMUTABLE_WHEN_SET))
    for field in fields:
        if (new.get(field) or {}) != (old.get(field) or {}):
            causes.append(forbidden(field, IMMUTABLE_WHEN_SET))
    return causes


def _configmap_update(new: dict, old: dict) -> list[Cause]:
    return _immutable_data(new, old, ("data", "binaryData"))


def _secret_update(new: dict, old: dict) -> list[Cause]:
    causes = []
    if new.get("type") != old.get("type"):
        causes.append(invalid("type", _s(new.get("type")), IMMUTABLE))
    return causes + _immutable_data(new, old, ("data",))


# ---------------------------------------------------------------------------
# nodes, namespaces, events, leases
# ---------------------------------------------------------------------------


def _node(obj: dict) -> list[Cause]:
    spec = _d(obj.get("spec"))
    causes: list[Cause] = []
    seen: set[tuple[str, str]] = set()
    for i, taint in enumerate(_l(spec.get("taints"))):
        p, taint = f"spec.taints[{i}]", _d(taint)
        key, value, effect = _s(taint.get("key")), _s(taint.get("value")), taint.get("effect")
        causes += _each(f"{p}.key", key, lbl.label_key_errors(key))
        errs = lbl.label_value_errors(value)
        if errs:
            causes.append(invalid(f"{p}.value", value, ";".join(errs)))
        causes += _enum(f"{p}.effect", effect, _TAINT_EFFECTS)
        if (key, _s(effect)) in seen:
            causes.append(duplicate(p, taint, "taints must be unique by key and effect pair"))
        seen.add((key, _s(effect)))
    cidrs = [_s(c) for c in _l(spec.get("podCIDRs"))]
    for i, cidr in enumerate(cidrs):
        if not _is_cidr(cidr):
            causes.append(invalid(f"spec.podCIDRs[{i}]", cidr, CIDR_ERROR))
    if _s(spec.get("podCIDR")) and not _is_cidr(_s(spec.get("podCIDR"))):
        causes.append(invalid("spec.podCIDR", _s(spec.get("podCIDR")), CIDR_ERROR))
    status = _d(obj.get("status"))
    for key in ("capacity", "allocatable"):
        for name, value in _d(status.get(key)).items():
            _quantity(f"status.{key}.{name}", value, causes)
    return causes


def _node_update(new: dict, old: dict) -> list[Cause]:
    nspec, ospec = _d(new.get("spec")), _d(old.get("spec"))
    causes: list[Cause] = []
    old_cidrs = _l(ospec.get("podCIDRs"))
    if old_cidrs and old_cidrs != _l(nspec.get("podCIDRs")):
        causes.append(
            forbidden(
                "spec.podCIDRs", 'node updates may not change podCIDR except from "" to valid'
            )
        )
    old_provider = _s(ospec.get("providerID"))
    if old_provider and old_provider != _s(nspec.get("providerID")):
        causes.append(
            forbidden(
                "spec.providerID", 'node updates may not change providerID except from "" to valid'
            )
        )
    return causes


def _namespace(obj: dict) -> list[Cause]:
    causes: list[Cause] = []
    for fin in _l(_d(obj.get("spec")).get("finalizers")):
        causes += _each("spec.finalizers", _s(fin), _finalizer_errors(_s(fin)))
    return causes


def _event(obj: dict) -> list[Cause]:
    """Kubernetes' legacy (core/v1) event rule: the event lives in its object's
    namespace ("default" or none for cluster-scoped objects)."""
    namespace = _s(_d(obj.get("metadata")).get("namespace"))
    involved = _s(_d(obj.get("involvedObject")).get("namespace"))
    if (not involved and namespace not in ("", "default")) or (involved and involved != namespace):
        return [invalid("involvedObject.namespace", involved, "does not match event.namespace")]
    return []


def _lease(obj: dict) -> list[Cause]:
    spec = _d(obj.get("spec"))
    causes: list[Cause] = []
    duration = _int(spec.get("leaseDurationSeconds"))
    if duration is not None and duration <= 0:
        causes.append(invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    causes += _nonnegative("spec.leaseTransitions", spec.get("leaseTransitions"))
    return causes


# ---------------------------------------------------------------------------
# dispatch
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class KindRules:
    name: NameCheck
    create: Callable[[dict], list[Cause]] | None = None
    update: Callable[[dict, dict], list[Cause]] | None = None


RULES: dict[str, KindRules] = {
    "Pod": KindRules(lbl.dns1123_subdomain_errors, _pod, _pod_update),
    "Service": KindRules(lbl.dns1035_label_errors, _service, _service_update),
    "Deployment": KindRules(
        lbl.dns1123_subdomain_errors, lambda o: _workload(o, True), _selector_update
    ),
    "ReplicaSet": KindRules(
        lbl.dns1123_subdomain_errors, lambda o: _workload(o, False), _selector_update
    ),
    "Endpoints": KindRules(lbl.dns1123_subdomain_errors, _endpoints),
    "Node": KindRules(lbl.dns1123_subdomain_errors, _node, _node_update),
    "Namespace": KindRules(lbl.dns1123_label_errors, _namespace),
    "Event": KindRules(lbl.dns1123_subdomain_errors, _event),
    "Lease": KindRules(lbl.dns1123_subdomain_errors, _lease),
    "EndpointSlice": KindRules(lbl.dns1123_subdomain_errors, _endpointslice, _endpointslice_update),
    "ConfigMap": KindRules(lbl.dns1123_subdomain_errors, _configmap, _configmap_update),
    "Secret": KindRules(lbl.dns1123_subdomain_errors, _secret, _secret_update),
}


def validate(kind: str, obj: dict, old: dict | None = None) -> list[Cause]:
    """Every problem with `obj` (after defaulting), [] when it is valid. With `old`, the
    update rules too (immutable fields, what a pod update may change). Identical causes
    are reported once, as Kubernetes' ToAggregate does."""
    rules = RULES.get(kind, KindRules(lbl.dns1123_subdomain_errors))
    obj = _d(obj)
    causes = validate_metadata(kind, obj, rules.name)
    if rules.create is not None:
        causes += rules.create(obj)
    if old is not None:
        causes += _metadata_update(obj, _d(old))
        if rules.update is not None:
            causes += rules.update(obj, _d(old))
    unique: list[Cause] = []
    for c in causes:
        if c not in unique:
            unique.append(c)
    return unique
