"""The generic REST store: create, get, list, update, patch and delete for every
resource, with Kubernetes' metadata rules, preconditions, finalizers and graceful
deletion. Per-kind differences live in strategies.py and the admission/ plugins."""

from __future__ import annotations

import copy
import json
import logging
import time
from typing import Any

from api import defaults, errors, patch, schema, structural, validation
from api.apiextensions import CustomResource
from api.resources import Resource
from api.timefmt import rfc3339
from api.validation.apiextensions import validate_custom_object
from apiserver import codec, meta, offload, paging, strategies
from apiserver.admission import CREATE, DELETE, UPDATE, Admission, Attributes
from apiserver.allocator import Allocation, AllocationError
from apiserver.options import DeleteOptions, ListOptions, WriteOptions
from apiserver.requestinfo import RequestInfo
from apiserver.storage import (
    Compacted,
    KeyExists,
    KeyMissing,
    Page,
    RevisionMismatch,
    RevisionTooNew,
    Storage,
    object_key,
    prefix_key,
)
from apiserver.watchcache import Snapshot

log = logging.getLogger(__name__)


class Registry:
    def __init__(self, storage: Storage, admission: Admission) -> None:
        self.storage = storage
        self.admission = admission

    # ---- reads -------------------------------------------------------------

    async def get(self, info: RequestInfo) -> dict:
        obj = await self.storage.get(self.key(info))
        if obj is None:
            raise not_found(info)
        return _served(info.resource, obj)

    async def get_encoded(self, info: RequestInfo) -> bytes:
        """The object as a GET answers it in JSON: the stored bytes with the
        resourceVersion put in, when they can be (Storage.get_served), which spares
        decoding and encoding it again."""
        found = await self.storage.get_served(self.key(info))
        if found is None:
            raise not_found(info)
        if isinstance(found, bytes) and not isinstance(info.resource, CustomResource):
            return found
        obj = found if isinstance(found, dict) else json.loads(found)
        return codec.dumps(_served(info.resource, obj))

    async def list(
        self, info: RequestInfo, opts: ListOptions, snapshot: Snapshot | None = None
    ) -> dict:
        """The matching objects, read from etcd (all of them, or a page at one
        revision when asked for one: apiserver/paging.py), or from the watch cache's
        `snapshot` (shared with other readers: its objects are copied before they are
        touched)."""
        list_meta: dict[str, Any] = {}
        if snapshot is not None:
            items = [dict(o) for o in snapshot.items if opts.matches(o)]
            revision = snapshot.revision
        else:
            page = await self._page(info, opts)
            items, revision = page.items, page.revision
            if page.next_key is not None:
                list_meta["continue"] = paging.encode_continue(page.next_key, revision)
            if page.remaining is not None:
                list_meta["remainingItemCount"] = page.remaining
        if revision < opts.min_revision:
            raise paging.too_large(opts.min_revision, revision)
        res = info.resource
        for o in items:
            o.setdefault("kind", res.kind)
            o.setdefault("apiVersion", res.api_version)
            _served(res, o)
        return {
            "kind": res.list_kind,
            "apiVersion": res.api_version,
            "metadata": {"resourceVersion": str(revision), **list_meta},
            "items": items,
        }

    async def _page(self, info: RequestInfo, opts: ListOptions) -> Page:
        """One page from etcd: from a continue token's key at its revision, else from
        the first key at the exact revision asked for or the newest."""
        start, revision = "", opts.exact_revision or 0
        if opts.continue_token:
            start, revision = paging.decode_continue(opts.continue_token)
        try:
            return await self.storage.list_page(
                prefix_key(info.resource.storage_resource, info.namespace),
                start=start,
                revision=revision,
                limit=opts.limit or 0,
                keep=opts.matches if opts.filtered else None,
            )
        except Compacted:
            if opts.continue_token:
                raise paging.expired_continue(start) from None
            raise paging.expired_list() from None
        except RevisionTooNew:
            raise paging.too_large(revision, await self.storage.revision()) from None

    # ---- create ------------------------------------------------------------

    async def create(self, info: RequestInfo, body: Any, opts: WriteOptions) -> dict:
        res = info.resource
        obj = self._decode_object(info, body, opts)
        md = obj["metadata"]
        if md.get("resourceVersion"):
            raise errors.bad_request("resourceVersion should not be set on objects to be created")
        if res.namespaced:
            md["namespace"] = info.namespace or md.get("namespace") or "default"
        else:
            md.pop("namespace", None)
        if not md.get("name") and md.get("generateName"):
            for _attempt in range(8):
                md["name"] = meta.generate_name(md["generateName"])
                try:  # each attempt on a copy: admission and defaults change it
                    return await self._create_once(info, copy.deepcopy(obj), opts)
                except errors.AlreadyExists:
                    pass
            raise errors.ApiError(409, "could not generate a unique name", "AlreadyExists")
        return await self._create_once(info, obj, opts)  # obj is ours: decoded above

    async def _create_once(self, info: RequestInfo, obj: dict, opts: WriteOptions) -> dict:
        res = info.resource
        md = obj["metadata"]
        md.update(uid=meta.new_uid(), creationTimestamp=rfc3339(), generation=1)
        for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            md.pop(k, None)
        strategy = strategies.for_resource(res)
        strategy.prepare_create(obj)
        strategy.set_requestor(obj, opts.user)
        _apply_defaults(res, obj)
        attributes = Attributes(CREATE, info, obj, None, opts)
        await self.admission.admit(attributes)
        self._validate(res, obj, None)
        if res.namespaced:
            attributes.namespace_object = await self.admission.require_namespace(
                md["namespace"], creating=True
            )
        await self.admission.validate(attributes)
        key = object_key(res.storage_resource, md.get("namespace"), md.get("name", ""))
        alloc = await self._allocate_create(res, obj, key)
        if opts.dry_run:
            return obj
        plain = not isinstance(res, CustomResource)
        served: list[bytes] | None = [] if plain else None
        try:
            created = await self.storage.create(key, _stored(res, obj), alloc.creates, served)
            opts.encoded = served[0] if served else None
            return _served(res, created)
        except KeyExists:
            if await self.storage.exists(key):
                raise errors.already_exists(
                    res.group_resource, md["name"], res.group, res.plural
                ) from None
            raise errors.conflict(
                res.group_resource,
                md["name"],
                "an allocation was taken concurrently, please retry",
                res.group,
                res.plural,
            ) from None

    # ---- update ------------------------------------------------------------

    async def update(self, info: RequestInfo, body: Any, opts: WriteOptions) -> dict:
        obj = self._decode_object(info, body, opts)
        md = obj["metadata"]
        if md.get("name") and md["name"] != info.name:
            raise errors.bad_request(
                f"the name of the object ({md['name']}) does not match the name on the URL "
                f"({info.name})"
            )
        rv = md.get("resourceVersion")
        if rv and not str(rv).isdigit():
            raise errors.bad_request(f"invalid resourceVersion {rv!r}")
        old = await self.get(info)
        return await self.write_update(info, obj, old, int(rv) if rv else None, opts)

    async def write_update(
        self, info: RequestInfo, new: dict, old: dict, expected: int | None, opts: WriteOptions
    ) -> dict:
        """Apply the server's update rules to `new` and write it at `expected` (or at
        `old`'s revision when the client gave none, retrying on a concurrent write)."""
        res = info.resource
        for _attempt in range(10):
            candidate = await offload.maybe(opts.offload, self._merged_copy, info, new, old)
            attributes = Attributes(UPDATE, info, candidate, old, opts)
            await self.admission.admit(attributes)
            await offload.maybe(opts.offload, self._validate, res, candidate, old, info.subresource)
            await self.admission.validate(attributes)
            alloc = Allocation()
            if res.kind == "Service":
                try:
                    alloc = await self.admission.allocator.for_update(
                        candidate, old, self.key(info)
                    )
                except AllocationError as err:
                    raise errors.invalid(res.kind, info.name or "", [_alloc_cause(err)]) from err
            if expected is not None and expected != int(old["metadata"]["resourceVersion"]):
                raise self._stale(info)  # even when the update would change nothing
            if opts.dry_run:
                return candidate
            unchanged = candidate == old and not alloc.creates and not alloc.deletes
            if unchanged and not await self.storage.stale(self.key(info)):
                return old  # no-op: no new revision, as Kubernetes does (unless stale)
            revision = expected if expected is not None else int(old["metadata"]["resourceVersion"])
            try:
                written = await self.storage.update(
                    self.key(info), _stored(res, candidate), revision, alloc.creates, alloc.deletes
                )
            except RevisionMismatch as err:
                if expected is not None:
                    raise self._stale(info) from err
                old = _served(res, err.current) if err.current else await self.get(info)
                continue
            except KeyMissing as err:
                raise not_found(info) from err
            return await self.finish_if_deleted(info, _served(res, written))
        raise errors.conflict(
            res.group_resource, info.name or "", "too many concurrent writes", res.group, res.plural
        )

    @staticmethod
    def _stale(info: RequestInfo) -> errors.Conflict:
        res = info.resource
        return errors.conflict(
            res.group_resource,
            info.name or "",
            "the object has been modified; please apply your changes to the latest "
            "version and try again",
            res.group,
            res.plural,
        )

    def _merged_copy(self, info: RequestInfo, new: dict, old: dict) -> dict:
        return self._merge_update(info, copy.deepcopy(new), old)

    def _merge_update(self, info: RequestInfo, new: dict, old: dict) -> dict:
        res = info.resource
        strategy = strategies.for_resource(res)
        if info.subresource == "status":
            new = strategy.prepare_status_update(new, old)
        elif info.subresource == "ephemeralcontainers":
            new = strategies.prepare_ephemeral_containers_update(new, old)
        elif info.subresource == "approval":
            assert isinstance(strategy, strategies.CertificateSigningRequestStrategy)
            new = strategy.prepare_approval_update(new, old)
        else:
            strategy.prepare_update(new, old)
        md, old_md = new.setdefault("metadata", {}), old["metadata"]
        for k in (
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "namespace",
            "name",
            "generation",
        ):
            if k in old_md:
                md[k] = old_md[k]
            else:
                md.pop(k, None)
        if info.subresource != "status":
            _apply_defaults(res, new)
            if meta.spec_part(new) != meta.spec_part(old):
                md["generation"] = int(old_md.get("generation", 1)) + 1
        md["resourceVersion"] = old_md["resourceVersion"]
        return new

    async def finish_if_deleted(self, info: RequestInfo, obj: dict) -> dict:
        """An object marked for deletion goes once its last finalizer is removed."""
        md = obj["metadata"]
        spec_finalizers = (
            (obj.get("spec") or {}).get("finalizers") if info.resource.kind == "Namespace" else None
        )
        if (
            md.get("deletionTimestamp")
            and not md.get("finalizers")
            and not spec_finalizers
            and not md.get("deletionGracePeriodSeconds")
        ):
            try:
                return await self._delete_now(info, obj)
            except (KeyMissing, RevisionMismatch):
                return obj
        return obj

    # ---- patch -------------------------------------------------------------

    async def patch(
        self, info: RequestInfo, patch_type: str, doc: Any, opts: WriteOptions
    ) -> tuple[dict, bool]:
        """Returns (object, created); server-side apply creates a missing object."""
        res = info.resource
        for _attempt in range(10):
            try:
                current = await self.get(info)
            except errors.NotFound:
                if patch_type != "apply" or info.subresource:
                    raise
                created_obj = patch.apply_patch(
                    None, _apply_body(info, doc), opts.field_manager or "unknown", opts.force
                )
                try:
                    return await self.create(info, created_obj, opts), True
                except errors.AlreadyExists:
                    continue
            patched = await offload.maybe(
                opts.offload, self._patched, info, patch_type, doc, current, opts
            )
            patched_md = patched["metadata"]
            patch_rv = patched_md.get("resourceVersion")
            # only a patch that names a resourceVersion is pinned to it; any other is
            # retried on a concurrent write, as Kubernetes' GuaranteedUpdate does
            pinned = _names_resource_version(patch_type, doc)
            if patch_rv and patch_rv != current["metadata"]["resourceVersion"]:
                raise errors.conflict(
                    res.group_resource,
                    info.name or "",
                    "the object has been modified; please apply your changes to the latest "
                    "version and try again",
                    res.group,
                    res.plural,
                )
            try:
                strict = await offload.maybe(opts.offload, self._check_fields, info, patched, opts)
                return await self.write_update(
                    info, strict, current, int(current["metadata"]["resourceVersion"]), opts
                ), False
            except errors.Conflict:
                if pinned:
                    raise
                continue
        raise errors.conflict(
            res.group_resource, info.name or "", "too many concurrent writes", res.group, res.plural
        )

    def _patched(
        self, info: RequestInfo, patch_type: str, doc: Any, current: dict, opts: WriteOptions
    ) -> dict:
        patched = self._apply_patch_doc(info, patch_type, doc, current, opts)
        self._check_body_identity(info, patched)
        patched.setdefault("metadata", {})
        return patched

    def _apply_patch_doc(
        self, info: RequestInfo, patch_type: str, doc: Any, current: dict, opts: WriteOptions
    ) -> dict:
        if patch_type == "json":
            if not isinstance(doc, list):
                raise errors.bad_request("json patch body must be a list of operations")
            return patch.json_patch(current, doc)
        if patch_type == "apply":
            return patch.apply_patch(
                current, _apply_body(info, doc), opts.field_manager or "unknown", opts.force
            )
        if not isinstance(doc, dict):
            raise errors.bad_request("patch body must be a JSON object")
        if patch_type == "merge" or isinstance(info.resource, CustomResource):
            # Custom kinds have no patch strategies: a strategic merge is a merge.
            return patch.merge_patch(current, doc)
        return patch.strategic_merge_patch(current, doc, info.resource.kind)

    # ---- delete ------------------------------------------------------------

    async def delete(self, info: RequestInfo, opts: DeleteOptions) -> dict:
        res = info.resource
        strategies.for_resource(res).check_delete(info.name or "")
        for _attempt in range(10):
            obj = await self.get(info)
            md = obj["metadata"]
            if opts.user is not None:
                # validating admission of the delete, before its preconditions, as
                # Kubernetes admits a delete before its store reads the object
                deleting = WriteOptions(user=opts.user, dry_run=opts.dry_run)
                await self.admission.validate(Attributes(DELETE, info, obj, obj, deleting))
            if opts.precondition_uid and opts.precondition_uid != md.get("uid"):
                raise errors.conflict(
                    res.group_resource,
                    info.name or "",
                    f"Precondition failed: UID in precondition: "
                    f"{opts.precondition_uid}, UID in object meta: {md.get('uid')}",
                    res.group,
                    res.plural,
                )
            if opts.precondition_rv and opts.precondition_rv != md.get("resourceVersion"):
                raise errors.conflict(
                    res.group_resource,
                    info.name or "",
                    "Precondition failed: resourceVersion mismatch",
                    res.group,
                    res.plural,
                )
            if opts.dry_run:
                return obj
            try:
                return await self._delete_once(info, obj, opts)
            except RevisionMismatch:
                continue
            except KeyMissing as err:
                raise not_found(info) from err
        raise errors.conflict(
            res.group_resource, info.name or "", "too many concurrent writes", res.group, res.plural
        )

    async def _delete_once(self, info: RequestInfo, obj: dict, opts: DeleteOptions) -> dict:
        res = info.resource
        md = obj["metadata"]
        revision = int(md["resourceVersion"])
        marked = copy.deepcopy(obj)
        mmd = marked["metadata"]
        finalizers = list(mmd.get("finalizers") or [])
        policy = opts.propagation_policy
        if policy == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        elif policy == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        if res.kind == "Namespace":
            marked = await self.admission.namespaces.begin_delete(info, obj)
            self.admission.namespace_cache.observe(marked)  # refuse creates in it at once
            return marked
        grace = strategies.for_resource(res).graceful_delete_seconds(obj, opts.grace_period_seconds)
        if md.get("deletionTimestamp"):
            # Already terminating: a shorter grace period may speed it up.
            current_grace = md.get("deletionGracePeriodSeconds")
            if grace == 0 and not finalizers:
                return await self._delete_now(info, obj, revision)
            if current_grace is not None and grace < current_grace:
                mmd["deletionGracePeriodSeconds"] = grace
                mmd["deletionTimestamp"] = rfc3339(time.time() + grace)
                return _served(
                    res, await self.storage.update(self.key(info), _stored(res, marked), revision)
                )
            return obj
        if grace == 0 and not finalizers:
            return await self._delete_now(info, obj, revision)
        mmd["finalizers"] = finalizers or mmd.get("finalizers")
        if not mmd["finalizers"]:
            mmd.pop("finalizers")
        mmd["deletionTimestamp"] = rfc3339(time.time() + grace)
        mmd["deletionGracePeriodSeconds"] = grace
        written = await self.storage.update(self.key(info), _stored(res, marked), revision)
        return _served(res, written)

    async def _delete_now(self, info: RequestInfo, obj: dict, revision: int | None = None) -> dict:
        deletes: list[str] = []
        if info.resource.kind == "Service":
            deletes = self.admission.allocator.for_delete(obj).deletes
        if revision is None:
            revision = int(obj["metadata"]["resourceVersion"])
        deleted = await self.storage.delete(self.key(info), revision, deletes)
        deleted.setdefault("kind", info.resource.kind)
        deleted.setdefault("apiVersion", info.resource.api_version)
        return _served(info.resource, deleted)

    async def delete_collection(
        self, info: RequestInfo, lopts: ListOptions, dopts: DeleteOptions
    ) -> dict:
        listed = await self.list(info, lopts)
        for item in listed["items"]:
            md = item["metadata"]
            one = RequestInfo(info.resource, md.get("namespace"), md["name"], None)
            try:
                await self.delete(one, dopts)
            except errors.NotFound:
                pass
        return listed

    # ---- helpers -----------------------------------------------------------

    @staticmethod
    def key(info: RequestInfo) -> str:
        return object_key(info.resource.storage_resource, info.namespace, info.name or "")

    def decode_object(self, info: RequestInfo, body: Any, opts: WriteOptions) -> dict:
        """A request body checked against `info`'s kind and schema (for conversions)."""
        return self._decode_object(info, body, opts)

    def apply_patch_doc(
        self, info: RequestInfo, patch_type: str, doc: Any, current: dict, opts: WriteOptions
    ) -> dict:
        """`current` with a patch document applied (for conversions)."""
        return self._apply_patch_doc(info, patch_type, doc, current, opts)

    @staticmethod
    def apply_body(info: RequestInfo, doc: Any, opts: WriteOptions) -> dict:
        """The object a server-side apply creates when nothing exists yet."""
        return patch.apply_patch(
            None, _apply_body(info, doc), opts.field_manager or "unknown", opts.force
        )

    def _decode_object(self, info: RequestInfo, body: Any, opts: WriteOptions) -> dict:
        if not isinstance(body, dict):
            raise errors.bad_request("the request body must be a JSON or YAML object")
        res = info.resource
        own, opts.own_body = opts.own_body, False
        if isinstance(res, CustomResource):
            body = body if own else copy.deepcopy(body)
        elif not own:  # a copy without nulls: the caller's body is left as it was
            body = schema.drop_nulls(res.api_version, res.kind, body)
        self._check_body_identity(info, body)
        # Kubernetes names the kind when a request body (not a patch) fails to decode.
        decoding = f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: '
        return self._check_fields(info, body, opts, decoding, nulls_dropped=True)

    @staticmethod
    def _check_body_identity(info: RequestInfo, body: dict) -> None:
        res = info.resource
        api_version, kind = body.get("apiVersion"), body.get("kind")
        if api_version and api_version != res.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({res.api_version})"
            )
        if kind and kind != res.kind:
            raise errors.bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({res.kind})"
            )
        md = body.get("metadata")
        if md is not None and not isinstance(md, dict):
            raise errors.bad_request("metadata must be an object")
        ns = (md or {}).get("namespace")
        if res.namespaced and info.namespace and ns and ns != info.namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the "
                "request"
            )
        body["apiVersion"], body["kind"] = res.api_version, res.kind
        if body.get("metadata") is None:
            body["metadata"] = {}

    @staticmethod
    def _check_fields(
        info: RequestInfo,
        obj: dict,
        opts: WriteOptions,
        error_prefix: str = "",
        nulls_dropped: bool = False,
    ) -> dict:
        """Unknown fields: 400 under Strict, a warning under Warn; dropped unless Strict
        fails. Fields minik keeps but does not act on are warned about. `nulls_dropped`:
        `obj` is already drop_nulls' copy, owned by the caller."""
        res = info.resource
        if isinstance(res, CustomResource):
            return _check_custom_fields(res, obj, opts, error_prefix)
        if not nulls_dropped:
            obj = schema.drop_nulls(res.api_version, res.kind, obj)
        unknown, type_causes = schema.check(res.api_version, res.kind, obj)
        if type_causes:
            name = (obj.get("metadata") or {}).get("name") or info.name or ""
            raise errors.invalid(res.kind, name, type_causes, res.group)
        if unknown:
            if opts.field_validation == "Strict":
                detail = ", ".join(f'unknown field "{p}"' for p in unknown)
                raise errors.bad_request(f"{error_prefix}strict decoding error: {detail}")
            if opts.field_validation == "Warn":
                opts.warnings += [f'unknown field "{p}"' for p in unknown]
            obj = schema.prune_unknown(res.api_version, res.kind, obj)
        for path in schema.ignored_fields(res.kind, obj):
            opts.warnings.append(f"{path}: stored but not acted on by minik")
        return obj

    @staticmethod
    def _validate(
        res: Resource, obj: dict, old: dict | None, subresource: str | None = None
    ) -> None:
        if isinstance(res, CustomResource):
            causes = validate_custom_object(res.schema, obj, old)
        elif subresource == "ephemeralcontainers" and old is not None:
            causes = validation.validate_ephemeral_write(obj, old)
        else:
            causes = validation.validate(res.kind, obj, old)
        if causes:
            raise errors.invalid(
                res.kind, (obj.get("metadata") or {}).get("name") or "", causes, res.group
            )

    async def _allocate_create(self, res: Resource, obj: dict, key: str) -> Allocation:
        if res.kind != "Service":
            return Allocation()
        if await self.storage.exists(key):  # report the name clash, not a taken address
            raise errors.already_exists(
                res.group_resource, obj["metadata"].get("name", ""), res.group, res.plural
            )
        try:
            return await self.admission.allocator.for_create(obj, key)
        except AllocationError as err:
            raise errors.invalid(
                res.kind, obj["metadata"].get("name", ""), [_alloc_cause(err)]
            ) from err


def _served(res: Resource, obj: dict) -> dict:
    """A custom object read in the version asked for: conversion `None` changes only
    apiVersion (the stored object carries the storage version)."""
    if isinstance(res, CustomResource):
        obj["apiVersion"] = res.api_version
    return obj


def _stored(res: Resource, obj: dict) -> dict:
    if isinstance(res, CustomResource) and res.version != res.storage_version:
        return {**obj, "apiVersion": res.storage_api_version}
    return obj


def _apply_defaults(res: Resource, obj: dict) -> None:
    if isinstance(res, CustomResource):
        structural.default(res.schema, obj)
    else:
        defaults.apply_defaults(res.kind, obj)


def _check_custom_fields(
    res: CustomResource, obj: dict, opts: WriteOptions, error_prefix: str
) -> dict:
    """Pruning as kube-apiextensions-apiserver does: fields the schema does not know are
    dropped (reported under fieldValidation Warn, refused under Strict)."""
    pruned = copy.deepcopy(obj)
    unknown = structural.prune(res.schema, pruned)
    if unknown and opts.field_validation == "Strict":
        detail = ", ".join(f'unknown field "{p}"' for p in unknown)
        raise errors.bad_request(f"{error_prefix}strict decoding error: {detail}")
    if unknown and opts.field_validation == "Warn":
        opts.warnings += [f'unknown field "{p}"' for p in unknown]
    return pruned


def _alloc_cause(err: AllocationError) -> dict:
    value = (
        json.dumps(err.value)
        if not isinstance(err.value, list)
        else "[]string{" + ", ".join(json.dumps(v) for v in err.value) + "}"
    )
    return {
        "field": err.field,
        "message": f"Invalid value: {value}: {err.message}",
        "reason": "FieldValueInvalid",
    }


def _names_resource_version(patch_type: str, doc: Any) -> bool:
    """Whether a patch sets (or, JSON patch, tests) metadata.resourceVersion."""
    if patch_type == "json":
        return isinstance(doc, list) and any(
            isinstance(op, dict) and op.get("path") == "/metadata/resourceVersion" for op in doc
        )
    md = doc.get("metadata") if isinstance(doc, dict) else None
    return isinstance(md, dict) and md.get("resourceVersion") is not None


def _apply_body(info: RequestInfo, doc: Any) -> dict:
    if not isinstance(doc, dict):
        raise errors.bad_request("apply patch body must be an object")
    body = copy.deepcopy(doc)
    Registry._check_body_identity(info, body)
    md = body["metadata"]
    if md.get("name") and info.name and md["name"] != info.name:
        raise errors.bad_request(
            f"the name of the object ({md['name']}) does not match the name on the URL "
            f"({info.name})"
        )
    md["name"] = info.name
    if info.resource.namespaced:
        md["namespace"] = info.namespace
    return body


def not_found(info: RequestInfo) -> errors.NotFound:
    res = info.resource
    return errors.not_found(res.group_resource, info.name or "", res.group, res.plural)
