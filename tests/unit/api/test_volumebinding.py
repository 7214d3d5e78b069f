"""api.volumebinding: which volume a claim gets."""

from api.volumebinding import Node, find_best_match, mismatch


def pv(name, size, modes=("ReadWriteOnce",), phase="Available", labels=None, **spec):
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "capacity": {"storage": size},
            "accessModes": list(modes),
            "storageClassName": "manual",
            **spec,
        },
        "status": {"phase": phase},
    }


def pvc(size="1Gi", modes=("ReadWriteOnce",), **spec):
    return {
        "metadata": {"name": "data", "namespace": "d", "uid": "u1"},
        "spec": {
            "accessModes": list(modes),
            "resources": {"requests": {"storage": size}},
            "storageClassName": "manual",
            **spec,
        },
    }


def names(volume):
    return volume["metadata"]["name"] if volume else None


def test_smallest_volume_that_fits():
    volumes = [pv("big", "10Gi"), pv("tiny", "500Mi"), pv("fit", "2Gi"), pv("mid", "5Gi")]
    assert names(find_best_match(pvc("1500Mi"), volumes)) == "fit"
    assert names(find_best_match(pvc("20Gi"), volumes)) is None


def test_class_phase_and_claim_ref_exclude():
    other_class = pv("a", "1Gi", storageClassName="fast")
    bound = pv("b", "1Gi", phase="Bound", claimRef={"namespace": "x", "name": "y", "uid": "z"})
    pending = pv("c", "1Gi", phase="Pending")
    deleting = pv("d", "1Gi")
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert find_best_match(pvc(), [other_class, bound, pending, deleting]) is None


def test_access_modes_must_all_be_offered():
    volumes = [pv("rwo", "1Gi"), pv("many", "5Gi", modes=("ReadWriteMany", "ReadOnlyMany"))]
    assert names(find_best_match(pvc(modes=("ReadOnlyMany",)), volumes)) == "many"
    both = pvc(modes=("ReadWriteOnce", "ReadOnlyMany"))
    assert find_best_match(both, volumes) is None
    assert mismatch(volumes[0], both) == "incompatible accessMode"


def test_selector():
    volumes = [pv("fast", "1Gi", labels={"tier": "fast"}), pv("slow", "1Gi", labels={"tier": "s"})]
    claim = pvc(selector={"matchExpressions": [{"key": "tier", "operator": "In", "values": ["s"]}]})
    assert names(find_best_match(claim, volumes)) == "slow"


def test_pre_bound_volume_wins_when_big_enough():
    prebound = pv("mine", "8Gi", phase="Available", claimRef={"namespace": "d", "name": "data"})
    volumes = [pv("small", "1Gi"), prebound]
    assert names(find_best_match(pvc(), volumes)) == "mine"
    other_uid = pv("x", "1Gi", claimRef={"namespace": "d", "name": "data", "uid": "old"})
    assert find_best_match(pvc(), [other_uid]) is None


def test_node_affinity_for_a_selected_node():
    def on(node):
        term = {
            "matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}
            ]
        }
        return pv(f"on-{node}", "1Gi", nodeAffinity={"required": {"nodeSelectorTerms": [term]}})

    volumes = [on("a"), on("b")]
    node_b = Node("b", {"kubernetes.io/hostname": "b"})
    assert names(find_best_match(pvc(), volumes, node_b)) == "on-b"
    assert find_best_match(pvc(), volumes, Node("c", {"kubernetes.io/hostname": "c"})) is None


def test_mismatch_reasons():
    assert mismatch(pv("a", "1Gi"), pvc("2Gi")) == "requested PV is too small"
    assert mismatch(pv("a", "1Gi", storageClassName="x"), pvc()) == (
        "storageClassName does not match"
    )
    assert mismatch(pv("a", "1Gi"), pvc()) is None
