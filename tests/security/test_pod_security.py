"""Finding "pods cannot own the host" (issue 11): any pod could be privileged, mount the
host's `/` or Docker socket, or join the host's network. PodSecurity admission now
refuses them where the `baseline` standard is enforced, with Kubernetes' words, and the
real kubectl prints the `restricted` warnings. One apiserver for the module, configured
as `minik up` configures its own (deploy/podsecurity.py): enforce baseline, warn and
audit restricted, kube-system exempt; plus the user `viewer` exempt for one test."""

from __future__ import annotations

import csv
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.controlplane import ApiServer, Etcd, make_workdir, remove_workdir, start_apiserver
from deploy.podsecurity import admission_configuration, flags, write_admission_config
from tests.support.kubectl import Kubectl

BASELINE_MESSAGE = 'is forbidden: violates PodSecurity "baseline:latest": '
RESTRICTED_WARNING = (
    'Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false '
    '(container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted '
    'capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), '
    'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), '
    'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to '
    '"RuntimeDefault" or "Localhost")'
)


@pytest.fixture(scope="module")
def secured(etcd: Etcd) -> Iterator[ApiServer]:
    workdir = make_workdir("minik-podsecurity-")
    config = admission_configuration(exempt_usernames=("viewer",))
    path = write_admission_config(workdir / "admission-config.yaml", config)
    server = start_apiserver(etcd, workdir / "apiserver", flags(path))
    try:
        server.bind_cluster_admin("viewer")
        yield server
    finally:
        server.stop()
        remove_workdir(workdir)


@pytest.fixture
def kubectl(secured: ApiServer, tmp_path: Path) -> Kubectl:
    return Kubectl(secured.kubeconfig, tmp_path / "kubectl-cache")


@pytest.fixture
def ns(secured: ApiServer) -> Iterator[str]:
    name = f"psa-{secrets.token_hex(3)}"
    with secured.http() as http:
        assert http.post("/api/v1/namespaces", json={"metadata": {"name": name}}).is_success
        yield name
        http.delete(f"/api/v1/namespaces/{name}")


def pod(name: str, spec: dict | None = None, container: dict | None = None) -> str:
    c = {"name": "c", "image": "busybox", **(container or {})}
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {"containers": [c], **(spec or {})},
        }
    )


RESTRICTED_CONTAINER = {
    "securityContext": {
        "allowPrivilegeEscalation": False,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
}

HOST_OWNERS = [
    (
        "privileged",
        pod("privileged", container={"securityContext": {"privileged": True}}),
        'privileged (container "c" must not set securityContext.privileged=true)',
    ),
    (
        "host-root",
        pod(
            "host-root",
            {"volumes": [{"name": "host", "hostPath": {"path": "/"}}]},
            {"volumeMounts": [{"name": "host", "mountPath": "/host"}]},
        ),
        'hostPath volumes (volume "host")',
    ),
    (
        "docker-sock",
        pod(
            "docker-sock",
            {"volumes": [{"name": "sock", "hostPath": {"path": "/var/run/docker.sock"}}]},
            {"volumeMounts": [{"name": "sock", "mountPath": "/var/run/docker.sock"}]},
        ),
        'hostPath volumes (volume "sock")',
    ),
    (
        "host-network",
        pod("host-network", {"hostNetwork": True}),
        "host namespaces (hostNetwork=true)",
    ),
    (
        "all-of-it",
        pod(
            "all-of-it",
            {
                "hostPID": True,
                "hostNetwork": True,
                "volumes": [{"name": "host", "hostPath": {"path": "/"}}],
            },
            {
                "securityContext": {"privileged": True, "capabilities": {"add": ["SYS_ADMIN"]}},
                "ports": [{"containerPort": 80, "hostPort": 80}],
            },
        ),
        'non-default capabilities (container "c" must not include "SYS_ADMIN" in '
        "securityContext.capabilities.add), host namespaces (hostNetwork=true, hostPID=true), "
        'hostPath volumes (volume "host"), hostPort (container "c" uses hostPort 80), '
        'privileged (container "c" must not set securityContext.privileged=true)',
    ),
]


@pytest.mark.parametrize(
    ("name", "manifest", "detail"), HOST_OWNERS, ids=[h[0] for h in HOST_OWNERS]
)
def test_pods_cannot_own_the_host(
    kubectl: Kubectl, secured: ApiServer, ns: str, name: str, manifest: str, detail: str
) -> None:
    """Finding "pods cannot own the host": refused in a baseline namespace, nothing stored."""
    result = kubectl.fails("create", "-n", ns, "-f", "-", input=manifest)
    assert f'pods "{name}" {BASELINE_MESSAGE}{detail}' in result.stderr, result
    with secured.http() as http:
        assert http.get(f"/api/v1/namespaces/{ns}/pods/{name}").status_code == 404


def test_a_plain_pod_is_admitted_with_kubectl_printing_the_restricted_warning(
    kubectl: Kubectl, ns: str
) -> None:
    result = kubectl.run("create", "-n", ns, "-f", "-", input=pod("plain"))
    assert RESTRICTED_WARNING in result.stderr, result
    assert "pod/plain created" in result.stdout


def test_a_restricted_pod_gets_no_warning(kubectl: Kubectl, ns: str) -> None:
    result = kubectl.run(
        "create", "-n", ns, "-f", "-", input=pod("tight", None, RESTRICTED_CONTAINER)
    )
    assert "PodSecurity" not in result.stderr, result


def test_a_workload_template_is_warned_about_not_refused(
    kubectl: Kubectl, secured: ApiServer, ns: str
) -> None:
    """Kubernetes never enforces on templates: the Deployment is stored, kubectl prints
    the warning, and the audit annotation is recorded (minik logs it)."""
    template = json.loads(pod("x", None, {"securityContext": {"privileged": True}}))
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": template["spec"]},
        },
    }
    result = kubectl.run("apply", "-n", ns, "-f", "-", input=json.dumps(deployment))
    assert "deployment.apps/web created" in result.stdout, result
    assert (
        'Warning: would violate PodSecurity "restricted:latest": privileged (container "c" '
        "must not set securityContext.privileged=true), allowPrivilegeEscalation != false"
    ) in result.stderr, result
    log = (secured.workdir / f"apiserver-{secured.restarts}.log").read_text()
    assert f"create deployments {ns}/web" in log
    assert '"pod-security.kubernetes.io/audit-violations": "would violate PodSecurity' in log


def test_kube_system_is_exempt(kubectl: Kubectl, secured: ApiServer) -> None:
    name = f"sys-{secrets.token_hex(3)}"
    manifest = pod(name, {"hostNetwork": True}, {"securityContext": {"privileged": True}})
    try:
        result = kubectl.run("create", "-n", "kube-system", "-f", "-", input=manifest)
        assert "PodSecurity" not in result.stderr, result
    finally:
        with secured.http() as http:
            http.delete(f"/api/v1/namespaces/kube-system/pods/{name}")


def test_an_exempt_user_is_not_evaluated(secured: ApiServer, ns: str) -> None:
    with open(secured.token_file) as f:
        tokens = {row[1]: row[0] for row in csv.reader(f)}
    body = json.loads(pod("by-viewer", {"hostNetwork": True}))
    with secured.http(tokens["viewer"]) as http:
        r = http.post(f"/api/v1/namespaces/{ns}/pods", json=body)
    assert r.status_code == 201, r.text
    assert "PodSecurity" not in r.headers.get("Warning", "")


def test_namespace_labels_choose_the_level(kubectl: Kubectl, secured: ApiServer, ns: str) -> None:
    kubectl.run("label", "ns", ns, "pod-security.kubernetes.io/enforce=privileged")
    manifest = pod("priv", None, {"securityContext": {"privileged": True}})
    result = kubectl.run("create", "-n", ns, "-f", "-", input=manifest)
    assert 'Warning: would violate PodSecurity "restricted:latest": privileged' in result.stderr

    # raising enforce warns about the pods already there, naming them
    result = kubectl.run(
        "label", "ns", ns, "--overwrite", "pod-security.kubernetes.io/enforce=baseline"
    )
    assert (
        f'Warning: existing pods in namespace "{ns}" violate the new PodSecurity enforce '
        'level "baseline:latest"'
    ) in result.stderr, result
    assert "Warning: priv: privileged" in result.stderr, result

    # an update that does not touch the pod spec is still allowed
    kubectl.run("label", "pod", "-n", ns, "priv", "touched=yes")
    # one that changes an image is evaluated, and refused
    result = kubectl.fails("set", "image", "-n", ns, "pod/priv", "c=busybox:2")
    assert f'pods "priv" {BASELINE_MESSAGE}privileged' in result.stderr, result


def test_bad_labels_are_invalid(kubectl: Kubectl, ns: str) -> None:
    result = kubectl.fails("label", "ns", ns, "pod-security.kubernetes.io/enforce=strict")
    assert (
        f'The Namespace "{ns}" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: '
        'Invalid value: "strict": must be one of privileged, baseline, restricted'
    ) in result.stderr, result
    result = kubectl.fails("label", "ns", ns, "pod-security.kubernetes.io/warn-version=1.2")
    assert 'Invalid value: "1.2": must be "latest" or "v1.x"' in result.stderr, result


def test_versions_pin_the_checks(secured: ApiServer, ns: str) -> None:
    """`restricted:v1.22` predates the runAsUser check (v1.23): a pod running as root
    by uid passes there but not at latest."""
    labels = {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "v1.22",
        "pod-security.kubernetes.io/warn": "restricted",
    }
    container = {"securityContext": {**RESTRICTED_CONTAINER["securityContext"], "runAsUser": 0}}
    with secured.http() as http:
        patch = {"metadata": {"labels": labels}}
        r = http.patch(
            f"/api/v1/namespaces/{ns}",
            json=patch,
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert r.is_success, r.text
        r = http.post(
            f"/api/v1/namespaces/{ns}/pods", json=json.loads(pod("root", None, container))
        )
        assert r.status_code == 201, r.text
        assert (
            '299 - "would violate PodSecurity \\"restricted:latest\\": runAsUser=0 '
            '(container \\"c\\" must not set runAsUser=0)"'
        ) in r.headers["Warning"]


def test_the_harness_default_is_kubernetes_default_privileged(
    apiserver: ApiServer, namespace: str
) -> None:
    """No --admission-control-config-file: privileged everywhere, no warning."""
    body = json.loads(pod("host", {"hostNetwork": True}, {"securityContext": {"privileged": True}}))
    with apiserver.http() as http:
        r: httpx.Response = http.post(f"/api/v1/namespaces/{namespace}/pods", json=body)
    assert r.status_code == 201, r.text
    assert "PodSecurity" not in r.headers.get("Warning", "")


def test_the_examples_are_admitted_under_minik_ups_default(kubectl: Kubectl, ns: str) -> None:
    """The seed walkthrough's manifests meet `baseline` (server-side dry run: nothing
    stored); they only draw the `restricted` warnings."""
    examples = Path(__file__).resolve().parents[2] / "examples"
    for manifest in [*sorted(examples.glob("*.yaml")), *sorted(examples.glob("more/*.yaml"))]:
        # (a dry run stores nothing, so a pod naming a PriorityClass of its file fails)
        result = kubectl.run(
            "apply", "-n", ns, "--dry-run=server", "-f", str(manifest), check=False
        )
        assert "(server dry run)" in result.stdout, result
        assert "violates PodSecurity" not in result.stderr, result
