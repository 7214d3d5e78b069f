"""kubectl's rollout logic as minikctl implements it, without a server: the deployment
status viewer, the choice of the ReplicaSet to roll back to and the patch that does it,
the history table, and the restart/pause/resume patches."""

from __future__ import annotations

import copy
import re

import pytest

from minikctl.context import CLIError
from minikctl.replicasets import equal_ignore_hash, split
from minikctl.rollout.history import history_text
from minikctl.rollout.patches import pause_patch, restart_patch, resume_patch, rfc3339_now
from minikctl.rollout.status import deployment_status
from minikctl.rollout.undo import pick, rollback_patch

REVISION = "deployment.kubernetes.io/revision"


def deployment(generation=2, observed=2, desired=3, annotations=None, **status):
    return {
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "uid": "dep-uid",
            "generation": generation,
            "annotations": dict(annotations or {}),
        },
        "spec": {"replicas": desired, "template": template("nginx:1.26")},
        "status": {"observedGeneration": observed, **status},
    }


def template(image, hash_label=None):
    labels = {"app": "web"}
    if hash_label:
        labels["pod-template-hash"] = hash_label
    return {
        "metadata": {"labels": labels, "creationTimestamp": None},
        "spec": {"containers": [{"name": "web", "image": image, "resources": {}}]},
    }


def replicaset(name, revision, image, created="2024-01-01T00:00:00Z", annotations=None):
    return {
        "metadata": {
            "name": name,
            "creationTimestamp": created,
            "annotations": {REVISION: str(revision), **(annotations or {})},
            "ownerReferences": [{"uid": "dep-uid", "controller": True}],
        },
        "spec": {"replicas": 0, "template": template(image, hash_label=name)},
    }


# ---- status -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dep", "line", "done"),
    [
        (deployment(generation=3), "Waiting for deployment spec update to be observed...", False),
        (
            deployment(desired=3, updatedReplicas=1),
            'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have '
            "been updated...",
            False,
        ),
        (
            deployment(desired=3, updatedReplicas=3, replicas=5),
            'Waiting for deployment "web" rollout to finish: 2 old replicas are pending '
            "termination...",
            False,
        ),
        (
            deployment(updatedReplicas=3, availableReplicas=2, replicas=3),
            'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are '
            "available...",
            False,
        ),
        (
            deployment(updatedReplicas=3, availableReplicas=3, replicas=3),
            'deployment "web" successfully rolled out',
            True,
        ),
    ],
)
def test_status_viewer_lines(dep, line, done):
    assert deployment_status(dep) == (line, done)


def test_status_viewer_failures():
    stuck = deployment(
        conditions=[
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
        ]
    )
    with pytest.raises(CLIError, match='deployment "web" exceeded its progress deadline'):
        deployment_status(stuck)
    # the deadline only counts once the controller has seen the current generation
    assert deployment_status({**stuck, "metadata": {**stuck["metadata"], "generation": 9}})[1] is (
        False
    )
    pinned = deployment(
        annotations={REVISION: "4"}, updatedReplicas=3, availableReplicas=3, replicas=3
    )
    assert deployment_status(pinned, revision=4)[1] is True
    with pytest.raises(CLIError, match=r"desired revision \(3\) is different .* \(4\)"):
        deployment_status(pinned, revision=3)


# ---- which ReplicaSet, and the patch ------------------------------------------------------


def test_equal_ignore_hash_is_semantic():
    a = template("nginx:1.25", hash_label="abc")
    b = template("nginx:1.25")
    del b["metadata"]["creationTimestamp"]
    b["spec"]["containers"][0].pop("resources")
    assert equal_ignore_hash(a, b)
    assert a["metadata"]["labels"]["pod-template-hash"] == "abc"  # inputs untouched
    assert not equal_ignore_hash(a, template("nginx:1.26"))


def test_new_replicaset_is_the_oldest_with_the_template():
    dep = deployment()
    rs_old = replicaset("web-1", 1, "nginx:1.25")
    rs_new = replicaset("web-2", 2, "nginx:1.26", created="2024-01-02T00:00:00Z")
    rs_dup = replicaset("web-3", 3, "nginx:1.26", created="2024-01-03T00:00:00Z")
    old, new = split(dep, [rs_old, rs_new, rs_dup])
    assert new is rs_new and old == [rs_old, rs_dup]


def test_pick_previous_or_asked_revision():
    dep = deployment()
    sets = [
        replicaset("web-1", 1, "nginx:1.24"),
        replicaset("web-3", 3, "nginx:1.25"),
        replicaset("web-4", 4, "nginx:1.26"),
    ]
    assert pick(dep, sets, 0)["metadata"]["name"] == "web-3"  # second newest
    assert pick(dep, sets, 1)["metadata"]["name"] == "web-1"
    with pytest.raises(CLIError, match="unable to find specified revision 2 in history"):
        pick(dep, sets, 2)
    with pytest.raises(CLIError, match='no rollout history found for deployment "web"'):
        pick(dep, sets[-1:], 0)


def test_rollback_patch_replaces_template_and_annotations():
    dep = deployment(
        annotations={
            REVISION: "4",
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
            "team": "blue",  # the deployment's own: replaced by the ReplicaSet's
        }
    )
    rs = replicaset("web-1", 1, "nginx:1.24", annotations={"kubernetes.io/change-cause": "v1"})
    before = copy.deepcopy(rs)
    ops = rollback_patch(dep, rs)
    assert [(op["op"], op["path"]) for op in ops] == [
        ("replace", "/spec/template"),
        ("replace", "/metadata/annotations"),
    ]
    assert ops[0]["value"]["metadata"]["labels"] == {"app": "web"}
    assert ops[0]["value"]["spec"]["containers"][0]["image"] == "nginx:1.24"
    assert ops[1]["value"] == {
        REVISION: "4",
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
        "kubernetes.io/change-cause": "v1",
    }
    assert rs == before


# ---- history ------------------------------------------------------------------------------


def test_history_table_and_one_revision():
    found = {
        10: {"metadata": {"annotations": {"kubernetes.io/change-cause": "bump"}}},
        2: {"metadata": {}},
    }
    assert history_text(found, 0) == "REVISION  CHANGE-CAUSE\n2         <none>\n10        bump\n"
    assert history_text({}, 0) == "No rollout history found."
    with pytest.raises(CLIError, match="unable to find the specified revision"):
        history_text(found, 3)
    one = history_text({1: template("nginx:1.24", hash_label="h")}, 1)
    assert one.startswith("Pod Template:\n  Labels:\tapp=web\n\tpod-template-hash=h\n")
    assert "    Image:\tnginx:1.24\n" in one


# ---- restart, pause, resume ---------------------------------------------------------------


def test_restart_pause_resume_patches():
    dep = deployment()
    now = rfc3339_now()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)", now)
    patch = restart_patch(dep, now)
    assert patch == {
        "spec": {
            "template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": now}}}
        }
    }
    dep["spec"]["template"]["metadata"]["annotations"] = {"kubectl.kubernetes.io/restartedAt": now}
    assert restart_patch(dep, now) == {}  # the same second: nothing to change
    assert pause_patch(dep, now) == {"spec": {"paused": True}}
    with pytest.raises(CLIError, match="is not paused"):
        resume_patch(dep, now)
    dep["spec"]["paused"] = True
    assert resume_patch(dep, now) == {"spec": {"paused": None}}
    with pytest.raises(CLIError, match="is already paused"):
        pause_patch(dep, now)
    with pytest.raises(CLIError, match=r"can't restart paused deployment"):
        restart_patch(dep, now)
    with pytest.raises(CLIError, match="restarting is not supported"):
        restart_patch({"kind": "ReplicaSet"}, now)
