"""controller/cronjob/controller.py: the Job a CronJob makes for a scheduled time."""

from __future__ import annotations

from datetime import UTC, datetime

from controller.cronjob.controller import (
    SCHEDULED_TIMESTAMP_ANNOTATION,
    job_from_template,
    job_reference,
)


def test_job_from_template():
    cronjob = {
        "metadata": {"name": "tick", "namespace": "ns", "uid": "u1"},
        "spec": {
            "timeZone": "Europe/Paris",
            "jobTemplate": {
                "metadata": {"labels": {"app": "tick"}, "annotations": {"note": "x"}},
                "spec": {"backoffLimit": 2, "template": {"spec": {"containers": []}}},
            },
        },
    }
    job = job_from_template(cronjob, datetime(2024, 7, 1, 7, 0, tzinfo=UTC))
    md = job["metadata"]
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    assert (md["name"], md["namespace"], md["labels"]) == ("tick-28663620", "ns", {"app": "tick"})
    assert md["annotations"] == {
        "note": "x",
        SCHEDULED_TIMESTAMP_ANNOTATION: "2024-07-01T09:00:00+02:00",
    }
    assert md["ownerReferences"] == [
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "name": "tick",
            "uid": "u1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert job["spec"] == cronjob["spec"]["jobTemplate"]["spec"]
    assert job["spec"] is not cronjob["spec"]["jobTemplate"]["spec"]


def test_job_reference():
    job = {"metadata": {"name": "tick-1", "namespace": "ns", "uid": "u", "resourceVersion": "7"}}
    assert job_reference(job) == {
        "kind": "Job",
        "namespace": "ns",
        "name": "tick-1",
        "uid": "u",
        "apiVersion": "batch/v1",
        "resourceVersion": "7",
    }
