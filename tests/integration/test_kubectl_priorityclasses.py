"""scheduling.k8s.io/v1 PriorityClasses through the real kubectl (1.32 sends `create
priorityclass` as protobuf; 1.27 and 1.33 too) against the real apiserver: create,
get's columns, describe, the system classes, Kubernetes' refusals (the system- prefix,
the user maximum, immutable value, a second global default), the example's server
dry run, delete. Every class made here is deleted by the test (a global default would
change every other test's pods)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.kubectl import MINORS, Kubectl, installed_kubectl

PC = "/apis/scheduling.k8s.io/v1/priorityclasses"


@pytest.fixture(params=MINORS, ids=lambda minor: minor or "default")
def kubectl(request: pytest.FixtureRequest, apiserver, tmp_path: Path) -> Kubectl:
    return installed_kubectl(request.param, apiserver.kubeconfig, tmp_path / "cache")


@pytest.fixture
def cleanup(http: httpx.Client) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        http.delete(f"{PC}/{name}")


def test_create_get_describe_delete(kubectl: Kubectl, http: httpx.Client, cleanup: list[str]):
    cleanup += ["pc-high", "pc-never"]
    out = kubectl.run(
        "create", "priorityclass", "pc-high", "--value=1000", "--description=high things"
    )
    assert out.stdout == "priorityclass.scheduling.k8s.io/pc-high created\n"
    pc = http.get(f"{PC}/pc-high").json()
    assert pc["value"] == 1000 and pc["description"] == "high things"
    assert pc["preemptionPolicy"] == "PreemptLowerPriority"
    assert not pc.get("globalDefault")
    kubectl.run("create", "pc", "pc-never", "--value=5", "--preemption-policy=Never")

    rows = [line.split() for line in kubectl.run("get", "pc").stdout.splitlines()]
    assert rows[0] == ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["pc-high"][1:3] == ["1000", "false"]
    assert by_name["pc-high"][-1] == "PreemptLowerPriority"
    assert by_name["pc-never"][-1] == "Never"
    assert by_name["system-node-critical"][1:3] == ["2000001000", "false"]
    assert by_name["system-cluster-critical"][1] == "2000000000"

    described = kubectl.run("describe", "priorityclass", "pc-high").stdout.splitlines()
    assert [line.split(None, 1) for line in described[:5]] == [
        ["Name:", "pc-high"],
        ["Value:", "1000"],
        ["GlobalDefault:", "false"],
        ["PreemptionPolicy:", "PreemptLowerPriority"],
        ["Description:", "high things"],
    ]

    err = kubectl.fails("delete", "pc", "system-cluster-critical").stderr
    assert "this is a system priority class and cannot be deleted" in err
    assert kubectl.run("delete", "pc", "pc-high").stdout == (
        'priorityclass.scheduling.k8s.io "pc-high" deleted\n'
    )
    assert http.get(f"{PC}/pc-high").status_code == 404


def test_kubernetes_refusals(kubectl: Kubectl, http: httpx.Client, cleanup: list[str]):
    err = kubectl.fails("create", "priorityclass", "system-mine", "--value=10").stderr
    assert (
        "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved "
        "for system use only. error: system-mine is not a known system priority class"
    ) in err
    err = kubectl.fails("create", "priorityclass", "too-high", "--value=1000000001").stderr
    assert "value: Forbidden: maximum allowed value of a user defined priority is 1000000000" in (
        err
    )

    cleanup += ["pc-imm", "pc-default", "pc-default-2"]
    kubectl.run("create", "priorityclass", "pc-imm", "--value=7")
    err = kubectl.fails("patch", "pc", "pc-imm", "-p", '{"value": 8}').stderr
    assert "value: Forbidden: may not be changed in an update." in err
    err = kubectl.fails("patch", "pc", "pc-imm", "-p", '{"preemptionPolicy": "Never"}').stderr
    assert 'preemptionPolicy: Invalid value: "Never": field is immutable' in err
    kubectl.run("patch", "pc", "pc-imm", "-p", '{"description": "fine"}')

    kubectl.run("create", "priorityclass", "pc-default", "--value=1", "--global-default")
    err = kubectl.fails(
        "create", "priorityclass", "pc-default-2", "--value=2", "--global-default"
    ).stderr
    assert (
        'priorityclasses.scheduling.k8s.io "pc-default-2" is forbidden: PriorityClass '
        "pc-default is already marked as default. Only one default can exist"
    ) in err


def test_example_server_dry_run(kubectl: Kubectl, http: httpx.Client, namespace: str):
    example = Path(__file__).parents[2] / "examples" / "priorityclass.yaml"
    out = kubectl.run("apply", "--dry-run=server", "-f", str(example), "-n", namespace, check=False)
    # as on Kubernetes, the pod's class does not exist in a dry run of both
    assert "priorityclass.scheduling.k8s.io/high-priority created (server dry run)" in out.stdout
    assert "no PriorityClass with name high-priority was found" in out.stderr
    assert http.get(f"{PC}/high-priority").status_code == 404
    try:
        r = http.post(PC, json={"metadata": {"name": "high-priority"}, "value": 1000000})
        assert r.status_code == 201, r.text
        out = kubectl.run("apply", "--dry-run=server", "-f", str(example), "-n", namespace)
        assert "pod/important created (server dry run)" in out.stdout
        assert "not acted on" not in out.stderr  # priorityClassName is acted on now
        pod = kubectl.run(
            "apply", "--dry-run=server", "-f", str(example), "-n", namespace, "-o", "json"
        ).stdout
        assert '"priority": 1000000' in pod
    finally:
        http.delete(f"{PC}/high-priority")
