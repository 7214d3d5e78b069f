"""The OpenAPI documents of `metrics.k8s.io/v1beta1`, as metrics-server publishes them:
the apiserver's aggregation layer fetches `/openapi/v2` and `/openapi/v3/apis/<group>/
<version>` from each APIService's backend and merges them into its own, which is what
lets `kubectl explain nodemetrics` describe a kind the apiserver itself does not know.

Definitions are named as in k8s.io/metrics (`io.k8s.metrics.pkg.apis.metrics.v1beta1.
NodeMetrics`). ObjectMeta and ListMeta are short copies so that each document stands on
its own; the apiserver replaces them with its full ones when it merges."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from metrics.storage import GROUP, VERSION

Schema = dict[str, Any]
V2_PREFIX = "#/definitions/"
V3_PREFIX = "#/components/schemas/"
GVK_EXT = "x-kubernetes-group-version-kind"
TYPES = "io.k8s.metrics.pkg.apis.metrics.v1beta1."
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
V3_PATH = f"apis/{GROUP}/{VERSION}"


def _gvk(kind: str) -> list[dict[str, str]]:
    return [{"group": GROUP, "version": VERSION, "kind": kind}]


def _ref(prefix: str, name: str, description: str = "") -> Schema:
    out: Schema = {"$ref": prefix + name}
    if description:
        # OpenAPI 3 ignores siblings of $ref: wrap it, as Kubernetes' documents do.
        out = {"allOf": [out], "default": {}, "description": description}
    return out


def _usage(description: str) -> Schema:
    return {
        "type": "object",
        "description": description,
        "additionalProperties": {
            "type": "string",
            "description": "A Quantity: CPU in cores (`250m`), memory in bytes (`64Mi`).",
        },
    }


def definitions(prefix: str) -> dict[str, Schema]:
    """Every definition the documents use, with `$ref`s under `prefix`."""
    timestamp = {
        "type": "string",
        "format": "date-time",
        "description": "The end of the window the usage was measured over.",
    }
    window = {"type": "string", "description": "The length of that window, as `10s`."}
    meta = _ref(prefix, f"{META}ObjectMeta", "Standard object's metadata.")
    common = {
        "apiVersion": {"type": "string", "description": "APIVersion of this representation."},
        "kind": {"type": "string", "description": "The REST resource this object represents."},
    }

    def listing(kind: str) -> Schema:
        return {
            "type": "object",
            "description": f"{kind}List is a list of {kind}.",
            "required": ["items"],
            "properties": {
                **common,
                "items": {
                    "type": "array",
                    "description": f"List of {kind}.",
                    "items": _ref(prefix, TYPES + kind),
                },
                "metadata": _ref(prefix, f"{META}ListMeta", "Standard list metadata."),
            },
            GVK_EXT: _gvk(f"{kind}List"),
        }

    return {
        f"{TYPES}NodeMetrics": {
            "type": "object",
            "description": "NodeMetrics sets resource usage metrics of a node.",
            "required": ["timestamp", "window", "usage"],
            "properties": {
                **common,
                "metadata": meta,
                "timestamp": timestamp,
                "window": window,
                "usage": _usage("The memory and CPU usage of the node."),
            },
            GVK_EXT: _gvk("NodeMetrics"),
        },
        f"{TYPES}NodeMetricsList": listing("NodeMetrics"),
        f"{TYPES}PodMetrics": {
            "type": "object",
            "description": "PodMetrics sets resource usage metrics of a pod.",
            "required": ["timestamp", "window", "containers"],
            "properties": {
                **common,
                "metadata": meta,
                "timestamp": timestamp,
                "window": window,
                "containers": {
                    "type": "array",
                    "description": "Metrics for all containers are collected within the "
                    "same time window.",
                    "items": _ref(prefix, f"{TYPES}ContainerMetrics"),
                },
            },
            GVK_EXT: _gvk("PodMetrics"),
        },
        f"{TYPES}PodMetricsList": listing("PodMetrics"),
        f"{TYPES}ContainerMetrics": {
            "type": "object",
            "description": "ContainerMetrics sets resource usage metrics of a container.",
            "required": ["name", "usage"],
            "properties": {
                "name": {"type": "string", "description": "Container name."},
                "usage": _usage("The memory and CPU usage of the container."),
            },
        },
        f"{META}ObjectMeta": {
            "type": "object",
            "description": "Metadata that all persisted resources must have.",
            "properties": {
                "name": {"type": "string", "description": "The object's name."},
                "namespace": {"type": "string", "description": "Its namespace."},
                "labels": {
                    "type": "object",
                    "description": "Labels of the object it measures.",
                    "additionalProperties": {"type": "string"},
                },
                "creationTimestamp": {"type": "string", "format": "date-time"},
            },
        },
        f"{META}ListMeta": {
            "type": "object",
            "description": "Metadata that synthetic resources must have.",
            "properties": {"resourceVersion": {"type": "string"}},
        },
    }


# (path under the group-version, the kind it answers, its path parameters)
_PATHS: list[tuple[str, str, tuple[str, ...]]] = [
    ("nodes", "NodeMetricsList", ()),
    ("nodes/{name}", "NodeMetrics", ("name",)),
    ("pods", "PodMetricsList", ()),
    ("namespaces/{namespace}/pods", "PodMetricsList", ("namespace",)),
    ("namespaces/{namespace}/pods/{name}", "PodMetrics", ("namespace", "name")),
]


def _operation(kind: str, response: Schema, namespaced: bool) -> Schema:
    single = not kind.endswith("List")
    verb = "read" if single else "list"
    scope = "Namespaced" if namespaced else ""
    return {
        "description": f"{verb} {kind}",
        "operationId": f"{verb}MetricsV1beta1{scope}{kind.removesuffix('List')}",
        "tags": ["metricsV1beta1"],
        "x-kubernetes-action": "get" if single else "list",
        GVK_EXT: _gvk(kind.removesuffix("List"))[0],
        "responses": {"200": response, "401": {"description": "Unauthorized"}},
    }


def _parameters(names: tuple[str, ...], v3: bool) -> list[Schema]:
    out = []
    for name in names:
        param: Schema = {"name": name, "in": "path", "required": True, "uniqueItems": True}
        param["description"] = f"{name} of the {'object' if name == 'name' else 'namespace'}"
        if v3:
            param["schema"] = {"type": "string"}
        else:
            param["type"] = "string"
        out.append(param)
    return out


def _paths(v3: bool) -> Schema:
    prefix = V3_PREFIX if v3 else V2_PREFIX
    paths: Schema = {}
    for path, kind, params in _PATHS:
        ref = {"$ref": prefix + TYPES + kind}
        if v3:
            response = {"description": "OK", "content": {"application/json": {"schema": ref}}}
        else:
            response = {"description": "OK", "schema": ref}
        get = _operation(kind, response, "namespace" in params)
        if not v3:
            get["produces"] = ["application/json"]
            get["schemes"] = ["https"]
        paths[f"/apis/{GROUP}/{VERSION}/{path}"] = {
            "get": get,
            "parameters": _parameters(params, v3),
        }
    return paths


_INFO = {"title": "metrics-server (minik)", "version": VERSION}


@cache
def v2_bytes() -> bytes:
    """`GET /openapi/v2`: the Swagger 2.0 document of this server's API."""
    doc = {"swagger": "2.0", "info": _INFO, "paths": _paths(False)}
    doc["definitions"] = definitions(V2_PREFIX)
    return json.dumps(doc, separators=(",", ":")).encode()


@cache
def v3_bytes() -> bytes:
    """`GET /openapi/v3/apis/metrics.k8s.io/v1beta1`: its OpenAPI 3 document."""
    doc = {
        "openapi": "3.0.0",
        "info": _INFO,
        "paths": _paths(True),
        "components": {"schemas": definitions(V3_PREFIX)},
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def v3_root() -> Schema:
    """`GET /openapi/v3`: the one group-version, with its content's hash."""
    digest = hashlib.sha512(v3_bytes()).hexdigest().upper()
    return {"paths": {V3_PATH: {"serverRelativeURL": f"/openapi/v3/{V3_PATH}?hash={digest}"}}}
