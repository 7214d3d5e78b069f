"""controller.statefulset.identity: names, identity, claims and their owners."""

from controller.statefulset import identity
from tests.unit.controller.statefulset.builders import pod, statefulset


def test_pod_of_an_ordinal_has_its_name_hostname_subdomain_labels_and_claim():
    sts = statefulset()
    p = identity.new_pod(sts, sts["spec"]["template"], 2, "web-abc")
    md, spec = p["metadata"], p["spec"]
    assert md["name"] == "web-2" and "generateName" not in md
    assert md["labels"] == {
        "app": "web",
        "statefulset.kubernetes.io/pod-name": "web-2",
        "apps.kubernetes.io/pod-index": "2",
        "controller-revision-hash": "web-abc",
    }
    assert md["ownerReferences"][0]["kind"] == "StatefulSet"
    assert md["ownerReferences"][0]["controller"] is True
    assert (spec["hostname"], spec["subdomain"]) == ("web-2", "nginx")
    # the template's volume of the claim's name is replaced by the claim
    assert spec["volumes"] == [
        {"name": "data", "persistentVolumeClaim": {"claimName": "data-web-2"}}
    ]
    assert identity.ordinal_of(sts, p) == 2
    assert identity.ordinal_of(sts, {"metadata": {"name": "web-02"}}) is None
    assert identity.ordinal_of(sts, {"metadata": {"name": "webx-1"}}) is None


def test_claims_carry_the_selector_labels_and_the_template_spec():
    sts = statefulset()
    (claim,) = identity.new_claims(sts, 1)
    assert claim["metadata"] == {
        "name": "data-web-1",
        "namespace": "ns",
        "labels": {"tier": "db", "app": "web"},
    }
    assert claim["spec"]["resources"] == {"requests": {"storage": "1Gi"}}
    assert "status" not in claim


def test_retention_policy_owner_references():
    def refs(when_deleted, when_scaled, ordinal, replicas=3):
        sts = statefulset(
            replicas,
            persistentVolumeClaimRetentionPolicy={
                "whenDeleted": when_deleted,
                "whenScaled": when_scaled,
            },
        )
        p = pod(sts, ordinal)
        (claim,) = identity.new_claims(sts, ordinal)
        new = identity.claim_owner_refs(claim, sts, p, ordinal)
        return [(r["kind"], r["name"]) for r in new or []]

    assert refs("Retain", "Retain", 0) == []
    assert refs("Delete", "Retain", 0) == [("StatefulSet", "web")]
    assert refs("Retain", "Delete", 0) == []
    assert refs("Retain", "Delete", 2, replicas=1) == [("Pod", "web-2")]
    assert refs("Delete", "Delete", 0) == [("StatefulSet", "web")]
    assert refs("Delete", "Delete", 2, replicas=1) == [("Pod", "web-2")]
    # already right: nothing to write; Retain again drops the set's reference
    sts = statefulset(persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete"})
    (claim,) = identity.new_claims(sts, 0)
    claim["metadata"]["ownerReferences"] = identity.claim_owner_refs(claim, sts, None, 0)
    assert identity.claim_owner_refs(claim, sts, None, 0) is None
    sts["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] = "Retain"
    assert identity.claim_owner_refs(claim, sts, None, 0) == []
