"""The CronJob controller (Kubernetes' cronjob controller v2): starts a Job at each
scheduled time of a CronJob.

reconcile(ns/name), level-triggered: delete finished Jobs beyond the history limits;
reconcile `status.active` with the Jobs the CronJob controls (completed ones leave it,
SawCompletedJob; vanished ones too, MissingJob; the newest completion time becomes
`lastSuccessfulTime`); then, unless suspended, find the most recent unmet scheduled
time (schedule.py) and start its Job (`<cronjob>-<minutes since epoch>`, owned by the
CronJob, with the scheduled-timestamp annotation) as `concurrencyPolicy` allows:
Allow runs alongside, Forbid skips while one is active, Replace deletes the active
ones first. The status is written once, and the key is queued again 100 ms after the
next scheduled time: the controller never polls."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from api import cron
from api.batch import COMPLETE
from api.errors import AlreadyExists, ApiError, NotFound, is_namespace_terminating
from api.resources import CRONJOBS, JOBS
from api.timefmt import parse_time
from client.events import NORMAL, WARNING
from client.informer import key_of
from controller.cronjob import history
from controller.cronjob import schedule as rules
from controller.util.base import Context, Controller
from controller.util.controllerref import (
    OwnerLookup,
    controller_ref,
    is_controlled_by,
    meta,
    new_controller_ref,
)

log = logging.getLogger(__name__)

Obj = dict[str, Any]

SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
# Kubernetes' event messages, word for word.
TOO_MANY_MISSED = (
    "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew"
)
FORBID_ACTIVE = (
    "Not starting job because prior execution is running and concurrency policy is Forbid"
)
UNSUPPORTED_TZ = (
    'CRON_TZ or TZ used in schedule "{}" is not officially supported, see '
    "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details"
)
RFC1123Z = "%a, %d %b %Y %H:%M:%S +0000"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def job_reference(job: Obj) -> Obj:
    """The ObjectReference kept in `status.active`."""
    md = meta(job)
    return {
        "kind": JOBS.kind,
        "namespace": md.get("namespace"),
        "name": md.get("name"),
        "uid": md.get("uid"),
        "apiVersion": JOBS.api_version,
        "resourceVersion": md.get("resourceVersion"),
    }


def job_from_template(cronjob: Obj, scheduled: datetime) -> Obj:
    """getJobFromTemplate2: the template's labels, annotations and spec, the
    deterministic name, the scheduled time annotation, the CronJob as controller."""
    template = (cronjob.get("spec") or {}).get("jobTemplate") or {}
    template_md = template.get("metadata") or {}
    annotations = dict(template_md.get("annotations") or {})
    annotations[SCHEDULED_TIMESTAMP_ANNOTATION] = rules.scheduled_timestamp(cronjob, scheduled)
    metadata: Obj = {
        "name": rules.job_name(meta(cronjob)["name"], scheduled),
        "namespace": meta(cronjob).get("namespace"),
        "annotations": annotations,
        "ownerReferences": [new_controller_ref(cronjob, CRONJOBS)],
    }
    if template_md.get("labels"):
        metadata["labels"] = dict(template_md["labels"])
    return {
        "apiVersion": JOBS.api_version,
        "kind": JOBS.kind,
        "metadata": metadata,
        "spec": copy.deepcopy(template.get("spec") or {}),
    }


def _in_active(cronjob: Obj, uid: str | None) -> bool:
    return any(ref.get("uid") == uid for ref in _active(cronjob))


def _active(cronjob: Obj) -> list[Obj]:
    return (cronjob.get("status") or {}).get("active") or []


def _remove_active(cronjob: Obj, uid: str | None) -> None:
    status = cronjob.setdefault("status", {})
    status["active"] = [ref for ref in status.get("active") or [] if ref.get("uid") != uid]
    if not status["active"]:
        del status["active"]


class CronJobController(Controller):
    name = "cronjob"

    def __init__(self, ctx: Context, now: Callable[[], datetime] = _utc_now) -> None:
        super().__init__(ctx)
        self.now = now
        self.cronjobs = ctx.informers.informer(CRONJOBS)
        self.jobs = ctx.informers.informer(JOBS)
        self.jobs_by_ns = ctx.informers.by_namespace(JOBS)
        self.owners = OwnerLookup(ctx.informers, CRONJOBS)
        self.cronjobs.add_handler(self.enqueue, self._cronjob_updated, None)
        self.jobs.add_handler(self._job_changed, self._job_updated, self._job_changed)
        self.watched = [self.cronjobs, self.jobs]

    # ---- events --------------------------------------------------------------
    def _cronjob_updated(self, old: Obj, new: Obj) -> None:
        """A new schedule or time zone counts from the next time, not a missed one."""
        old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
        changed = any(old_spec.get(f) != new_spec.get(f) for f in ("schedule", "timeZone"))
        if changed:
            try:
                delay = rules.next_schedule_delay(new, self.now(), rules.parse_schedule(new))
            except cron.ScheduleError:
                return
            if delay is not None:
                self.enqueue_after(key_of(new), delay)
                return
        self.enqueue(new)

    def _job_changed(self, job: Obj) -> None:
        key = self.owners.owner_key(job)
        if key is not None:
            self.enqueue_key(key)

    def _job_updated(self, old: Obj, new: Obj) -> None:
        if controller_ref(old) != controller_ref(new):
            self._job_changed(old)
        self._job_changed(new)

    async def _note(self, cronjob: Obj, reason: str, message: str) -> None:
        await self.events.record(cronjob, NORMAL, reason, message)

    async def _warn(self, cronjob: Obj, reason: str, message: str) -> None:
        await self.events.record(cronjob, WARNING, reason, message)

    # ---- reconcile -----------------------------------------------------------
    async def reconcile(self, key: str) -> None:
        cached = self.cronjobs.get(key)
        if cached is None:
            return
        cronjob = copy.deepcopy(cached)
        jobs = [
            j
            for j in self.jobs_by_ns.list(meta(cronjob).get("namespace") or "")
            if self.owners.referenced_key(j) == key_of(cronjob)
        ]
        changed = await self._cleanup_finished(cronjob, jobs)
        sync_error: ApiError | None = None
        try:
            requeue, synced = await self._sync(cronjob, jobs)
        except ApiError as err:
            requeue, synced, sync_error = None, True, err
        if changed or synced:
            await self.api.update_status(CRONJOBS, cronjob)
        if requeue is not None:
            self.enqueue_after(key, requeue)
        elif sync_error is not None:
            raise sync_error

    async def _cleanup_finished(self, cronjob: Obj, jobs: list[Obj]) -> bool:
        changed = False
        for job in history.jobs_to_delete(cronjob, jobs):
            changed = await self._delete_job(cronjob, job) or changed
        return changed

    async def _delete_job(self, cronjob: Obj, job: Obj) -> bool:
        """deleteJob: background propagation; the Job leaves `status.active`."""
        md = meta(job)
        try:
            await self.api.delete(
                JOBS, md["name"], md.get("namespace"), propagation_policy="Background"
            )
        except NotFound:
            pass
        except ApiError as err:
            await self._warn(cronjob, "FailedDelete", f"Deleted job: {err.message}")
            log.warning("cronjob %s: deleting job %s: %s", key_of(cronjob), md["name"], err)
            return False
        _remove_active(cronjob, md.get("uid"))
        await self._note(cronjob, "SuccessfulDelete", f"Deleted job {md['name']}")
        return True

    async def _track_jobs(self, cronjob: Obj, jobs: list[Obj]) -> bool:
        """The `status.active` list and `lastSuccessfulTime` from the Jobs it controls."""
        changed = False
        status = cronjob.setdefault("status", {})
        for job in jobs:
            uid, finished = meta(job).get("uid"), history.finished_condition(job)
            found = _in_active(cronjob, uid)
            if not found and finished is None:
                fresh = self.cronjobs.get(key_of(cronjob))
                if fresh is not None and _in_active(fresh, uid):
                    continue
                message = (
                    f"Saw a job that the controller did not create or forgot: {meta(job)['name']}"
                )
                await self._warn(cronjob, "UnexpectedJob", message)
            elif found and finished is not None:
                _remove_active(cronjob, uid)
                message = f"Saw completed job: {meta(job)['name']}, condition: {finished}"
                await self._note(cronjob, "SawCompletedJob", message)
                changed = True
            if finished == COMPLETE:
                completed = (job.get("status") or {}).get("completionTime")
                last = parse_time(status.get("lastSuccessfulTime"))
                when = parse_time(completed)
                if completed and (last is None or (when is not None and when > last)):
                    status["lastSuccessfulTime"] = completed
                    changed = True
        children = {meta(j).get("uid") for j in jobs}
        for ref in list(_active(cronjob)):
            if ref.get("uid") in children:
                continue
            try:  # ask the API server: a slow watch must not lose a running Job
                await self.api.get(JOBS, ref.get("name", ""), ref.get("namespace"))
            except NotFound:
                await self._note(
                    cronjob, "MissingJob", f"Active job went missing: {ref.get('name')}"
                )
                _remove_active(cronjob, ref.get("uid"))
                changed = True
        return changed

    async def _sync(self, cronjob: Obj, jobs: list[Obj]) -> tuple[float | None, bool]:
        """syncCronJob: (seconds until the next look, or None; whether status changed)."""
        changed = await self._track_jobs(cronjob, jobs)
        spec = cronjob.get("spec") or {}
        if meta(cronjob).get("deletionTimestamp"):
            return None, changed
        zone = spec.get("timeZone")
        if zone is not None:
            try:
                cron.load_zone(zone)
            except ValueError as err:
                await self._warn(cronjob, "UnknownTimeZone", f'invalid timeZone: "{zone}": {err}')
                return None, changed
        if spec.get("suspend") is True:
            return None, changed
        if "TZ" in str(spec.get("schedule") or ""):
            await self._warn(
                cronjob, "UnsupportedSchedule", UNSUPPORTED_TZ.format(spec["schedule"])
            )
        try:
            sched = rules.parse_schedule(cronjob)
        except cron.ScheduleError as err:
            message = f'unparseable schedule: "{spec.get("schedule")}" : {err}'
            await self._warn(cronjob, "UnparseableSchedule", message)
            return None, changed
        now = self.now()
        try:
            scheduled, too_many = rules.next_schedule_time(cronjob, now, sched)
        except rules.InvalidSchedule as err:
            message = f"invalid schedule: {spec.get('schedule')} : {err}"
            await self._warn(cronjob, "InvalidSchedule", message)
            return None, changed
        if too_many:
            await self._warn(cronjob, "TooManyMissedTimes", TOO_MANY_MISSED)
            log.info("cronjob %s: too many missed times", key_of(cronjob))
        later = rules.next_schedule_delay(cronjob, now, sched)
        if scheduled is None:
            return later, changed
        if rules.too_late(cronjob, scheduled, now):
            missed = scheduled.astimezone(UTC).strftime(RFC1123Z)
            await self._warn(
                cronjob, "MissSchedule", f"Missed scheduled time to start a job: {missed}"
            )
            return later, changed
        job_name = rules.job_name(meta(cronjob)["name"], scheduled)
        if (
            any(ref.get("name") == job_name for ref in _active(cronjob))
            or parse_time((cronjob.get("status") or {}).get("lastScheduleTime"))
            == scheduled.timestamp()
        ):
            return later, changed
        policy = spec.get("concurrencyPolicy")
        if policy == "Forbid" and _active(cronjob):
            await self._note(cronjob, "JobAlreadyActive", FORBID_ACTIVE)
            return later, changed
        if policy == "Replace":
            for ref in list(_active(cronjob)):
                try:
                    job = await self.api.get(JOBS, ref.get("name", ""), ref.get("namespace"))
                except ApiError as err:
                    await self._warn(cronjob, "FailedGet", f"Get job: {err.message}")
                    raise
                if not await self._delete_job(cronjob, job):
                    raise ApiError(
                        500, f"could not replace job {ref.get('namespace')}/{ref.get('name')}"
                    )
                changed = True
        return await self._start_job(cronjob, scheduled, now, changed)

    async def _start_job(
        self, cronjob: Obj, scheduled: datetime, now: datetime, changed: bool
    ) -> tuple[float | None, bool]:
        wanted = job_from_template(cronjob, scheduled)
        namespace = meta(cronjob).get("namespace")
        try:
            job = await self.api.create(JOBS, wanted, namespace)
        except AlreadyExists:
            # Ours from an earlier attempt whose status write was lost: record it now.
            job = await self.api.get(JOBS, wanted["metadata"]["name"], namespace)
            if not is_controlled_by(job, cronjob) or _in_active(cronjob, meta(job).get("uid")):
                return None, changed
            log.info("cronjob %s: job %s already exists", key_of(cronjob), meta(job)["name"])
        except ApiError as err:
            if not is_namespace_terminating(err):
                await self._warn(cronjob, "FailedCreate", f"Error creating job: {err.message}")
            raise  # in a terminating namespace nothing can be created anyway
        else:
            await self._note(cronjob, "SuccessfulCreate", f"Created job {meta(job)['name']}")
        status = cronjob.setdefault("status", {})
        status["active"] = [*_active(cronjob), job_reference(job)]
        status["lastScheduleTime"] = _stamp(scheduled)
        return rules.next_schedule_delay(cronjob, now, rules.parse_schedule(cronjob)), True
