"""The Website operator: a small controller, written the way every minik (and
Kubernetes) controller is, that turns each Website into a Deployment, a Service and an
Ingress rule (`spec.host` + `spec.path` -> the Service), so the site answers by name.

    python examples/operator/website_operator.py --kubeconfig ~/.minik/kubeconfig [-n NS]

Read it top to bottom; it is the whole pattern:

1. **Informers** list and then watch Websites, Deployments, Services and Ingresses,
   keeping a local cache of each. Nothing below ever polls the API.
2. Every change is turned into a **key** (`namespace/name` of the Website concerned) and
   put on a **work queue**. The queue merges repeated keys and retries failures with
   back-off, so a burst of events costs one reconcile.
3. `reconcile(key)` is **level-triggered**: it does not ask "what happened?" but "what
   should exist?", compares with the cache, and writes only the difference. Running it
   twice does nothing the second time, which is what makes crashes and restarts safe.
4. What the operator creates carries an **owner reference** to the Website (with
   `controller: true`). Deleting a Website therefore needs no code here: the cluster's
   garbage collector deletes what it owns.
5. The operator reports back in the Website's **status** (through the `status`
   subresource): how many replicas are ready, its URL, and three conditions:
   `Available` (the Deployment has its replicas), `Routed` (an ingress controller has
   taken the Ingress and published its address) and `Ready` (both: the site answers).

Nothing is kept that cannot be rebuilt from the API, so the process can be killed and
restarted at any moment. It runs as a pod unchanged (operator-pod.yaml): with no
kubeconfig, minik's client uses the pod's ServiceAccount token, as client-go does.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Hashable
from pathlib import Path
from typing import Any

# Run from a checkout (`python examples/operator/website_operator.py`): find minik.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from api.errors import AlreadyExists, NotFound
from api.resources import DEPLOYMENTS, INGRESSES, SERVICES, Resource
from api.timefmt import rfc3339
from client.informer import Informer, key_of, split_key
from client.rest import ALL_NAMESPACES, AsyncClient
from client.workqueue import WorkQueue, process
from componentbase.run import run_until_signalled

log = logging.getLogger("website-operator")
Obj = dict[str, Any]

# The custom resource, as website-crd.yaml defines it. A Resource is all the client
# needs to build URLs: /apis/example.minik.dev/v1/namespaces/<ns>/websites/<name>.
WEBSITES = Resource(
    "example.minik.dev",
    "v1",
    "Website",
    "websites",
    "website",
    True,
    ("ws",),
    subresources=("status", "scale"),
)
MANAGER = "website-operator"  # our name in managedFields and events
WORKERS = 2


# --- what should exist: pure functions of a Website ---------------------------------------


def owner_reference(website: Obj) -> Obj:
    """Marks an object as the Website's: the garbage collector deletes it with the
    Website, and `controller: true` says we are the one that manages it."""
    return {
        "apiVersion": website["apiVersion"],
        "kind": "Website",
        "name": website["metadata"]["name"],
        "uid": website["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def labels(website: Obj) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": website["metadata"]["name"],
        "app.kubernetes.io/managed-by": MANAGER,
    }


def desired_deployment(website: Obj) -> Obj:
    spec = website["spec"]
    container: Obj = {
        "name": "web",
        "image": spec["image"],
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": spec.get("port", 80)}],
    }
    if spec.get("command"):
        container["command"] = list(spec["command"])
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": website["metadata"]["name"],
            "labels": labels(website),
            "ownerReferences": [owner_reference(website)],
        },
        "spec": {
            "replicas": spec.get("replicas", 1),
            "selector": {"matchLabels": labels(website)},
            "template": {
                "metadata": {"labels": labels(website)},
                "spec": {"containers": [container]},
            },
        },
    }


def desired_service(website: Obj) -> Obj:
    port = website["spec"].get("port", 80)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": website["metadata"]["name"],
            "labels": labels(website),
            "ownerReferences": [owner_reference(website)],
        },
        "spec": {
            "selector": labels(website),
            "ports": [{"name": "http", "port": 80, "targetPort": port}],
        },
    }


def desired_ingress(website: Obj) -> Obj:
    """One rule: `spec.host` (any host when unset) and everything under `spec.path` go to
    the Service's `http` port. The path is passed on unchanged (no rewriting), so the
    site must serve it: an ingress routes, it does not translate URLs."""
    spec = website["spec"]
    name = website["metadata"]["name"]
    rule: Obj = {
        "http": {
            "paths": [
                {
                    "path": spec.get("path", "/"),
                    "pathType": "Prefix",  # /docs matches /docs and /docs/x, not /docsx
                    "backend": {"service": {"name": name, "port": {"name": "http"}}},
                }
            ]
        }
    }
    if spec.get("host"):
        rule["host"] = spec["host"]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": name,
            "labels": labels(website),
            "ownerReferences": [owner_reference(website)],
        },
        # No ingressClassName: the cluster's default IngressClass (minik's is `minik`).
        "spec": {"rules": [rule]},
    }


def deployment_drift(have: Obj, want: Obj) -> Obj | None:
    """The merge patch that brings an existing Deployment to what the Website says, or
    None when it already matches. Only the fields we own are compared: the server and
    other controllers add many more (defaults, status, annotations)."""
    have_spec, want_spec = have.get("spec") or {}, want["spec"]
    have_container = ((have_spec.get("template") or {}).get("spec") or {}).get("containers") or [{}]
    want_container = want_spec["template"]["spec"]["containers"][0]
    same = have_spec.get("replicas") == want_spec["replicas"] and all(
        have_container[0].get(k) == want_container.get(k) for k in ("image", "command", "ports")
    )
    if same:
        return None
    return {"spec": {"replicas": want_spec["replicas"], "template": want_spec["template"]}}


def service_drift(have: Obj, want: Obj) -> Obj | None:
    ports = (have.get("spec") or {}).get("ports") or [{}]
    want_port = want["spec"]["ports"][0]
    if ports[0].get("targetPort") == want_port["targetPort"]:
        return None
    return {"spec": {"ports": [{**ports[0], "targetPort": want_port["targetPort"]}]}}


def ingress_drift(have: Obj, want: Obj) -> Obj | None:
    if (have.get("spec") or {}).get("rules") == want["spec"]["rules"]:
        return None
    return {"spec": {"rules": want["spec"]["rules"]}}  # a merge patch replaces the list


def condition(website: Obj, type_: str, true: bool, reason: str, message: str) -> Obj:
    """A status condition in Kubernetes' shape. Its lastTransitionTime moves only when
    its status flips, so `kubectl describe` tells how long it has been so."""
    status = "True" if true else "False"
    old = {c["type"]: c for c in (website.get("status") or {}).get("conditions") or []}
    previous = old.get(type_)
    if previous and previous.get("status") == status and previous.get("lastTransitionTime"):
        since = previous["lastTransitionTime"]
    else:
        since = rfc3339()
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": since,
    }


def site_url(website: Obj) -> str:
    spec = website["spec"]
    return f"http://{spec.get('host') or '*'}{spec.get('path', '/')}"


def desired_status(website: Obj, deployment: Obj | None, ingress: Obj | None) -> Obj:
    """What the Website's status should say, from its children's own statuses."""
    wanted = website["spec"].get("replicas", 1)
    dstatus = (deployment or {}).get("status") or {}
    available = dstatus.get("availableReplicas", 0)
    up_to_date = deployment is not None and dstatus.get("observedGeneration", 0) >= deployment[
        "metadata"
    ].get("generation", 1)
    is_available = (
        up_to_date and available >= wanted and dstatus.get("updatedReplicas", 0) >= wanted
    )
    # An ingress controller that serves an Ingress writes its address into the
    # Ingress's status.loadBalancer: until then nothing routes the host to us.
    addresses = [
        a.get("ip") or a.get("hostname")
        for a in (((ingress or {}).get("status") or {}).get("loadBalancer") or {}).get("ingress")
        or []
    ]
    is_routed = bool(addresses)
    conditions = [
        condition(
            website,
            "Available",
            is_available,
            "MinimumReplicasAvailable" if is_available else "Progressing",
            f"{available} of {wanted} replicas available",
        ),
        condition(
            website,
            "Routed",
            is_routed,
            "IngressAdmitted" if is_routed else "WaitingForIngressController",
            f"{site_url(website)} served at {', '.join(map(str, addresses))}"
            if is_routed
            else "no ingress controller has published an address for the Ingress yet",
        ),
    ]
    is_ready = is_available and is_routed
    conditions.append(
        condition(
            website,
            "Ready",
            is_ready,
            "Serving" if is_ready else ("NotRouted" if is_available else "NotAvailable"),
            "the site answers through the ingress"
            if is_ready
            else "waiting for "
            + " and ".join(c["type"] for c in conditions if c["status"] != "True"),
        )
    )
    return {
        "observedGeneration": website["metadata"].get("generation", 1),
        "replicas": dstatus.get("replicas", 0),
        "readyReplicas": dstatus.get("readyReplicas", 0),
        "url": site_url(website),
        "conditions": conditions,
    }


# --- the controller: informers -> queue -> reconcile -----------------------------------------


class WebsiteOperator:
    def __init__(self, api: AsyncClient, namespace: str = ALL_NAMESPACES) -> None:
        self.api = api
        self.queue: WorkQueue = WorkQueue(name="websites")
        # A change to a Website queues that Website...
        self.websites = Informer(
            api,
            WEBSITES,
            namespace,
            on_add=self.enqueue,
            on_update=lambda _old, new: self.enqueue(new),
            on_delete=self.enqueue,
        )
        # ...and a change to something a Website owns queues its owner, so that a
        # deleted Service is recreated and a Deployment's progress reaches the status.
        self.deployments = Informer(
            api,
            DEPLOYMENTS,
            namespace,
            on_add=self.enqueue_owner,
            on_update=lambda _old, new: self.enqueue_owner(new),
            on_delete=self.enqueue_owner,
        )
        self.services = Informer(
            api,
            SERVICES,
            namespace,
            on_add=self.enqueue_owner,
            on_update=lambda _old, new: self.enqueue_owner(new),
            on_delete=self.enqueue_owner,
        )
        self.ingresses = Informer(
            api,
            INGRESSES,
            namespace,
            on_add=self.enqueue_owner,
            on_update=lambda _old, new: self.enqueue_owner(new),
            on_delete=self.enqueue_owner,
        )

    def enqueue(self, website: Obj) -> None:
        self.queue.add(key_of(website))

    def enqueue_owner(self, obj: Obj) -> None:
        md = obj.get("metadata") or {}
        for ref in md.get("ownerReferences") or []:
            if ref.get("kind") == "Website" and ref.get("controller"):
                self.queue.add(f"{md.get('namespace')}/{ref['name']}")

    async def run(self) -> None:
        informers = (self.websites, self.deployments, self.services, self.ingresses)
        for informer in informers:
            informer.start()
        for informer in informers:  # reconcile against a full cache, never a partial one
            await informer.wait_for_sync()
        log.info("caches synced; %d websites", len(self.websites))
        try:
            await asyncio.gather(*(process(self.queue, self.reconcile) for _ in range(WORKERS)))
        finally:
            self.queue.shutdown()
            for informer in informers:
                await informer.stop()

    async def reconcile(self, item: Hashable) -> None:
        key = str(item)  # `namespace/name`, as enqueued above
        namespace, name = split_key(key)
        website = self.websites.get(key)
        if website is None or website["metadata"].get("deletionTimestamp"):
            return  # gone: the garbage collector removes what it owned
        deployment = await self._ensure(
            DEPLOYMENTS, self.deployments, key, desired_deployment(website), deployment_drift
        )
        await self._ensure(SERVICES, self.services, key, desired_service(website), service_drift)
        ingress = await self._ensure(
            INGRESSES, self.ingresses, key, desired_ingress(website), ingress_drift
        )
        status = desired_status(website, deployment, ingress)
        if status != website.get("status"):
            await self.api.patch(
                WEBSITES, name, {"status": status}, "merge", namespace, subresource="status"
            )

    async def _ensure(
        self, res: Resource, cache: Informer, key: str, want: Obj, drift: Any
    ) -> Obj | None:
        """Create `want` if missing, patch it if it drifted; returns what exists."""
        namespace, name = split_key(key)
        have = cache.get(key)
        if have is None:
            try:
                created = await self.api.create(res, want, namespace)
                log.info("created %s %s", res.kind, key)
                return created
            except AlreadyExists:
                return None  # the cache lags: the informer's event queues us again
        owner_uid = want["metadata"]["ownerReferences"][0]["uid"]
        refs = have["metadata"].get("ownerReferences") or []
        if not any(r.get("uid") == owner_uid and r.get("controller") for r in refs):
            log.warning("%s %s exists and is not this Website's; leaving it", res.kind, key)
            return None
        patch = drift(have, want)
        if patch is None:
            return have
        try:
            patched = await self.api.patch(res, name, patch, "merge", namespace)
        except NotFound:
            return None
        log.info("updated %s %s", res.kind, key)
        return patched


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--kubeconfig",
        help="kubeconfig file (default: $KUBECONFIG or ~/.minik; in a pod, its ServiceAccount)",
    )
    parser.add_argument("-n", "--namespace", default=ALL_NAMESPACES, help="watch one namespace")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    async def serve() -> None:
        async with AsyncClient.from_kubeconfig(args.kubeconfig) as api:
            await WebsiteOperator(api, args.namespace).run()

    asyncio.run(run_until_signalled(serve()))


if __name__ == "__main__":
    main()
