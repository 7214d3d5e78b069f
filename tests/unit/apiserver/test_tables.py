"""Server-side Tables: kubectl's usual columns, computed like Kubernetes' printers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api import errors
from api.resources import by_kind
from apiserver import tables
from tests.unit.configobjects import cm, secret

NOW = 1_700_000_000.0


def ts(ago: float) -> str:
    return datetime.fromtimestamp(NOW - ago, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cells(kind: str, obj: dict) -> list:
    resource = by_kind(kind)
    assert resource is not None
    table = tables.to_table(resource, [obj], now=NOW)
    return table["rows"][0]["cells"]


def row(kind: str, obj: dict) -> dict:
    names = [c["name"] for c in tables.COLUMNS[kind]]
    return dict(zip(names, cells(kind, obj), strict=True))


def test_wants_table_and_include_object():
    kubectl = (
        "application/json;as=Table;v=v1;g=meta.k8s.io,"
        "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
    )
    assert tables.wants_table(kubectl)
    assert not tables.wants_table("application/json")
    assert not tables.wants_table(None)
    assert tables.include_object_policy(None) == "Metadata"
    assert tables.include_object_policy("Object") == "Object"
    with pytest.raises(errors.ApiError) as exc:
        tables.include_object_policy("Everything")
    assert exc.value.code == 400
    assert tables.include_object(kubectl, {"includeObject": "Object"}) == "Object"
    assert tables.include_object(kubectl, {}) == "Metadata"
    assert tables.include_object(kubectl + ";includeObject=None", None) == "None"


def pod(status: dict, spec: dict | None = None, **meta) -> dict:
    return {
        "metadata": {"name": "p", "namespace": "default", "creationTimestamp": ts(60), **meta},
        "spec": spec or {"containers": [{"name": "c", "image": "x"}]},
        "status": status,
    }


def test_pod_running_with_restarts():
    r = row(
        "Pod",
        pod(
            {
                "phase": "Running",
                "podIPs": [{"ip": "10.244.0.5"}],
                "containerStatuses": [
                    {
                        "name": "c",
                        "ready": True,
                        "restartCount": 3,
                        "state": {"running": {}},
                        "lastState": {"terminated": {"exitCode": 1, "finishedAt": ts(120)}},
                    }
                ],
            },
            {"containers": [{"name": "c"}], "nodeName": "node-1"},
        ),
    )
    assert r["Ready"] == "1/1" and r["Status"] == "Running"
    assert r["Restarts"] == "3 (2m ago)" and r["Age"] == "60s"
    assert (r["IP"], r["Node"], r["Nominated Node"], r["Readiness Gates"]) == (
        "10.244.0.5",
        "node-1",
        "<none>",
        "<none>",
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"phase": "Pending"}, "Pending"),
        (
            {
                "phase": "Running",
                "containerStatuses": [
                    {"name": "c", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
                ],
            },
            "CrashLoopBackOff",
        ),
        (
            {
                "phase": "Pending",
                "containerStatuses": [
                    {"name": "c", "state": {"waiting": {"reason": "ErrImagePull"}}}
                ],
            },
            "ErrImagePull",
        ),
        (
            {
                "phase": "Succeeded",
                "containerStatuses": [
                    {"name": "c", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
                ],
            },
            "Completed",
        ),
        (
            {
                "phase": "Failed",
                "containerStatuses": [{"name": "c", "state": {"terminated": {"exitCode": 2}}}],
            },
            "ExitCode:2",
        ),
        (
            {
                "phase": "Failed",
                "containerStatuses": [
                    {"name": "c", "state": {"terminated": {"exitCode": 137, "signal": 9}}}
                ],
            },
            "Signal:9",
        ),
        ({"phase": "Failed", "reason": "Evicted"}, "Evicted"),
        (
            {
                "phase": "Pending",
                "conditions": [
                    {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}
                ],
            },
            "SchedulingGated",
        ),
    ],
)
def test_pod_status_column(status, expected):
    assert row("Pod", pod(status))["Status"] == expected


def test_pod_init_containers():
    spec = {"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "c"}]}
    running = pod(
        {
            "phase": "Pending",
            "initContainerStatuses": [
                {"name": "i1", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                {"name": "i2", "state": {"running": {}}},
            ],
        },
        spec,
    )
    assert row("Pod", running)["Status"] == "Init:1/2"
    failing = pod(
        {
            "phase": "Pending",
            "initContainerStatuses": [
                {
                    "name": "i1",
                    "restartCount": 2,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                }
            ],
        },
        spec,
    )
    assert row("Pod", failing)["Status"] == "Init:CrashLoopBackOff"
    assert row("Pod", failing)["Restarts"] == "2"
    errored = pod(
        {
            "phase": "Pending",
            "initContainerStatuses": [{"name": "i1", "state": {"terminated": {"exitCode": 3}}}],
        },
        spec,
    )
    assert row("Pod", errored)["Status"] == "Init:ExitCode:3"


def test_pod_sidecar_counts_as_container():
    spec = {
        "initContainers": [{"name": "s", "restartPolicy": "Always"}],
        "containers": [{"name": "c"}],
    }
    r = row(
        "Pod",
        pod(
            {
                "phase": "Running",
                "conditions": [
                    {"type": "Initialized", "status": "True"},
                    {"type": "Ready", "status": "True"},
                ],
                "initContainerStatuses": [
                    {"name": "s", "started": True, "ready": True, "state": {"running": {}}}
                ],
                "containerStatuses": [{"name": "c", "ready": True, "state": {"running": {}}}],
            },
            spec,
        ),
    )
    assert r["Ready"] == "2/2" and r["Status"] == "Running"


def test_pod_terminating_and_unknown():
    running = {
        "phase": "Running",
        "containerStatuses": [{"name": "c", "ready": True, "state": {"running": {}}}],
    }
    assert row("Pod", pod(running, deletionTimestamp=ts(1)))["Status"] == "Terminating"
    lost = {**running, "reason": "NodeLost"}
    assert row("Pod", pod(lost, deletionTimestamp=ts(1)))["Status"] == "Unknown"
    done = {
        "phase": "Succeeded",
        "containerStatuses": [
            {"name": "c", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
        ],
    }
    assert row("Pod", pod(done, deletionTimestamp=ts(1)))["Status"] == "Completed"


def test_pod_completed_row_condition_and_readiness_gates():
    table = tables.to_table(by_kind("Pod"), [pod({"phase": "Succeeded"})], now=NOW)
    assert table["rows"][0]["conditions"][0]["type"] == "Completed"
    gated = pod(
        {"phase": "Running", "conditions": [{"type": "x/ok", "status": "True"}]},
        {
            "containers": [{"name": "c"}],
            "readinessGates": [{"conditionType": "x/ok"}, {"conditionType": "x/no"}],
        },
    )
    assert row("Pod", gated)["Readiness Gates"] == "1/2"


def node(conditions: list, unschedulable: bool = False, labels: dict | None = None) -> dict:
    return {
        "metadata": {"name": "n1", "creationTimestamp": ts(3 * 86400), "labels": labels or {}},
        "spec": {"unschedulable": unschedulable},
        "status": {
            "conditions": conditions,
            "addresses": [{"type": "InternalIP", "address": "172.17.0.2"}],
            "nodeInfo": {"kubeletVersion": "v1.32.0-minik"},
        },
    }


def test_node_columns():
    ready = [{"type": "Ready", "status": "True"}]
    r = row(
        "Node",
        node(
            ready,
            labels={"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "worker"},
        ),
    )
    assert r["Status"] == "Ready" and r["Roles"] == "control-plane,worker"
    assert r["Age"] == "3d" and r["Version"] == "v1.32.0-minik"
    assert (r["Internal-IP"], r["External-IP"], r["OS-Image"]) == (
        "172.17.0.2",
        "<none>",
        "<unknown>",
    )
    assert row("Node", node([{"type": "Ready", "status": "False"}]))["Status"] == "NotReady"
    assert row("Node", node([{"type": "Ready", "status": "Unknown"}]))["Status"] == "NotReady"
    assert row("Node", node([]))["Status"] == "Unknown"
    assert row("Node", node(ready, True))["Status"] == "Ready,SchedulingDisabled"
    assert row("Node", node([]))["Roles"] == "<none>"


def svc(spec: dict, status: dict | None = None) -> dict:
    return {
        "metadata": {"name": "s", "creationTimestamp": ts(10)},
        "spec": spec,
        "status": status or {},
    }


def test_service_columns():
    r = row(
        "Service",
        svc(
            {
                "type": "NodePort",
                "clusterIP": "10.96.0.9",
                "clusterIPs": ["10.96.0.9"],
                "selector": {"b": "2", "a": "1"},
                "ports": [
                    {"port": 80, "nodePort": 31234, "protocol": "TCP"},
                    {"port": 53, "protocol": "UDP"},
                ],
            }
        ),
    )
    assert (r["Type"], r["Cluster-IP"], r["External-IP"]) == ("NodePort", "10.96.0.9", "<none>")
    assert r["Port(s)"] == "80:31234/TCP,53/UDP" and r["Selector"] == "a=1,b=2"
    lb = svc({"type": "LoadBalancer", "clusterIP": "10.96.0.8", "ports": [{"port": 80}]})
    assert row("Service", lb)["External-IP"] == "<pending>"
    lb["status"] = {"loadBalancer": {"ingress": [{"ip": "172.17.0.3"}, {"ip": "172.17.0.2"}]}}
    assert row("Service", lb)["External-IP"] == "172.17.0.2,172.17.0.3"
    headless = svc({"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"]})
    assert row("Service", headless)["Cluster-IP"] == "None"
    assert row("Service", headless)["Port(s)"] == "<none>"
    ext = svc({"type": "ExternalName", "externalName": "example.com"})
    assert row("Service", ext)["External-IP"] == "example.com"
    assert row("Service", ext)["Cluster-IP"] == "<none>"


def test_endpoints_column():
    ep = {
        "metadata": {"name": "web", "creationTimestamp": ts(5)},
        "subsets": [
            {"addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 5)], "ports": [{"port": 80}]}
        ],
    }
    assert row("Endpoints", ep)["Endpoints"] == ("10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...")
    ep["subsets"] = [
        {"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]},
        {"addresses": [{"ip": "10.0.0.9"}]},
    ]
    assert row("Endpoints", ep)["Endpoints"] == "[fd00::1]:80,10.0.0.9"
    assert row("Endpoints", {"metadata": {"name": "x"}})["Endpoints"] == "<none>"


def test_event_columns():
    ev = {
        "metadata": {"name": "web.1", "namespace": "default"},
        "type": "Warning",
        "reason": "BackOff",
        "message": " Back-off restarting \n",
        "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{c}"},
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": ts(600),
        "lastTimestamp": ts(30),
        "count": 5,
    }
    r = row("Event", ev)
    assert (r["Last Seen"], r["Type"], r["Reason"], r["Object"]) == (
        "30s",
        "Warning",
        "BackOff",
        "pod/web",
    )
    assert r["Message"] == "Back-off restarting"
    assert (r["Subobject"], r["Source"], r["First Seen"], r["Count"], r["Name"]) == (
        "spec.containers{c}",
        "kubelet, node-1",
        "10m",
        5,
        "web.1",
    )
    new_style = {
        "metadata": {"name": "e"},
        "eventTime": ts(20)[:-1] + ".000000Z",
        "reportingComponent": "scheduler",
        "involvedObject": {"kind": "Node"},
    }
    r = row("Event", new_style)
    assert (r["Last Seen"], r["First Seen"], r["Count"], r["Object"], r["Source"]) == (
        "20s",
        "20s",
        1,
        "node",
        "scheduler",
    )
    assert [c["name"] for c in tables.COLUMNS["Event"] if c["priority"] == 0] == [
        "Last Seen",
        "Type",
        "Reason",
        "Object",
        "Message",
    ]


def test_deployment_and_replicaset_columns():
    template = {
        "spec": {"containers": [{"name": "a", "image": "nginx"}, {"name": "b", "image": "busybox"}]}
    }
    dep = {
        "metadata": {"name": "web", "creationTimestamp": ts(600)},
        "spec": {
            "replicas": 3,
            "template": template,
            "selector": {
                "matchLabels": {"app": "web"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["fe", "be"]},
                    {"key": "canary", "operator": "DoesNotExist"},
                ],
            },
        },
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    }
    r = row("Deployment", dep)
    assert (r["Ready"], r["Up-to-date"], r["Available"], r["Age"]) == ("2/3", 3, 2, "10m")
    assert (r["Containers"], r["Images"]) == ("a,b", "nginx,busybox")
    assert r["Selector"] == "app=web,!canary,tier in (be,fe)"
    assert row("Deployment", {"metadata": {"name": "x"}, "spec": {}})["Ready"] == "0/1"
    rs = {
        "metadata": {"name": "web-1"},
        "spec": {"replicas": 0, "selector": {}, "template": template},
        "status": {},
    }
    r = row("ReplicaSet", rs)
    assert (r["Desired"], r["Current"], r["Ready"], r["Selector"]) == (0, 0, 0, "<none>")


def test_namespace_and_lease_columns():
    ns = {
        "metadata": {"name": "dev", "creationTimestamp": ts(4 * 3600)},
        "status": {"phase": "Terminating"},
    }
    assert cells("Namespace", ns) == ["dev", "Terminating", "4h"]
    lease = {
        "metadata": {"name": "sched", "creationTimestamp": ts(5)},
        "spec": {"holderIdentity": "host_1"},
    }
    assert cells("Lease", lease) == ["sched", "host_1", "5s"]
    assert cells("Lease", {"metadata": {"name": "free"}, "spec": {}})[1] == ""


def test_endpointslice_columns():
    eps = {
        "metadata": {"name": "web-abcde", "creationTimestamp": ts(30)},
        "addressType": "IPv4",
        "ports": [{"name": "", "port": 8080}, {"name": "b", "port": 81}],
        "endpoints": [{"addresses": [f"10.0.0.{i}"]} for i in range(1, 6)],
    }
    assert cells("EndpointSlice", eps) == [
        "web-abcde",
        "IPv4",
        "8080,81",
        "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...",
        "30s",
    ]
    eps = {"metadata": {"name": "x"}, "addressType": "IPv4", "ports": [{"name": "n"}, {}]}
    assert cells("EndpointSlice", eps)[2:4] == ["n,*", "<unset>"]
    assert [c["name"] for c in tables.COLUMNS["EndpointSlice"]] == [
        "Name",
        "AddressType",
        "Ports",
        "Endpoints",
        "Age",
    ]


def test_table_shape_and_row_objects():
    resource = by_kind("Namespace")
    ns = {
        "metadata": {"name": "dev", "resourceVersion": "7", "labels": {"a": "b"}},
        "status": {"phase": "Active"},
    }
    table = tables.to_table(resource, [ns], {"resourceVersion": "9", "continue": "c"}, now=NOW)
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "9", "continue": "c"}
    names = [c["name"] for c in table["columnDefinitions"]]
    assert names == ["Name", "Status", "Age"]
    assert table["columnDefinitions"][0]["format"] == "name"
    assert table["rows"][0]["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": ns["metadata"],
    }
    full = tables.to_table(resource, [ns], include_object="Object", now=NOW)
    assert full["rows"][0]["object"]["kind"] == "Namespace"
    assert full["rows"][0]["object"]["status"] == {"phase": "Active"}
    bare = tables.to_table(resource, [ns], include_object="None", now=NOW)
    assert "object" not in bare["rows"][0]
    for kind, columns in tables.COLUMNS.items():
        resource = tables.SCALE if kind == "Scale" else by_kind(kind)
        assert resource is not None, kind
        assert len(
            tables.to_table(resource, [{"metadata": {"name": "x"}}], now=NOW)["rows"][0]["cells"]
        ) == len(columns), kind


def test_wide_columns_have_priority_one():
    wide = {
        k: [c["name"] for c in cols if c["priority"] == 1] for k, cols in tables.COLUMNS.items()
    }
    assert wide["Pod"] == ["IP", "Node", "Nominated Node", "Readiness Gates"]
    assert wide["Deployment"] == ["Containers", "Images", "Selector"]
    assert wide["Service"] == ["Selector"]
    assert wide["Node"] == [
        "Internal-IP",
        "External-IP",
        "OS-Image",
        "Kernel-Version",
        "Container-Runtime",
    ]


def test_watch_event_tables():
    resource = by_kind("Pod")
    obj = pod({"phase": "Pending"}, resourceVersion="42")
    first = tables.watch_event_table(resource, "ADDED", obj, now=NOW)
    assert first["type"] == "ADDED" and first["object"]["kind"] == "Table"
    assert first["object"]["metadata"] == {"resourceVersion": "42"}
    assert len(first["object"]["rows"]) == 1 and first["object"]["columnDefinitions"]
    later = tables.watch_event_table(resource, "MODIFIED", obj, first=False, now=NOW)
    assert later["object"]["columnDefinitions"] == []
    bookmark = {"kind": "Pod", "metadata": {"resourceVersion": "50"}}
    assert tables.watch_event_table(resource, "BOOKMARK", bookmark)["object"] == bookmark


def test_configmap_and_secret_cells():
    now = 1_000_000.0
    row = tables.CELLS["ConfigMap"](cm(data={"a": "1"}, binaryData={"b": ""}), now)
    assert row[:2] == ["cfg", 2]
    srow = tables.CELLS["Secret"](secret(data={"a": ""}), now)
    assert srow[:3] == ["s", "Opaque", 1]
    assert [c["name"] for c in tables.COLUMNS["Secret"]] == ["Name", "Type", "Data", "Age"]


def test_daemonset_and_controllerrevision_columns():
    ds = {
        "metadata": {"name": "agent", "creationTimestamp": ts(600)},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "spec": {
                    "nodeSelector": {"disk": "ssd", "arch": "amd64"},
                    "containers": [{"name": "a", "image": "busybox:1"}],
                }
            },
        },
        "status": {
            "desiredNumberScheduled": 3,
            "currentNumberScheduled": 3,
            "numberReady": 2,
            "updatedNumberScheduled": 1,
            "numberAvailable": 2,
        },
    }
    r = row("DaemonSet", ds)
    assert [r[c] for c in ("Desired", "Current", "Ready", "Up-to-date", "Available")] == [
        3,
        3,
        2,
        1,
        2,
    ]
    assert (r["Node Selector"], r["Age"]) == ("arch=amd64,disk=ssd", "10m")
    assert (r["Containers"], r["Images"], r["Selector"]) == ("a", "busybox:1", "app=agent")
    assert row("DaemonSet", {"metadata": {"name": "x"}, "spec": {}})["Node Selector"] == "<none>"
    revision = {
        "metadata": {
            "name": "agent-5d8f",
            "creationTimestamp": ts(60),
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "controller": True}
            ],
        },
        "revision": 2,
    }
    r = row("ControllerRevision", revision)
    assert (r["Controller"], r["Revision"], r["Age"]) == ("daemonset.apps/agent", 2, "60s")
    assert row("ControllerRevision", {"metadata": {"name": "x"}})["Controller"] == "<none>"


def job(spec: dict, status: dict, **meta) -> dict:
    return {
        "metadata": {"name": "pi", "creationTimestamp": ts(300), **meta},
        "spec": {
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}},
            "template": {"spec": {"containers": [{"name": "pi", "image": "perl:5"}]}},
            **spec,
        },
        "status": status,
    }


def done(type_: str) -> dict:
    return {"type": type_, "status": "True"}


def test_job_columns():
    running = row("Job", job({"completions": 6}, {"succeeded": 2, "startTime": ts(70)}))
    assert running == {
        "Name": "pi",
        "Status": "Running",
        "Completions": "2/6",
        "Duration": "70s",
        "Age": "5m",
        "Containers": "pi",
        "Images": "perl:5",
        "Selector": "batch.kubernetes.io/controller-uid=u",
    }
    finished = {
        "succeeded": 1,
        "startTime": ts(200),
        "completionTime": ts(150),
        "conditions": [done("SuccessCriteriaMet"), done("Complete")],
    }
    r = row("Job", job({"completions": 1}, finished))
    assert (r["Status"], r["Completions"], r["Duration"]) == ("Complete", "1/1", "50s")
    queue = row("Job", job({"parallelism": 3}, {"conditions": [done("Suspended")]}))
    assert (queue["Status"], queue["Completions"], queue["Duration"]) == (
        "Suspended",
        "0/1 of 3",
        "",
    )
    deleting = row("Job", job({"parallelism": 1}, {}, deletionTimestamp=ts(1)))
    assert (deleting["Status"], deleting["Completions"]) == ("Terminating", "0/1")
    failing = row("Job", job({"completions": 2}, {"conditions": [done("FailureTarget")]}))
    assert failing["Status"] == "FailureTarget"


def test_cronjob_columns():
    cronjob = {
        "metadata": {"name": "tick", "creationTimestamp": ts(600)},
        "spec": {
            "schedule": "*/5 * * * *",
            "suspend": False,
            "jobTemplate": {
                "spec": {
                    "template": {"spec": {"containers": [{"name": "c", "image": "busybox:1"}]}}
                }
            },
        },
        "status": {},
    }
    assert [c["name"] for c in tables.COLUMNS["CronJob"]] == [
        "Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age",
        "Containers", "Images", "Selector",
    ]  # fmt: skip
    assert cells("CronJob", cronjob) == [
        "tick", "*/5 * * * *", "<none>", "False", 0, "<none>", "10m", "c", "busybox:1", "<none>",
    ]  # fmt: skip
    cronjob["spec"].update(timeZone="Europe/Paris", suspend=True)
    cronjob["status"] = {"active": [{"name": "a"}, {"name": "b"}], "lastScheduleTime": ts(90)}
    got = row("CronJob", cronjob)
    assert (got["Timezone"], got["Suspend"], got["Active"], got["Last Schedule"]) == (
        "Europe/Paris", "True", 2, "90s",
    )  # fmt: skip
    del cronjob["spec"]["suspend"]
    assert row("CronJob", cronjob)["Suspend"] == "<unset>"


def test_persistent_volume_and_claim_rows():
    pv = {
        "metadata": {"name": "pv1", "creationTimestamp": ts(120)},
        "spec": {
            "capacity": {"storage": "5Gi"},
            "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "claimRef": {"namespace": "shop", "name": "data"},
            "storageClassName": "manual",
            "volumeMode": "Filesystem",
        },
        "status": {"phase": "Bound"},
    }
    row = ["pv1", "5Gi", "RWO,RWX", "Retain", "Bound", "shop/data", "manual", "<unset>", "", "2m"]
    assert cells("PersistentVolume", pv) == [*row, "Filesystem"]
    claim = {
        "metadata": {"name": "data", "namespace": "shop", "creationTimestamp": ts(60)},
        "spec": {"storageClassName": "manual", "resources": {"requests": {"storage": "1Gi"}}},
        "status": {"phase": "Pending"},
    }
    assert cells("PersistentVolumeClaim", claim) == [
        "data",
        "Pending",
        "",
        "",
        "",
        "manual",
        "<unset>",
        "60s",
        "<unset>",
    ]
    claim["spec"]["volumeName"] = "pv1"
    claim["status"] = {
        "phase": "Bound",
        "capacity": {"storage": "5Gi"},
        "accessModes": ["ReadWriteOnce"],
    }
    claim["metadata"]["deletionTimestamp"] = ts(0)
    assert cells("PersistentVolumeClaim", claim)[:5] == ["data", "Terminating", "pv1", "5Gi", "RWO"]


def test_storage_class_rows_mark_the_default():
    sc = {
        "metadata": {
            "name": "standard",
            "creationTimestamp": ts(30),
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "minik.io/local-path",
        "volumeBindingMode": "WaitForFirstConsumer",
    }
    assert cells("StorageClass", sc) == [
        "standard (default)",
        "minik.io/local-path",
        "Delete",
        "WaitForFirstConsumer",
        False,
        "30s",
    ]


def test_scale_subresource_columns_as_kubernetes_prints_them():
    scale = {
        "metadata": {"name": "web", "creationTimestamp": "1970-01-12T13:46:30Z"},
        "spec": {"replicas": 5},
        "status": {"replicas": 3},
    }
    table = tables.to_table(tables.SCALE, [scale], now=NOW)
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name",
        "Desired",
        "Available",
        "Age",
    ]
    assert table["rows"][0]["cells"][:3] == ["web", 5, 3]


def test_priority_class_rows_as_kubectl_132():
    assert [c["name"] for c in tables.COLUMNS["PriorityClass"]] == [
        "Name",
        "Value",
        "Global-Default",
        "Age",
        "PreemptionPolicy",
    ]
    pc = {"metadata": {"name": "high", "creationTimestamp": ts(90)}, "value": 1000}
    assert cells("PriorityClass", pc) == ["high", 1000, False, "90s", "PreemptLowerPriority"]
    pc.update(globalDefault=True, preemptionPolicy="Never")
    assert cells("PriorityClass", pc)[2:] == [True, "90s", "Never"]


def test_statefulset_columns_as_kubectl_prints_them():
    assert [c["name"] for c in tables.COLUMNS["StatefulSet"]] == [
        "Name",
        "Ready",
        "Age",
        "Containers",
        "Images",
    ]
    assert [c["priority"] for c in tables.COLUMNS["StatefulSet"]] == [0, 0, 0, 1, 1]
    sts = {
        "metadata": {"name": "web", "creationTimestamp": ts(600)},
        "spec": {
            "replicas": 3,
            "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1"}]}},
        },
        "status": {"readyReplicas": 2, "replicas": 3},
    }
    r = row("StatefulSet", sts)
    assert (r["Name"], r["Ready"], r["Age"]) == ("web", "2/3", "10m")
    assert (r["Containers"], r["Images"]) == ("nginx", "nginx:1")
    assert row("StatefulSet", {"metadata": {"name": "x"}, "spec": {}})["Ready"] == "0/1"


def test_replication_controller_and_pdb_columns():
    rc = {
        "metadata": {"name": "legacy", "creationTimestamp": ts(120)},
        "spec": {
            "replicas": 3,
            "selector": {"tier": "fe", "app": "web"},
            "template": {"spec": {"containers": [{"name": "c", "image": "busybox:1"}]}},
        },
        "status": {"replicas": 2, "readyReplicas": 1},
    }
    assert cells("ReplicationController", rc) == [
        "legacy", 3, 2, 1, "2m", "c", "busybox:1", "app=web,tier=fe"
    ]  # fmt: skip
    assert [c["name"] for c in tables.COLUMNS["ReplicationController"] if not c["priority"]] == [
        "Name", "Desired", "Current", "Ready", "Age"
    ]  # fmt: skip
    pdb = {
        "metadata": {"name": "web", "creationTimestamp": ts(30)},
        "spec": {"minAvailable": "50%"},
        "status": {"disruptionsAllowed": 1},
    }
    assert cells("PodDisruptionBudget", pdb) == ["web", "50%", "N/A", 1, "30s"]
    pdb["spec"] = {"maxUnavailable": 0}
    pdb["status"] = {}
    assert cells("PodDisruptionBudget", pdb) == ["web", "N/A", "0", 0, "30s"]
    assert [c["name"] for c in tables.COLUMNS["PodDisruptionBudget"]] == [
        "Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"
    ]  # fmt: skip


def test_quota_rows_split_requests_and_limits():
    rq = {
        "metadata": {"name": "q", "creationTimestamp": ts(30)},
        "spec": {},
        "status": {
            "hard": {"pods": "4", "requests.cpu": "1", "limits.memory": "2Gi", "limits.cpu": "2"},
            "used": {"pods": "1", "requests.cpu": "0.5", "limits.memory": "512Mi"},
        },
    }
    assert row("ResourceQuota", rq) == {
        "Name": "q",
        "Age": "30s",
        "Request": "pods: 1/4, requests.cpu: 500m/1",
        "Limit": "limits.cpu: 0/2, limits.memory: 512Mi/2Gi",
    }


def test_limit_range_rows_show_the_creation_time():
    lr = {"metadata": {"name": "lr", "creationTimestamp": "2024-05-01T10:00:00Z"}, "spec": {}}
    assert row("LimitRange", lr) == {"Name": "lr", "Created At": "2024-05-01T10:00:00Z"}


def test_ingress_rows_as_kubectl_prints_them():
    ing = {
        "metadata": {"name": "demo", "creationTimestamp": ts(90)},
        "spec": {
            "ingressClassName": "minik",
            "rules": [{"host": "a.local"}, {"host": "b.local"}, {}, {"host": "c.local"}],
            "tls": [{"hosts": ["a.local"], "secretName": "a-tls"}],
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.2"}, {"ip": "10.0.0.1"}]}},
    }
    assert row("Ingress", ing) == {
        "Name": "demo",
        "Class": "minik",
        "Hosts": "a.local,b.local,c.local",
        "Address": "10.0.0.1,10.0.0.2",
        "Ports": "80, 443",
        "Age": "90s",
    }
    ing["spec"]["rules"].append({"host": "d.local"})
    assert row("Ingress", ing)["Hosts"] == "a.local,b.local,c.local + 2 more..."
    bare = {"metadata": {"name": "x", "creationTimestamp": ts(5)}, "spec": {"rules": [{}]}}
    assert cells("Ingress", bare) == ["x", "<none>", "*", "", "80", "5s"]


def test_ingress_class_rows_show_parameters():
    ic = {
        "metadata": {"name": "minik", "creationTimestamp": ts(60)},
        "spec": {"controller": "minik.io/ingress"},
    }
    assert cells("IngressClass", ic) == ["minik", "minik.io/ingress", "<none>", "60s"]
    ic["spec"]["parameters"] = {"apiGroup": "k8s.example.com", "kind": "P", "name": "p"}
    assert cells("IngressClass", ic)[2] == "P.k8s.example.com/p"


def test_hpa_and_apiservice_ages_are_ages_not_timestamps():
    """Their printers say AGE as translateTimestampSince does, as every AGE column."""
    hpa = {
        "metadata": {"name": "web", "creationTimestamp": ts(90)},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3},
    }
    assert row("HorizontalPodAutoscaler", hpa)["Age"] == "90s"
    service = {"metadata": {"name": "v1.apps", "creationTimestamp": ts(2 * 86400)}, "spec": {}}
    assert row("APIService", service) == {
        "Name": "v1.apps",
        "Service": "Local",
        "Available": "Unknown",
        "Age": "2d",
    }
