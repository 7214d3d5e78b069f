"""The batch/v1 vocabulary, one home for the apiserver (the Job strategy and its
validation), the job and TTL controllers and CronJobs: the labels and annotations
Kubernetes puts on a Job's pods, the pod finalizer of the job tracking, and the names of
a Job's conditions."""

from __future__ import annotations

# Labels the apiserver's job strategy adds to a Job's pod template (both spellings, as
# Kubernetes does), and the one the generated selector selects.
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
LEGACY_JOB_NAME_LABEL = "job-name"

# Indexed Jobs: the index of a pod as an annotation and a label.
COMPLETION_INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"
# backoffLimitPerIndex: the failures of the index before this pod (counted, and those a
# podFailurePolicy Ignore rule did not count), carried from pod to replacement pod.
INDEX_FAILURE_COUNT_ANNOTATION = "batch.kubernetes.io/job-index-failure-count"
INDEX_IGNORED_FAILURE_COUNT_ANNOTATION = "batch.kubernetes.io/job-index-ignored-failure-count"
# The finalizer that keeps a finished pod until the job controller has counted it.
TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"

# Job condition types.
COMPLETE = "Complete"
FAILED = "Failed"
SUSPENDED = "Suspended"
SUCCESS_CRITERIA_MET = "SuccessCriteriaMet"
FAILURE_TARGET = "FailureTarget"
