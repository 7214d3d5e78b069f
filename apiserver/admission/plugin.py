"""The admission plugin interface, as Kubernetes' admission.Interface: a plugin sees
every write after defaulting. Mutating plugins (`admit`) run first, in order; then the
object is validated; then validating plugins (`validate`) run, in order, and may only
refuse. A plugin says which operations it handles so the chain can skip it cheaply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from api import errors
from apiserver.options import WriteOptions
from apiserver.requestinfo import RequestInfo

if TYPE_CHECKING:
    from apiserver.storage import Storage

CREATE = "CREATE"
UPDATE = "UPDATE"
DELETE = "DELETE"


@dataclass
class Attributes:
    """One write as admission sees it. `obj` is the object about to be stored (plugins
    that mutate change it in place); `old` is the stored object on UPDATE, and on
    DELETE both are the object about to be deleted (validating plugins only)."""

    operation: str
    info: RequestInfo
    obj: dict
    old: dict | None
    opts: WriteOptions
    # the object's Namespace as the create path read it (require_namespace), so a
    # validating plugin that needs its labels does not read it again; None otherwise
    namespace_object: dict | None = None

    @property
    def kind(self) -> str:
        return self.info.resource.kind

    @property
    def subresource(self) -> str | None:
        return self.info.subresource

    @property
    def namespace(self) -> str | None:
        return (self.obj.get("metadata") or {}).get("namespace")

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name") or self.info.name or "")

    @property
    def dry_run(self) -> bool:
        return bool(self.opts.dry_run)

    def forbidden(self, message: str) -> errors.ApiError:
        """admission.NewForbidden: `pods "web" is forbidden: <message>`, 403."""
        res = self.info.resource
        details: dict = (
            {"name": self.name, "kind": res.plural} if self.name else {"kind": res.plural}
        )
        if res.group:
            details["group"] = res.group
        subject = f'{res.group_resource} "{self.name}"' if self.name else res.group_resource
        return errors.ApiError(403, f"{subject} is forbidden: {message}", "Forbidden", details)


class Plugin:
    """Base class: override `handles` and either or both of `admit` and `validate`."""

    name = "Plugin"
    # whether the class has an `admit` / a `validate` of its own: the chain calls only
    # those (a no-op coroutine per plugin and write is not free)
    mutates = False
    validates = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.mutates = cls.admit is not Plugin.admit
        cls.validates = cls.validate is not Plugin.validate

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def handles(self, a: Attributes) -> bool:
        """Whether this plugin wants to see the write at all."""
        return True

    async def admit(self, a: Attributes) -> None:
        """Mutate `a.obj`, or raise an ApiError to refuse."""

    async def validate(self, a: Attributes) -> None:
        """Refuse with an ApiError; never mutate."""

    async def stop(self) -> None:
        """Release what the plugin holds (caches, watches) when the apiserver stops."""
