"""Descriptions of services, nodes and namespaces, as kubectl lays them out."""

from __future__ import annotations

from api.errors import NotFound
from api.humanize import age
from api.resources import by_kind
from client.rest import ALL_NAMESPACES
from minikctl.context import Context
from minikctl.describe.resources import Amount, pod_totals, share
from minikctl.describe.writer import (
    Obj,
    Writer,
    annotation_lines,
    describe_conditions,
    describe_meta,
    labels_lines,
    when,
)


def describe_service(ctx: Context, w: Writer, svc: Obj) -> None:
    meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
    describe_meta(w, svc)
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
    w.field(0, "Selector", selector or "<none>")
    w.field(0, "Type", spec.get("type", "ClusterIP"))
    if spec.get("ipFamilyPolicy"):
        w.field(0, "IP Family Policy", spec["ipFamilyPolicy"])
    if spec.get("ipFamilies"):
        w.field(0, "IP Families", ",".join(spec["ipFamilies"]))
    w.field(0, "IP", spec.get("clusterIP", ""))
    w.field(0, "IPs", ",".join(spec.get("clusterIPs") or []) or spec.get("clusterIP", ""))
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    if ingress:
        w.field(
            0,
            "LoadBalancer Ingress",
            ", ".join(i.get("ip") or i.get("hostname", "") for i in ingress),
        )
    endpoints = _endpoints(ctx, meta)
    for port in spec.get("ports") or []:
        name = port.get("name") or "<unset>"
        proto = port.get("protocol", "TCP")
        w.field(0, "Port", f"{name}  {port.get('port')}/{proto}")
        target = port.get("targetPort", port.get("port"))
        w.field(0, "TargetPort", f"{target}/{proto}")
        if port.get("nodePort"):
            w.field(0, "NodePort", f"{name}  {port['nodePort']}/{proto}")
        w.field(0, "Endpoints", _endpoint_text(endpoints, port))
    w.field(0, "Session Affinity", spec.get("sessionAffinity", "None"))
    if spec.get("externalTrafficPolicy"):
        w.field(0, "External Traffic Policy", spec["externalTrafficPolicy"])
    if spec.get("internalTrafficPolicy"):
        w.field(0, "Internal Traffic Policy", spec["internalTrafficPolicy"])


def _endpoints(ctx: Context, meta: Obj) -> Obj | None:
    res = by_kind("Endpoints", "v1")
    if res is None:
        return None
    try:
        return ctx.client.get(res, meta.get("name", ""), meta.get("namespace"))
    except NotFound:
        return None


def _endpoint_text(endpoints: Obj | None, port: Obj) -> str:
    if not endpoints:
        return "<none>"
    out = []
    for subset in endpoints.get("subsets") or []:
        ports = subset.get("ports") or []
        match = [p for p in ports if p.get("name", "") == port.get("name", "")] or ports[:1]
        for addr in subset.get("addresses") or []:
            for p in match:
                out.append(f"{addr.get('ip')}:{p.get('port')}")
    return ",".join(out) or "<none>"


def describe_node(ctx: Context, w: Writer, node: Obj) -> None:
    meta, spec, status = (
        node.get("metadata") or {},
        node.get("spec") or {},
        node.get("status") or {},
    )
    labels = meta.get("labels") or {}
    roles = sorted(
        k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/") and "/" in k
    )
    w.field(0, "Name", meta.get("name", ""))
    w.field(0, "Roles", ",".join(roles) or "<none>")
    w.multiline(0, "Labels", labels_lines(labels))
    w.multiline(0, "Annotations", annotation_lines(meta.get("annotations")))
    w.field(0, "CreationTimestamp", when(meta.get("creationTimestamp")))
    taints = [
        f"{t.get('key')}{'=' + t['value'] if t.get('value') else ''}:{t.get('effect')}"
        for t in spec.get("taints") or []
    ]
    w.multiline(0, "Taints", taints)
    w.field(0, "Unschedulable", bool(spec.get("unschedulable")))
    describe_lease(ctx, w, meta.get("name", ""))
    describe_conditions(
        w,
        status.get("conditions") or [],
        ["Type", "Status", "LastHeartbeatTime", "LastTransitionTime", "Reason", "Message"],
    )
    w.line(0, "Addresses:")
    for a in status.get("addresses") or []:
        w.field(1, a.get("type", ""), a.get("address", ""))
    for label, key in (("Capacity", "capacity"), ("Allocatable", "allocatable")):
        if status.get(key):
            w.line(0, f"{label}:")
            for name, value in sorted(status[key].items()):
                w.field(1, name, value)
    info = status.get("nodeInfo") or {}
    # kubectl prints System Info even before a kubelet has filled it in
    w.line(0, "System Info:")
    for label, key in (
        ("Machine ID", "machineID"),
        ("System UUID", "systemUUID"),
        ("Boot ID", "bootID"),
        ("Kernel Version", "kernelVersion"),
        ("OS Image", "osImage"),
        ("Operating System", "operatingSystem"),
        ("Architecture", "architecture"),
        ("Container Runtime Version", "containerRuntimeVersion"),
        ("Kubelet Version", "kubeletVersion"),
        ("Kube-Proxy Version", "kubeProxyVersion"),
    ):
        w.field(1, label, info.get(key, ""))
    if spec.get("podCIDR"):
        w.field(0, "PodCIDR", spec["podCIDR"])
    pods_res = by_kind("Pod", "v1")
    if pods_res is None:
        return
    listing = ctx.client.list(
        pods_res, ALL_NAMESPACES, field_selector=f"spec.nodeName={meta.get('name')}"
    )
    pods = [
        p
        for p in listing.get("items") or []
        if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    ]
    allocatable = status.get("allocatable") or status.get("capacity") or {}
    w.line(0, f"Non-terminated Pods:\t({len(pods)} in total)")
    w.line(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge")
    w.line(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---")
    total_requests: dict[str, Amount] = {}
    total_limits: dict[str, Amount] = {}
    for p in pods:
        pm = p.get("metadata") or {}
        requests, limits = pod_totals(p)
        cells = [
            share(bucket.get(name, Amount()), allocatable.get(name))
            for name in ("cpu", "memory")
            for bucket in (requests, limits)
        ]
        w.line(
            1,
            f"{pm.get('namespace')}\t{pm.get('name')}\t\t"
            + "\t".join(cells)
            + f"\t{age(pm.get('creationTimestamp'))}",
        )
        for totals, amounts in ((total_requests, requests), (total_limits, limits)):
            for name, amount in amounts.items():
                totals.setdefault(name, Amount(binary=amount.binary)).value += amount.value
    w.line(0, "Allocated resources:")
    w.line(0, "  (Total limits may be over 100 percent, i.e., overcommitted.)")
    w.line(1, "Resource\tRequests\tLimits")
    w.line(1, "--------\t--------\t------")
    for name in ("cpu", "memory", "ephemeral-storage"):
        w.line(
            1,
            f"{name}\t{share(total_requests.get(name, Amount()), allocatable.get(name))}"
            f"\t{share(total_limits.get(name, Amount()), allocatable.get(name))}",
        )


def describe_lease(ctx: Context, w: Writer, node_name: str) -> None:
    """The node's heartbeat Lease in kube-node-lease, as kubectl shows it."""
    res = by_kind("Lease", "coordination.k8s.io/v1")
    if res is None:
        return
    try:
        lease = ctx.client.get(res, node_name, "kube-node-lease")
    except NotFound as err:
        w.field(0, "Lease", f"Failed to get lease: {err.message}")
        return
    spec = lease.get("spec") or {}
    w.line(0, "Lease:")
    w.field(1, "HolderIdentity", spec.get("holderIdentity") or "<unset>")
    w.field(1, "AcquireTime", when(spec["acquireTime"]) if spec.get("acquireTime") else "<unset>")
    w.field(1, "RenewTime", when(spec["renewTime"]) if spec.get("renewTime") else "<unset>")


def describe_namespace(ctx: Context, w: Writer, ns: Obj) -> None:
    describe_meta(w, ns, namespace=False)
    w.field(0, "Status", (ns.get("status") or {}).get("phase", ""))
