"""Kubernetes' DefaultIngressClass plugin: an Ingress created without a class
(neither spec.ingressClassName nor the deprecated annotation) gets the default
IngressClass, the newest when several are marked default (ties: the first name)."""

from __future__ import annotations

from api.ingress import CLASS_ANNOTATION, is_default_class
from apiserver.admission.plugin import CREATE, Attributes, Plugin
from apiserver.storage import prefix_key


class DefaultIngressClass(Plugin):
    name = "DefaultIngressClass"

    def handles(self, a: Attributes) -> bool:
        return a.operation == CREATE and a.kind == "Ingress" and not a.subresource

    async def admit(self, a: Attributes) -> None:
        spec = a.obj.setdefault("spec", {})
        if not isinstance(spec, dict) or spec.get("ingressClassName") is not None:
            return
        annotations = (a.obj.get("metadata") or {}).get("annotations") or {}
        if CLASS_ANNOTATION in annotations:
            return
        classes, _ = await self.storage.list(prefix_key("ingressclasses"))
        defaults = [c for c in classes if is_default_class(c)]
        if defaults:
            # newest first; equal timestamps: the smaller name (Kubernetes' sort)
            defaults.sort(key=lambda c: c["metadata"]["name"])
            defaults.sort(key=lambda c: c["metadata"].get("creationTimestamp", ""), reverse=True)
            spec["ingressClassName"] = defaults[0]["metadata"]["name"]
