"""The official Kubernetes Python client (`kubernetes`) against minik, unchanged:
it deserializes every response into its generated models, so a missing `kind`, a
wrong type or a Status in the wrong shape fails here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException


@pytest.fixture(scope="module")
def api_client(apiserver) -> Iterator[client.ApiClient]:
    """Loaded from the fixture's kubeconfig into its own Configuration, so no
    process-wide default is changed for other tests."""
    configuration = client.Configuration()
    config.load_kube_config(
        config_file=str(apiserver.kubeconfig), client_configuration=configuration
    )
    with client.ApiClient(configuration) as api:
        yield api


@pytest.fixture
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture
def apps(api_client: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api_client)


def pod(name: str) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels={"app": name}),
        spec=client.V1PodSpec(
            # matches no node: the pod stays Pending even if a scheduler shares the server
            node_selector={"minik.test/no-such-node": "true"},
            containers=[client.V1Container(name="main", image="busybox:1")],
        ),
    )


def deployment(name: str, replicas: int = 1) -> client.V1Deployment:
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    containers=[client.V1Container(name="main", image="busybox:1")]
                ),
            ),
        ),
    )


def test_list_namespaces(core: client.CoreV1Api, namespace: str) -> None:
    listed = core.list_namespace()
    assert listed.kind == "NamespaceList"
    names = {ns.metadata.name for ns in listed.items}
    assert {"default", "kube-system", namespace} <= names
    assert int(listed.metadata.resource_version) > 0


def test_pod_create_read_patch_delete(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_pod(namespace, pod("one"))
    assert created.metadata.uid and created.metadata.namespace == namespace
    assert created.spec.restart_policy == "Always"  # defaulted by the server
    assert created.status.phase == "Pending"

    read = core.read_namespaced_pod("one", namespace)
    assert read.metadata.uid == created.metadata.uid
    assert read.spec.containers[0].image_pull_policy == "IfNotPresent"

    patched = core.patch_namespaced_pod("one", namespace, {"metadata": {"labels": {"tier": "x"}}})
    assert patched.metadata.labels == {"app": "one", "tier": "x"}
    assert int(patched.metadata.resource_version) > int(read.metadata.resource_version)

    core.delete_namespaced_pod("one", namespace)
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod("one", namespace)
    assert missing.value.status == 404
    assert missing.value.reason == "Not Found"
    assert '"reason":"NotFound"' in missing.value.body.replace(" ", "")


def test_create_conflict_is_an_api_exception(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_pod(namespace, pod("twice"))
    with pytest.raises(ApiException) as taken:
        core.create_namespaced_pod(namespace, pod("twice"))
    assert taken.value.status == 409
    assert 'pods \\"twice\\" already exists' in taken.value.body


def test_deployment_create_read_replace_and_scale(apps: client.AppsV1Api, namespace: str) -> None:
    created = apps.create_namespaced_deployment(namespace, deployment("web"))
    assert created.spec.strategy.type == "RollingUpdate"
    assert created.spec.revision_history_limit == 10

    live = apps.read_namespaced_deployment("web", namespace)
    live.spec.template.spec.containers[0].image = "busybox:2"
    replaced = apps.replace_namespaced_deployment("web", namespace, live)
    assert replaced.spec.template.spec.containers[0].image == "busybox:2"
    assert replaced.metadata.generation == created.metadata.generation + 1

    scale = apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 4}})
    assert (scale.kind, scale.api_version) == ("Scale", "autoscaling/v1")
    assert scale.spec.replicas == 4
    assert scale.status.selector == "app=web"
    assert apps.read_namespaced_deployment("web", namespace).spec.replicas == 4
    assert apps.read_namespaced_deployment_scale("web", namespace).spec.replicas == 4

    stale = replaced  # its resourceVersion predates the scale
    stale.spec.replicas = 1
    with pytest.raises(ApiException) as conflict:
        apps.replace_namespaced_deployment("web", namespace, stale)
    assert conflict.value.status == 409


def test_watch_stream_sees_added_and_modified(core: client.CoreV1Api, namespace: str) -> None:
    start = core.list_namespaced_pod(namespace).metadata.resource_version
    core.create_namespaced_pod(namespace, pod("watched"))
    stream = watch.Watch()
    seen: list[tuple[str, str]] = []
    for event in stream.stream(
        core.list_namespaced_pod, namespace, resource_version=start, timeout_seconds=10
    ):
        obj = event["object"]
        assert isinstance(obj, client.V1Pod)
        seen.append((event["type"], obj.metadata.name))
        if event["type"] == "ADDED":
            core.patch_namespaced_pod("watched", namespace, {"metadata": {"labels": {"x": "y"}}})
        if event["type"] == "MODIFIED":
            assert obj.metadata.labels["x"] == "y"
            stream.stop()
    assert seen == [("ADDED", "watched"), ("MODIFIED", "watched")]
