"""controller/cronjob/schedule.py: Kubernetes' missed-schedule rules on a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api import cron
from controller.cronjob import schedule as rules

T0 = datetime(2024, 1, 1, 10, 0, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def cronjob(
    schedule: str = "* * * * *",
    created: datetime = T0,
    last: datetime | None = None,
    deadline: int | None = None,
    zone: str | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"schedule": schedule}
    if deadline is not None:
        spec["startingDeadlineSeconds"] = deadline
    if zone is not None:
        spec["timeZone"] = zone
    status = {"lastScheduleTime": stamp(last)} if last else {}
    return {
        "metadata": {"name": "tick", "creationTimestamp": stamp(created)},
        "spec": spec,
        "status": status,
    }


def due(cj: dict[str, Any], now: datetime) -> tuple[datetime | None, bool]:
    return rules.next_schedule_time(cj, now, rules.parse_schedule(cj))


def test_nothing_due_before_the_first_run() -> None:
    assert due(cronjob(), T0 + timedelta(seconds=59)) == (None, False)


def test_the_first_run_is_due_at_its_minute() -> None:
    assert due(cronjob(), T0 + timedelta(minutes=1)) == (T0 + timedelta(minutes=1), False)
    assert due(cronjob(), T0 + timedelta(minutes=1, seconds=30)) == (
        T0 + timedelta(minutes=1),
        False,
    )


def test_a_processed_time_is_not_due_again() -> None:
    cj = cronjob(last=T0 + timedelta(minutes=1))
    assert due(cj, T0 + timedelta(minutes=1, seconds=40)) == (None, False)


def test_after_missed_runs_only_the_most_recent_is_due() -> None:
    cj = cronjob("*/5 * * * *")
    unmet = rules.most_recent_schedule_time(
        cj, T0 + timedelta(minutes=17), rules.parse_schedule(cj), True
    )
    assert unmet.most_recent == T0 + timedelta(minutes=15)
    assert unmet.missed is rules.Missed.FEW


def test_irregular_schedule_most_recent_is_exact() -> None:
    """`30 6-16/4 * * 1-5`: 06:30, 10:30, 14:30 on weekdays; the gaps are uneven."""
    cj = cronjob("30 6-16/4 * * 1-5", created=datetime(2024, 1, 5, 7, tzinfo=UTC))  # a Friday
    now = datetime(2024, 1, 8, 11, tzinfo=UTC)  # Monday
    assert due(cj, now) == (datetime(2024, 1, 8, 10, 30, tzinfo=UTC), False)


def test_more_than_a_hundred_missed_is_too_many_but_still_starts() -> None:
    now = T0 + timedelta(minutes=101, seconds=5)
    assert due(cronjob(), now) == (T0 + timedelta(minutes=101), True)
    assert due(cronjob(), T0 + timedelta(minutes=100, seconds=5)) == (
        T0 + timedelta(minutes=100),
        False,
    )


def test_starting_deadline_bounds_the_search() -> None:
    """With a deadline, only times within it count: no warning after a long outage."""
    cj = cronjob(deadline=200)
    now = T0 + timedelta(days=3, seconds=10)
    assert due(cj, now) == (now - timedelta(seconds=10), False)


def test_too_late() -> None:
    cj = cronjob(deadline=30)
    scheduled = T0 + timedelta(minutes=1)
    assert not rules.too_late(cj, scheduled, scheduled + timedelta(seconds=30))
    assert rules.too_late(cj, scheduled, scheduled + timedelta(seconds=31))
    assert not rules.too_late(cronjob(), scheduled, scheduled + timedelta(days=1))


def test_a_deadline_shorter_than_the_gap_leaves_nothing_due() -> None:
    cj = cronjob("0 * * * *", deadline=60)
    assert due(cj, T0 + timedelta(hours=1, minutes=5)) == (None, False)


def test_next_delay_is_just_past_the_next_time() -> None:
    cj = cronjob()
    schedule = rules.parse_schedule(cj)
    assert rules.next_schedule_delay(cj, T0 + timedelta(seconds=20), schedule) == pytest.approx(
        40.1
    )
    started = cronjob(last=T0 + timedelta(minutes=1))
    assert rules.next_schedule_delay(
        started, T0 + timedelta(minutes=1, seconds=1), schedule
    ) == pytest.approx(59.1)


def test_next_delay_ignores_the_starting_deadline() -> None:
    cj = cronjob("0 * * * *", deadline=10)
    now = T0 + timedelta(hours=2, minutes=30)
    assert rules.next_schedule_delay(cj, now, rules.parse_schedule(cj)) == pytest.approx(
        30 * 60 + 0.1
    )


def test_an_impossible_date_is_an_invalid_schedule() -> None:
    cj = cronjob("59 23 31 2 *")
    with pytest.raises(rules.InvalidSchedule, match="less than 1 second"):
        due(cj, T0 + timedelta(days=1))
    assert rules.next_schedule_delay(cj, T0, rules.parse_schedule(cj)) is None


def test_time_zone_is_prefixed_unless_the_schedule_has_one() -> None:
    assert (
        rules.schedule_text(cronjob("0 9 * * *", zone="Europe/Paris"))
        == "TZ=Europe/Paris 0 9 * * *"
    )
    assert (
        rules.schedule_text(cronjob("CRON_TZ=UTC 0 9 * * *", zone="Europe/Paris"))
        == "CRON_TZ=UTC 0 9 * * *"
    )
    assert rules.schedule_text(cronjob("0 9 * * *", zone="Mars/Olympus")) == "0 9 * * *"
    assert rules.schedule_text(cronjob("0 9 * * *")) == "0 9 * * *"


def test_time_zone_moves_the_run() -> None:
    cj = cronjob("0 9 * * *", created=datetime(2024, 7, 1, tzinfo=UTC), zone="Europe/Paris")
    assert due(cj, datetime(2024, 7, 1, 7, 0, 30, tzinfo=UTC)) == (
        datetime(2024, 7, 1, 7, 0, tzinfo=UTC),
        False,
    )


def test_daylight_saving_change_with_a_time_zone() -> None:
    """Europe/Paris springs forward at 02:00 on 2024-03-31: a 02:30 run that day is skipped."""
    cj = cronjob("30 2 * * *", created=datetime(2024, 3, 30, 12, tzinfo=UTC), zone="Europe/Paris")
    schedule = rules.parse_schedule(cj)
    assert due(cj, datetime(2024, 3, 31, 12, tzinfo=UTC)) == (None, False)
    assert schedule.next_time(datetime(2024, 3, 30, 12, tzinfo=UTC)) == datetime(
        2024, 4, 1, 0, 30, tzinfo=UTC
    )


def test_job_names_are_minutes_since_the_epoch() -> None:
    assert rules.job_name("tick", datetime(2024, 1, 1, 10, 1, tzinfo=UTC)) == "tick-28401721"
    assert rules.job_name("tick", datetime(1970, 1, 1, 0, 2, tzinfo=UTC)) == "tick-2"


def test_scheduled_timestamp_annotation_is_in_the_time_zone() -> None:
    moment = datetime(2024, 7, 1, 7, 0, tzinfo=UTC)
    assert rules.scheduled_timestamp(cronjob(), moment) == "2024-07-01T07:00:00Z"
    assert (
        rules.scheduled_timestamp(cronjob(zone="Europe/Paris"), moment)
        == "2024-07-01T09:00:00+02:00"
    )
    assert rules.scheduled_timestamp(
        cronjob(zone="Europe/London"), datetime(2024, 1, 1, tzinfo=UTC)
    ) == ("2024-01-01T00:00:00Z")


def test_every_schedule_from_creation() -> None:
    cj = cronjob("@every 2m")
    assert due(cj, T0 + timedelta(minutes=5)) == (T0 + timedelta(minutes=4), False)
    assert isinstance(rules.parse_schedule(cj), cron.EverySchedule)
