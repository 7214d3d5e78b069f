import pytest

from api import schema
from api.resources import RESOURCES


def deployment(**container):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "creationTimestamp": None, "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"creationTimestamp": None, "labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx",
                            "ports": [{"containerPort": 80}],
                            "resources": {"limits": {"cpu": 0.5, "memory": "64Mi"}},
                            "readinessProbe": {"httpGet": {"port": "http"}},
                            **container,
                        }
                    ]
                },
            },
        },
        "status": {"replicas": 2, "conditions": [{"type": "Available", "status": "True"}]},
    }


def test_every_served_kind_has_a_schema():
    for r in RESOURCES:
        name = schema.root_definition(r.api_version, r.kind)
        assert name is not None and name in schema.definitions(), r.kind
    assert schema.root_definition("apps/v1", "Deployment") == "V1Deployment"
    assert schema.root_definition("v1", "Event") == "CoreV1Event"
    assert schema.root_definition("autoscaling/v1", "Scale") == "V1Scale"
    assert schema.root_definition("v1", "Nope") is None


def test_exception_tables_name_real_fields():
    defs = schema.definitions()
    for name, prop in schema.QUANTITY_FIELDS | schema.FREE_FORM_FIELDS:
        assert prop in defs[name]["properties"], (name, prop)


def test_a_kubectl_manifest_is_clean():
    obj = deployment()
    assert schema.unknown_fields("apps/v1", "Deployment", obj) == []
    assert schema.type_errors("apps/v1", "Deployment", obj) == []


def test_unknown_fields_have_kubernetes_paths():
    obj = deployment(imagex="nginx")
    obj["spec"]["replicasx"] = 3
    obj["metadata"]["labelz"] = {}
    # in document order, as a decoder meets them
    assert schema.unknown_fields("apps/v1", "Deployment", obj) == [
        "metadata.labelz",
        "spec.template.spec.containers[0].imagex",
        "spec.replicasx",
    ]


def test_map_keys_are_not_fields():
    obj = {"metadata": {"name": "p", "labels": {"anything/goes": "x"}, "annotations": {"a": "b"}}}
    assert schema.unknown_fields("v1", "Pod", obj) == []


def test_unknown_kind_reports_nothing():
    assert schema.unknown_fields("v1", "Nope", {"x": 1}) == []
    assert schema.type_errors("v1", "Nope", {"x": 1}) == []


def test_wrong_types():
    obj = deployment()
    obj["spec"]["replicas"] = "three"
    obj["spec"]["paused"] = "yes"
    obj["spec"]["template"]["spec"]["containers"][0]["ports"] = {"containerPort": 80}
    obj["metadata"]["labels"] = {"app": 1}
    causes = schema.type_errors("apps/v1", "Deployment", obj)
    by_field = {c["field"]: c for c in causes}
    assert set(by_field) == {
        "spec.replicas",
        "spec.paused",
        "spec.template.spec.containers[0].ports",
        "metadata.labels[app]",
    }
    assert by_field["spec.replicas"] == {
        "field": "spec.replicas",
        "reason": "FieldValueTypeInvalid",
        "message": 'Invalid value: "string": spec.replicas in body must be of type integer: '
        '"string"',
    }
    assert "must be of type boolean" in by_field["spec.paused"]["message"]
    assert "must be of type array" in by_field["spec.template.spec.containers[0].ports"]["message"]


@pytest.mark.parametrize("bad", [True, 1.5, "3"])
def test_integers_are_strict(bad):
    obj = deployment()
    obj["spec"]["replicas"] = bad
    assert [c["field"] for c in schema.type_errors("apps/v1", "Deployment", obj)] == [
        "spec.replicas"
    ]


def test_int_or_string_and_quantities():
    obj = deployment()
    ru = obj["spec"]["strategy"]["rollingUpdate"]
    ru["maxSurge"] = True
    res = obj["spec"]["template"]["spec"]["containers"][0]["resources"]
    res["requests"] = {"cpu": 1, "memory": "1Gi"}
    assert [c["field"] for c in schema.type_errors("apps/v1", "Deployment", obj)] == [
        "spec.strategy.rollingUpdate.maxSurge"
    ]
    res["requests"]["cpu"] = [1]
    fields = [c["field"] for c in schema.type_errors("apps/v1", "Deployment", obj)]
    assert "spec.template.spec.containers[0].resources.requests[cpu]" in fields


def test_nulls_and_free_form_managed_fields():
    obj = {
        "metadata": {
            "name": "p",
            "creationTimestamp": None,
            "labels": None,
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {"f:x": {}}}}],
        },
        "spec": {"nodeName": None, "containers": [{"name": "c", "image": "i"}]},
    }
    assert schema.type_errors("v1", "Pod", obj) == []
    assert schema.unknown_fields("v1", "Pod", obj) == []


def test_prune_unknown_drops_only_unknown_fields():
    obj = deployment(imagex="nginx")
    obj["spec"]["replicasx"] = 3
    pruned = schema.prune_unknown("apps/v1", "Deployment", obj)
    assert schema.unknown_fields("apps/v1", "Deployment", pruned) == []
    assert "replicasx" not in pruned["spec"]
    assert "imagex" not in pruned["spec"]["template"]["spec"]["containers"][0]
    assert pruned["spec"]["replicas"] == 2
    assert pruned["metadata"]["labels"] == {"app": "web"}
    assert "replicasx" in obj["spec"]  # the input is untouched


def test_ignored_fields_in_templates():
    obj = deployment(
        lifecycle={"preStop": {"exec": {"command": ["sleep", "1"]}}},
        securityContext={"runAsUser": 1000, "seLinuxOptions": {"level": "s0"}},
        envFrom=[{"configMapRef": {"name": "cfg"}}],  # acted on: no hit
        tty=True,  # acted on: no hit
    )
    tspec = obj["spec"]["template"]["spec"]
    tspec["securityContext"] = {}  # the defaulted empty value is not a hit
    tspec["affinity"] = {"podAntiAffinity": {"x": 1}, "nodeAffinity": {"y": 1}}
    tspec["volumes"] = [
        {"name": "a", "emptyDir": {}},
        {"name": "b", "hostPath": {"path": "/x"}},
        {"name": "c", "configMap": {"name": "cfg"}},
        {"name": "d", "nfs": {"server": "x", "path": "/"}},
        {"name": "e", "persistentVolumeClaim": {"claimName": "data"}},  # acted on: no hit
        {"name": "f", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}},
    ]
    assert schema.ignored_fields("Deployment", obj) == [
        "spec.template.spec.affinity.podAntiAffinity",
        "spec.template.spec.containers[0].lifecycle",
        "spec.template.spec.containers[0].securityContext.seLinuxOptions",
        "spec.template.spec.volumes[3].nfs",
    ]


def test_ignored_fields_pod_and_service():
    pod = {"spec": {"containers": [{"name": "a", "tty": True, "volumeDevices": [{"name": "d"}]}]}}
    pod["spec"]["initContainers"] = [
        {
            "name": "i",
            "lifecycle": {"postStart": {"exec": {"command": ["true"]}}},
            "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s"}}}],
        }
    ]
    pod["spec"]["serviceAccountName"] = "robot"  # acted on (admission, kubelet)
    pod["spec"]["hostPID"] = pod["spec"]["hostIPC"] = True  # acted on (the kubelet)
    pod["spec"]["os"] = {"name": "linux"}
    assert schema.ignored_fields("Pod", pod) == [
        "spec.os",
        "spec.initContainers[0].lifecycle",
        "spec.containers[0].volumeDevices",
    ]
    # ClientIP affinity is the proxy's (proxy/balancer.py)
    svc = {"spec": {"externalIPs": ["1.2.3.4"], "sessionAffinity": "ClientIP"}}
    svc["spec"]["externalTrafficPolicy"] = "Cluster"
    assert schema.ignored_fields("Service", svc) == ["spec.externalIPs"]
    assert schema.ignored_fields("Service", {"spec": {"sessionAffinity": "None"}}) == []
    assert schema.ignored_fields("Node", {"spec": {"taints": []}}) == []


@pytest.mark.parametrize(
    ("kind", "where"),
    [
        ("DaemonSet", ["spec", "template", "spec"]),
        ("Job", ["spec", "template", "spec"]),
        ("CronJob", ["spec", "jobTemplate", "spec", "template", "spec"]),
    ],
)
def test_ignored_fields_in_every_pod_template(kind, where):
    obj: dict = {}
    spec = obj
    for key in where:
        spec = spec.setdefault(key, {})
    spec["containers"] = [{"name": "c", "image": "x", "lifecycle": {"preStop": {}}}]
    spec["volumes"] = [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]
    assert schema.ignored_fields(kind, obj) == [".".join(where) + ".containers[0].lifecycle"]


def test_security_context_fields_the_kubelet_honours_are_not_warned_about():
    """Finding (issue 11): "securityContext: stored but not acted on by minik" was false;
    only the fields the kubelet does not act on are warned about now."""
    honoured = {
        "runAsUser": 1000,
        "runAsGroup": 1000,
        "runAsNonRoot": True,
        "privileged": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
        "procMount": "Default",
    }
    pod_ctx = {"runAsUser": 1, "runAsNonRoot": True, "fsGroup": 2, "supplementalGroups": [3]}
    pod = {
        "spec": {
            "securityContext": {**pod_ctx, "seccompProfile": {"type": "Unconfined"}},
            "shareProcessNamespace": True,
            "dnsConfig": {"nameservers": ["192.0.2.1"]},
            "containers": [
                {"name": "a", "securityContext": honoured, "tty": True, "stdin": True},
                {"name": "b", "securityContext": {"seLinuxOptions": {"level": "s0"}}},
            ],
        }
    }
    assert schema.ignored_fields("Pod", pod) == [
        "spec.containers[1].securityContext.seLinuxOptions"
    ]
    pod["spec"]["securityContext"]["sysctls"] = [{"name": "net.core.somaxconn", "value": "1"}]
    assert "spec.securityContext.sysctls" in schema.ignored_fields("Pod", pod)


def test_nulls_decode_as_go_does():
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": {"a": None}, "creationTimestamp": None},
        "spec": {"containers": [None, {"name": "c", "image": None}], "nodeSelector": None},
    }
    assert schema.drop_nulls("v1", "Pod", body) == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": {"a": ""}},
        "spec": {"containers": [{}, {"name": "c"}]},
    }
    assert schema.drop_nulls("v1", "Pod", {"metadata": None}) == {}
