from api.rbac import Request
from apiserver.auth import User
from apiserver.authz import Decision
from apiserver.authz.bootstrap import node_rules
from apiserver.authz.node import NodeAuthorizer, NodeGraph, node_of, pod_refs

KUBELET_A = User("system:node:a", "u", ("system:nodes", "system:authenticated"))


def pod(name: str, node: str | None, **spec: object) -> dict:
    return {
        "metadata": {"namespace": "ns", "name": name},
        "spec": {"nodeName": node, "containers": [{"name": "c"}], **spec},
    }


def test_node_of_needs_both_the_name_and_the_group():
    assert node_of(KUBELET_A) == "a"
    assert node_of(User("system:node:a", "u", ("system:authenticated",))) is None
    assert node_of(User("alice", "u", ("system:nodes",))) is None


def test_pod_refs_follow_every_way_a_pod_uses_an_object():
    p = pod(
        "p",
        "a",
        serviceAccountName="sa",
        imagePullSecrets=[{"name": "pull"}],
        volumes=[
            {"name": "v1", "secret": {"secretName": "vol-secret"}},
            {"name": "v2", "configMap": {"name": "vol-cm"}},
            {"name": "v3", "persistentVolumeClaim": {"claimName": "claim"}},
            {"name": "v4", "ephemeral": {"volumeClaimTemplate": {}}},
            {
                "name": "v5",
                "projected": {
                    "sources": [
                        {"secret": {"name": "proj-secret"}},
                        {"configMap": {"name": "proj-cm"}},
                    ]
                },
            },
        ],
        initContainers=[{"name": "i", "envFrom": [{"secretRef": {"name": "init-env"}}]}],
        containers=[
            {
                "name": "c",
                "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "env-cm"}}}],
                "envFrom": [{"configMapRef": {"name": "from-cm"}}],
            }
        ],
    )
    assert pod_refs(p) == {
        ("serviceaccounts", "ns", "sa"),
        ("secrets", "ns", "pull"),
        ("secrets", "ns", "vol-secret"),
        ("configmaps", "ns", "vol-cm"),
        ("persistentvolumeclaims", "ns", "claim"),
        ("persistentvolumeclaims", "ns", "p-v4"),
        ("secrets", "ns", "proj-secret"),
        ("configmaps", "ns", "proj-cm"),
        ("secrets", "ns", "init-env"),
        ("configmaps", "ns", "env-cm"),
        ("configmaps", "ns", "from-cm"),
    }


def test_the_graph_counts_pods_and_follows_claims_to_volumes():
    graph = NodeGraph()
    volumes = [{"name": "v", "secret": {"secretName": "s"}}]
    graph.put("pods", pod("p1", "a", volumes=volumes))
    graph.put("pods", pod("p2", "a", volumes=volumes))
    graph.put("pods", pod("unbound", None, volumes=[{"name": "v", "secret": {"secretName": "x"}}]))
    assert graph.reaches("a", "secrets", "ns", "s")
    assert not graph.reaches("b", "secrets", "ns", "s")
    assert not graph.reaches("a", "secrets", "ns", "x")  # not bound to a node yet
    graph.remove("pods", pod("p1", "a"))
    assert graph.reaches("a", "secrets", "ns", "s")  # p2 still uses it
    graph.put("pods", pod("p2", "b", volumes=volumes))  # p2 moved (a new pod, same name)
    assert not graph.reaches("a", "secrets", "ns", "s")
    assert graph.reaches("b", "secrets", "ns", "s")

    claim = {"metadata": {"namespace": "ns", "name": "c"}, "spec": {"volumeName": "pv"}}
    graph.put("persistentvolumeclaims", claim)
    claim_volume = [{"name": "d", "persistentVolumeClaim": {"claimName": "c"}}]
    graph.put("pods", pod("p3", "a", volumes=claim_volume))
    assert graph.reaches("a", "persistentvolumes", "", "pv")
    assert not graph.reaches("b", "persistentvolumes", "", "pv")
    graph.replace("persistentvolumeclaims", [])
    assert not graph.reaches("a", "persistentvolumes", "", "pv")


def test_the_authorizer_decides_only_for_kubelets():
    graph = NodeGraph()
    graph.put("pods", pod("p", "a", volumes=[{"name": "v", "secret": {"secretName": "s"}}]))
    authz = NodeAuthorizer(graph, node_rules())

    def ask(user: User, **req: object) -> tuple[Decision, str]:
        return authz.authorize(user, Request(**req))  # type: ignore[arg-type]

    secret = {"resource": "secrets", "namespace": "ns"}
    assert ask(KUBELET_A, verb="get", name="s", **secret)[0] is Decision.ALLOW
    assert ask(KUBELET_A, verb="get", name="t", **secret) == (
        Decision.NO_OPINION,
        "no relationship found between node 'a' and this object",
    )
    assert ask(KUBELET_A, verb="list", **secret)[1] == (
        "can only get individual resources of this type"
    )
    assert ask(KUBELET_A, verb="update", name="s", **secret)[0] is Decision.NO_OPINION
    alice = User("alice", "u", ("system:authenticated",))
    assert ask(alice, verb="get", name="s", **secret) == (Decision.NO_OPINION, "")
    # the node role's rules for everything else; which pods a kubelet may delete or
    # evict is NodeRestriction's to say, from the pod as stored (404 when gone)
    assert ask(KUBELET_A, verb="get", resource="nodes", name="a")[0] is Decision.ALLOW
    for name in ("p", "q", "gone"):
        assert ask(KUBELET_A, verb="delete", resource="pods", namespace="ns", name=name)[0] is (
            Decision.ALLOW
        )
    assert ask(KUBELET_A, verb="create", resource="deployments", api_group="apps")[0] is (
        Decision.NO_OPINION
    )


def local_volume(name: str, node: str) -> dict:
    term = {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In",
                                  "values": [node]}]}  # fmt: skip
    return {
        "metadata": {"name": name},
        "spec": {"nodeAffinity": {"required": {"nodeSelectorTerms": [term]}}},
    }


def test_a_node_reaches_the_volumes_pinned_to_it_and_those_it_saw_deleted():
    graph = NodeGraph()
    graph.replace("persistentvolumes", [local_volume("pv-a", "a"), local_volume("pv-b", "b")])
    assert graph.reaches("a", "persistentvolumes", "", "pv-a")
    assert not graph.reaches("a", "persistentvolumes", "", "pv-b")
    graph.remove("persistentvolumes", local_volume("pv-a", "a"))
    assert graph.reaches("a", "persistentvolumes", "", "pv-a")  # so its kubelet sees a 404
    graph.replace("persistentvolumes", [])  # pv-b deleted while the watch was away
    assert graph.reaches("b", "persistentvolumes", "", "pv-b")
    assert not graph.reaches("a", "persistentvolumes", "", "pv-b")
    assert not graph.reaches("a", "persistentvolumes", "", "never-seen")
