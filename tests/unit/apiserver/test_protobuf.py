"""Protobuf: decoding the bodies real kubectl sends, and the small encoder."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from api import errors
from apiserver import protobuf
from apiserver.protobuf import Writer

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = Writer().string(1, api_version).string(2, kind)
    return protobuf.MAGIC + bytes(Writer().message(1, type_meta).bytes(2, raw))


def test_kubectl_create_namespace():
    # kubectl 1.32 `create namespace x`: every empty field is on the wire, and dropped here.
    assert protobuf.decode_k8s_protobuf(fixture("pb-create-namespace-x.bin")) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "x"},
    }


def test_kubectl_create_deployment():
    obj = protobuf.decode_k8s_protobuf(fixture("pb-create-deployment-web.bin"))
    assert obj == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}
                    ]
                },
            },
        },
    }


def test_explicit_zero_replicas_survives():
    # replicas is a pointer in Go: 0 on the wire means 0, not "unset".
    obj = protobuf.decode_k8s_protobuf(fixture("pb-create-deployment-zero-replicas.bin"))
    assert obj["spec"]["replicas"] == 0
    assert obj["spec"]["template"]["spec"]["containers"][0]["command"] == ["sleep", "3600"]


def test_kubectl_create_services():
    clusterip = protobuf.decode_k8s_protobuf(fixture("pb-create-service-clusterip.bin"))
    assert clusterip["spec"] == {
        "ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}],
        "selector": {"app": "web"},
        "type": "ClusterIP",
    }
    nodeport = protobuf.decode_k8s_protobuf(fixture("pb-create-service-nodeport.bin"))
    port = nodeport["spec"]["ports"][0]
    assert (port["targetPort"], port["nodePort"]) == ("http", 30080)
    ext = protobuf.decode_k8s_protobuf(fixture("pb-create-service-externalname.bin"))
    assert ext["spec"]["externalName"] == "example.com"
    assert "ports" not in ext["spec"]


def test_special_types_maps_and_unknown_fields():
    time = Writer().varint(1, 1_700_000_000)
    meta = (
        Writer()
        .string(1, "p")
        .string(3, "ns")
        .message(8, time)
        .message(11, Writer().string(1, "app").string(2, "web"))
        .message(99, Writer().string(1, "from the future"))
    )  # unknown: skipped
    limits = Writer().string(1, "cpu").message(2, Writer().string(1, "500m"))
    resources = Writer().message(1, limits)
    # readinessProbe(11) -> embedded ProbeHandler(1) -> tcpSocket(3) -> port(1) "http"
    port = Writer().varint(1, 1).string(3, "http")
    handler = Writer().message(3, Writer().message(1, port))
    probe = Writer().message(1, handler).varint(4, 5)
    container = Writer().string(1, "c").string(2, "img").message(8, resources).message(11, probe)
    spec = Writer().message(2, container).varint(4, 0, always=True).varint(5, -5)
    raw = bytes(Writer().message(1, meta).message(2, spec))
    obj = protobuf.decode_k8s_protobuf(envelope("v1", "Pod", raw))
    assert obj["metadata"] == {
        "name": "p",
        "namespace": "ns",
        "creationTimestamp": "2023-11-14T22:13:20Z",
        "labels": {"app": "web"},
    }
    c = obj["spec"]["containers"][0]
    assert c["resources"] == {"limits": {"cpu": "500m"}}
    assert c["readinessProbe"] == {"tcpSocket": {"port": "http"}, "periodSeconds": 5}
    # terminationGracePeriodSeconds is a pointer: an explicit 0 is kept.
    assert obj["spec"]["terminationGracePeriodSeconds"] == 0
    assert obj["spec"]["activeDeadlineSeconds"] == -5


def test_micro_time_and_packed_repeated():
    lease_spec = (
        Writer()
        .string(1, "me")
        .message(3, Writer().varint(1, 1_700_000_000).varint(2, 123_456_000))
    )
    raw = bytes(Writer().message(1, Writer().string(1, "l")).message(2, lease_spec))
    obj = protobuf.decode_k8s_protobuf(envelope("coordination.k8s.io/v1", "Lease", raw))
    assert obj["spec"] == {"holderIdentity": "me", "acquireTime": "2023-11-14T22:13:20.123456Z"}
    # A packed repeated varint field (exit codes of a container restart rule).
    packed = bytes(Writer().bytes(2, b"".join(protobuf.encode_varint(v) for v in (1, 2, 300))))
    assert protobuf.decode_message("ContainerRestartRuleOnExitCodes", packed) == {
        "values": [1, 2, 300]
    }


def test_malformed_bodies_are_400():
    for body in (
        b"",
        b"{}",
        protobuf.MAGIC + b"\x0a\x05ab",  # truncated
        protobuf.MAGIC + b"\x0f\x00",
    ):  # wire type 7
        with pytest.raises(errors.ApiError) as exc:
            protobuf.decode_k8s_protobuf(body)
        assert exc.value.code == 400
    with pytest.raises(errors.ApiError) as exc:
        protobuf.decode_k8s_protobuf(envelope("v1", "Widget", b""))
    assert exc.value.code == 400 and "Widget" in exc.value.message
    truncated = fixture("pb-create-deployment-web.bin")[:-7]
    with pytest.raises(errors.ApiError):
        protobuf.decode_k8s_protobuf(truncated)


def test_encoder_round_trip():
    assert protobuf.encode_varint(0) == b"\x00"
    assert protobuf.encode_varint(300) == b"\xac\x02"
    assert len(protobuf.encode_varint(-1)) == 10
    w = (
        Writer()
        .string(1, "a")
        .varint(2, 150)
        .bool(3, True)
        .double(4, 1.5)
        .strings(5, ["x", ""])
        .message(6, Writer())
        .string(7, "")
        .varint(8, 0)
        .varint(9, 0, always=True)
    )
    fields = list(protobuf.iter_fields(bytes(w)))
    assert [(f, wire) for f, wire, _ in fields] == [
        (1, 2),
        (2, 0),
        (3, 0),
        (4, 1),
        (5, 2),
        (5, 2),
        (6, 2),
        (9, 0),
    ]
    assert fields[0][2] == b"a" and fields[1][2] == 150 and fields[5][2] == b""
    assert protobuf.read_varint(protobuf.encode_varint(2**63 + 5), 0)[0] == 2**63 + 5


def test_schema_table_is_consistent():
    table = protobuf.schema()
    for name, fields in table.items():
        for number, (json_name, type_, _, _) in fields.items():
            assert number > 0 and json_name, name
            assert type_ in ("s", "i", "b", "y") or type_ in table or type_ in protobuf.SPECIAL, (
                name,
                type_,
            )
    assert table["ObjectMeta"][1][0] == "name"
    assert table["ObjectMeta"][11][3] == "{}"
    assert table["Container"][6] == ("ports", "ContainerPort", False, "[]")


def test_protobuf_secret_bytes_become_base64():
    entry = protobuf.Writer().string(1, "k").bytes(2, b"\x00\xff")
    meta = protobuf.Writer().string(1, "s")
    raw = protobuf.Writer().message(1, meta).message(2, entry).string(3, "Opaque")
    type_meta = protobuf.Writer().string(1, "v1").string(2, "Secret")
    body = protobuf.MAGIC + bytes(protobuf.Writer().message(1, type_meta).message(2, raw))
    obj = protobuf.decode_k8s_protobuf(body)
    assert obj["data"] == {"k": base64.b64encode(b"\x00\xff").decode()}
    assert obj["type"] == "Opaque" and obj["metadata"]["name"] == "s"


def test_job_fields():
    # what `kubectl create job pi --image=x -- echo hi` sends, plus a failure policy
    container = Writer().string(1, "pi").string(2, "x").strings(3, ["echo", "hi"])
    pod_spec = Writer().message(2, container).string(3, "Never")
    template = Writer().message(1, Writer()).message(2, pod_spec)
    exit_codes = Writer().string(2, "In").varint(3, 42).varint(3, 43)
    rule = Writer().string(1, "FailJob").message(2, exit_codes)
    spec = (
        Writer()
        .varint(1, 2)
        .varint(2, 4)
        .message(6, template)
        .varint(7, 0, always=True)
        .string(9, "Indexed")
        .bool(10, False)
        .message(11, Writer().message(1, rule))
    )
    raw = bytes(Writer().message(1, Writer().string(1, "pi")).message(2, spec))
    job = protobuf.decode_k8s_protobuf(envelope("batch/v1", "Job", raw))
    assert job["metadata"] == {"name": "pi"}
    assert job["spec"]["parallelism"] == 2 and job["spec"]["completions"] == 4
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["completionMode"] == "Indexed"
    assert job["spec"]["template"]["spec"]["containers"] == [
        {"name": "pi", "image": "x", "command": ["echo", "hi"]}
    ]
    assert job["spec"]["podFailurePolicy"] == {
        "rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42, 43]}}]
    }


def test_cronjob_body():
    """`kubectl create cronjob` (1.32 sends it as protobuf): spec, job template, status."""
    container = Writer().string(1, "c").string(2, "busybox:1").strings(3, ["echo", "hi"])
    pod_spec = Writer().message(2, container).string(3, "OnFailure")
    template = Writer().message(1, Writer().string(1, "")).message(2, pod_spec)
    job_spec = Writer().message(6, template)
    job_template = Writer().message(1, Writer().string(1, "tick")).message(2, job_spec)
    spec = (
        Writer()
        .string(1, "*/5 * * * *")
        .string(8, "Europe/Paris")
        .varint(2, 0, always=True)
        .string(3, "Forbid")
        .message(5, job_template)
        .varint(6, 0, always=True)
    )
    raw = bytes(Writer().message(1, Writer().string(1, "tick")).message(2, spec))
    obj = protobuf.decode_k8s_protobuf(envelope("batch/v1", "CronJob", raw))
    assert obj == {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "tick"},
        "spec": {
            "schedule": "*/5 * * * *",
            "timeZone": "Europe/Paris",
            "startingDeadlineSeconds": 0,
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 0,
            "jobTemplate": {
                "metadata": {"name": "tick"},
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [
                                {"name": "c", "image": "busybox:1", "command": ["echo", "hi"]}
                            ],
                            "restartPolicy": "OnFailure",
                        },
                    }
                },
            },
        },
    }


def test_kubectl_create_pdb_and_a_replication_controller():
    # kubectl create pdb web --selector=app=web --min-available=50%
    percent = Writer().varint(1, 1).string(3, "50%")
    selector = Writer().message(1, Writer().string(1, "app").string(2, "web"))
    spec = Writer().message(1, percent).message(2, selector)
    raw = bytes(Writer().message(1, Writer().string(1, "web")).message(2, spec))
    obj = protobuf.decode_k8s_protobuf(envelope("policy/v1", "PodDisruptionBudget", raw))
    assert obj["spec"] == {"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}}}
    zero = Writer().message(3, Writer().varint(2, 0))  # maxUnavailable: 0, kept
    raw = bytes(Writer().message(2, zero))
    obj = protobuf.decode_k8s_protobuf(envelope("policy/v1", "PodDisruptionBudget", raw))
    assert obj["spec"] == {"maxUnavailable": 0}
    rc_spec = (
        Writer().varint(1, 0, always=True).message(2, Writer().string(1, "app").string(2, "web"))
    )
    raw = bytes(Writer().message(2, rc_spec))
    obj = protobuf.decode_k8s_protobuf(envelope("v1", "ReplicationController", raw))
    assert obj["spec"] == {"replicas": 0, "selector": {"app": "web"}}


def test_resource_quota_fields():
    # what `kubectl create quota q --hard=pods=2,requests.cpu=1 --scopes=BestEffort` sends
    def hard(name: str, value: str) -> Writer:
        return Writer().string(1, name).message(2, Writer().string(1, value))

    spec = Writer().message(1, hard("pods", "2")).message(1, hard("requests.cpu", "1"))
    spec.strings(2, ["BestEffort"])
    selector = Writer().message(
        1, Writer().string(1, "PriorityClass").string(2, "In").strings(3, ["high"])
    )
    spec.message(3, selector)
    raw = Writer().message(1, Writer().string(1, "q")).message(2, spec)
    assert protobuf.decode_k8s_protobuf(envelope("v1", "ResourceQuota", bytes(raw))) == {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "q"},
        "spec": {
            "hard": {"pods": "2", "requests.cpu": "1"},
            "scopes": ["BestEffort"],
            "scopeSelector": {
                "matchExpressions": [
                    {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}
                ]
            },
        },
    }
