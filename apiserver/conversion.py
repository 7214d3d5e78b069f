"""The REST store seen through a conversion (api/conversion): requests for a served
version whose shape differs from the stored one are converted to the storage form on
the way in and back on the way out, so the one generic Registry keeps handling every
rule (preconditions, finalizers, validation, admission) on the stored form."""

from __future__ import annotations

from typing import Any

from api import errors
from api.conversion import Conversion
from apiserver.options import DeleteOptions, ListOptions, WriteOptions
from apiserver.registry import Registry
from apiserver.requestinfo import RequestInfo


class ConvertingRegistry:
    """The Registry's verbs for one served resource of a conversion."""

    def __init__(self, registry: Registry, conversion: Conversion) -> None:
        self.registry = registry
        self.conversion = conversion

    def _stored(self, info: RequestInfo) -> RequestInfo:
        return RequestInfo(self.conversion.storage, info.namespace, info.name, info.subresource)

    def served(self, obj: dict) -> dict:
        return self.conversion.to_served(obj)

    def list_options(self, params: dict[str, str]) -> ListOptions:
        """List options over the stored form (field labels renamed)."""
        if params.get("fieldSelector"):
            selector = self.conversion.storage_field_selector(params["fieldSelector"])
            params = {**params, "fieldSelector": selector}
        return ListOptions.parse(self.conversion.storage, params)

    def _incoming(self, info: RequestInfo, body: Any, opts: WriteOptions, creating: bool) -> dict:
        obj = self.registry.decode_object(info, body, opts)  # the served shape's checks
        if creating:
            causes = self.conversion.validate_create(obj)
            if causes:
                name = (obj.get("metadata") or {}).get("name") or ""
                raise errors.invalid(info.resource.kind, name, causes, info.resource.group)
        return self.conversion.to_storage(obj)

    async def get(self, info: RequestInfo) -> dict:
        return self.served(await self.registry.get(self._stored(info)))

    async def list(self, info: RequestInfo, opts: ListOptions) -> dict:
        listed = await self.registry.list(self._stored(info), opts)
        res = info.resource
        return {
            **listed,
            "kind": res.list_kind,
            "apiVersion": res.api_version,
            "items": [self.served(o) for o in listed["items"]],
        }

    async def create(self, info: RequestInfo, body: Any, opts: WriteOptions) -> dict:
        stored = self._incoming(info, body, opts, creating=True)
        return self.served(await self.registry.create(self._stored(info), stored, opts))

    async def update(self, info: RequestInfo, body: Any, opts: WriteOptions) -> dict:
        stored = self._incoming(info, body, opts, creating=False)
        return self.served(await self.registry.update(self._stored(info), stored, opts))

    async def patch(
        self, info: RequestInfo, patch_type: str, doc: Any, opts: WriteOptions
    ) -> tuple[dict, bool]:
        """The patch applies to the served shape of the current object."""
        stored_info = self._stored(info)
        for _attempt in range(10):
            try:
                current = await self.registry.get(stored_info)
            except errors.NotFound:
                if patch_type != "apply":
                    raise
                return await self.create(
                    info, self.registry.apply_body(info, doc, opts), opts
                ), True
            patched = self.registry.apply_patch_doc(
                info, patch_type, doc, self.served(current), opts
            )
            stored = self._incoming(info, patched, opts, creating=False)
            expected = patched.get("metadata", {}).get("resourceVersion")
            try:
                written = await self.registry.write_update(
                    stored_info,
                    stored,
                    current,
                    int(expected or current["metadata"]["resourceVersion"]),
                    opts,
                )
            except errors.Conflict:
                if expected and expected != current["metadata"]["resourceVersion"]:
                    raise
                continue
            return self.served(written), False
        raise errors.conflict(
            info.resource.group_resource, info.name or "", "too many concurrent writes"
        )

    async def delete(self, info: RequestInfo, opts: DeleteOptions) -> dict:
        deleted = await self.registry.delete(self._stored(info), opts)
        return self.served(deleted) if deleted.get("kind") != "Status" else deleted

    async def delete_collection(
        self, info: RequestInfo, lopts: ListOptions, dopts: DeleteOptions
    ) -> dict:
        listed = await self.registry.delete_collection(self._stored(info), lopts, dopts)
        return {**listed, "items": [self.served(o) for o in listed["items"]]}
