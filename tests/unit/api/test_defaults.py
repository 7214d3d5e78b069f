import copy

import pytest

from api.defaults import apply_defaults, image_pull_policy


def pod(**spec):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}], **spec},
    }


def deployment(**spec):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx"}]},
            },
            **spec,
        },
    }


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("library/nginx", "Always"),
        ("localhost:5000/nginx", "Always"),  # the port is not a tag
        ("localhost:5000/nginx:1.2", "IfNotPresent"),
        ("nginx:1.25", "IfNotPresent"),
        ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
        ("nginx:latest@sha256:" + "a" * 64, "Always"),
        ("", "IfNotPresent"),
    ],
)
def test_image_pull_policy(image, policy):
    assert image_pull_policy(image) == policy


def test_pod_spec_defaults():
    obj = pod()
    apply_defaults("Pod", obj)
    spec = obj["spec"]
    assert spec["restartPolicy"] == "Always"
    assert spec["dnsPolicy"] == "ClusterFirst"
    assert spec["terminationGracePeriodSeconds"] == 30
    assert spec["schedulerName"] == "default-scheduler"
    assert spec["securityContext"] == {}
    assert spec["enableServiceLinks"] is True
    assert "priority" not in spec  # the Priority admission plugin's job
    assert "tolerations" not in spec  # admission's job, not defaulting's
    c = spec["containers"][0]
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert c["terminationMessagePath"] == "/dev/termination-log"
    assert c["terminationMessagePolicy"] == "File"
    assert c["resources"] == {}


def test_user_values_are_kept():
    obj = pod(restartPolicy="Never", dnsPolicy="Default", terminationGracePeriodSeconds=0)
    obj["spec"]["containers"][0]["imagePullPolicy"] = "Never"
    obj["spec"]["enableServiceLinks"] = False
    apply_defaults("Pod", obj)
    spec = obj["spec"]
    assert spec["restartPolicy"] == "Never"
    assert spec["dnsPolicy"] == "Default"
    assert spec["terminationGracePeriodSeconds"] == 0  # a pointer: 0 is a value
    assert spec["enableServiceLinks"] is False
    assert spec["containers"][0]["imagePullPolicy"] == "Never"


def test_container_ports_probes_env_and_init_containers():
    obj = pod(
        initContainers=[{"name": "init", "image": "busybox", "ports": [{"containerPort": 1}]}]
    )
    c = obj["spec"]["containers"][0]
    c["ports"] = [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}]
    c["livenessProbe"] = {"httpGet": {"port": 80}}
    c["readinessProbe"] = {"tcpSocket": {"port": 80}, "periodSeconds": 5}
    c["env"] = [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    c["lifecycle"] = {"preStop": {"httpGet": {"port": 80}}}
    apply_defaults("Pod", obj)
    assert [p["protocol"] for p in c["ports"]] == ["TCP", "UDP"]
    assert c["livenessProbe"] == {
        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert c["readinessProbe"]["periodSeconds"] == 5
    assert c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"
    assert c["lifecycle"]["preStop"]["httpGet"]["scheme"] == "HTTP"
    init = obj["spec"]["initContainers"][0]
    assert init["imagePullPolicy"] == "Always"
    assert init["ports"][0]["protocol"] == "TCP"


def test_pod_only_defaults():
    obj = pod(hostNetwork=True)
    c = obj["spec"]["containers"][0]
    c["resources"] = {"limits": {"cpu": "1", "memory": "64Mi"}, "requests": {"cpu": "500m"}}
    c["ports"] = [{"containerPort": 8080}]
    apply_defaults("Pod", obj)
    assert c["resources"]["requests"] == {"cpu": "500m", "memory": "64Mi"}
    assert c["ports"][0]["hostPort"] == 8080


def test_volumes():
    obj = pod(
        volumes=[
            {"name": "scratch"},
            {"name": "host", "hostPath": {"path": "/tmp"}},
            {"name": "cfg", "configMap": {"name": "cfg"}},
            {"name": "sec", "secret": {"secretName": "s", "defaultMode": 0o400}},
        ]
    )
    apply_defaults("Pod", obj)
    vols = obj["spec"]["volumes"]
    assert vols[0] == {"name": "scratch", "emptyDir": {}}
    assert vols[1]["hostPath"] == {"path": "/tmp", "type": ""}
    assert vols[2]["configMap"]["defaultMode"] == 420
    assert vols[3]["secret"]["defaultMode"] == 0o400


def test_deployment_defaults_and_template():
    obj = deployment()
    apply_defaults("Deployment", obj)
    spec = obj["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    assert "minReadySeconds" not in spec
    tspec = spec["template"]["spec"]
    assert tspec["restartPolicy"] == "Always"
    assert tspec["containers"][0]["imagePullPolicy"] == "Always"
    # pod-only defaults stay out of templates (Kubernetes' SetDefaults_Pod)
    assert "enableServiceLinks" not in tspec and "priority" not in tspec


def test_deployment_keeps_explicit_zero_and_recreate():
    obj = deployment(replicas=0, strategy={"type": "Recreate"}, revisionHistoryLimit=0)
    apply_defaults("Deployment", obj)
    assert obj["spec"]["replicas"] == 0
    assert obj["spec"]["strategy"] == {"type": "Recreate"}
    assert obj["spec"]["revisionHistoryLimit"] == 0


def test_rolling_update_partial():
    obj = deployment(strategy={"rollingUpdate": {"maxSurge": 1}})
    apply_defaults("Deployment", obj)
    assert obj["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": "25%"}


def test_replicaset():
    obj = deployment()
    obj["kind"] = "ReplicaSet"
    apply_defaults("ReplicaSet", obj)
    assert obj["spec"]["replicas"] == 1
    assert "strategy" not in obj["spec"]
    assert obj["spec"]["template"]["spec"]["dnsPolicy"] == "ClusterFirst"


def service(**spec):
    return {"metadata": {"name": "web", "namespace": "default"}, "spec": spec}


def test_service_defaults():
    obj = service(selector={"app": "web"}, ports=[{"port": 80}, {"port": 53, "protocol": "UDP"}])
    apply_defaults("Service", obj)
    spec = obj["spec"]
    assert spec["type"] == "ClusterIP"
    assert spec["sessionAffinity"] == "None"
    assert spec["ports"][0] == {"port": 80, "protocol": "TCP", "targetPort": 80}
    assert spec["ports"][1]["targetPort"] == 53
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert "externalTrafficPolicy" not in spec
    assert spec["ipFamilies"] == ["IPv4"]
    assert spec["ipFamilyPolicy"] == "SingleStack"
    assert "clusterIP" not in spec  # allocation is the apiserver's job


def test_service_target_port_name_kept_and_node_port_type():
    obj = service(type="NodePort", ports=[{"port": 80, "targetPort": "http"}])
    apply_defaults("Service", obj)
    assert obj["spec"]["ports"][0]["targetPort"] == "http"
    assert obj["spec"]["externalTrafficPolicy"] == "Cluster"


def test_load_balancer_and_client_ip_affinity():
    obj = service(type="LoadBalancer", sessionAffinity="ClientIP", ports=[{"port": 80}])
    apply_defaults("Service", obj)
    spec = obj["spec"]
    assert spec["allocateLoadBalancerNodePorts"] is True
    assert spec["externalTrafficPolicy"] == "Cluster"
    assert spec["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}


def test_external_name_and_headless():
    ext = service(type="ExternalName", externalName="example.com")
    apply_defaults("Service", ext)
    for key in ("ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy", "clusterIPs"):
        assert key not in ext["spec"]
    headless = service(clusterIP="None", selector={"app": "db"}, ports=[{"port": 5432}])
    apply_defaults("Service", headless)
    assert headless["spec"]["clusterIPs"] == ["None"]
    assert headless["spec"]["ipFamilyPolicy"] == "SingleStack"
    selectorless = service(clusterIP="None")
    apply_defaults("Service", selectorless)
    assert selectorless["spec"]["ipFamilyPolicy"] == "RequireDualStack"


def test_namespace_node_endpoints():
    ns = {"metadata": {"name": "team-a"}}
    apply_defaults("Namespace", ns)
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-a"}
    assert ns["spec"] == {"finalizers": ["kubernetes"]}
    assert ns["status"] == {"phase": "Active"}
    node = {"metadata": {"name": "n1"}, "status": {"capacity": {"cpu": "4"}}}
    apply_defaults("Node", node)
    assert node["status"]["allocatable"] == {"cpu": "4"}
    assert node["status"]["allocatable"] is not node["status"]["capacity"]
    # podCIDR and podCIDRs agree, the list winning (Kubernetes' v1 conversion)
    legacy = {"spec": {"podCIDR": "10.244.1.0/24"}}
    apply_defaults("Node", legacy)
    assert legacy["spec"]["podCIDRs"] == ["10.244.1.0/24"]
    both = {"spec": {"podCIDR": "10.9.0.0/24", "podCIDRs": ["10.244.2.0/24", "fd00::/64"]}}
    apply_defaults("Node", both)
    assert both["spec"]["podCIDR"] == "10.244.2.0/24"
    ep = {"subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]}
    apply_defaults("Endpoints", ep)
    assert ep["subsets"][0]["ports"][0]["protocol"] == "TCP"
    eps = {"ports": [{"port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}]}
    apply_defaults("EndpointSlice", eps)
    assert eps["ports"] == [
        {"name": "", "port": 80, "protocol": "TCP"},
        {"name": "dns", "port": 53, "protocol": "UDP"},
    ]


@pytest.mark.parametrize(
    ("kind", "make"),
    [
        ("Pod", lambda: pod(volumes=[{"name": "v"}], hostNetwork=True)),
        ("Deployment", deployment),
        ("ReplicaSet", deployment),
        ("Service", lambda: service(type="LoadBalancer", ports=[{"port": 1}], clusterIP="None")),
        ("Namespace", lambda: {"metadata": {"name": "x"}}),
        ("Node", lambda: {"status": {"capacity": {"cpu": "1"}}}),
        ("Endpoints", lambda: {"subsets": [{"ports": [{"port": 1}]}]}),
        ("Event", lambda: {"metadata": {"name": "e"}}),
        ("Lease", lambda: {"metadata": {"name": "l"}}),
        ("EndpointSlice", lambda: {"ports": [{"port": 1}]}),
    ],
)
def test_idempotent(kind, make):
    obj = make()
    apply_defaults(kind, obj)
    once = copy.deepcopy(obj)
    apply_defaults(kind, obj)
    assert obj == once


def test_odd_shapes_do_not_crash():
    apply_defaults("Pod", {"spec": "nope"})
    apply_defaults("Pod", {"spec": {"containers": "nope", "volumes": [1, None]}})
    apply_defaults("Deployment", {"spec": {"template": None, "strategy": "x"}})
    apply_defaults("Service", {"spec": {"ports": [None, "x"]}})
    apply_defaults("Unknown", {"a": 1})


def test_daemonset_defaults_as_set_defaults_daemonset():
    ds = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
    apply_defaults("DaemonSet", ds)
    assert ds["spec"]["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
    }
    assert ds["spec"]["revisionHistoryLimit"] == 10
    assert ds["spec"]["template"]["spec"]["restartPolicy"] == "Always"
    on_delete = {"spec": {"updateStrategy": {"type": "OnDelete"}}}
    apply_defaults("DaemonSet", on_delete)
    assert on_delete["spec"]["updateStrategy"] == {"type": "OnDelete"}


def test_job_defaults():
    job = {
        "metadata": {"name": "pi"},
        "spec": {"template": {"metadata": {"labels": {"app": "pi"}}, "spec": {}}},
    }
    apply_defaults("Job", job)
    spec = job["spec"]
    assert (spec["completions"], spec["parallelism"], spec["backoffLimit"]) == (1, 1, 6)
    assert spec["completionMode"] == "NonIndexed" and spec["suspend"] is False
    assert spec["manualSelector"] is False
    assert spec["podReplacementPolicy"] == "TerminatingOrFailed"
    assert spec["template"]["spec"]["dnsPolicy"] == "ClusterFirst"
    assert job["metadata"]["labels"] == {"app": "pi"}
    queue = {"spec": {"parallelism": 3, "backoffLimitPerIndex": 1, "podFailurePolicy": {}}}
    apply_defaults("Job", queue)
    assert "completions" not in queue["spec"] and queue["spec"]["backoffLimit"] == 2**31 - 1
    assert queue["spec"]["podReplacementPolicy"] == "Failed"


def test_cronjob_defaults():
    """SetDefaults_CronJob; the job template gets its pod template's defaults only (the
    Job's own defaults come when a Job is made from it)."""
    obj = {
        "kind": "CronJob",
        "spec": {
            "schedule": "@hourly",
            "jobTemplate": {
                "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}
            },
        },
    }
    apply_defaults("CronJob", obj)
    spec = obj["spec"]
    assert (spec["concurrencyPolicy"], spec["suspend"]) == ("Allow", False)
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (3, 1)
    job_spec = spec["jobTemplate"]["spec"]
    assert set(job_spec) == {"template"}
    assert job_spec["template"]["spec"]["dnsPolicy"] == "ClusterFirst"
    kept = {"kind": "CronJob", "spec": {"concurrencyPolicy": "Forbid", "suspend": True,
            "successfulJobsHistoryLimit": 0, "failedJobsHistoryLimit": 0}}  # fmt: skip
    before = copy.deepcopy(kept)
    apply_defaults("CronJob", kept)
    assert kept == before


def test_statefulset_defaults_as_set_defaults_statefulset():
    sts = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {}}],
        }
    }
    apply_defaults("StatefulSet", sts)
    spec = sts["spec"]
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }
    assert (spec["replicas"], spec["revisionHistoryLimit"]) == (1, 10)
    claim = spec["volumeClaimTemplates"][0]
    assert claim["spec"]["volumeMode"] == "Filesystem"
    assert claim["status"] == {"phase": "Pending"}
    assert (claim["apiVersion"], claim["kind"]) == ("v1", "PersistentVolumeClaim")
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    on_delete = {"spec": {"updateStrategy": {"type": "OnDelete"}, "replicas": 0}}
    apply_defaults("StatefulSet", on_delete)
    assert on_delete["spec"]["updateStrategy"] == {"type": "OnDelete"}
    assert on_delete["spec"]["replicas"] == 0
