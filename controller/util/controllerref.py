"""Controller references: which controller owns an object (OwnerLookup: Kubernetes'
resolveControllerRef and the get<Owner>sFor<Object> listers), and claiming — adopting
orphans that match a controller's selector and releasing owned objects that no
longer match (Kubernetes' ControllerRefManager)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from api.errors import ApiError, NotFound
from api.labels import LabelSelector, from_label_selector
from api.resources import Resource
from client.rest import AsyncClient
from controller.util.informers import InformerFactory

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def uid_of(obj: Obj) -> str:
    return meta(obj).get("uid") or ""


def spec_selector(obj: Obj) -> LabelSelector:
    """An owner's `spec.selector` read as a metav1.LabelSelector (raises ApiError)."""
    return from_label_selector((obj.get("spec") or {}).get("selector"))


def controller_ref(obj: Obj) -> Obj | None:
    """The ownerReference with `controller: true`, if any."""
    for ref in meta(obj).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller") is True:
            return ref
    return None


def new_controller_ref(owner: Obj, res: Resource) -> Obj:
    """What a controller puts on what it creates: it is the controller, and a
    foreground deletion of it waits for this object (blockOwnerDeletion)."""
    return {
        "apiVersion": res.api_version,
        "kind": res.kind,
        "name": meta(owner).get("name"),
        "uid": uid_of(owner),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def is_controlled_by(obj: Obj, owner: Obj) -> bool:
    ref = controller_ref(obj)
    return ref is not None and ref.get("uid") == uid_of(owner)


class OwnerLookup:
    """Finds, from an owned object's event, the owners of one kind a controller
    watches: the one its controller reference names, and the ones whose selector
    matches an orphan (who may adopt it)."""

    def __init__(
        self,
        informers: InformerFactory,
        owner_res: Resource,
        *,
        empty_selector_matches: bool = True,
        selector_of: Callable[[Obj], LabelSelector] | None = None,
    ) -> None:
        """Reads the shared informer of `owner_res` and its by-namespace index.
        `empty_selector_matches=False`: an owner with an empty selector matches nothing
        instead of everything (the Deployment controller's rule). `selector_of` reads an
        owner's selector (default: `spec.selector` as a metav1.LabelSelector; a
        ReplicationController's is a plain label map); it raises ApiError when invalid."""
        self.owner_res = owner_res
        self.informer = informers.informer(owner_res)
        self.by_namespace = informers.by_namespace(owner_res)
        self.empty_selector_matches = empty_selector_matches
        self.selector_of = selector_of or spec_selector

    def referenced_key(self, obj: Obj) -> str | None:
        """The key its controller reference names when that is of our kind, whether
        or not such an owner exists."""
        ref = controller_ref(obj)
        if ref is None or ref.get("kind") != self.owner_res.kind:
            return None
        return f"{meta(obj).get('namespace')}/{ref.get('name')}"

    def owner(self, obj: Obj) -> Obj | None:
        """The owner that controls `obj`, if it is one we know with the referenced uid
        (resolveControllerRef: a namesake that replaced it is not the owner)."""
        key = self.referenced_key(obj)
        if key is None:
            return None
        owner = self.informer.get(key)
        if owner is None or meta(owner).get("uid") != (controller_ref(obj) or {}).get("uid"):
            return None
        return owner

    def owner_key(self, obj: Obj) -> str | None:
        """The key of `owner(obj)`."""
        return self.referenced_key(obj) if self.owner(obj) is not None else None

    def matching(self, obj: Obj) -> list[Obj]:
        """The owners in the object's namespace whose selector matches its labels; an
        owner with an invalid selector matches nothing."""
        labels = meta(obj).get("labels") or {}
        found = []
        for owner in self.by_namespace.list(meta(obj).get("namespace") or ""):
            try:
                selector = self.selector_of(owner)
            except ApiError:
                continue
            if selector.empty and not self.empty_selector_matches:
                continue
            if selector.matches(labels):
                found.append(owner)
        return found


class ControllerRefManager:
    """Claims objects for one owner. Adoption first re-reads the owner from the API
    (once per claim), so a controller that is being deleted, or was replaced by a
    namesake, never adopts (RecheckDeletionTimestamp)."""

    def __init__(
        self,
        api: AsyncClient,
        owner: Obj,
        owner_res: Resource,
        dependent_res: Resource,
        selector: LabelSelector,
    ) -> None:
        self.api = api
        self.owner = owner
        self.owner_res = owner_res
        self.dependent_res = dependent_res
        self.selector = selector
        self._can_adopt: bool | None = None

    async def claim(self, objs: list[Obj]) -> list[Obj]:
        """The objects this owner controls after adopting and releasing; raises the
        first adoption/release error after trying them all."""
        claimed: list[Obj] = []
        first_error: ApiError | None = None
        for obj in objs:
            try:
                if await self._claim_one(obj):
                    claimed.append(obj)
            except ApiError as err:
                first_error = first_error or err
        if first_error is not None:
            raise first_error
        return claimed

    async def _claim_one(self, obj: Obj) -> bool:
        owner_deleting = bool(meta(self.owner).get("deletionTimestamp"))
        matches = self.selector.matches(meta(obj).get("labels") or {})
        ref = controller_ref(obj)
        if ref is not None:
            if ref.get("uid") != uid_of(self.owner):
                return False  # someone else's
            if matches:
                return True
            if owner_deleting:
                return False
            await self._release(obj)
            return False
        if owner_deleting or not matches or meta(obj).get("deletionTimestamp"):
            return False
        if meta(obj).get("namespace") != meta(self.owner).get("namespace"):
            return False
        if not await self._may_adopt():
            return False
        return await self._adopt(obj)

    async def _may_adopt(self) -> bool:
        if self._can_adopt is None:
            md = meta(self.owner)
            try:
                fresh = await self.api.get(self.owner_res, md["name"], md.get("namespace"))
            except NotFound:
                self._can_adopt = False
                return False
            fmd = meta(fresh)
            self._can_adopt = fmd.get("uid") == md.get("uid") and not fmd.get("deletionTimestamp")
        return self._can_adopt

    async def _adopt(self, obj: Obj) -> bool:
        md = meta(obj)
        patch = {
            "metadata": {
                "ownerReferences": [new_controller_ref(self.owner, self.owner_res)],
                "uid": md.get("uid"),
            }
        }
        try:
            await self.api.patch(
                self.dependent_res, md["name"], patch, "strategic", md.get("namespace")
            )
        except NotFound:
            return False
        log.info(
            "%s %s/%s adopted %s %s",
            self.owner_res.kind,
            meta(self.owner).get("namespace"),
            meta(self.owner).get("name"),
            self.dependent_res.kind,
            md.get("name"),
        )
        return True

    async def _release(self, obj: Obj) -> None:
        md = meta(obj)
        patch = {
            "metadata": {
                "ownerReferences": [{"$patch": "delete", "uid": uid_of(self.owner)}],
                "uid": md.get("uid"),
            }
        }
        try:
            await self.api.patch(
                self.dependent_res, md["name"], patch, "strategic", md.get("namespace")
            )
        except NotFound:
            return
        log.info(
            "%s %s/%s released %s %s",
            self.owner_res.kind,
            meta(self.owner).get("namespace"),
            meta(self.owner).get("name"),
            self.dependent_res.kind,
            md.get("name"),
        )
