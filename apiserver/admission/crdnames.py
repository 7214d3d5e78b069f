"""CustomResourceDefinition names: within a group, a plural, singular, short name or
kind belongs to one CRD only. Kubernetes' naming controller reports a clash as
NamesAccepted=False after the fact; minik refuses the write instead, so a CRD that
exists is always served."""

from __future__ import annotations

from api import apiextensions, errors
from api.resources import CUSTOMRESOURCEDEFINITIONS
from apiserver.admission.plugin import CREATE, UPDATE, Attributes, Plugin
from apiserver.storage import prefix_key


class CustomResourceDefinitionNames(Plugin):
    name = "CustomResourceDefinitionNames"

    def handles(self, a: Attributes) -> bool:
        return (
            a.operation in (CREATE, UPDATE)
            and a.kind == CUSTOMRESOURCEDEFINITIONS.kind
            and a.info.resource == CUSTOMRESOURCEDEFINITIONS
            and a.subresource is None
        )

    async def validate(self, a: Attributes) -> None:
        others, _ = await self.storage.list(prefix_key(CUSTOMRESOURCEDEFINITIONS.storage_resource))
        problems = apiextensions.name_conflicts(a.obj, others)
        if problems:
            causes = [
                {"field": "spec.names", "reason": "FieldValueInvalid", "message": p}
                for p in problems
            ]
            raise errors.invalid(
                CUSTOMRESOURCEDEFINITIONS.kind, a.name, causes, CUSTOMRESOURCEDEFINITIONS.group
            )
