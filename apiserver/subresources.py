"""Subresources that are not plain object writes: scale (autoscaling/v1 Scale),
pods/binding (the scheduler's one write) and namespaces/finalize (pods/eviction, which
PodDisruptionBudgets govern, is eviction.py)."""

from __future__ import annotations

import copy
from typing import Any

from api import errors, jsonpath, patch
from api.apiextensions import CustomResource
from api.labels import from_label_selector, selector_from_set
from api.resources import Resource
from api.timefmt import rfc3339
from apiserver import strategies
from apiserver.options import WriteOptions
from apiserver.registry import Registry
from apiserver.requestinfo import RequestInfo
from apiserver.storage import KeyMissing


def to_scale(obj: dict, resource: Resource | None = None) -> dict:
    if isinstance(resource, CustomResource):
        return custom_scale(obj, resource)
    md = obj["metadata"]
    raw_selector = (obj.get("spec") or {}).get("selector")
    if obj.get("kind") == "ReplicationController":  # a plain label map
        selector = selector_from_set(raw_selector if isinstance(raw_selector, dict) else None)
    else:
        selector = from_label_selector(raw_selector)
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: md[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in md
        },
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": str(selector),
        },
    }


def custom_scale(obj: dict, resource: CustomResource) -> dict:
    """A custom object's Scale, read at the CRD's specReplicasPath, statusReplicasPath
    and labelSelectorPath (a selector string there, as Kubernetes expects)."""
    paths = resource.scale or {}
    md = obj["metadata"]
    selector = jsonpath.first(obj, paths.get("labelSelectorPath") or "")
    status: dict[str, Any] = {
        "replicas": jsonpath.first(obj, paths.get("statusReplicasPath") or "") or 0
    }
    if isinstance(selector, str):
        status["selector"] = selector
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: md[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in md
        },
        "spec": {"replicas": jsonpath.first(obj, paths.get("specReplicasPath") or "") or 0},
        "status": status,
    }


def _set_replicas(obj: dict, resource: Resource, replicas: int) -> None:
    if isinstance(resource, CustomResource):
        jsonpath.set_path(obj, (resource.scale or {}).get("specReplicasPath") or "", replicas)
    else:
        obj.setdefault("spec", {})["replicas"] = replicas


async def get_scale(registry: Registry, info: RequestInfo) -> dict:
    return to_scale(await registry.get(_main(info)), info.resource)


async def write_scale(
    registry: Registry, info: RequestInfo, body: Any, patch_type: str | None, opts: WriteOptions
) -> dict:
    """PUT or PATCH a Scale: the patch applies to the Scale, its replicas to the object."""
    main = _main(info)
    for _attempt in range(10):
        current = await registry.get(main)
        scale = to_scale(current, info.resource)
        if patch_type is None:
            new_scale = body
        elif patch_type == "json":
            new_scale = patch.json_patch(scale, body)
        elif patch_type == "merge":
            new_scale = patch.merge_patch(scale, body)
        else:
            new_scale = patch.strategic_merge_patch(scale, body)
        if not isinstance(new_scale, dict):
            raise errors.bad_request("the body must be a Scale object")
        replicas = (new_scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise errors.invalid(
                "Scale",
                info.name or "",
                [
                    {
                        "field": "spec.replicas",
                        "reason": "FieldValueInvalid",
                        "message": f"Invalid value: {replicas!r}: "
                        "must be greater than or equal to 0",
                    }
                ],
                "autoscaling",
            )
        rv = (new_scale.get("metadata") or {}).get("resourceVersion")
        if patch_type is None and rv and rv != current["metadata"]["resourceVersion"]:
            raise errors.conflict(
                info.resource.group_resource,
                info.name or "",
                "the object has been modified; please apply your changes to "
                "the latest version and try again",
                info.resource.group,
                info.resource.plural,
            )
        updated = copy.deepcopy(current)
        _set_replicas(updated, info.resource, replicas)
        try:
            written = await registry.write_update(
                main, updated, current, int(current["metadata"]["resourceVersion"]), opts
            )
        except errors.Conflict:
            if patch_type is None and rv:
                raise
            continue
        return to_scale(written, info.resource)
    raise errors.conflict(
        info.resource.group_resource, info.name or "", "too many concurrent writes"
    )


async def bind(registry: Registry, info: RequestInfo, body: Any) -> dict:
    """Set spec.nodeName once, with the PodScheduled condition, as Kubernetes' binding."""
    if not isinstance(body, dict) or not isinstance(body.get("target"), dict):
        raise errors.bad_request("a Binding with a target is required")
    node = body["target"].get("name")
    if not node:
        raise errors.invalid(
            "Binding",
            info.name or "",
            [{"field": "target.name", "message": "Required value", "reason": "FieldValueRequired"}],
        )
    main = _main(info)

    def assign(pod: dict) -> dict:
        if pod["metadata"].get("deletionTimestamp"):
            raise errors.conflict(
                "pods", info.name or "", "pod is being deleted, cannot be assigned"
            )
        current = (pod.get("spec") or {}).get("nodeName")
        if current:
            raise errors.conflict(
                "pods", info.name or "", f'pod {info.name} is already assigned to node "{current}"'
            )
        pod["spec"]["nodeName"] = node
        strategies.set_condition(
            pod.setdefault("status", {}),
            {
                "type": "PodScheduled",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": rfc3339(),
            },
        )
        return pod

    try:
        await registry.storage.guaranteed_update(registry.key(main), assign)
    except KeyMissing as err:
        raise errors.not_found("pods", info.name or "", "", "pods") from err
    return success_status(201)


async def finalize(registry: Registry, info: RequestInfo, body: Any) -> dict:
    """namespaces/<name>/finalize writes spec.finalizers only."""
    if not isinstance(body, dict):
        raise errors.bad_request("a Namespace body is required")
    finalizers = (body.get("spec") or {}).get("finalizers") or []
    main = _main(info)

    def set_finalizers(ns: dict) -> dict:
        ns.setdefault("spec", {})["finalizers"] = list(finalizers)
        return ns

    try:
        written = await registry.storage.guaranteed_update(registry.key(main), set_finalizers)
    except KeyMissing as err:
        raise errors.not_found("namespaces", info.name or "", "", "namespaces") from err
    return await registry.finish_if_deleted(main, written)


def success_status(code: int = 200) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": code}


def _main(info: RequestInfo) -> RequestInfo:
    return RequestInfo(info.resource, info.namespace, info.name, None)
