"""Kubernetes' NodeRestriction admission plugin: what a kubelet (`system:node:<name>`
in `system:nodes`) may write. The Node authorizer lets kubelets write nodes, pods'
status and leases at all; this plugin narrows each write to the kubelet's own node:
its own Node object (whose taints and `node-restriction.kubernetes.io/` labels it may
not change), the status of pods bound to it, pods only as mirror pods bound to it,
its own Lease, and CertificateSigningRequests of the kubelet signers only for itself.
It also sees deletes: a kubelet deletes only pods bound to it and its own Lease; and
evictions (`admit_eviction`, which the eviction subresource calls): it evicts only pods
bound to it. A pod that is gone is 404, as in Kubernetes, whose plugin reads the pod
first. Everyone else's writes pass untouched."""

from __future__ import annotations

from typing import Any

from api import certificates
from apiserver.admission.plugin import CREATE, DELETE, UPDATE, Attributes, Plugin
from apiserver.admission.serviceaccount import MIRROR_ANNOTATION
from apiserver.auth import User
from apiserver.authz.node import node_of
from apiserver.options import WriteOptions
from apiserver.requestinfo import RequestInfo

LEASE_NAMESPACE = "kube-node-lease"


def _restricted_labels(obj: dict[str, Any] | None) -> dict[str, str]:
    """Labels under node-restriction.kubernetes.io/ (or a subdomain of it)."""
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return {
        k: v
        for k, v in labels.items()
        if k.split("/", 1)[0].endswith("node-restriction.kubernetes.io")
    }


class NodeRestriction(Plugin):
    name = "NodeRestriction"

    def handles(self, a: Attributes) -> bool:
        if a.opts.user is None or node_of(a.opts.user) is None:
            return False
        if a.operation == DELETE:
            return a.kind in ("Pod", "Lease") and not a.subresource
        return a.operation in (CREATE, UPDATE) and a.kind in (
            "Node",
            "Pod",
            "Lease",
            "CertificateSigningRequest",
        )

    async def validate(self, a: Attributes) -> None:
        node = node_of(a.opts.user)
        assert node is not None
        if a.kind == "Node":
            self._node(a, node)
        elif a.kind == "Pod":
            self._pod(a, node)
        elif a.kind == "CertificateSigningRequest":
            self._csr(a, node)
        else:
            self._lease(a, node)

    def _node(self, a: Attributes, node: str) -> None:
        if a.name != node:
            raise a.forbidden(f'node "{node}" is not allowed to modify node "{a.name}"')
        if a.subresource == "status":
            return
        if a.operation == CREATE:
            restricted = sorted(_restricted_labels(a.obj))
            if restricted:
                raise a.forbidden(
                    f'node "{node}" is not allowed to set the following labels: '
                    + ", ".join(restricted)
                )
            return
        old_spec, new_spec = (a.old or {}).get("spec") or {}, a.obj.get("spec") or {}
        if (old_spec.get("taints") or []) != (new_spec.get("taints") or []):
            raise a.forbidden(f'node "{node}" is not allowed to modify taints')
        old_labels, new_labels = _restricted_labels(a.old), _restricted_labels(a.obj)
        keys = old_labels.keys() | new_labels.keys()
        changed = sorted(k for k in keys if old_labels.get(k) != new_labels.get(k))
        if changed:
            raise a.forbidden(
                f'node "{node}" is not allowed to modify labels: ' + ", ".join(changed)
            )

    def _pod(self, a: Attributes, node: str) -> None:
        if a.operation == DELETE:
            if ((a.old or {}).get("spec") or {}).get("nodeName") != node:
                raise a.forbidden(
                    f'node "{node}" can only delete pods with spec.nodeName set to itself'
                )
            return
        bound_to = (a.obj.get("spec") or {}).get("nodeName")
        if a.operation == CREATE and not a.subresource:
            annotations = (a.obj.get("metadata") or {}).get("annotations") or {}
            if MIRROR_ANNOTATION not in annotations:
                raise a.forbidden(
                    f'pod does not have "{MIRROR_ANNOTATION}" annotation, node "{node}" '
                    "can only create mirror pods"
                )
            if bound_to != node:
                raise a.forbidden(
                    f'node "{node}" can only create pods with spec.nodeName set to itself'
                )
            return
        if a.subresource == "status":
            was_bound_to = ((a.old or {}).get("spec") or {}).get("nodeName")
            if was_bound_to != node:
                raise a.forbidden(
                    f'node "{node}" can only update pod status for pods with spec.nodeName '
                    "set to itself"
                )
            return
        raise a.forbidden(f'node "{node}" can only update the status of its pods')

    def _csr(self, a: Attributes, node: str) -> None:
        """A kubelet asks only for its own certificates (the kubelet signers, CN
        system:node:<its name>; Kubernetes 1.31+ without the
        AllowInsecureKubeletCertificateSigningRequests gate)."""
        if a.operation != CREATE or a.subresource:
            return
        signer = (a.obj.get("spec") or {}).get("signerName")
        if signer not in (certificates.KUBELET_SERVING, certificates.KUBE_APISERVER_CLIENT_KUBELET):
            return
        try:
            request = certificates.parse_request(a.obj)
        except ValueError as err:
            raise a.forbidden(f"unable to parse csr: {err}") from err
        want = certificates.NODE_USER_PREFIX + node
        if certificates.common_name(request) != want:
            raise a.forbidden(f"can only create a node CSR with CN={want}")

    def _lease(self, a: Attributes, node: str) -> None:
        if a.namespace != LEASE_NAMESPACE or a.name != node:
            raise a.forbidden(
                "can only access node lease with the same name as the requesting node"
            )


def admit_eviction(user: User, info: RequestInfo, pod: dict[str, Any]) -> None:
    """admitPodEviction: a kubelet evicts only pods bound to its node (`pod` is the
    pod as stored: the caller's read of it answered 404 for a pod that is gone)."""
    node = node_of(user)
    if node is not None and (pod.get("spec") or {}).get("nodeName") != node:
        a = Attributes(CREATE, info, pod, pod, WriteOptions(user=user))
        raise a.forbidden(f"node {node} can only evict pods with spec.nodeName set to itself")
