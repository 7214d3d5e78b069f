"""The Job controller (kube-controller-manager's `job`): runs a Job's pods to
completion.

reconcile(ns/name): claim the Job's pods; count the newly finished ones through the
`batch.kubernetes.io/job-tracking` finalizer (their uids go to
`status.uncountedTerminatedPods`, the finalizers come off, then the uids move into
`succeeded`/`failed`, so a deleted pod is counted exactly once); decide whether the Job
met its success criteria or must fail (podFailurePolicy, backoffLimit,
activeDeadlineSeconds), which sets SuccessCriteriaMet/FailureTarget, deletes the pods
still running and, once none is left, Complete/Failed; honour `suspend`; otherwise
create (with back-off after failures) or delete pods towards `parallelism`, guarded by
expectations; and write the status.

Orphaned pods that still hold the finalizer (their Job is gone) are released under the
key ("orphan", pod key)."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from api.batch import SUSPENDED, TRACKING_FINALIZER
from api.errors import ApiError, NotFound
from api.labels import from_label_selector
from api.resources import JOBS, PODS
from api.timefmt import rfc3339
from client.events import NORMAL, WARNING
from client.informer import key_of
from controller.job import perindex, sync
from controller.job.backoff import BackoffRecord
from controller.job.indexes import first_free_indexes, format_indexes, parse_indexes, pod_index
from controller.job.pods import (
    deletion_order,
    finish_time,
    has_finalizer,
    is_active,
    is_terminating_pod,
    pod_from_job,
    uid,
)
from controller.util.base import Context, Controller
from controller.util.controllerref import (
    ControllerRefManager,
    OwnerLookup,
    controller_ref,
    meta,
    new_controller_ref,
)
from controller.util.expectations import Expectations
from controller.util.podcontrol import PodControl
from controller.util.pods import is_pod_ready

log = logging.getLogger(__name__)

Obj = dict[str, Any]
ORPHAN = "orphan"


class JobController(Controller):
    name = "job"

    def __init__(self, ctx: Context, clock: Callable[[], float] = time.time) -> None:
        super().__init__(ctx)
        self.clock = clock
        self.expectations = Expectations()
        self.pod_control = PodControl(ctx.api, ctx.events)
        # uids of pods whose finalizer this controller removed and has not seen go
        self.finalizer_removals: dict[str, set[str]] = {}
        self.backoff: dict[str, BackoffRecord] = {}
        self.creations = 0  # pods this controller set out to create (see _refill_first)
        self.job_informer = ctx.informers.informer(JOBS)
        self.pod_informer = ctx.informers.informer(PODS)
        self.pods_by_ns = ctx.informers.by_namespace(PODS)
        self.owners = OwnerLookup(ctx.informers, JOBS)
        self.job_informer.add_handler(self.enqueue, self._job_updated, self._job_deleted)
        self.pod_informer.add_handler(self._pod_added, self._pod_updated, self._pod_deleted)
        self.watched = [self.job_informer, self.pod_informer]

    # ---- events --------------------------------------------------------------
    def _job_updated(self, old: Obj, new: Obj) -> None:
        self.enqueue(new)

    def _job_deleted(self, job: Obj) -> None:
        key = key_of(job)
        self.expectations.forget(key)
        self.backoff.pop(key, None)
        self.enqueue(job)

    def _pod_added(self, pod: Obj) -> None:
        key = self.owners.referenced_key(pod)
        if key is None:
            for job in self.owners.matching(pod):
                self.enqueue(job)
            return
        if self.owners.owner(pod) is not None:
            self.expectations.creation_observed(key)
            self.enqueue_key(key)
        elif has_finalizer(pod):
            self.enqueue_key((ORPHAN, key_of(pod)))

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        key = self.owners.referenced_key(new)
        if key is None:
            if meta(old).get("labels") != meta(new).get("labels"):
                for job in self.owners.matching(new):
                    self.enqueue(job)
            old_key = self.owners.referenced_key(old)
            if old_key:
                self.enqueue_key(old_key)
            return
        if not has_finalizer(new):
            self.finalizer_removals.get(key, set()).discard(uid(new))
        if meta(new).get("deletionTimestamp") and not meta(old).get("deletionTimestamp"):
            self.expectations.deletion_observed(key, key_of(new))
        if self.owners.owner(new) is not None:
            self.enqueue_key(key)
        elif has_finalizer(new):
            self.enqueue_key((ORPHAN, key_of(new)))

    def _pod_deleted(self, pod: Obj) -> None:
        key = self.owners.referenced_key(pod)
        if key is None:
            return
        self.finalizer_removals.get(key, set()).discard(uid(pod))
        self.expectations.deletion_observed(key, key_of(pod))
        self.enqueue_key(key)

    # ---- reconcile -----------------------------------------------------------
    async def reconcile(self, key: Hashable) -> None:
        if isinstance(key, tuple):
            await self._release_orphan(str(key[1]))
            return
        assert isinstance(key, str)
        cached = self.job_informer.get(key)
        if cached is None:
            self.expectations.forget(key)
            self.finalizer_removals.pop(key, None)
            return
        job = copy.deepcopy(cached)
        pods = await self._claim_pods(job)
        if sync.is_finished(job) or meta(job).get("deletionTimestamp"):
            await self._remove_finalizers(key, [p for p in pods if has_finalizer(p)])
            return
        await self._sync(key, job, pods)

    async def _claim_pods(self, job: Obj) -> list[Obj]:
        namespace = meta(job).get("namespace") or ""
        try:
            selector = from_label_selector((job.get("spec") or {}).get("selector"))
        except ApiError:
            return []
        job_uid = meta(job).get("uid")
        candidates = [
            p
            for p in self.pods_by_ns.list(namespace)
            if (controller_ref(p) or {}).get("uid") == job_uid
            or (controller_ref(p) is None and selector.matches(meta(p).get("labels") or {}))
        ]
        if sync.is_finished(job):
            return [p for p in candidates if (controller_ref(p) or {}).get("uid") == job_uid]
        manager = ControllerRefManager(self.api, job, JOBS, PODS, selector)
        return await manager.claim(candidates)

    async def _sync(self, key: str, job: Obj, pods: list[Obj]) -> None:
        now = self.clock()
        spec = job.get("spec") or {}
        refilled = await self._refill_first(key, job, pods, now)
        counted = await self._track_finished(key, job, pods, now)
        job, status = counted.job, counted.status
        succeeded, failed, completed = counted.succeeded, counted.failed, counted.completed

        active = [p for p in pods if is_active(p)]
        if not status.get("startTime") and spec.get("suspend") is not True:
            status["startTime"] = rfc3339(now)
        failed_indexes: set[int] | None = None
        if perindex.enabled(job):
            failed_indexes = perindex.failed_indexes({**job, "status": status}, pods)
            status["failedIndexes"] = format_indexes(failed_indexes)
        finish = sync.finish_decision(
            {**job, "status": status},
            failed=failed,
            succeeded=succeeded,
            completed=completed,
            active=active,
            fail_job=counted.fail_job,
            now=now,
            failed_indexes=failed_indexes,
        )
        events: list[tuple[str, str, str]] = []
        if finish is not None:
            interim = sync.new_condition(
                finish.interim_type, "True", finish.reason, finish.message, now
            )
            sync.set_condition(status, interim)
            deleted = await self._delete_pods(key, job, active)
            active = [p for p in active if p not in deleted]
            settled = not deleted and not any(is_terminating_pod(p) for p in pods)
            if settled and not active and not status["uncountedTerminatedPods"]:
                final = sync.new_condition(
                    finish.final_type, "True", finish.reason, finish.message, now
                )
                if sync.set_condition(status, final):
                    if finish.succeeded:
                        status["completionTime"] = rfc3339(now)
                        events.append((NORMAL, "Completed", "Job completed"))
                    else:
                        events.append((WARNING, finish.reason, finish.message))
        elif spec.get("suspend") is True:
            deleted = await self._delete_pods(key, job, active)
            active = [p for p in active if p not in deleted]
            cond = sync.new_condition(SUSPENDED, "True", "JobSuspended", "Job suspended", now)
            if sync.set_condition(status, cond):
                events.append((NORMAL, "Suspended", "Job suspended"))
        else:
            if sync.is_suspended_now(job):
                cond = sync.new_condition(SUSPENDED, "False", "JobResumed", "Job resumed", now)
                sync.set_condition(status, cond)
                status["startTime"] = rfc3339(now)  # the deadline starts again
                events.append((NORMAL, "Resumed", "Job resumed"))
            done = completed | (failed_indexes or set())
            if not refilled:  # its creations are expected, not yet in `pods`
                active = await self._manage(key, job, pods, active, succeeded, done, now)
            deadline = sync.deadline_at({**job, "status": status})
            if deadline is not None:
                self.enqueue_after(key, deadline - now + 0.05)

        _set_or_drop(status, "active", len(active))
        status["ready"] = sum(1 for p in active if is_pod_ready(p))
        status["terminating"] = sum(1 for p in pods if is_terminating_pod(p))
        await self._write_status(job, status)
        for event_type, reason, message in events:
            await self.events.record(job, event_type, reason, message)

    async def _refill_first(self, key: str, job: Obj, pods: list[Obj], now: float) -> bool:
        """Replace pods that just succeeded before counting them, as Kubernetes'
        syncJob runs manageJob before trackJobStatusAndRemoveFinalizers, with the
        uncounted and newly finished pods already in the counts: a slot of a Job does
        not stand empty for the two writes that count its last pod (the
        uncountedTerminatedPods status and the finalizer's removal). True when pods
        were created; the Job's later steps then leave creation alone.

        Only the plain case is taken early: a NonIndexed Job, not suspended or
        resuming, no new failure (back-off and podFailurePolicy need them counted
        first), not meeting its success criteria or failing with these counts, and
        short of pods. Anything else goes the usual way, after the counting."""
        spec = job.get("spec") or {}
        if (
            spec.get("completionMode") == "Indexed"
            or spec.get("suspend") is True
            or sync.is_suspended_now(job)
            or perindex.enabled(job)
            or not self.expectations.satisfied(key)
        ):
            return False
        status = job.get("status") or {}
        uncounted = status.get("uncountedTerminatedPods") or {}
        pending_s = set(uncounted.get("succeeded") or [])
        pending_f = set(uncounted.get("failed") or [])
        removals = self.finalizer_removals.get(key, set())
        new = sync.newly_finished(job, pods, pending_s | pending_f | removals)
        if not new.succeeded or new.failed or new.ignored or new.fail_job is not None:
            return False
        succeeded = int(status.get("succeeded") or 0) + len(pending_s) + len(new.succeeded)
        failed = int(status.get("failed") or 0) + len(pending_f)
        active = [p for p in pods if is_active(p)]
        finish = sync.finish_decision(
            job,
            failed=failed,
            succeeded=succeeded,
            completed=set(),
            active=active,
            fail_job=None,
            now=now,
        )
        if finish is not None or sync.want_active(job, succeeded, set()) <= len(active):
            return False
        created = self.creations
        await self._manage(key, job, pods, active, succeeded, set(), now)
        return self.creations != created

    async def _track_finished(self, key: str, job: Obj, pods: list[Obj], now: float) -> Counted:
        """Count the newly finished pods exactly once, through the finalizer: their uids
        are written to uncountedTerminatedPods, their finalizers removed, and then the
        uids move into the counts (those whose finalizer could not be removed stay)."""
        spec = job.get("spec") or {}
        status: Obj = copy.deepcopy(job.get("status") or {})
        uncounted = status.get("uncountedTerminatedPods") or {}
        pending_s = set(uncounted.get("succeeded") or [])
        pending_f = set(uncounted.get("failed") or [])
        removals = self.finalizer_removals.setdefault(key, set())
        new = sync.newly_finished(job, pods, pending_s | pending_f | removals)

        # 1. remember the newly finished pods before their finalizers come off (once
        # written, they feed the back-off: a conflict retries without counting twice)
        if new.succeeded or new.failed:
            pending_s |= {uid(p) for p in new.succeeded}
            pending_f |= {uid(p) for p in new.failed}
            status["uncountedTerminatedPods"] = _uncounted(pending_s, pending_f)
            job = await self._write_status(job, status)
            status = copy.deepcopy(job.get("status") or {})
            self.backoff.setdefault(key, BackoffRecord()).observe(
                [(True, finish_time(p, now)) for p in new.succeeded]
                + [(False, finish_time(p, now)) for p in new.failed]
            )
        # 2. release them
        by_uid = {uid(p): p for p in pods}
        releasing = [
            by_uid[u] for u in pending_s | pending_f if u in by_uid and has_finalizer(by_uid[u])
        ]
        not_released = await self._remove_finalizers(key, releasing + new.ignored)
        # 3. count them
        indexed = spec.get("completionMode") == "Indexed"
        completions = spec.get("completions")
        completed = (
            parse_indexes(status.get("completedIndexes"), int(completions or 0))
            if indexed
            else set()
        )
        succeeded, failed = int(status.get("succeeded") or 0), int(status.get("failed") or 0)
        for u in pending_s - not_released:
            pod = by_uid.get(u)
            index = pod_index(pod) if pod is not None else None
            if indexed and index is not None and index < int(completions or 0):
                completed.add(index)
            elif not indexed:
                succeeded += 1
        failed += len(pending_f - not_released)
        if indexed:
            succeeded = len(completed)
            _set_or_drop(status, "completedIndexes", format_indexes(completed))
        status["uncountedTerminatedPods"] = _uncounted(
            pending_s & not_released, pending_f & not_released
        )
        _set_or_drop(status, "succeeded", succeeded)
        _set_or_drop(status, "failed", failed)
        return Counted(job, status, succeeded, failed, completed, new.fail_job)

    async def _manage(
        self,
        key: str,
        job: Obj,
        pods: list[Obj],
        active: list[Obj],
        succeeded: int,
        completed: set[int],
        now: float,
    ) -> list[Obj]:
        """Create or delete pods towards the wanted number; the active pods after.
        `completed`: the indexes of an Indexed Job that need no pod (succeeded, or
        failed for good under backoffLimitPerIndex)."""
        if not self.expectations.satisfied(key):
            return active
        spec = job.get("spec") or {}
        want = sync.want_active(job, succeeded, completed)
        indexed = spec.get("completionMode") == "Indexed"
        if indexed:
            active, extra = _split_by_index(active, completed, int(spec.get("completions") or 0))
            if extra:
                await self._delete_pods(key, job, extra)
        if len(active) > want:
            surplus = sorted(active, key=deletion_order)[: len(active) - want]
            deleted = await self._delete_pods(key, job, surplus)
            return [p for p in active if p not in deleted]
        occupied = len(active)
        if spec.get("podReplacementPolicy") == "Failed":
            occupied += sum(1 for p in pods if is_terminating_pod(p))
        need = want - occupied
        if need <= 0:
            return active
        if perindex.enabled(job):
            await self._create_per_index(key, job, pods, completed, need, now)
            return active
        remaining = self.backoff.setdefault(key, BackoffRecord()).remaining(now)
        if remaining > 0:
            self.enqueue_after(key, remaining + 0.05)
            return active
        indexes: list[int | None] = [None] * need
        if indexed:
            running = {pod_index(p) for p in pods if is_active(p)}
            taken = completed | {i for i in running if i is not None}
            indexes = list(first_free_indexes(int(spec.get("completions") or 0), taken, need))
        await self._create_pods(key, job, indexes)
        return active

    async def _create_per_index(
        self, key: str, job: Obj, pods: list[Obj], done: set[int], need: int, now: float
    ) -> None:
        """backoffLimitPerIndex: each free index waits its own back-off, and its pod
        carries the index's failures so far."""
        spec = job.get("spec") or {}
        completions = int(spec.get("completions") or 0)
        running = {pod_index(p) for p in pods if is_active(p) or is_terminating_pod(p)}
        taken = done | {i for i in running if i is not None}
        last_failed = perindex.last_failed_pods(job, pods, now)
        chosen: list[tuple[int, tuple[int, int]]] = []
        soonest: float | None = None
        for index in first_free_indexes(completions, taken, completions):
            if len(chosen) >= need:
                break
            replaced = last_failed.get(index)
            wait = perindex.remaining_backoff(replaced, now)
            if wait > 0:
                soonest = wait if soonest is None else min(soonest, wait)
                continue
            chosen.append((index, perindex.replacement_counts(job, replaced)))
        if soonest is not None:
            self.enqueue_after(key, soonest + 0.05)
        await self._create_pods(
            key, job, [i for i, _ in chosen], {i: counts for i, counts in chosen}
        )

    async def _create_pods(
        self,
        key: str,
        job: Obj,
        indexes: Sequence[int | None],
        failures: dict[int, tuple[int, int]] | None = None,
    ) -> None:
        if not indexes:
            return
        self.creations += len(indexes)
        self.expectations.expect_creations(key, len(indexes))
        owner_ref = new_controller_ref(job, JOBS)

        async def create_one(index: int | None) -> None:
            counts = None if failures is None or index is None else failures.get(index)
            try:
                await self.pod_control.create(job, pod_from_job(job, owner_ref, index, counts))
            except ApiError:
                self.expectations.creation_observed(key)  # never coming
                raise

        results = await asyncio.gather(*(create_one(i) for i in indexes), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]

    async def _delete_pods(self, key: str, job: Obj, victims: list[Obj]) -> list[Obj]:
        """Delete `victims`; the ones that are gone or going."""
        if not victims:
            return []
        self.expectations.expect_deletions(key, [key_of(p) for p in victims])

        async def delete_one(pod: Obj) -> bool:
            try:
                await self.pod_control.delete(job, pod)
            except ApiError as err:
                self.expectations.deletion_observed(key, key_of(pod))  # no event coming
                return isinstance(err, NotFound)  # gone is as good as deleted
            return True

        results = await asyncio.gather(*(delete_one(p) for p in victims))
        return [p for p, ok in zip(victims, results, strict=True) if ok]

    async def _remove_finalizers(self, key: str, pods: list[Obj]) -> set[str]:
        """Take the tracking finalizer off `pods`; the uids where that failed."""
        removals = self.finalizer_removals.setdefault(key, set())

        async def remove(pod: Obj) -> bool:
            md = meta(pod)
            patch = {
                "metadata": {
                    "$deleteFromPrimitiveList/finalizers": [TRACKING_FINALIZER],
                    "uid": md.get("uid"),
                }
            }
            try:
                await self.api.patch(PODS, md["name"], patch, "strategic", md.get("namespace"))
            except NotFound:
                return True
            except ApiError as err:
                log.warning("job %s: removing the finalizer of %s: %s", key, md.get("name"), err)
                return False
            removals.add(uid(pod))
            return True

        results = await asyncio.gather(*(remove(p) for p in pods))
        return {uid(p) for p, ok in zip(pods, results, strict=True) if not ok}

    async def _release_orphan(self, pod_key: str) -> None:
        pod = self.pod_informer.get(pod_key)
        if pod is None or not has_finalizer(pod):
            return
        owner = self.owners.referenced_key(pod)
        if self.owners.owner(pod) is not None:
            return
        await self._remove_finalizers(owner or pod_key, [pod])

    async def _write_status(self, job: Obj, status: Obj) -> Obj:
        """Write the status when it changed; conflicts go back to the queue's retry."""
        if (job.get("status") or {}) == status:
            return job
        try:
            return await self.api.update_status(JOBS, {**job, "status": status})
        except NotFound:
            return job


@dataclass
class Counted:
    """A Job after counting its finished pods: the Job as last written, the status
    being built, and the counts."""

    job: Obj
    status: Obj
    succeeded: int
    failed: int
    completed: set[int]  # the completed indexes of an Indexed Job
    fail_job: str | None  # why a FailJob rule fails the Job


def _set_or_drop(status: Obj, name: str, value: int | str) -> None:
    """JobStatus' omitempty fields: a zero count or an empty string is left out."""
    if value:
        status[name] = value
    else:
        status.pop(name, None)


def _uncounted(succeeded: set[str], failed: set[str]) -> Obj:
    out: Obj = {}
    if succeeded:
        out["succeeded"] = sorted(succeeded)
    if failed:
        out["failed"] = sorted(failed)
    return out


def _split_by_index(
    active: list[Obj], completed: set[int], completions: int
) -> tuple[list[Obj], list[Obj]]:
    """Active pods of an Indexed Job that should keep running, and the extra ones: no
    index, an index out of range or already completed, or a second pod for an index."""
    keep: list[Obj] = []
    extra: list[Obj] = []
    seen: set[int] = set()
    for pod in active:
        index = pod_index(pod)
        if index is None or index >= completions or index in completed or index in seen:
            extra.append(pod)
        else:
            seen.add(index)
            keep.append(pod)
    return keep, extra
