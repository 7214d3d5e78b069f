"""The Node authorizer (--authorization-mode=Node), as Kubernetes'
plugin/pkg/auth/authorizer/node: a kubelet, `system:node:<name>` in `system:nodes`, may
read a Secret, ConfigMap, PersistentVolumeClaim or PersistentVolume, or ask a token
for a ServiceAccount, only when a pod bound to its node uses it. Everything else a
kubelet asks is judged by the rules of the `system:node` ClusterRole, which
Kubernetes binds to no one: the Node authorizer applies them itself. What a kubelet
may *write* (its own Node, its own pods) is the NodeRestriction admission plugin's.

The graph is an in-memory index of pods (by node), claims (to their volumes) and
volumes, fed from the apiserver's watch cache (apiserver/authz/feed.py).

One addition of minik's: a node may also get the PersistentVolumes pinned to it
(node affinity on its hostname: the local-path volumes it serves), and those it saw
deleted, so that its kubelet can tell a deleted volume's directory (404) from a
live one and clean it up; Kubernetes' local-path provisioners do that with a
helper pod instead. Deleted names are remembered per node (the last 1024) until the
apiserver restarts; after that the kubelet keeps the directory (403)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

from api import rbac
from api.rbac import Request
from api.resources import PERSISTENTVOLUMECLAIMS, PERSISTENTVOLUMES, PODS, Resource
from apiserver.auth import User
from apiserver.authz import Decision, Rules
from apiserver.authz.feed import CacheFeed
from apiserver.storage import Storage
from apiserver.watchcache import WatchCache

Obj = dict[str, Any]
Ref = tuple[str, str, str]  # (kind plural, namespace, name); namespace "" for PVs

NODES_GROUP = "system:nodes"
NODE_USER_PREFIX = "system:node:"
GRAPH_KINDS = ("secrets", "configmaps", "persistentvolumeclaims", "persistentvolumes")
FEED: tuple[Resource, ...] = (PODS, PERSISTENTVOLUMECLAIMS, PERSISTENTVOLUMES)
HOSTNAME_LABEL = "kubernetes.io/hostname"
DELETED_VOLUMES_KEPT = 1024  # per node


def node_of(user: User) -> str | None:
    """The node a kubelet's identity names, or None for anyone else."""
    if NODES_GROUP not in user.groups or not user.name.startswith(NODE_USER_PREFIX):
        return None
    return user.name[len(NODE_USER_PREFIX) :] or None


def pinned_node(volume: Obj) -> str | None:
    """The one node a volume's required node affinity names by hostname, if so."""
    required = (((volume.get("spec") or {}).get("nodeAffinity") or {}).get("required")) or {}
    terms = required.get("nodeSelectorTerms") or []
    if len(terms) != 1 or not isinstance(terms[0], dict):
        return None
    for expr in terms[0].get("matchExpressions") or []:
        if not isinstance(expr, dict):
            continue
        values = expr.get("values") or []
        if expr.get("key") == HOSTNAME_LABEL and expr.get("operator") == "In" and len(values) == 1:
            return str(values[0])
    return None


def _names(items: Any, key: str) -> Iterator[str]:
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get(key), str) and item[key]:
            yield item[key]


def pod_refs(pod: Obj) -> set[Ref]:
    """What a pod uses that its node may read: Secrets and ConfigMaps (volumes,
    projected sources, env and envFrom, image pull secrets), claims (including an
    ephemeral volume's `<pod>-<volume>`) and its ServiceAccount."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    ns, pod_name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    refs: set[Ref] = {("serviceaccounts", ns, str(spec.get("serviceAccountName") or "default"))}
    refs |= {("secrets", ns, n) for n in _names(spec.get("imagePullSecrets"), "name")}
    for volume in spec.get("volumes") or []:
        if not isinstance(volume, dict):
            continue
        if isinstance(volume.get("secret"), dict) and volume["secret"].get("secretName"):
            refs.add(("secrets", ns, str(volume["secret"]["secretName"])))
        if isinstance(volume.get("configMap"), dict) and volume["configMap"].get("name"):
            refs.add(("configmaps", ns, str(volume["configMap"]["name"])))
        claim = volume.get("persistentVolumeClaim")
        if isinstance(claim, dict) and claim.get("claimName"):
            refs.add(("persistentvolumeclaims", ns, str(claim["claimName"])))
        if isinstance(volume.get("ephemeral"), dict):
            refs.add(("persistentvolumeclaims", ns, f"{pod_name}-{volume.get('name')}"))
        projected = volume.get("projected")
        for source in (projected or {}).get("sources") or [] if isinstance(projected, dict) else []:
            if not isinstance(source, dict):
                continue
            for kind, field in (("secrets", "secret"), ("configmaps", "configMap")):
                if isinstance(source.get(field), dict) and source[field].get("name"):
                    refs.add((kind, ns, str(source[field]["name"])))
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(group) or []:
            if not isinstance(container, dict):
                continue
            for env in container.get("env") or []:
                source = (env.get("valueFrom") or {}) if isinstance(env, dict) else {}
                for kind, field in (("secrets", "secretKeyRef"), ("configmaps", "configMapKeyRef")):
                    if isinstance(source.get(field), dict) and source[field].get("name"):
                        refs.add((kind, ns, str(source[field]["name"])))
            for env_from in container.get("envFrom") or []:
                if not isinstance(env_from, dict):
                    continue
                for kind, field in (("secrets", "secretRef"), ("configmaps", "configMapRef")):
                    if isinstance(env_from.get(field), dict) and env_from[field].get("name"):
                        refs.add((kind, ns, str(env_from[field]["name"])))
    return refs


class NodeGraph:
    """Which nodes reach which objects, through the pods bound to them."""

    def __init__(self) -> None:
        self.pods: dict[tuple[str, str], tuple[str, set[Ref]]] = {}  # pod -> (node, refs)
        self.reach: dict[Ref, Counter[str]] = defaultdict(Counter)  # object -> nodes
        self.claim_volume: dict[tuple[str, str], str] = {}  # claim -> its volume's name
        self.volume_claims: dict[str, set[tuple[str, str]]] = defaultdict(set)
        self.pinned: dict[str, str] = {}  # volume -> the node it is pinned to
        self.deleted_pinned: dict[str, dict[str, None]] = defaultdict(dict)  # node -> names

    # ---- feeding (apiserver/authz/feed.py) -----------------------------------------
    def replace(self, plural: str, items: list[Obj]) -> None:
        if plural == PODS.plural:
            for key in list(self.pods):
                self._forget_pod(key)
        elif plural == PERSISTENTVOLUMES.plural:
            listed = {str((v.get("metadata") or {}).get("name") or "") for v in items}
            for name in [n for n in self.pinned if n not in listed]:
                self._forget_volume(name)  # deleted while the watch was away
        else:
            self.claim_volume.clear()
            self.volume_claims.clear()
        for obj in items:
            self.put(plural, obj)

    def put(self, plural: str, obj: Obj) -> None:
        meta = obj.get("metadata") or {}
        key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        if plural == PODS.plural:
            self._forget_pod(key)
            node = (obj.get("spec") or {}).get("nodeName")
            if node:
                refs = pod_refs(obj)
                self.pods[key] = (str(node), refs)
                for ref in refs:
                    self.reach[ref][str(node)] += 1
        elif plural == PERSISTENTVOLUMES.plural:
            node = pinned_node(obj)
            if node is not None:
                self.pinned[key[1]] = node
                self.deleted_pinned[node].pop(key[1], None)
        else:
            self._forget_claim(key)
            volume = (obj.get("spec") or {}).get("volumeName")
            if volume:
                self.claim_volume[key] = str(volume)
                self.volume_claims[str(volume)].add(key)

    def remove(self, plural: str, obj: Obj) -> None:
        meta = obj.get("metadata") or {}
        key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        if plural == PODS.plural:
            self._forget_pod(key)
        elif plural == PERSISTENTVOLUMES.plural:
            self._forget_volume(key[1])
        else:
            self._forget_claim(key)

    def _forget_pod(self, key: tuple[str, str]) -> None:
        known = self.pods.pop(key, None)
        if known is None:
            return
        node, refs = known
        for ref in refs:
            nodes = self.reach[ref]
            nodes[node] -= 1
            if nodes[node] <= 0:
                del nodes[node]
            if not nodes:
                del self.reach[ref]

    def _forget_volume(self, name: str) -> None:
        node = self.pinned.pop(name, None)
        if node is not None:
            deleted = self.deleted_pinned[node]
            deleted[name] = None
            while len(deleted) > DELETED_VOLUMES_KEPT:
                del deleted[next(iter(deleted))]

    def _forget_claim(self, key: tuple[str, str]) -> None:
        volume = self.claim_volume.pop(key, None)
        if volume is not None:
            self.volume_claims[volume].discard(key)
            if not self.volume_claims[volume]:
                del self.volume_claims[volume]

    # ---- asking -------------------------------------------------------------------
    def reaches(self, node: str, kind: str, namespace: str, name: str) -> bool:
        if kind == "persistentvolumes":
            if self.pinned.get(name) == node or name in self.deleted_pinned.get(node, ()):
                return True
            return any(
                self._pods_using(("persistentvolumeclaims", ns, claim), node)
                for ns, claim in self.volume_claims.get(name, ())
            )
        return self._pods_using((kind, namespace, name), node) > 0

    def _pods_using(self, ref: Ref, node: str) -> int:
        nodes = self.reach.get(ref)  # .get: a lookup must not add an empty entry
        return nodes[node] if nodes else 0


class NodeAuthorizer:
    def __init__(self, graph: NodeGraph, node_rules: list[Obj]) -> None:
        self.graph = graph
        self.node_rules = node_rules

    def authorize(self, user: User, req: Request) -> tuple[Decision, str]:
        node = node_of(user)
        if node is None or not req.resource_request:
            return Decision.NO_OPINION, ""
        if req.api_group == "" and req.resource in GRAPH_KINDS and not req.subresource:
            if req.verb not in ("get", "list", "watch") or not req.name:
                return Decision.NO_OPINION, "can only get individual resources of this type"
            return self._related(node, req.resource, req.namespace, req.name)
        if req.api_group == "" and req.resource == "serviceaccounts" and req.subresource:
            if req.subresource != "token" or req.verb != "create" or not req.name:
                return (
                    Decision.NO_OPINION,
                    "can only create tokens for individual service accounts",
                )
            return self._related(node, "serviceaccounts", req.namespace, req.name)
        if rbac.rules_allow(self.node_rules, req):
            return Decision.ALLOW, ""
        return Decision.NO_OPINION, ""

    def _related(self, node: str, kind: str, namespace: str, name: str) -> tuple[Decision, str]:
        if self.graph.reaches(node, kind, namespace, name):
            return Decision.ALLOW, ""
        return (
            Decision.NO_OPINION,
            f"no relationship found between node '{node}' and this object",
        )

    def rules_for(self, user: User, namespace: str) -> Rules:
        """`auth can-i --list` for a kubelet: the node role's rules; the graph's
        per-object grants cannot be listed (incomplete), as Kubernetes says."""
        if node_of(user) is None:
            return Rules([], [])
        resource = [r for r in self.node_rules if not r.get("nonResourceURLs")]
        return Rules(resource, [], incomplete=True)


def node_graph_feed(storage: Storage, cache: WatchCache, graph: NodeGraph) -> CacheFeed:
    return CacheFeed(storage, cache, FEED, graph, "node-authorizer")
