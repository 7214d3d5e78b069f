"""The root CA certificate publisher (pkg/controller/certificates/rootcacertpublisher):
every active namespace holds the ConfigMap `kube-root-ca.crt` whose `ca.crt` is the
cluster's CA bundle, so pods can verify the apiserver (the ServiceAccount admission's
token volume projects it). Changed or deleted copies are put back."""

from __future__ import annotations

import logging
from typing import Any

from api.errors import AlreadyExists, Conflict, NotFound
from api.resources import CONFIGMAPS, NAMESPACES
from controller.util.base import Context, Controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]

NAME = "kube-root-ca.crt"
DESCRIPTION_KEY = "kubernetes.io/description"
DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using "
    "internal endpoints such as the internal service IP or kubernetes.default.svc. No "
    "other usage is guaranteed across distributions of Kubernetes clusters."
)


def _terminating(ns: Obj) -> bool:
    return bool((ns.get("metadata") or {}).get("deletionTimestamp")) or (
        (ns.get("status") or {}).get("phase") == "Terminating"
    )


class RootCACertPublisher(Controller):
    name = "root-ca-cert-publisher"
    default_workers = 1

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.root_ca = ctx.options.root_ca or ""
        self.namespaces = ctx.informers.informer(NAMESPACES)
        self.configmaps = ctx.informers.informer(CONFIGMAPS)
        self.namespaces.add_handler(self._namespace, lambda _old, new: self._namespace(new))
        self.configmaps.add_handler(
            on_update=lambda _old, new: self._configmap(new), on_delete=self._configmap
        )
        self.watched = [self.namespaces, self.configmaps]

    def _namespace(self, ns: Obj) -> None:
        self.enqueue_key((ns.get("metadata") or {}).get("name", ""))

    def _configmap(self, cm: Obj) -> None:
        meta = cm.get("metadata") or {}
        if meta.get("name") == NAME:
            self.enqueue_key(meta.get("namespace", ""))

    async def started(self) -> None:
        if not self.root_ca:
            log.warning("root-ca-cert-publisher: no root CA known (--root-ca-file): idle")

    async def reconcile(self, namespace: str) -> None:
        ns = self.namespaces.get(namespace)
        if not self.root_ca or ns is None or _terminating(ns):
            return
        data = {"ca.crt": self.root_ca}
        cm = self.configmaps.get(f"{namespace}/{NAME}")
        try:
            if cm is None:
                await self.api.create(
                    CONFIGMAPS,
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {
                            "name": NAME,
                            "namespace": namespace,
                            "annotations": {DESCRIPTION_KEY: DESCRIPTION},
                        },
                        "data": data,
                    },
                    namespace,
                )
                return
            annotations = (cm.get("metadata") or {}).get("annotations") or {}
            if cm.get("data") == data and annotations.get(DESCRIPTION_KEY) == DESCRIPTION:
                return
            meta = dict(cm.get("metadata") or {})
            meta["annotations"] = {**annotations, DESCRIPTION_KEY: DESCRIPTION}
            fixed = {k: v for k, v in cm.items() if k != "binaryData"}
            await self.api.update(CONFIGMAPS, {**fixed, "metadata": meta, "data": data})
        except (AlreadyExists, NotFound):
            return
        except Conflict:
            self.enqueue_after(namespace, 0.1)
