"""When a CronJob should start a Job: Kubernetes' cronjob controller v2 rules, pure.

- The schedule is read in `spec.timeZone` when set (as `TZ=<zone> <schedule>`), else in
  the controller manager's zone (UTC here); a `TZ=` in the schedule itself wins.
- The most recent unmet time is the last schedule time at or before now after the
  later of `status.lastScheduleTime` (or the creation time) and, for starting,
  now - `startingDeadlineSeconds`. More than 100 missed times is reported
  ("too many missed start times") but the most recent one still starts.
- A time older than `startingDeadlineSeconds` is missed, not started.
- The Job for a scheduled time is `<cronjob>-<minutes since the epoch>`: a second
  attempt at the same time finds the same name, so a Job is never made twice.
- The controller wakes itself 100 ms after the next scheduled time, never polls."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from api import cron
from api.timefmt import parse_time

NEXT_SCHEDULE_DELTA = 0.1
TOO_MANY_MISSED = 100


class Missed(enum.Enum):
    NONE = "none"
    FEW = "few"
    MANY = "many"


@dataclass(frozen=True)
class Unmet:
    """The outcome of `most_recent_schedule_time`."""

    earliest: datetime
    most_recent: datetime | None
    missed: Missed


class InvalidSchedule(ValueError):
    """A schedule that parses but never fires twice (February 31st)."""


def _time(text: object) -> datetime | None:
    epoch = parse_time(text)
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def schedule_text(cronjob: dict[str, Any]) -> str:
    """formatSchedule: the schedule with the CronJob's time zone as a `TZ=` prefix."""
    spec = cronjob.get("spec") or {}
    schedule = str(spec.get("schedule") or "")
    zone = spec.get("timeZone")
    if "TZ" in schedule or zone is None:
        return schedule
    try:
        cron.load_zone(zone)
    except ValueError:
        return schedule
    return f"TZ={zone} {schedule}"


def parse_schedule(cronjob: dict[str, Any], local: tzinfo = UTC) -> cron.Schedule:
    """The CronJob's parsed schedule; cron.ScheduleError when it does not parse."""
    return cron.parse(schedule_text(cronjob), local)


def most_recent_schedule_time(
    cronjob: dict[str, Any], now: datetime, schedule: cron.Schedule, include_deadline: bool
) -> Unmet:
    """mostRecentScheduleTime. InvalidSchedule when two runs are less than a second apart."""
    meta, spec, status = (
        cronjob.get("metadata") or {},
        cronjob.get("spec") or {},
        cronjob.get("status") or {},
    )
    earliest = _time(status.get("lastScheduleTime")) or _time(meta.get("creationTimestamp")) or now
    deadline = spec.get("startingDeadlineSeconds")
    if include_deadline and deadline is not None:
        earliest = max(earliest, now - timedelta(seconds=int(deadline)))
    t1 = schedule.next_time(earliest)
    t2 = schedule.next_time(t1) if t1 is not None else None
    if t1 is not None and now < t1:
        return Unmet(earliest, None, Missed.NONE)
    if t1 is not None and t2 is not None and now < t2:
        return Unmet(earliest, t1, Missed.NONE)
    if t1 is None or t2 is None or round((t2 - t1).total_seconds()) < 1:
        raise InvalidSchedule("time difference between two schedules is less than 1 second")
    between = round((t2 - t1).total_seconds())
    missed_count = int((now - t1).total_seconds()) // between + 1
    # Start a little before the first possibly missed time and walk forward: exact for
    # irregular schedules (`30 6-16/4 * * 1-5`) without listing decades of misses.
    t: datetime | None = schedule.next_time(t1 + timedelta(seconds=(missed_count - 2) * between))
    most_recent = None
    while t is not None and t <= now:
        most_recent = t
        t = schedule.next_time(t)
    missed = (
        Missed.MANY
        if missed_count > TOO_MANY_MISSED
        else Missed.FEW
        if missed_count > 1
        else Missed.NONE
    )
    return Unmet(earliest, most_recent, missed)


def next_schedule_time(
    cronjob: dict[str, Any], now: datetime, schedule: cron.Schedule
) -> tuple[datetime | None, bool]:
    """nextScheduleTime: the time to start a Job for now (None: nothing due), and
    whether too many start times were missed (the TooManyMissedTimes warning)."""
    unmet = most_recent_schedule_time(cronjob, now, schedule, include_deadline=True)
    if unmet.most_recent is None or unmet.most_recent > now:
        return None, False
    return unmet.most_recent, unmet.missed is Missed.MANY


def next_schedule_delay(
    cronjob: dict[str, Any], now: datetime, schedule: cron.Schedule
) -> float | None:
    """nextScheduleTimeDuration: seconds until the controller should look again
    (100 ms past the next scheduled time); None when the schedule never fires."""
    try:
        unmet = most_recent_schedule_time(cronjob, now, schedule, include_deadline=False)
    except InvalidSchedule:
        start = now  # aim for the next slot from now
    else:
        start = unmet.most_recent or (unmet.earliest if unmet.missed is Missed.NONE else now)
    following = schedule.next_time(start)
    if following is None:
        return None
    return (following - now).total_seconds() + NEXT_SCHEDULE_DELTA


def too_late(cronjob: dict[str, Any], scheduled: datetime, now: datetime) -> bool:
    """Past `startingDeadlineSeconds`: the run is missed (MissSchedule), not started."""
    deadline = (cronjob.get("spec") or {}).get("startingDeadlineSeconds")
    return deadline is not None and scheduled + timedelta(seconds=int(deadline)) < now


def job_name(cronjob_name: str, scheduled: datetime) -> str:
    """getJobName: `<cronjob>-<scheduled time in minutes since the epoch>`."""
    return f"{cronjob_name}-{int(scheduled.timestamp()) // 60}"


def scheduled_timestamp(cronjob: dict[str, Any], scheduled: datetime) -> str:
    """The `batch.kubernetes.io/cronjob-scheduled-timestamp` value: RFC 3339 in the
    CronJob's time zone (UTC without one)."""
    zone = cron.load_zone((cronjob.get("spec") or {}).get("timeZone") or "")
    moment = scheduled.astimezone(zone)
    text = moment.isoformat(timespec="seconds")
    return text.replace("+00:00", "Z") if moment.utcoffset() == timedelta(0) else text
