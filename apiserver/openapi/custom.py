"""OpenAPI for custom resources, as kube-apiextensions-apiserver publishes them: each
served version's openAPIV3Schema under a definition named after the reversed group
(`com.example.stable.v1.CronTab`), with apiVersion, kind and a reference to ObjectMeta,
its paths beside the built-in ones. `kubectl explain widget.spec` reads these, and
kubectl leaves field validation to the server for them, as for built-in kinds.

The built-in documents are built once; these change with the CRDs, so each is cached
by the dynamic registry's generation."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from api import errors
from api.apiextensions import CustomResource
from apiserver.openapi.operations import custom_paths, resource_paths
from apiserver.openapi.schemas import GVK_EXT, V2_PREFIX, V3_PREFIX, Schema, schemas_v2
from apiserver.openapi.v2 import build_v2
from apiserver.openapi.v2proto import encode_v2
from apiserver.openapi.v3 import build_v3, gv_path, v3_hash, v3_root

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"


def definition_name(r: Any) -> str:
    """`stable.example.com` v1 CronTab -> `com.example.stable.v1.CronTab`."""
    return ".".join(reversed(r.group.split("."))) + f".{r.version}.{r.kind}"


def _schemas(resources: Sequence[CustomResource], prefix: str) -> dict[str, Schema]:
    out: dict[str, Schema] = {}
    for r in resources:
        name = definition_name(r)
        gvk = {"group": r.group, "version": r.version, "kind": r.kind}
        schema: Schema = copy.deepcopy(r.schema) if isinstance(r.schema, dict) else {}
        schema.setdefault("type", "object")
        props = schema.setdefault("properties", {})
        props["apiVersion"] = {
            "type": "string",
            "description": "APIVersion defines the versioned schema of this representation "
            "of an object.",
        }
        props["kind"] = {
            "type": "string",
            "description": "Kind is a string value representing the REST resource this "
            "object represents.",
        }
        props["metadata"] = {
            "$ref": prefix + OBJECT_META,
            "description": "Standard object's metadata.",
        }
        schema[GVK_EXT] = [gvk]
        out[name] = schema
        out[f"{name}List"] = {
            "type": "object",
            "description": f"{r.kind}List is a list of {r.kind}",
            "required": ["items"],
            "properties": {
                "apiVersion": {"type": "string"},
                "items": {"type": "array", "items": {"$ref": prefix + name}},
                "kind": {"type": "string"},
                "metadata": {"$ref": prefix + LIST_META},
            },
            GVK_EXT: [{**gvk, "kind": f"{r.kind}List"}],
        }
    return out


class CustomOpenAPI:
    """The documents that change with the CRDs, cached per registry generation."""

    def __init__(self) -> None:
        self._generation = -1
        self._cache: dict[str, Any] = {}

    def _fresh(self, generation: int) -> dict[str, Any]:
        if generation != self._generation:
            self._generation, self._cache = generation, {}
        return self._cache

    def v2_document(self, resources: Sequence[CustomResource], generation: int) -> Schema:
        cache = self._fresh(generation)
        if "v2" not in cache:
            paths = {**resource_paths(None, None), **custom_paths(resources, definition_name)}
            definitions = {**schemas_v2(), **_schemas(resources, V2_PREFIX)}
            cache["v2"] = build_v2(paths, definitions)
        return cache["v2"]

    def v2_json(self, resources: Sequence[CustomResource], generation: int) -> bytes:
        cache = self._fresh(generation)
        if "v2json" not in cache:
            cache["v2json"] = json.dumps(
                self.v2_document(resources, generation), separators=(",", ":")
            ).encode()
        return cache["v2json"]

    def v2_protobuf(self, resources: Sequence[CustomResource], generation: int) -> bytes:
        cache = self._fresh(generation)
        if "v2proto" not in cache:
            cache["v2proto"] = encode_v2(self.v2_document(resources, generation))
        return cache["v2proto"]

    def paths(self, resources: Sequence[CustomResource]) -> set[str]:
        """The `/openapi/v3/<path>` documents the custom resources make."""
        return set(self._group_versions(resources))

    def _group_versions(self, resources: Sequence[CustomResource]) -> dict[str, list]:
        out: dict[str, list] = {}
        for r in resources:
            out.setdefault(gv_path(r.group, r.version), []).append(r)
        return out

    def v3_document_bytes(
        self, path: str, resources: Sequence[CustomResource], generation: int
    ) -> bytes:
        cache = self._fresh(generation)
        key = f"v3:{path}"
        if key not in cache:
            chosen = self._group_versions(resources).get(path)
            if not chosen:
                raise errors.ApiError(
                    404, "the server could not find the requested resource", "NotFound"
                )
            doc = build_v3(custom_paths(chosen, definition_name), _schemas(chosen, V3_PREFIX))
            cache[key] = json.dumps(doc, separators=(",", ":")).encode()
        return cache[key]

    def v3_hash(self, path: str, resources: Sequence[CustomResource], generation: int) -> str:
        try:
            return v3_hash(path)
        except errors.ApiError:
            data = self.v3_document_bytes(path, resources, generation)
            return hashlib.sha512(data).hexdigest().upper()

    def v3_root(self, resources: Sequence[CustomResource], generation: int) -> Schema:
        cache = self._fresh(generation)
        if "root" not in cache:
            paths = dict(v3_root()["paths"])
            for path in self._group_versions(resources):
                digest = self.v3_hash(path, resources, generation)
                paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
            cache["root"] = {"paths": paths}
        return cache["root"]
