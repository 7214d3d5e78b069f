"""controller.job.sync: counting new finished pods, how many pods to run, and when a
Job is done."""

from controller.job.pods import pod_from_job
from controller.job.sync import (
    finish_decision,
    newly_finished,
    past_backoff_limit_on_failure,
    want_active,
)

FINALIZER = "batch.kubernetes.io/job-tracking"


def job(**spec) -> dict:
    return {
        "metadata": {"name": "pi", "namespace": "ns", "uid": "j1"},
        "spec": {
            "completions": 3,
            "parallelism": 2,
            "backoffLimit": 1,
            "completionMode": "NonIndexed",
            "podReplacementPolicy": "TerminatingOrFailed",
            "template": {
                "metadata": {"labels": {"job-name": "pi"}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "main"}]},
            },
            **spec,
        },
        "status": {},
    }


def pod(uid: str, phase: str, finalizer: bool = True, deleting: bool = False, **status) -> dict:
    md: dict = {"uid": uid, "name": uid, "namespace": "ns"}
    if finalizer:
        md["finalizers"] = [FINALIZER]
    if deleting:
        md["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": md, "status": {"phase": phase, **status}}


def test_newly_finished_pods():
    pods = [
        pod("a", "Succeeded"),
        pod("b", "Failed"),
        pod("c", "Running", deleting=True),  # deleted: a failure
        pod("d", "Succeeded", finalizer=False),  # counted already
        pod("e", "Failed"),  # in uncounted already
        pod("f", "Running"),
    ]
    new = newly_finished(job(), pods, {"e"})
    assert [p["metadata"]["uid"] for p in new.succeeded] == ["a"]
    assert [p["metadata"]["uid"] for p in new.failed] == ["b", "c"]
    only_failed = newly_finished(job(podReplacementPolicy="Failed"), pods, {"e"})
    assert [p["metadata"]["uid"] for p in only_failed.failed] == ["b"]


def test_failure_policy_sorts_failures():
    policy = {
        "rules": [
            {"action": "Ignore", "onExitCodes": {"operator": "In", "values": [3]}},
            {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [4]}},
        ]
    }
    statuses = [{"name": "main", "state": {"terminated": {"exitCode": 3}}}]
    fatal = [{"name": "main", "state": {"terminated": {"exitCode": 4}}}]
    new = newly_finished(
        job(podFailurePolicy=policy),
        [
            pod("a", "Failed", containerStatuses=statuses),
            pod("b", "Failed", containerStatuses=fatal),
        ],
        set(),
    )
    assert [p["metadata"]["uid"] for p in new.ignored] == ["a"]
    assert [p["metadata"]["uid"] for p in new.failed] == ["b"]
    assert new.fail_job is not None and "exit code 4" in new.fail_job


def test_want_active():
    assert want_active(job(), 0, set()) == 2
    assert want_active(job(), 2, set()) == 1
    assert want_active(job(), 3, set()) == 0
    queue = job(completions=None, parallelism=4)
    assert want_active(queue, 0, set()) == 4 and want_active(queue, 1, set()) == 0
    indexed = job(completionMode="Indexed", completions=5, parallelism=3)
    assert want_active(indexed, 0, {0, 1, 2, 3}) == 1


def test_finish_decisions():
    j = job()
    decide = dict(failed=0, succeeded=0, completed=set(), active=[], fail_job=None, now=100.0)
    assert finish_decision(j, **decide) is None
    done = finish_decision(j, **{**decide, "succeeded": 3})
    assert done is not None and done.reason == "CompletionsReached"
    backoff = finish_decision(j, **{**decide, "failed": 2})
    assert backoff is not None and not backoff.succeeded
    assert (backoff.reason, backoff.final_type) == ("BackoffLimitExceeded", "Failed")
    late = job(activeDeadlineSeconds=10)
    late["status"] = {"startTime": "1970-01-01T00:01:00Z"}
    assert finish_decision(late, **{**decide, "now": 65.0}) is None
    deadline = finish_decision(late, **{**decide, "now": 70.0})
    assert deadline is not None and deadline.reason == "DeadlineExceeded"
    policy = finish_decision(j, **{**decide, "fail_job": "why"})
    assert policy is not None and (policy.reason, policy.message) == ("PodFailurePolicy", "why")
    indexed = job(completionMode="Indexed")
    assert finish_decision(indexed, **{**decide, "succeeded": 3}) is None
    assert finish_decision(indexed, **{**decide, "completed": {0, 1, 2}}) is not None


def test_failed_indexes_then_success_policy_then_completions():
    decide = dict(failed=1, succeeded=1, active=[], fail_job=None, now=100.0)
    per_index = job(completionMode="Indexed", backoffLimitPerIndex=0, backoffLimit=2**31 - 1)
    failed = finish_decision(per_index, **decide, completed={0, 2}, failed_indexes={1})
    assert failed is not None and not failed.succeeded
    assert (failed.reason, failed.message) == ("FailedIndexes", "Job has failed indexes")
    assert finish_decision(per_index, **decide, completed={0}, failed_indexes={1}) is None
    capped = job(completionMode="Indexed", backoffLimitPerIndex=0, maxFailedIndexes=0)
    over = finish_decision(capped, **decide, completed=set(), failed_indexes={1})
    assert over is not None and over.reason == "MaxFailedIndexesExceeded"
    policy = {"rules": [{"succeededIndexes": "0"}]}
    early = job(completionMode="Indexed", successPolicy=policy)
    met = finish_decision(early, **decide, completed={0})
    assert met is not None and met.succeeded
    assert (met.reason, met.message, met.interim_type, met.final_type) == (
        "SuccessPolicy",
        "Matched rules at index 0",
        "SuccessCriteriaMet",
        "Complete",
    )
    assert finish_decision(early, **decide, completed={1}) is None


def test_on_failure_restarts_count_against_the_backoff_limit():
    j = job(backoffLimit=2)
    j["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    restarted = pod("a", "Running", containerStatuses=[{"name": "main", "restartCount": 2}])
    assert past_backoff_limit_on_failure(j, [restarted])
    assert not past_backoff_limit_on_failure(job(backoffLimit=2), [restarted])


def test_indexed_pod_from_template():
    ref = {"kind": "Job", "name": "pi", "uid": "j1", "controller": True}
    p = pod_from_job(job(completionMode="Indexed"), ref, 2)
    md = p["metadata"]
    assert md["generateName"] == "pi-2-" and md["finalizers"] == [FINALIZER]
    assert md["annotations"]["batch.kubernetes.io/job-completion-index"] == "2"
    assert md["labels"] == {"job-name": "pi", "batch.kubernetes.io/job-completion-index": "2"}
    assert p["spec"]["hostname"] == "pi-2"
    env = p["spec"]["containers"][0]["env"]
    assert env == [
        {
            "name": "JOB_COMPLETION_INDEX",
            "valueFrom": {
                "fieldRef": {
                    "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"
                }
            },
        }
    ]
    plain = pod_from_job(job(), ref, None)
    assert plain["metadata"]["generateName"] == "pi-" and "hostname" not in plain["spec"]
