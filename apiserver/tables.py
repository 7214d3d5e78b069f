"""Server-side printing: `meta.k8s.io/v1` Tables with the columns Kubernetes' own printers
produce, so `kubectl get` (which asks for `as=Table`) shows the familiar output, and
minikctl can render the very same Table.

The server always fills the `-o wide` columns (priority 1); the client hides them unless
asked. Every cell is computed here from the stored JSON object."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Mapping
from typing import Any

from api import errors, jsonpath
from api.apiextensions import CustomResource
from api.autoscaling import targets_text
from api.certificates import condition_word
from api.humanize import age, format_labels, human_duration
from api.labels import selector_string
from api.podstatus import job_status, node_status, pod_status_reason
from api.quantity import Quantity
from api.quota import parse_list
from api.resources import Resource
from api.scheduling import PREEMPT_LOWER_PRIORITY
from api.storage import access_modes_string, is_default_class, volume_class
from api.timefmt import parse_time

Obj = dict[str, Any]
Column = dict[str, Any]

INCLUDE_OBJECT = ("None", "Metadata", "Object")
NODE_ROLE_PREFIX = "node-role.kubernetes.io/"
NODE_ROLE_LABEL = "kubernetes.io/role"


# The Scale subresource's kind as the table printer sees it (it is no REST resource).
SCALE = Resource("autoscaling", "v1", "Scale", "scale", "scale", True)

# --- column definitions ------------------------------------------------------------------


def _col(
    name: str, description: str, type_: str = "string", priority: int = 0, format_: str = ""
) -> Column:
    return {
        "name": name,
        "type": type_,
        "format": format_,
        "description": description,
        "priority": priority,
    }


NAME = _col("Name", "Name must be unique within a namespace.", format_="name")
AGE = _col(
    "Age",
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
)
CONTAINERS = _col("Containers", "Names of each container in the template.", priority=1)
IMAGES = _col("Images", "Images referenced by each container in the template.", priority=1)
SELECTOR_WIDE = _col("Selector", "Label selector over the pods this object manages.", priority=1)

COLUMNS: dict[str, list[Column]] = {
    "Pod": [
        NAME,
        _col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
        _col("Status", "The aggregate status of the containers in this pod."),
        _col(
            "Restarts",
            "The number of times the containers in this pod have been restarted "
            "and when the last container in this pod has restarted.",
        ),
        AGE,
        _col("IP", "IP address allocated to the pod.", priority=1),
        _col("Node", "NodeName is the node the pod is bound to.", priority=1),
        _col(
            "Nominated Node", "The node this pod is nominated to run on (preemption).", priority=1
        ),
        _col("Readiness Gates", "Pod readiness gates that are true, of all.", priority=1),
    ],
    "Node": [
        NAME,
        _col("Status", "The status of the node"),
        _col("Roles", "The roles of the node"),
        AGE,
        _col("Version", "Kubelet Version reported by the node."),
        _col("Internal-IP", "The node's first InternalIP address.", priority=1),
        _col("External-IP", "The node's first ExternalIP address.", priority=1),
        _col("OS-Image", "OS Image reported by the node.", priority=1),
        _col("Kernel-Version", "Kernel Version reported by the node.", priority=1),
        _col("Container-Runtime", "ContainerRuntime Version reported by the node.", priority=1),
    ],
    "Service": [
        NAME,
        _col(
            "Type", "How the Service is exposed: ClusterIP, NodePort, LoadBalancer, ExternalName."
        ),
        _col("Cluster-IP", "The IP address of the service inside the cluster."),
        _col("External-IP", "Addresses from outside the cluster that reach the service."),
        _col("Port(s)", "The ports exposed by this service."),
        AGE,
        _col(
            "Selector",
            "Route service traffic to pods with label keys and values matching this selector.",
            priority=1,
        ),
    ],
    "Endpoints": [
        NAME,
        _col("Endpoints", "The set of addresses and ports that comprise a service."),
        AGE,
    ],
    "Event": [
        _col(
            "Last Seen", "The time at which the most recent occurrence of this event was recorded."
        ),
        _col("Type", "Type of this event (Normal, Warning)."),
        _col("Reason", "A short, machine understandable string for the transition."),
        _col("Object", "The object that this event is about."),
        _col("Subobject", "The field of the object this event is about.", priority=1),
        _col("Source", "The component reporting this event.", priority=1),
        _col("Message", "A human-readable description of the status of this operation."),
        _col("First Seen", "The time at which the event was first recorded.", priority=1),
        _col("Count", "The number of times this event has occurred.", priority=1),
        {**NAME, "priority": 1},
    ],
    "Deployment": [
        NAME,
        _col("Ready", "Number of the pod with ready state"),
        _col(
            "Up-to-date",
            "Total number of non-terminated pods targeted by this deployment "
            "that have the desired template spec.",
        ),
        _col(
            "Available",
            "Total number of available pods (ready for at least "
            "minReadySeconds) targeted by this deployment.",
        ),
        AGE,
        CONTAINERS,
        IMAGES,
        SELECTOR_WIDE,
    ],
    "ReplicaSet": [
        NAME,
        _col("Desired", "Replicas is the number of desired replicas.", "integer"),
        _col("Current", "Replicas is the most recently observed number of replicas.", "integer"),
        _col("Ready", "The number of ready replicas for this replica set.", "integer"),
        AGE,
        CONTAINERS,
        IMAGES,
        SELECTOR_WIDE,
    ],
    "StatefulSet": [
        NAME,
        _col("Ready", "Number of the pod with ready state"),
        AGE,
        CONTAINERS,
        IMAGES,
    ],
    "DaemonSet": [
        NAME,
        _col(
            "Desired",
            "The total number of nodes that should be running the daemon pod "
            "(including nodes correctly running the daemon pod).",
            "integer",
        ),
        _col(
            "Current",
            "The number of nodes that are running at least 1 daemon pod and are "
            "supposed to run the daemon pod.",
            "integer",
        ),
        _col(
            "Ready",
            "The number of nodes that should be running the daemon pod and have one "
            "or more of the daemon pod running with a Ready Condition.",
            "integer",
        ),
        _col(
            "Up-to-date",
            "The total number of nodes that are running updated daemon pod",
            "integer",
        ),
        _col(
            "Available",
            "The number of nodes that should be running the daemon pod and have one "
            "or more of the daemon pod running and available (ready for at least "
            "spec.minReadySeconds)",
            "integer",
        ),
        _col(
            "Node Selector",
            "NodeSelector is a selector which must be true for the pod to fit on a node.",
        ),
        AGE,
        CONTAINERS,
        IMAGES,
        SELECTOR_WIDE,
    ],
    "ControllerRevision": [
        NAME,
        _col("Controller", "Controller of the object"),
        _col(
            "Revision",
            "Revision indicates the revision of the state represented by Data.",
            "integer",
        ),
        AGE,
    ],
    "Job": [
        NAME,
        _col("Status", "Status of the job."),
        _col(
            "Completions",
            "The number of pods which reached phase Succeeded. The value increases "
            "monotonically for a given spec. However, it may decrease in reaction to scale "
            "down of elastic indexed jobs.",
        ),
        _col("Duration", "Time required to complete the job."),
        AGE,
        CONTAINERS,
        IMAGES,
        _col(
            "Selector",
            "A label query over pods that should match the pod count. Normally, the system "
            "sets this field for you. More info: https://kubernetes.io/docs/concepts/"
            "overview/working-with-objects/labels/#label-selectors",
            priority=1,
        ),
    ],
    "CronJob": [
        NAME,
        _col("Schedule", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
        _col(
            "Timezone",
            "The time zone name for the given schedule, see "
            "https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, "
            "this will default to the time zone of the kube-controller-manager process.",
        ),
        _col(
            "Suspend",
            "This flag tells the controller to suspend subsequent executions, it does not "
            "apply to already started executions.  Defaults to false.",
            "boolean",
        ),
        _col("Active", "A list of pointers to currently running jobs.", "integer"),
        _col(
            "Last Schedule",
            "Information when was the last time the job was successfully scheduled.",
        ),
        AGE,
        CONTAINERS,
        IMAGES,
        _col(
            "Selector",
            "A label query over pods that should match the pod count. Normally, the system "
            "sets this field for you. More info: "
            "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
            priority=1,
        ),
    ],
    "Namespace": [NAME, _col("Status", "The status of the namespace"), AGE],
    "Lease": [NAME, _col("Holder", "The identity of the holder of the current lease."), AGE],
    "ConfigMap": [
        NAME,
        _col(
            "Data",
            "Data contains the configuration data. Each key must consist of alphanumeric "
            "characters, '-', '_' or '.'.",
        ),
        AGE,
    ],
    "ServiceAccount": [
        NAME,
        _col(
            "Secrets",
            "Secrets is a list of the secrets in the same namespace that pods running using "
            "this ServiceAccount are allowed to use.",
            "string",
        ),
        AGE,
    ],
    "Secret": [
        NAME,
        _col("Type", "Used to facilitate programmatic handling of secret data."),
        _col(
            "Data",
            "Data contains the secret data. Each key must consist of alphanumeric "
            "characters, '-', '_' or '.'.",
        ),
        AGE,
    ],
    "EndpointSlice": [
        NAME,
        _col("AddressType", "The type of address carried by this EndpointSlice."),
        _col("Ports", "The network ports exposed by each endpoint in this slice."),
        _col("Endpoints", "A list of unique endpoints in this slice."),
        AGE,
    ],
    "PersistentVolume": [
        NAME,
        _col(
            "Capacity",
            "capacity is the description of the persistent volume's resources and capacity.",
        ),
        _col("Access Modes", "accessModes contains all ways the volume can be mounted."),
        _col(
            "Reclaim Policy",
            "persistentVolumeReclaimPolicy defines what happens to a persistent volume when "
            "released from its claim.",
        ),
        _col(
            "Status",
            "phase indicates if a volume is available, bound to a claim, or released by a claim.",
        ),
        _col(
            "Claim",
            "claimRef is part of a bi-directional binding between PersistentVolume and "
            "PersistentVolumeClaim.",
        ),
        _col("StorageClass", "StorageClass of the pv"),
        _col("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
        _col("Reason", "reason is a brief CamelCase string that describes any failure."),
        AGE,
        _col(
            "VolumeMode",
            "volumeMode defines if a volume is intended to be used with a formatted "
            "filesystem or to remain in raw block state.",
            priority=1,
        ),
    ],
    "PersistentVolumeClaim": [
        NAME,
        _col("Status", "phase represents the current phase of PersistentVolumeClaim."),
        _col(
            "Volume",
            "volumeName is the binding reference to the PersistentVolume backing this claim.",
        ),
        _col("Capacity", "capacity represents the actual resources of the underlying volume."),
        _col(
            "Access Modes",
            "accessModes contains the actual access modes the volume backing the PVC has.",
        ),
        _col("StorageClass", "StorageClass of the pvc"),
        _col("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
        AGE,
        _col(
            "VolumeMode",
            "volumeMode defines what type of volume is required by the claim.",
            priority=1,
        ),
    ],
    "ResourceQuota": [
        NAME,
        AGE,
        _col(
            "Request",
            "Request represents a minimum amount of cpu/memory that a container may consume.",
        ),
        _col(
            "Limit",
            "Limits control the maximum amount of cpu/memory that a container may use "
            "independent of contention on the node.",
        ),
    ],
    "LimitRange": [
        NAME,
        _col(
            "Created At",
            "CreationTimestamp is a timestamp representing the server time when this object "
            "was created.",
            type_="date",
        ),
    ],
    "StorageClass": [
        NAME,
        _col("Provisioner", "provisioner indicates the type of the provisioner."),
        _col(
            "ReclaimPolicy",
            "reclaimPolicy controls the reclaimPolicy for dynamically provisioned "
            "PersistentVolumes of this storage class.",
        ),
        _col(
            "VolumeBindingMode",
            "volumeBindingMode indicates how PersistentVolumeClaims should be "
            "provisioned and bound.",
        ),
        _col(
            "AllowVolumeExpansion",
            "allowVolumeExpansion shows whether the storage class allow volume expand.",
        ),
        AGE,
    ],
    # autoscaling/v1 Scale, for `kubectl get <kind> <name> --subresource=scale`.
    "Scale": [
        _col("Name", "Name must be unique within a namespace."),
        _col("Desired", "desired number of instances for the scaled object.", "integer"),
        _col("Available", "actual number of observed instances of the scaled object.", "integer"),
        AGE,
    ],
    "PriorityClass": [
        NAME,
        _col(
            "Value",
            "value represents the integer value of this priority class. This is the actual "
            "priority that pods receive when they have the name of this class in their pod "
            "spec.",
            "integer",
        ),
        _col(
            "Global-Default",
            "globalDefault specifies whether this PriorityClass should be considered as the "
            "default priority for pods that do not have any priority class. Only one "
            "PriorityClass can be marked as `globalDefault`. However, if more than one "
            "PriorityClasses exists with their `globalDefault` field set to true, the smallest "
            "value of such global default PriorityClasses will be used as the default priority.",
            "boolean",
        ),
        AGE,
        _col(
            "PreemptionPolicy",
            "preemptionPolicy is the Policy for preempting pods with lower priority. One of "
            "Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset.",
        ),
    ],
    "Ingress": [
        NAME,
        _col(
            "Class",
            "The name of the IngressClass resource that should be used for additional "
            "configuration",
        ),
        _col("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
        _col("Address", "Address is a list containing ingress points for the load-balancer"),
        _col("Ports", "Ports of TLS configurations that open"),
        AGE,
    ],
    "IngressClass": [
        NAME,
        _col("Controller", "Controller that is responsible for handling this class"),
        _col("Parameters", "A reference to a resource with additional parameters"),
        AGE,
    ],
}
# core/v1 ReplicationControllers and policy/v1 PodDisruptionBudgets, as kubectl prints them.
COLUMNS["ReplicationController"] = [
    NAME,
    _col("Desired", "Replicas is the number of desired replicas.", "integer"),
    _col("Current", "Replicas is the most recently observed number of replicas.", "integer"),
    _col("Ready", "The number of ready replicas for this replication controller.", "integer"),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR_WIDE,
]
COLUMNS["PodDisruptionBudget"] = [
    NAME,
    _col("Min Available", "The minimum number of pods that must be available."),
    _col("Max Unavailable", "The maximum number of pods that may be unavailable."),
    _col(
        "Allowed Disruptions",
        "Calculated number of pods that may be disrupted at this time.",
        "integer",
    ),
    AGE,
]

DEFAULT_COLUMNS = [NAME, _col("Created At", "Time the object was created.", "date")]
# rbac/v1: Roles and ClusterRoles print NAME and CREATED AT (the default columns), as
# Kubernetes' printers do; bindings print their role and, wide, their subjects.
_BINDING_COLUMNS = [
    NAME,
    _col(
        "Role",
        "RoleRef can reference a Role in the current namespace or a ClusterRole in "
        "the global namespace. If the RoleRef cannot be resolved, the Authorizer must return "
        "an error. This field is immutable.",
    ),
    AGE,
    _col("Users", "Users in the roleBinding", priority=1),
    _col("Groups", "Groups in the roleBinding", priority=1),
    _col("ServiceAccounts", "ServiceAccounts in the roleBinding", priority=1),
]
COLUMNS["RoleBinding"] = _BINDING_COLUMNS
COLUMNS["ClusterRoleBinding"] = _BINDING_COLUMNS


# --- per-kind rows -----------------------------------------------------------------------


def _pod_cells(pod: Obj, now: float) -> list[Any]:
    reason, ready, total, restarts, last_restart = pod_status_reason(pod)
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    restarts_text = str(restarts)
    if restarts and last_restart is not None:
        restarts_text = f"{restarts} ({human_duration(now - last_restart)} ago)"
    ips = status.get("podIPs") or []
    pod_ip = (ips[0].get("ip") if ips else None) or status.get("podIP") or "<none>"
    gates = spec.get("readinessGates") or []
    gates_text = "<none>"
    if gates:
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        true = sum(1 for g in gates if conditions.get(g.get("conditionType")) == "True")
        gates_text = f"{true}/{len(gates)}"
    meta = pod.get("metadata") or {}
    return [
        meta.get("name", ""),
        f"{ready}/{total}",
        reason,
        restarts_text,
        age(meta.get("creationTimestamp"), now),
        pod_ip,
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        gates_text,
    ]


def _pod_conditions(pod: Obj) -> list[Obj] | None:
    phase = (pod.get("status") or {}).get("phase")
    if phase == "Succeeded":
        message = "The pod has completed successfully."
    elif phase == "Failed":
        message = "The pod failed."
    else:
        return None
    return [{"type": "Completed", "status": "True", "reason": phase, "message": message}]


def node_roles(node: Obj) -> list[str]:
    roles = set()
    for key, value in ((node.get("metadata") or {}).get("labels") or {}).items():
        if key.startswith(NODE_ROLE_PREFIX) and key[len(NODE_ROLE_PREFIX) :]:
            roles.add(key[len(NODE_ROLE_PREFIX) :])
        elif key == NODE_ROLE_LABEL and value:
            roles.add(value)
    return sorted(roles)


def _node_address(node: Obj, type_: str) -> str:
    for addr in (node.get("status") or {}).get("addresses") or []:
        if addr.get("type") == type_:
            return addr.get("address", "")
    return "<none>"


def _node_cells(node: Obj, now: float) -> list[Any]:
    meta = node.get("metadata") or {}
    info = (node.get("status") or {}).get("nodeInfo") or {}
    return [
        meta.get("name", ""),
        node_status(node),
        ",".join(node_roles(node)) or "<none>",
        age(meta.get("creationTimestamp"), now),
        info.get("kubeletVersion", ""),
        _node_address(node, "InternalIP"),
        _node_address(node, "ExternalIP"),
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


def service_ports(ports: list[Obj] | None) -> str:
    """`80/TCP`, or `80:31234/TCP` with a node port; comma-joined."""
    pieces = []
    for port in ports or []:
        proto = port.get("protocol") or "TCP"
        if port.get("nodePort"):
            pieces.append(f"{port.get('port')}:{port['nodePort']}/{proto}")
        else:
            pieces.append(f"{port.get('port')}/{proto}")
    return ",".join(pieces)


def service_external_ip(svc: Obj) -> str:
    spec = svc.get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    external = spec.get("externalIPs") or []
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if kind == "LoadBalancer":
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        lb = sorted({i.get("ip") or i.get("hostname") for i in ingress} - {None, ""})
        return ",".join([*lb, *external]) or "<pending>"
    if kind == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def _service_cells(svc: Obj, now: float) -> list[Any]:
    meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [
        meta.get("name", ""),
        spec.get("type") or "ClusterIP",
        cluster_ips[0] if cluster_ips else "<none>",
        service_external_ip(svc),
        service_ports(spec.get("ports")) or "<none>",
        age(meta.get("creationTimestamp"), now),
        format_labels(spec.get("selector")),
    ]


def _host_port(ip: str, port: Any) -> str:
    try:
        if ipaddress.ip_address(ip).version == 6:
            return f"[{ip}]:{port}"
    except ValueError:
        pass
    return f"{ip}:{port}"


def format_endpoints(endpoints: Obj, limit: int = 3) -> str:
    """`10.0.0.1:80,10.0.0.2:80 + 1 more...`; `<none>` without subsets."""
    subsets = endpoints.get("subsets") or []
    if not subsets:
        return "<none>"
    shown: list[str] = []
    count = 0
    more = False
    for subset in subsets:
        addresses = subset.get("addresses") or []
        ports = subset.get("ports") or []
        for port in ports or [None]:
            count += len(addresses)
            for addr in addresses:
                if len(shown) == limit:
                    more = True
                    break
                ip = addr.get("ip", "")
                shown.append(ip if port is None else _host_port(ip, port.get("port")))
    text = ",".join(shown)
    return f"{text} + {count - limit} more..." if more else text


def _endpoints_cells(ep: Obj, now: float) -> list[Any]:
    meta = ep.get("metadata") or {}
    return [meta.get("name", ""), format_endpoints(ep), age(meta.get("creationTimestamp"), now)]


def _event_cells(ev: Obj, now: float) -> list[Any]:
    meta = ev.get("metadata") or {}
    first = (
        age(ev.get("firstTimestamp"), now)
        if ev.get("firstTimestamp")
        else age(ev.get("eventTime"), now)
    )
    last = age(ev.get("lastTimestamp"), now) if ev.get("lastTimestamp") else first
    count = ev.get("count") or 0
    series = ev.get("series")
    if series:
        last = age(series.get("lastObservedTime"), now)
        count = series.get("count") or 0
    elif not count:
        count = 1
    involved = ev.get("involvedObject") or {}
    target = (involved.get("kind") or "").lower()
    if involved.get("name"):
        target = f"{target}/{involved['name']}"
    source = ev.get("source") or {}
    component = source.get("component") or ev.get("reportingComponent") or ""
    instance = source.get("host") or ev.get("reportingInstance") or ""
    return [
        last,
        ev.get("type", ""),
        ev.get("reason", ""),
        target,
        involved.get("fieldPath", ""),
        f"{component}, {instance}" if instance else component,
        (ev.get("message") or "").strip(),
        first,
        int(count),
        meta.get("name", ""),
    ]


def _template_cells(obj: Obj) -> tuple[str, str]:
    containers = (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
        "containers"
    ) or []
    return (
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
    )


def _deployment_cells(dep: Obj, now: float) -> list[Any]:
    meta, spec, status = dep.get("metadata") or {}, dep.get("spec") or {}, dep.get("status") or {}
    desired = spec.get("replicas", 1)
    names, images = _template_cells(dep)
    return [
        meta.get("name", ""),
        f"{status.get('readyReplicas') or 0}/{desired}",
        int(status.get("updatedReplicas") or 0),
        int(status.get("availableReplicas") or 0),
        age(meta.get("creationTimestamp"), now),
        names,
        images,
        selector_string(spec.get("selector")),
    ]


def _replicaset_cells(rs: Obj, now: float) -> list[Any]:
    meta, spec, status = rs.get("metadata") or {}, rs.get("spec") or {}, rs.get("status") or {}
    names, images = _template_cells(rs)
    return [
        meta.get("name", ""),
        int(spec.get("replicas", 1)),
        int(status.get("replicas") or 0),
        int(status.get("readyReplicas") or 0),
        age(meta.get("creationTimestamp"), now),
        names,
        images,
        selector_string(spec.get("selector")) or "<none>",
    ]


def _daemonset_cells(ds: Obj, now: float) -> list[Any]:
    meta, spec, status = ds.get("metadata") or {}, ds.get("spec") or {}, ds.get("status") or {}
    node_selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector")
    names, images = _template_cells(ds)
    return [
        meta.get("name", ""),
        int(status.get("desiredNumberScheduled") or 0),
        int(status.get("currentNumberScheduled") or 0),
        int(status.get("numberReady") or 0),
        int(status.get("updatedNumberScheduled") or 0),
        int(status.get("numberAvailable") or 0),
        format_labels(node_selector),
        age(meta.get("creationTimestamp"), now),
        names,
        images,
        selector_string(spec.get("selector")) or "<none>",
    ]


def _statefulset_cells(sts: Obj, now: float) -> list[Any]:
    meta, spec, status = sts.get("metadata") or {}, sts.get("spec") or {}, sts.get("status") or {}
    names, images = _template_cells(sts)
    return [
        meta.get("name", ""),
        f"{int(status.get('readyReplicas') or 0)}/{int(spec.get('replicas', 1))}",
        age(meta.get("creationTimestamp"), now),
        names,
        images,
    ]


def _controller_revision_cells(revision: Obj, now: float) -> list[Any]:
    """CONTROLLER as kubectl prints an owner: `daemonset.apps/name`."""
    meta = revision.get("metadata") or {}
    owner = next(
        (r for r in meta.get("ownerReferences") or [] if r.get("controller")),
        None,
    )
    controller = "<none>"
    if owner is not None:
        group = str(owner.get("apiVersion") or "").rpartition("/")[0]
        kind = str(owner.get("kind") or "")
        group_kind = f"{kind}.{group}" if group else kind
        controller = (
            f"{group_kind.lower()}/{owner.get('name', '')}" if kind else owner.get("name", "")
        )
    return [
        meta.get("name", ""),
        controller,
        int(revision.get("revision") or 0),
        age(meta.get("creationTimestamp"), now),
    ]


def job_completions(job: Obj) -> str:
    """`succeeded/completions`; a work-queue Job (no completions) shows `n/1 of p`."""
    spec, status = job.get("spec") or {}, job.get("status") or {}
    succeeded = int(status.get("succeeded") or 0)
    if spec.get("completions") is not None:
        return f"{succeeded}/{spec['completions']}"
    parallelism = int(spec.get("parallelism") or 0)
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def job_duration(job: Obj, now: float) -> str:
    status = job.get("status") or {}
    start = parse_time(status.get("startTime"))
    if start is None:
        return ""
    end = parse_time(status.get("completionTime"))
    return human_duration((now if end is None else end) - start)


def _job_cells(job: Obj, now: float) -> list[Any]:
    meta, spec = job.get("metadata") or {}, job.get("spec") or {}
    names, images = _template_cells(job)
    return [
        meta.get("name", ""),
        job_status(job),
        job_completions(job),
        job_duration(job, now),
        age(meta.get("creationTimestamp"), now),
        names,
        images,
        selector_string(spec.get("selector")) or "<none>",
    ]


def _cronjob_cells(cj: Obj, now: float) -> list[Any]:
    """printCronJob: `<none>` for no time zone or no run yet, `<unset>` for no suspend."""
    meta, spec, status = cj.get("metadata") or {}, cj.get("spec") or {}, cj.get("status") or {}
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    names, images = _template_cells({"spec": job_spec})
    suspend = spec.get("suspend")
    last = status.get("lastScheduleTime")
    return [
        meta.get("name", ""),
        spec.get("schedule", ""),
        spec.get("timeZone") if spec.get("timeZone") is not None else "<none>",
        "<unset>" if suspend is None else ("True" if suspend else "False"),
        len(status.get("active") or []),
        age(last, now) if last else "<none>",
        age(meta.get("creationTimestamp"), now),
        names,
        images,
        selector_string(job_spec.get("selector")) or "<none>",
    ]


def _namespace_cells(ns: Obj, now: float) -> list[Any]:
    meta = ns.get("metadata") or {}
    phase = (ns.get("status") or {}).get("phase", "")
    return [meta.get("name", ""), phase, age(meta.get("creationTimestamp"), now)]


def _lease_cells(lease: Obj, now: float) -> list[Any]:
    meta = lease.get("metadata") or {}
    holder = (lease.get("spec") or {}).get("holderIdentity") or ""
    return [meta.get("name", ""), holder, age(meta.get("creationTimestamp"), now)]


def _configmap_cells(cm: Obj, now: float) -> list[Any]:
    meta = cm.get("metadata") or {}
    count = len(cm.get("data") or {}) + len(cm.get("binaryData") or {})
    return [meta.get("name", ""), count, age(meta.get("creationTimestamp"), now)]


def _serviceaccount_cells(sa: Obj, now: float) -> list[Any]:
    meta = sa.get("metadata") or {}
    count = len(sa.get("secrets") or [])
    return [meta.get("name", ""), count, age(meta.get("creationTimestamp"), now)]


def _secret_cells(secret: Obj, now: float) -> list[Any]:
    meta = secret.get("metadata") or {}
    count = len(secret.get("data") or {})
    return [
        meta.get("name", ""),
        secret.get("type", ""),
        count,
        age(meta.get("creationTimestamp"), now),
    ]


def _list_with_more(items: list[str], limit: int = 3) -> str:
    """Kubernetes' listWithMoreString: the first `limit`, `+ N more...`, or `<unset>`."""
    text = ",".join(items[:limit])
    if len(items) > limit:
        return f"{text} + {len(items) - limit} more..."
    return text or "<unset>"


def _slice_port(port: Obj) -> str:
    """formatDiscoveryPorts: the number, else the name, else `*` (any port)."""
    if port.get("port") is not None:
        return str(port["port"])
    return "*" if port.get("name") is None else port["name"]


def _endpointslice_cells(eps: Obj, now: float) -> list[Any]:
    meta = eps.get("metadata") or {}
    ports = [_slice_port(p) for p in eps.get("ports") or []]
    addresses = [a for e in eps.get("endpoints") or [] for a in e.get("addresses") or []]
    return [
        meta.get("name", ""),
        eps.get("addressType", ""),
        _list_with_more(ports),
        _list_with_more(addresses),
        age(meta.get("creationTimestamp"), now),
    ]


def _pv_cells(pv: Obj, now: float) -> list[Any]:
    meta, spec = pv.get("metadata") or {}, pv.get("spec") or {}
    phase = (
        "Terminating"
        if meta.get("deletionTimestamp")
        else (pv.get("status") or {}).get("phase", "")
    )
    claim = spec.get("claimRef")
    return [
        meta.get("name", ""),
        str((spec.get("capacity") or {}).get("storage", "")),
        access_modes_string(spec.get("accessModes")),
        spec.get("persistentVolumeReclaimPolicy", ""),
        phase,
        f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else "",
        volume_class(pv),
        spec.get("volumeAttributesClassName") or "<unset>",
        (pv.get("status") or {}).get("reason", ""),
        age(meta.get("creationTimestamp"), now),
        spec.get("volumeMode") or "<unset>",
    ]


def _pvc_cells(pvc: Obj, now: float) -> list[Any]:
    meta, spec, status = pvc.get("metadata") or {}, pvc.get("spec") or {}, pvc.get("status") or {}
    phase = "Terminating" if meta.get("deletionTimestamp") else status.get("phase", "")
    capacity = modes = ""
    if spec.get("volumeName"):
        capacity = str((status.get("capacity") or {}).get("storage", ""))
        modes = access_modes_string(status.get("accessModes"))
    return [
        meta.get("name", ""),
        phase,
        spec.get("volumeName", ""),
        capacity,
        modes,
        volume_class(pvc),
        spec.get("volumeAttributesClassName") or "<unset>",
        age(meta.get("creationTimestamp"), now),
        spec.get("volumeMode") or "<unset>",
    ]


def _storage_class_cells(sc: Obj, now: float) -> list[Any]:
    meta = sc.get("metadata") or {}
    name = meta.get("name", "") + (" (default)" if is_default_class(sc) else "")
    return [
        name,
        sc.get("provisioner", ""),
        sc.get("reclaimPolicy") or "Delete",
        sc.get("volumeBindingMode") or "Immediate",
        bool(sc.get("allowVolumeExpansion")),
        age(meta.get("creationTimestamp"), now),
    ]


def _scale_cells(scale: Obj, now: float) -> list[Any]:
    meta = scale.get("metadata") or {}
    return [
        meta.get("name", ""),
        int((scale.get("spec") or {}).get("replicas") or 0),
        int((scale.get("status") or {}).get("replicas") or 0),
        age(meta.get("creationTimestamp"), now),
    ]


def ingress_hosts(rules: list[Obj] | None) -> str:
    """printIngress's formatHosts: up to three hosts, `*` when none names one."""
    shown: list[str] = []
    more = False
    for rule in rules or []:
        if len(shown) == 3:
            more = True
        if not more and rule.get("host"):
            shown.append(rule["host"])
    if not shown:
        return "*"
    text = ",".join(shown)
    return f"{text} + {len(rules or []) - 3} more..." if more else text


def ingress_address(ingress: Obj) -> str:
    """The load balancer's IPs (else hostnames), sorted and unique."""
    entries = ((ingress.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return ",".join(sorted({e.get("ip") or e.get("hostname") for e in entries} - {None, ""}))


def _ingress_cells(ing: Obj, now: float) -> list[Any]:
    meta, spec = ing.get("metadata") or {}, ing.get("spec") or {}
    return [
        meta.get("name", ""),
        spec.get("ingressClassName") or "<none>",
        ingress_hosts(spec.get("rules")),
        ingress_address(ing),
        "80, 443" if spec.get("tls") else "80",
        age(meta.get("creationTimestamp"), now),
    ]


def _replication_controller_cells(rc: Obj, now: float) -> list[Any]:
    """printReplicationController: the selector is a plain label map."""
    meta, spec, status = rc.get("metadata") or {}, rc.get("spec") or {}, rc.get("status") or {}
    names, images = _template_cells(rc)
    selector = spec.get("selector")
    return [
        meta.get("name", ""),
        int(spec.get("replicas", 1)),
        int(status.get("replicas") or 0),
        int(status.get("readyReplicas") or 0),
        age(meta.get("creationTimestamp"), now),
        names,
        images,
        format_labels(selector if isinstance(selector, dict) else None),
    ]


def _int_or_string(value: Any) -> str:
    """intstr.IntOrString.String(); N/A when unset (printPodDisruptionBudget)."""
    return "N/A" if value is None else str(value)


def _pdb_cells(pdb: Obj, now: float) -> list[Any]:
    meta, spec, status = pdb.get("metadata") or {}, pdb.get("spec") or {}, pdb.get("status") or {}
    return [
        meta.get("name", ""),
        _int_or_string(spec.get("minAvailable")),
        _int_or_string(spec.get("maxUnavailable")),
        int(status.get("disruptionsAllowed") or 0),
        age(meta.get("creationTimestamp"), now),
    ]


def _ingress_class_cells(ic: Obj, now: float) -> list[Any]:
    meta, spec = ic.get("metadata") or {}, ic.get("spec") or {}
    params = spec.get("parameters")
    shown = "<none>"
    if isinstance(params, dict):
        shown = params.get("kind", "")
        if params.get("apiGroup"):
            shown += "." + params["apiGroup"]
        shown += "/" + params.get("name", "")
    return [
        meta.get("name", ""),
        spec.get("controller", ""),
        shown,
        age(meta.get("creationTimestamp"), now),
    ]


def _priority_class_cells(pc: Obj, now: float) -> list[Any]:
    meta = pc.get("metadata") or {}
    return [
        meta.get("name", ""),
        pc.get("value") or 0,
        bool(pc.get("globalDefault")),
        age(meta.get("creationTimestamp"), now),
        pc.get("preemptionPolicy") or PREEMPT_LOWER_PRIORITY,
    ]


def _quota_cells(rq: Obj, now: float) -> list[Any]:
    """printResourceQuota: `name: used/hard` pairs from status, `limits.*` in LIMIT."""
    meta, status = rq.get("metadata") or {}, rq.get("status") or {}
    hard, used = parse_list(status.get("hard")), parse_list(status.get("used"))
    request: list[str] = []
    limit: list[str] = []
    for name in sorted(hard):
        pieces = name.split(".")
        column = limit if len(pieces) > 1 and pieces[0] == "limits" else request
        column.append(f"{name}: {used.get(name, Quantity(0))}/{hard[name]}")
    return [
        meta.get("name", ""),
        age(meta.get("creationTimestamp"), now),
        ", ".join(request),
        ", ".join(limit),
    ]


def _limit_range_cells(lr: Obj, now: float) -> list[Any]:
    meta = lr.get("metadata") or {}
    return [meta.get("name", ""), meta.get("creationTimestamp")]


# apiregistration.k8s.io/v1 APIService, as the aggregator's printers.
COLUMNS["APIService"] = [
    NAME,
    _col("Service", "The reference to the service that hosts this API endpoint."),
    _col("Available", "Whether this service is available."),
    AGE,
]


# v1 ComponentStatus, as Kubernetes' printer: Healthy only when the condition is True.
COLUMNS["ComponentStatus"] = [
    NAME,
    _col("Status", "Status of the component conditions"),
    _col("Message", "Message of the component conditions"),
    _col("Error", "Error of the component conditions"),
]


def _component_status_cells(cs: Obj, now: float) -> list[Any]:
    status, message, error = "Unknown", "", ""
    for condition in cs.get("conditions") or []:
        if condition.get("type") == "Healthy":
            status = "Healthy" if condition.get("status") == "True" else "Unhealthy"
            message, error = condition.get("message", ""), condition.get("error", "")
    return [(cs.get("metadata") or {}).get("name", ""), status, message, error]


# certificates.k8s.io CertificateSigningRequests, as Kubernetes' printer.
COLUMNS["CertificateSigningRequest"] = [
    NAME,
    AGE,
    _col("SignerName", "Requested signer for the request."),
    _col("Requestor", "Name of the user who requested the certificate."),
    _col("RequestedDuration", "The requested duration of validity of the issued certificate."),
    _col("Condition", "Conditions applied to the request: Approved, Denied, Failed."),
]


# autoscaling HorizontalPodAutoscalers, as kubectl's printer (TARGETS: `cpu: 73%/50%`).
COLUMNS["HorizontalPodAutoscaler"] = [
    NAME,
    _col("Reference", "The reference to the target that is scaled."),
    _col("Targets", "The current and target values of the metrics."),
    _col("MinPods", "Lower limit for the number of pods that can be set by the autoscaler."),
    _col("MaxPods", "Upper limit for the number of pods that can be set by the autoscaler."),
    _col("Replicas", "Current number of replicas of pods managed by this autoscaler."),
    AGE,
]


def _hpa_cells(hpa: Obj, now: float) -> list[Any]:
    meta, spec = hpa.get("metadata") or {}, hpa.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    minimum = spec.get("minReplicas")
    return [
        meta.get("name", ""),
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        targets_text(hpa),
        "<unset>" if minimum is None else minimum,
        spec.get("maxReplicas", 0),
        (hpa.get("status") or {}).get("currentReplicas", 0),
        age(meta.get("creationTimestamp"), now),
    ]


def _apiservice_cells(svc: Obj, now: float) -> list[Any]:
    meta = svc.get("metadata") or {}
    ref = (svc.get("spec") or {}).get("service")
    service = f"{ref.get('namespace', '')}/{ref.get('name', '')}" if ref else "Local"
    available = "Unknown"
    for cond in (svc.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Available":
            available = cond.get("status", "Unknown")
            if available != "True" and cond.get("reason"):
                available = f"{available} ({cond['reason']})"
    return [meta.get("name", ""), service, available, age(meta.get("creationTimestamp"), now)]


def _csr_cells(csr: Obj, now: float) -> list[Any]:
    meta, spec = csr.get("metadata") or {}, csr.get("spec") or {}
    seconds = spec.get("expirationSeconds")
    return [
        meta.get("name", ""),
        age(meta.get("creationTimestamp"), now),
        spec.get("signerName") or "<none>",
        spec.get("username") or "",
        human_duration(seconds) if isinstance(seconds, int) else "<none>",
        condition_word(csr),
    ]


def _binding_cells(obj: Obj, now: float) -> list[Any]:
    meta = obj.get("metadata") or {}
    ref = obj.get("roleRef") or {}
    subjects = [s for s in obj.get("subjects") or [] if isinstance(s, dict)]

    def names(kind: str) -> str:
        return ", ".join(
            f"{s.get('namespace', '')}/{s.get('name', '')}"
            if kind == "ServiceAccount"
            else str(s.get("name", ""))
            for s in subjects
            if s.get("kind") == kind
        )

    return [
        meta.get("name", ""),
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        age(meta.get("creationTimestamp"), now),
        names("User"),
        names("Group"),
        names("ServiceAccount"),
    ]


def _default_cells(obj: Obj, now: float) -> list[Any]:
    meta = obj.get("metadata") or {}
    return [meta.get("name", ""), meta.get("creationTimestamp")]


CELLS: dict[str, Callable[[Obj, float], list[Any]]] = {
    "RoleBinding": _binding_cells,
    "ClusterRoleBinding": _binding_cells,
    "Pod": _pod_cells,
    "Node": _node_cells,
    "Service": _service_cells,
    "Endpoints": _endpoints_cells,
    "Event": _event_cells,
    "Deployment": _deployment_cells,
    "ReplicaSet": _replicaset_cells,
    "DaemonSet": _daemonset_cells,
    "StatefulSet": _statefulset_cells,
    "ControllerRevision": _controller_revision_cells,
    "Job": _job_cells,
    "CronJob": _cronjob_cells,
    "Namespace": _namespace_cells,
    "Lease": _lease_cells,
    "ConfigMap": _configmap_cells,
    "ServiceAccount": _serviceaccount_cells,
    "Secret": _secret_cells,
    "EndpointSlice": _endpointslice_cells,
    "PersistentVolume": _pv_cells,
    "PersistentVolumeClaim": _pvc_cells,
    "StorageClass": _storage_class_cells,
    "Scale": _scale_cells,
    "PriorityClass": _priority_class_cells,
    "ReplicationController": _replication_controller_cells,
    "PodDisruptionBudget": _pdb_cells,
    "ResourceQuota": _quota_cells,
    "LimitRange": _limit_range_cells,
    "Ingress": _ingress_cells,
    "IngressClass": _ingress_class_cells,
    "APIService": _apiservice_cells,
    "ComponentStatus": _component_status_cells,
    "HorizontalPodAutoscaler": _hpa_cells,
    "CertificateSigningRequest": _csr_cells,
}


# --- the Table ---------------------------------------------------------------------------


def wants_table(accept: str | None) -> bool:
    """True when the Accept header asks for a `meta.k8s.io` Table (kubectl get does)."""
    for part in (accept or "").split(","):
        params = {}
        for piece in part.split(";")[1:]:
            key, _, value = piece.strip().partition("=")
            params[key.lower()] = value.strip()
        if params.get("as") == "Table" and params.get("g", "meta.k8s.io") == "meta.k8s.io":
            return True
    return False


def include_object_policy(value: str | None) -> str:
    """Validate `?includeObject=`; Kubernetes' default is Metadata."""
    if not value:
        return "Metadata"
    if value not in INCLUDE_OBJECT:
        raise errors.bad_request(
            f'includeObject: Unsupported value: "{value}": supported values: '
            '"Metadata", "None", "Object"'
        )
    return value


def include_object(accept: str | None, params: Mapping[str, str] | None = None) -> str:
    """The includeObject policy of a request: the `?includeObject=` query parameter (what
    kubectl sends, e.g. for --sort-by), else an `includeObject=` Accept parameter, else
    Kubernetes' default, Metadata."""
    value = (params or {}).get("includeObject")
    if not value:
        for part in (accept or "").split(","):
            for piece in part.split(";")[1:]:
                key, _, found = piece.strip().partition("=")
                if key == "includeObject" and found:
                    value = found.strip()
                    break
            if value:
                break
    return include_object_policy(value)


def _row_object(resource: Resource, obj: Obj, include_object: str) -> Obj | None:
    if include_object == "None":
        return None
    if include_object == "Object":
        return {"kind": resource.kind, "apiVersion": resource.api_version, **obj}
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata") or {},
    }


def table_row(
    resource: Resource, obj: Obj, include_object: str = "Metadata", now: float | None = None
) -> Obj:
    now = time.time() if now is None else now
    if isinstance(resource, CustomResource):
        cells = custom_cells(resource, obj, now)
    else:
        cells = CELLS.get(resource.kind, _default_cells)(obj, now)
    row: Obj = {"cells": cells}
    if resource.kind == "Pod" and (conditions := _pod_conditions(obj)):
        row["conditions"] = conditions
    row_object = _row_object(resource, obj, include_object)
    if row_object is not None:
        row["object"] = row_object
    return row


def column_definitions(resource: Resource) -> list[Column]:
    if isinstance(resource, CustomResource):
        return custom_columns(resource)
    return [dict(c) for c in COLUMNS.get(resource.kind, DEFAULT_COLUMNS)]


# --- custom resources: additionalPrinterColumns ----------------------------------------

_CUSTOM_AGE = {
    "name": "Age",
    "type": "date",
    "jsonPath": ".metadata.creationTimestamp",
    "description": AGE["description"],
}


def _printer_columns(resource: CustomResource) -> list[Obj]:
    """A CRD's columns; without any, Kubernetes prints NAME and AGE."""
    return list(resource.printer_columns) or [_CUSTOM_AGE]


def custom_columns(resource: CustomResource) -> list[Column]:
    columns = [dict(NAME)]
    for col in _printer_columns(resource):
        columns.append(
            {
                "name": col.get("name", ""),
                "type": col.get("type", "string"),
                "format": col.get("format", ""),
                "description": col.get("description", ""),
                "priority": int(col.get("priority") or 0),
            }
        )
    return columns


def custom_cells(resource: CustomResource, obj: Obj, now: float) -> list[Any]:
    """Cells at each column's JSONPath, as Kubernetes' CRD table convertor: dates as
    ages, a missing value as nothing, lists and objects as JSON text."""
    cells: list[Any] = [(obj.get("metadata") or {}).get("name", "")]
    for col in _printer_columns(resource):
        values = jsonpath.find(obj, col.get("jsonPath", ""))
        if not values:
            cells.append(None)
            continue
        value = values[0]
        type_ = col.get("type")
        if type_ == "date" and isinstance(value, str):
            when = parse_time(value)
            cells.append(human_duration(now - when) if when is not None else value)
        elif type_ == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
            cells.append(int(value))
        elif type_ in ("integer", "number", "boolean") or isinstance(value, str):
            cells.append(value)
        else:
            import json

            cells.append(json.dumps(value, separators=(",", ":")))
    return cells


def to_table(
    resource: Resource,
    objects: list[Obj],
    list_meta: Obj | None = None,
    include_object: str = "Metadata",
    *,
    headers: bool = True,
    now: float | None = None,
) -> Obj:
    """A `meta.k8s.io/v1` Table of `objects`; `list_meta` (resourceVersion, continue) is
    copied into the Table's metadata. `headers=False` omits columnDefinitions, as for
    the watch events after the first."""
    include_object = include_object_policy(include_object)
    now = time.time() if now is None else now
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": dict(list_meta or {}),
        "columnDefinitions": column_definitions(resource) if headers else [],
        "rows": [table_row(resource, obj, include_object, now) for obj in objects],
    }


def watch_event_table(
    resource: Resource,
    event_type: str,
    obj: Obj,
    include_object: str = "Metadata",
    *,
    first: bool = True,
    now: float | None = None,
) -> Obj:
    """A watch event whose object is a one-row Table (what `kubectl get -w` asks for).
    Bookmark and ERROR events pass through unchanged."""
    if event_type in ("BOOKMARK", "ERROR"):
        return {"type": event_type, "object": obj}
    rv = (obj.get("metadata") or {}).get("resourceVersion")
    meta = {"resourceVersion": rv} if rv else {}
    table = to_table(resource, [obj], meta, include_object, headers=first, now=now)
    return {"type": event_type, "object": table}
