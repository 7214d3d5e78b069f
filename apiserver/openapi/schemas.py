"""The schemas of the OpenAPI documents: `api/schemas/definitions.json` (Kubernetes'
definitions under the client models' names) renamed to Kubernetes' published names
(`io.k8s.api.core.v1.Pod`), with `$ref`s pointing at v2's `#/definitions/` or v3's
`#/components/schemas/`, the group-version-kind extensions, the strategic-merge-patch
extensions kubectl's client-side apply reads, and the synthetic list/status kinds."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import api
from api.resources import RESOURCES, Resource, group_versions

Schema = dict[str, Any]

DEFINITIONS_FILE = Path(api.__file__).resolve().parent / "schemas" / "definitions.json"
V3_PREFIX = "#/components/schemas/"
V2_PREFIX = "#/definitions/"
GVK_EXT = "x-kubernetes-group-version-kind"

# Kinds outside the resource table that the API still answers with or accepts.
EXTRA_GVKS: dict[str, list[dict[str, str]]] = {
    "V1Status": [{"group": "", "version": "v1", "kind": "Status"}],
    "V1Binding": [{"group": "", "version": "v1", "kind": "Binding"}],
    "V1Scale": [{"group": "autoscaling", "version": "v1", "kind": "Scale"}],
    "V1Eviction": [{"group": "policy", "version": "v1", "kind": "Eviction"}],
}

# Kubernetes' schema names are `<package>.<Type>`; the client models we generate from say
# V1Type (CoreV1Type where ambiguous). Types not listed here live in core/v1.
PACKAGES: dict[str, tuple[str, ...]] = {
    "io.k8s.apimachinery.pkg.apis.meta.v1": (
        "Condition",
        "DeleteOptions",
        "LabelSelector",
        "LabelSelectorRequirement",
        "ListMeta",
        "ManagedFieldsEntry",
        "ObjectMeta",
        "OwnerReference",
        "Patch",
        "Preconditions",
        "ShardInfo",
        "Status",
        "StatusCause",
        "StatusDetails",
    ),
    "io.k8s.api.apps.v1": (
        "Deployment",
        "DeploymentCondition",
        "DeploymentList",
        "DeploymentSpec",
        "DeploymentStatus",
        "DeploymentStrategy",
        "ReplicaSet",
        "ReplicaSetCondition",
        "ReplicaSetList",
        "ReplicaSetSpec",
        "ReplicaSetStatus",
        "RollingUpdateDeployment",
    ),
    "io.k8s.api.coordination.v1": ("Lease", "LeaseList", "LeaseSpec"),
    "io.k8s.api.discovery.v1": (
        "Endpoint",
        "EndpointConditions",
        "EndpointHints",
        "EndpointSlice",
        "EndpointSliceList",
        "ForNode",
        "ForZone",
    ),
    "io.k8s.api.autoscaling.v1": (
        "Scale",
        "ScaleSpec",
        "ScaleStatus",
        "HorizontalPodAutoscaler",
        "HorizontalPodAutoscalerList",
        "HorizontalPodAutoscalerSpec",
        "HorizontalPodAutoscalerStatus",
        "CrossVersionObjectReference",
    ),
    "io.k8s.api.policy.v1": ("Eviction",),
}
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_PACKAGE_OF = {t: pkg for pkg, types in PACKAGES.items() for t in types}
# Model prefixes the client uses where a bare name is ambiguous (core/v1 and
# discovery/v1 both have an EndpointPort): the prefix names the package.
_PREFIX_PACKAGES = {
    "CoreV1": "io.k8s.api.core.v1",
    "DiscoveryV1": "io.k8s.api.discovery.v1",
    "V2": "io.k8s.api.autoscaling.v2",  # autoscaling/v2 is the client's only V2 package
}

# Strategic-merge-patch metadata (Kubernetes' patchStrategy/patchMergeKey struct tags).
PATCH_META: dict[str, dict[str, tuple[str, str | None]]] = {
    "V1ObjectMeta": {"ownerReferences": ("merge", "uid"), "finalizers": ("merge", None)},
    "V1PodSpec": {
        "volumes": ("merge,retainKeys", "name"),
        "initContainers": ("merge", "name"),
        "containers": ("merge", "name"),
        "ephemeralContainers": ("merge", "name"),
        "imagePullSecrets": ("merge", "name"),
        "hostAliases": ("merge", "ip"),
        "topologySpreadConstraints": ("merge", "topologyKey"),
        "schedulingGates": ("merge", "name"),
        "resourceClaims": ("merge,retainKeys", "name"),
    },
    "V1Container": {
        "ports": ("merge", "containerPort"),
        "env": ("merge", "name"),
        "volumeMounts": ("merge", "mountPath"),
        "volumeDevices": ("merge", "devicePath"),
    },
    "V1EphemeralContainer": {
        "ports": ("merge", "containerPort"),
        "env": ("merge", "name"),
        "volumeMounts": ("merge", "mountPath"),
        "volumeDevices": ("merge", "devicePath"),
    },
    "V1PodStatus": {
        "conditions": ("merge", "type"),
        "hostIPs": ("merge", "ip"),
        "podIPs": ("merge", "ip"),
    },
    "V1ServiceSpec": {"ports": ("merge", "port")},
    "V1ServiceStatus": {"conditions": ("merge", "type")},
    "V1NodeSpec": {"podCIDRs": ("merge", None)},
    "V1NodeStatus": {"conditions": ("merge", "type"), "addresses": ("merge", "type")},
    "V1NamespaceStatus": {"conditions": ("merge", "type")},
    "V1DeploymentSpec": {"strategy": ("retainKeys", None)},
    "V1DeploymentStatus": {"conditions": ("merge", "type")},
    "V1ReplicaSetStatus": {"conditions": ("merge", "type")},
}


@cache
def _source() -> dict[str, Any]:
    return json.loads(DEFINITIONS_FILE.read_text())


def resource_gvk(r: Resource, kind: str | None = None) -> dict[str, str]:
    return {"group": r.group, "version": r.version, "kind": kind or r.kind}


def root_names() -> dict[tuple[str, str], str]:
    """(apiVersion, kind) -> definition name, for every served kind."""
    roots = _source()["roots"]
    out = {}
    for key, name in roots.items():
        api_version, _, kind = key.rpartition("/")
        out[(api_version, kind)] = name
    return out


def list_name(definition: str) -> str:
    return f"{definition}List"


def published_name(definition: str) -> str:
    """V1DeploymentSpec -> io.k8s.api.apps.v1.DeploymentSpec (what kubectl explain shows)."""
    for prefix, package in _PREFIX_PACKAGES.items():
        if definition.startswith(prefix):
            return f"{package}.{definition[len(prefix) :]}"
    if definition.startswith("V1"):
        bare = definition[len("V1") :]
        return f"{_PACKAGE_OF.get(bare, 'io.k8s.api.core.v1')}.{bare}"
    return definition


def _convert(schema: Any, prefix: str, v3: bool) -> Any:
    """Rewrite bare `$ref` names into `prefix + name`, recursively. In v3 a `$ref` with
    sibling keys (description) is wrapped in allOf, as Kubernetes publishes it, because
    OpenAPI 3.0 ignores siblings of `$ref`."""
    if isinstance(schema, list):
        return [_convert(s, prefix, v3) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {
        k: _convert_properties(v, prefix, v3) if k == "properties" else _convert(v, prefix, v3)
        for k, v in schema.items()
        if k != "$ref" or not isinstance(v, str)
    }
    if isinstance(schema.get("$ref"), str):
        ref = prefix + published_name(schema["$ref"])
        out = {"allOf": [{"$ref": ref}], **out} if v3 and out else {"$ref": ref, **out}
    if out.pop("x-kubernetes-int-or-string", False):
        # Kubernetes publishes these as references to its IntOrString type.
        ref = prefix + INT_OR_STRING
        out = {"allOf": [{"$ref": ref}], **out} if v3 and out else {"$ref": ref, **out}
    return out


def _convert_properties(props: Any, prefix: str, v3: bool) -> Any:
    """A `properties` map: its keys are field names (JSONSchemaProps has one called
    `$ref`), its values schemas."""
    if not isinstance(props, dict):
        return props
    return {k: _convert(v, prefix, v3) for k, v in props.items()}


def _synthetic(gvks: dict[str, list[dict[str, str]]]) -> dict[str, Schema]:
    """List kinds and the PATCH body type, which the client models do not describe."""
    out: dict[str, Schema] = {
        "V1Patch": {
            "type": "object",
            "description": "Patch is provided to give a concrete "
            "name and type to the Kubernetes PATCH request body.",
        },
        INT_OR_STRING: {
            "type": "string",
            "format": "int-or-string",
            "description": "IntOrString is a type that can hold an int32 or a string. In JSON "
            "or YAML it produces or consumes the inner type, so a field can "
            "accept a name or a number.",
        },
    }
    for r in RESOURCES:
        name = root_names()[(r.api_version, r.kind)]
        out[list_name(name)] = {
            "type": "object",
            "description": f"{r.list_kind} is a list of {r.kind} objects.",
            "properties": {
                "apiVersion": {
                    "type": "string",
                    "description": "APIVersion defines the "
                    "versioned schema of this representation of an object.",
                },
                "items": {
                    "type": "array",
                    "items": {"$ref": name},
                    "description": f"List of {r.plural}.",
                },
                "kind": {
                    "type": "string",
                    "description": "Kind is a string value "
                    "representing the REST resource this object represents.",
                },
                "metadata": {"$ref": "V1ListMeta", "description": "Standard list metadata."},
            },
            "required": ["items"],
        }
        gvks[list_name(name)] = [resource_gvk(r, r.list_kind)]
    return out


def _definitions_gvks() -> tuple[dict[str, Schema], dict[str, list[dict[str, str]]]]:
    definitions = copy.deepcopy(_source()["definitions"])
    gvks: dict[str, list[dict[str, str]]] = {k: list(v) for k, v in EXTRA_GVKS.items()}
    for r in RESOURCES:
        gvks.setdefault(root_names()[(r.api_version, r.kind)], []).append(resource_gvk(r))
    definitions.update(_synthetic(gvks))
    # DeleteOptions is accepted by every group-version, as in Kubernetes.
    gvks["V1DeleteOptions"] = [
        {"group": g, "version": v, "kind": "DeleteOptions"} for g, v in group_versions()
    ]
    for name, props in PATCH_META.items():
        for prop, (strategy, key) in props.items():
            target = definitions.get(name, {}).get("properties", {}).get(prop)
            if target is None:
                continue
            target["x-kubernetes-patch-strategy"] = strategy
            if key:
                target["x-kubernetes-patch-merge-key"] = key
    for name, kinds in gvks.items():
        if name in definitions:
            definitions[name][GVK_EXT] = kinds
    _describe_refs(definitions)
    return definitions, gvks


CONVENTIONS = "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md"
STANDARD_FIELDS = {
    "metadata": f"Standard object's metadata. More info: {CONVENTIONS}#metadata",
    "spec": "Specification of the desired behavior of the {kind}. More info: "
    f"{CONVENTIONS}#spec-and-status",
    "status": "Most recently observed status of the {kind}. This data may not be up to "
    "date. Populated by the system. Read-only. More info: "
    f"{CONVENTIONS}#spec-and-status",
}


def _describe_refs(definitions: dict[str, Schema]) -> None:
    """The client models carry no description for object-typed fields; give them
    Kubernetes' standard wording (metadata/spec/status) or their type's description, so
    `kubectl explain` has something better than `<no description>` to say."""
    for name, schema in definitions.items():
        kind = published_name(name).rpartition(".")[2]
        for prop_name, prop in (schema.get("properties") or {}).items():
            target = prop.get("$ref") or (prop.get("items") or {}).get("$ref")
            if not target or prop.get("description"):
                continue
            if prop_name in STANDARD_FIELDS:
                prop["description"] = STANDARD_FIELDS[prop_name].format(kind=kind)
            elif target in definitions:
                prop["description"] = definitions[target].get("description", "")


@cache
def schemas_v3() -> dict[str, Schema]:
    """Every definition in OpenAPI 3 form (`#/components/schemas/<name>` refs)."""
    definitions, _ = _definitions_gvks()
    return {published_name(n): _convert(s, V3_PREFIX, True) for n, s in definitions.items()}


@cache
def schemas_v2() -> dict[str, Schema]:
    """Every definition in Swagger 2.0 form (`#/definitions/<name>` refs)."""
    definitions, _ = _definitions_gvks()
    return {published_name(n): _convert(s, V2_PREFIX, False) for n, s in definitions.items()}


def _refs(schema: Any, prefix: str, found: set[str]) -> None:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(prefix):
            found.add(ref[len(prefix) :])
        for value in schema.values():
            _refs(value, prefix, found)
    elif isinstance(schema, list):
        for value in schema:
            _refs(value, prefix, found)


def schema_closure(start: Any, schemas: dict[str, Schema], prefix: str) -> dict[str, Schema]:
    """The schemas reachable from `start` (a document fragment), sorted by name."""
    pending: set[str] = set()
    _refs(start, prefix, pending)
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        _refs(schemas[name], prefix, pending)
    return {name: schemas[name] for name in sorted(seen)}
