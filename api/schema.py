"""The official Kubernetes object schemas (api/schemas/definitions.json, generated from
the Kubernetes Python client's models by tools/gen_schemas.py), used to find fields
Kubernetes does not know (strict decoding), values of the wrong JSON type, and fields
minik stores but does not act on.

Paths are Kubernetes' strict-decoding spelling without the leading dot:
`spec.template.spec.containers[0].imagex`."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_FILE = Path(__file__).resolve().parent / "schemas" / "definitions.json"
# (definition -> property -> "int32" | "int64"), from Kubernetes' OpenAPI document
# (tools/gen_int_formats.py); an integer field not listed is an int64.
_INT_FORMATS = Path(__file__).resolve().parent / "schemas" / "intformats.json"
INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}

# Objects that travel on the wire but are not served resources.
_EXTRA_ROOTS = {
    "v1/Status": "V1Status",
    "meta.k8s.io/v1/Status": "V1Status",
    "v1/DeleteOptions": "V1DeleteOptions",
    "meta.k8s.io/v1/DeleteOptions": "V1DeleteOptions",
    "v1/Binding": "V1Binding",
    "autoscaling/v1/Scale": "V1Scale",
    "policy/v1/Eviction": "V1Eviction",
}

# (definition, property) holding Kubernetes Quantities. The generated schema types
# them as strings, but a Quantity also decodes from a JSON number (`cpu: 0.5`).
QUANTITY_FIELDS = frozenset(
    {
        ("V1ResourceRequirements", "limits"),
        ("V1ResourceRequirements", "requests"),
        ("V1VolumeResourceRequirements", "limits"),
        ("V1VolumeResourceRequirements", "requests"),
        ("V1NodeStatus", "capacity"),
        ("V1NodeStatus", "allocatable"),
        ("V1PodSpec", "overhead"),
        ("V1PodStatus", "allocatedResources"),
        ("V1ContainerStatus", "allocatedResources"),
        ("V1EmptyDirVolumeSource", "sizeLimit"),
        ("V1ResourceFieldSelector", "divisor"),
    }
)
# (definition, property) holding free-form JSON (the generator marks any `object` as
# int-or-string, which is right for IntOrString fields only).
FREE_FORM_FIELDS = frozenset(
    {
        ("V1ManagedFieldsEntry", "fieldsV1"),
        ("V1ControllerRevision", "data"),
        # a CRD's schema: JSON values and schema-or-bool / schema-or-array unions
        ("V1CustomResourceSubresources", "status"),
        ("V1JSONSchemaProps", "additionalItems"),
        ("V1JSONSchemaProps", "additionalProperties"),
        ("V1JSONSchemaProps", "default"),
        ("V1JSONSchemaProps", "dependencies"),
        ("V1JSONSchemaProps", "enum"),
        ("V1JSONSchemaProps", "example"),
        ("V1JSONSchemaProps", "items"),
    }
)


@functools.cache
def _data() -> dict[str, Any]:
    with _FILE.open(encoding="utf-8") as f:
        return json.load(f)


@functools.cache
def _int_formats() -> dict[str, dict[str, str]]:
    with _INT_FORMATS.open(encoding="utf-8") as f:
        return json.load(f)


def int_format(definition: str, prop: str) -> str:
    """The Go width of an integer field: "int32" (spec.replicas) or "int64"."""
    return _int_formats().get(definition, {}).get(prop, "int64")


def definitions() -> dict[str, dict]:
    """Definition name -> {type, description, properties, required} (loaded once)."""
    return _data()["definitions"]


def root_definition(api_version: str, kind: str) -> str | None:
    """The definition name of a top-level object, e.g. ("apps/v1", "Deployment") ->
    "V1Deployment"; None for a kind without a schema."""
    key = f"{api_version}/{kind}"
    name = _data()["roots"].get(key) or _EXTRA_ROOTS.get(key)
    return name if name in definitions() else None


# ---------------------------------------------------------------------------
# walking an object against its schema
# ---------------------------------------------------------------------------

_TYPE_NAMES = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


_NAME_OF_TYPE = {t: name for t, name in _TYPE_NAMES}


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value (bool before int: True is an int)."""
    if value is None:
        return "null"
    name = _NAME_OF_TYPE.get(type(value))  # what decoded JSON holds, at once
    if name is not None:
        return name
    return next((name for t, name in _TYPE_NAMES if isinstance(value, t)), "object")


@dataclass
class _Findings:
    unknown: list[str] = field(default_factory=list)
    type_causes: list[dict] = field(default_factory=list)

    def out_of_range(self, path: str, value: int, fmt: str) -> None:
        low, high = INT_RANGES[fmt]
        if value > high:
            bound = f"less than or equal to {high}"
        else:
            bound = f"greater than or equal to {low}"
        self.type_causes.append(
            {
                "field": path,
                "reason": "FieldValueInvalid",
                "message": f"Invalid value: {value}: {path} in body should be {bound} ({fmt})",
            }
        )

    def wrong_type(self, path: str, value: Any, want: str) -> None:
        got = json_type(value)
        message = f'Invalid value: "{got}": {path} in body must be of type {want}: "{got}"'
        self.type_causes.append(
            {"field": path, "reason": "FieldValueTypeInvalid", "message": message}
        )


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _scalar_ok(node: dict, value: Any, quantity: bool) -> str | None:
    """None when `value` fits the scalar schema `node`, else the wanted type name."""
    if quantity:
        return None if json_type(value) in ("string", "integer", "number") else "string"
    if node.get("x-kubernetes-int-or-string"):
        return None if json_type(value) in ("string", "integer") else "integer,string"
    want = node.get("type")
    have = json_type(value)
    if want is None or have == want or (want == "number" and have == "integer"):
        return None
    return want


def _walk(node: dict, value: Any, path: str, found: _Findings, where: tuple[str, str]) -> None:
    """Check `value` against the property schema `node`; `where` is (definition,
    property) of the field, for the quantity and free-form exceptions."""
    if value is None or where in FREE_FORM_FIELDS:
        return  # null is accepted for any optional field (creationTimestamp: null)
    quantity = where in QUANTITY_FIELDS
    if "$ref" in node:
        if not isinstance(value, dict):
            found.wrong_type(path, value, "object")
            return
        _walk_definition(node["$ref"], value, path, found)
    elif node.get("type") == "array":
        if not isinstance(value, list):
            found.wrong_type(path, value, "array")
            return
        items = node.get("items", {})
        for i, item in enumerate(value):
            if not _plain_fit(items, item):
                _walk(items, item, f"{path}[{i}]", found, where)
    elif node.get("type") == "object":
        if not isinstance(value, dict):
            found.wrong_type(path, value, "object")
            return
        values = node.get("additionalProperties")
        if values is not None:
            for key, item in value.items():
                _walk(values, item, f"{path}[{key}]", found, where if quantity else ("", ""))
    else:
        want = _scalar_ok(node, value, quantity)
        if want is not None:
            found.wrong_type(path, value, want)
        elif type(value) is int and node.get("type") == "integer" and not quantity:
            # Go decodes into an int32 or int64: a wider value must not be stored to
            # break every later reader (`kubectl describe`)
            fmt = int_format(*where)
            low, high = INT_RANGES[fmt]
            if not low <= value <= high:
                found.out_of_range(path, value, fmt)


# A scalar's Python type -> the schema type it plainly fits (an int: only when every
# integer format holds it)
_PLAIN_TYPES = {str: "string", bool: "boolean", int: "integer"}
_INT32 = INT_RANGES["int32"]


def _plain_fit(node: dict, value: Any) -> bool:
    """Whether `value` is a scalar of exactly `node`'s type that no check can flag (for
    a string or boolean, neither can a quantity or int-or-string field): most leaves,
    passed without building their path."""
    want = _PLAIN_TYPES.get(type(value))
    if want is None or node.get("type") != want:
        return False
    return want != "integer" or _INT32[0] <= value <= _INT32[1]


def _walk_definition(name: str, value: dict, path: str, found: _Findings) -> None:
    props = definitions().get(name, {}).get("properties") or {}
    for key, item in value.items():
        prop = props.get(key)
        if prop is None:
            found.unknown.append(_join(path, key))
        elif not _plain_fit(prop, item):
            _walk(prop, item, _join(path, key), found, (name, key))


def _check(api_version: str, kind: str, obj: Any) -> _Findings:
    found = _Findings()
    root = root_definition(api_version, kind)
    if root is not None and isinstance(obj, dict):
        _walk_definition(root, obj, "", found)
    return found


def check(api_version: str, kind: str, obj: Any) -> tuple[list[str], list[dict]]:
    """unknown_fields and type_errors from one walk of `obj` (the create path needs
    both)."""
    found = _check(api_version, kind, obj)
    return found.unknown, found.type_causes


def unknown_fields(api_version: str, kind: str, obj: Any) -> list[str]:
    """Paths of fields the Kubernetes schema does not have, e.g.
    ["spec.replicasx", "spec.template.spec.containers[0].imagex"]. Kubernetes'
    strict decoding reports each as `unknown field "<path>"`."""
    return _check(api_version, kind, obj).unknown


def type_errors(api_version: str, kind: str, obj: Any) -> list[dict]:
    """Causes for values of the wrong JSON type (`spec.replicas: "three"`), worded as
    Kubernetes' schema validation; [] when every value fits."""
    return _check(api_version, kind, obj).type_causes


def drop_nulls(api_version: str, kind: str, obj: Any) -> Any:
    """A copy of `obj` as Go's JSON decoding sees it: a null field is an absent one,
    a null list item or map value is the zero value of its type (`containers: [null]`
    is one empty container, for validation to name what it lacks). Free-form fields
    keep their nulls."""
    root = root_definition(api_version, kind)
    if root is None or not isinstance(obj, dict):
        return copy.deepcopy(obj)
    try:  # a decoded body mostly holds no null: then a copy is all, made in C
        text = json.dumps(obj, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):  # not plain JSON: the walk copies what it is
        text = "null"
    if "null" not in text:
        return json.loads(text)
    return _without_nulls({"$ref": root}, obj, ("", ""))


_ZERO: dict[str, Any] = {"string": "", "integer": 0, "number": 0, "boolean": False}


def _zero(node: dict) -> Any:
    if "$ref" in node or node.get("type") == "object":
        return {}
    if node.get("type") == "array":
        return []
    return _ZERO.get(node.get("type") or "", "")


def _without_nulls(node: dict, value: Any, where: tuple[str, str]) -> Any:
    if where in FREE_FORM_FIELDS:
        return copy.deepcopy(value)
    if "$ref" in node and isinstance(value, dict):
        name = node["$ref"]
        props = definitions().get(name, {}).get("properties") or {}
        return {
            k: _without_nulls(props.get(k, {}), v, (name, k))
            for k, v in value.items()
            if v is not None
        }
    if node.get("type") == "array" and isinstance(value, list):
        items = node.get("items", {})
        return [_zero(items) if v is None else _without_nulls(items, v, where) for v in value]
    if node.get("type") == "object" and isinstance(value, dict):
        values = node.get("additionalProperties")
        if values is None:
            return copy.deepcopy(value)
        return {
            k: _zero(values) if v is None else _without_nulls(values, v, where)
            for k, v in value.items()
        }
    return value if type(value) in _IMMUTABLE else copy.deepcopy(value)


_IMMUTABLE = frozenset({str, int, float, bool})  # no copy needed (deepcopy returns them)


def prune_unknown(api_version: str, kind: str, obj: Any) -> Any:
    """A copy of `obj` without the fields unknown_fields reports (what Kubernetes'
    non-strict decoding drops). Values of the wrong type are kept as they are."""
    root = root_definition(api_version, kind)
    if root is None:
        return copy.deepcopy(obj)
    return _prune({"$ref": root}, obj, ("", ""))


def _prune(node: dict, value: Any, where: tuple[str, str]) -> Any:
    if value is None or where in FREE_FORM_FIELDS:
        return copy.deepcopy(value)
    if "$ref" in node and isinstance(value, dict):
        name = node["$ref"]
        props = definitions().get(name, {}).get("properties") or {}
        return {k: _prune(props[k], v, (name, k)) for k, v in value.items() if k in props}
    if node.get("type") == "array" and isinstance(value, list):
        return [_prune(node.get("items", {}), v, where) for v in value]
    if (
        node.get("type") == "object"
        and isinstance(value, dict)
        and node.get("additionalProperties") is not None
    ):
        return {k: _prune(node["additionalProperties"], v, where) for k, v in value.items()}
    return value if type(value) in _IMMUTABLE else copy.deepcopy(value)


# ---------------------------------------------------------------------------
# fields minik keeps but does not act on
# ---------------------------------------------------------------------------


def _is_set(value: Any) -> bool:
    return value not in (None, {}, [], "", False)


def _equals(wanted: str) -> Callable[[Any], bool]:
    return lambda value: value == wanted


# The single table of Kubernetes fields minik stores (so they round-trip) but ignores.
# The apiserver turns each hit into a `Warning` header; extend or shrink it as minik's
# components learn new fields. Patterns are relative to a pod spec / service spec;
# `[*]` walks a list. Defaulted fields (securityContext: {}, ...) are not hits, since
# only set, non-empty values count.
POD_SPEC_IGNORED: tuple[tuple[str, Callable[[Any], bool]], ...] = (
    ("affinity.podAffinity", _is_set),
    ("affinity.podAntiAffinity", _is_set),
    ("topologySpreadConstraints", _is_set),
    # securityContext: the kubelet honours runAsUser, runAsGroup, runAsNonRoot,
    # supplementalGroups, fsGroup and seccompProfile (kubelet/securitycontext.py)
    ("securityContext.seLinuxOptions", _is_set),
    ("securityContext.seLinuxChangePolicy", _is_set),
    ("securityContext.windowsOptions", _is_set),
    ("securityContext.appArmorProfile", _is_set),
    ("securityContext.sysctls", _is_set),
    ("securityContext.fsGroupChangePolicy", _is_set),
    ("securityContext.supplementalGroupsPolicy", _equals("Strict")),
    ("imagePullSecrets", _is_set),
    ("runtimeClassName", _is_set),
    ("readinessGates", _is_set),
    ("os", _is_set),
    ("hostUsers", _is_set),
    ("resourceClaims", _is_set),
    ("setHostnameAsFQDN", _is_set),
)
CONTAINER_IGNORED: tuple[tuple[str, Callable[[Any], bool]], ...] = (
    ("lifecycle", _is_set),
    # securityContext: the kubelet honours runAsUser, runAsGroup, runAsNonRoot,
    # privileged, capabilities, readOnlyRootFilesystem, allowPrivilegeEscalation and
    # seccompProfile; procMount Default is what Docker does
    ("securityContext.seLinuxOptions", _is_set),
    ("securityContext.windowsOptions", _is_set),
    ("securityContext.appArmorProfile", _is_set),
    ("securityContext.procMount", _equals("Unmasked")),
    ("volumeDevices", _is_set),
    ("resizePolicy", _is_set),
    ("restartPolicy", _is_set),
)
# Volume sources minik's kubelet provides; any other source is stored but not mounted.
# `projected` too: the ServiceAccount admission's kube-api-access volume is one, and a
# whole pod sent back (`kubectl debug` updating ephemeralcontainers) carries it.
SUPPORTED_VOLUME_SOURCES = frozenset(
    {"emptyDir", "hostPath", "configMap", "secret", "persistentVolumeClaim", "projected"}
)
SERVICE_SPEC_IGNORED: tuple[tuple[str, Callable[[Any], bool]], ...] = (
    ("externalIPs", _is_set),
    ("loadBalancerSourceRanges", _is_set),
    ("loadBalancerIP", _is_set),
    ("loadBalancerClass", _is_set),
    ("healthCheckNodePort", _is_set),
    ("trafficDistribution", _is_set),
    ("externalTrafficPolicy", _equals("Local")),
    ("internalTrafficPolicy", _equals("Local")),
)


@functools.cache
def _steps(pattern: str) -> tuple[tuple[str, bool], ...]:
    """A pattern as (key, is a list walked with [*]) steps, parsed once."""
    out = []
    for head in pattern.split(".") if pattern else ():
        many = head.endswith("[*]")
        out.append((head[:-3] if many else head, many))
    return tuple(out)


def _find(value: Any, pattern: str, path: str) -> Iterator[tuple[str, Any]]:
    """(path, value) for every place `pattern` (dotted, `[*]` for list items) reaches."""
    return _follow(value, _steps(pattern), 0, path)


def _follow(
    value: Any, steps: tuple[tuple[str, bool], ...], at: int, path: str
) -> Iterator[tuple[str, Any]]:
    # the plain keys at once, without a generator per step
    while at < len(steps):
        key, many = steps[at]
        child = value.get(key) if isinstance(value, dict) else None
        if child is None:
            return
        path = _join(path, key)
        at += 1
        if many:
            if isinstance(child, list):
                for i, item in enumerate(child):
                    yield from _follow(item, steps, at, f"{path}[{i}]")
            return
        value = child
    yield path, value


def _table_hits(
    value: dict, table: tuple[tuple[str, Callable[[Any], bool]], ...], path: str
) -> list[str]:
    """The paths `table`'s patterns reach in `value` whose values its predicates flag
    (a pattern whose first key is absent costs one lookup)."""
    hits = []
    for pattern, pred in table:
        steps = _steps(pattern)
        if steps[0][0] in value:
            hits += [p for p, v in _follow(value, steps, 0, path) if pred(v)]
    return hits


def _pod_spec_ignored(spec: Any, path: str) -> list[str]:
    hits = _table_hits(spec, POD_SPEC_IGNORED, path)
    for list_key in ("initContainers", "containers"):
        containers = spec.get(list_key)
        if not isinstance(containers, list):
            continue
        where = _join(path, list_key)
        for pattern, pred in CONTAINER_IGNORED:  # pattern by pattern, as Kubernetes lists
            single = ((pattern, pred),)
            for i, container in enumerate(containers):
                if isinstance(container, dict):
                    hits += _table_hits(container, single, f"{where}[{i}]")
    for vpath, volume in _find(spec, "volumes[*]", path):
        if isinstance(volume, dict):
            hits += [
                f"{vpath}.{k}"
                for k, v in volume.items()
                if k != "name" and k not in SUPPORTED_VOLUME_SOURCES and v is not None
            ]
    return hits


def _service_ignored(spec: Any, path: str) -> list[str]:
    return _table_hits(spec, SERVICE_SPEC_IGNORED, path)


# kind -> (where the spec is, which table applies)
_IGNORED_BY_KIND: dict[str, tuple[str, Callable[[Any, str], list[str]]]] = {
    "Pod": ("spec", _pod_spec_ignored),
    "Deployment": ("spec.template.spec", _pod_spec_ignored),
    "ReplicaSet": ("spec.template.spec", _pod_spec_ignored),
    "DaemonSet": ("spec.template.spec", _pod_spec_ignored),
    "StatefulSet": ("spec.template.spec", _pod_spec_ignored),
    "Job": ("spec.template.spec", _pod_spec_ignored),
    "CronJob": ("spec.jobTemplate.spec.template.spec", _pod_spec_ignored),
    "Service": ("spec", _service_ignored),
}


def ignored_fields(kind: str, obj: Any) -> list[str]:
    """Paths of fields set in `obj` that minik stores but does not act on, e.g.
    ["spec.template.spec.containers[0].lifecycle"]; the caller words the warning."""
    entry = _IGNORED_BY_KIND.get(kind)
    if entry is None:
        return []
    where, check = entry
    spec = obj
    for key in where.split("."):
        spec = spec.get(key) if isinstance(spec, dict) else None
    return check(spec, where) if isinstance(spec, dict) else []
