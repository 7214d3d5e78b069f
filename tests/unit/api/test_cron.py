"""api.cron: robfig/cron's standard parser as Kubernetes uses it, with its messages,
and its next-time search (steps, names, macros, Feb 29, DST in a time zone)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from api import cron

NEW_YORK = ZoneInfo("America/New_York")


def at(*fields: int, zone: object = UTC) -> datetime:
    return datetime(*fields, tzinfo=zone).astimezone(UTC)  # type: ignore[arg-type,misc]


def runs(spec: str, start: datetime, count: int, zone: object = UTC) -> list[datetime]:
    schedule = cron.parse(spec, zone)  # type: ignore[arg-type]
    found, moment = [], start
    for _ in range(count):
        following = schedule.next_time(moment)
        assert following is not None
        found.append(following)
        moment = following
    return found


@pytest.mark.parametrize(
    ("spec", "start", "expected"),
    [
        ("* * * * *", at(2024, 1, 1, 10, 0, 30), [at(2024, 1, 1, 10, 1), at(2024, 1, 1, 10, 2)]),
        ("* * * * *", at(2024, 1, 1, 10, 1), [at(2024, 1, 1, 10, 2)]),
        ("*/15 * * * *", at(2024, 1, 1, 10, 7), [at(2024, 1, 1, 10, 15), at(2024, 1, 1, 10, 30)]),
        (
            "1-5/2 * * * *",
            at(2024, 1, 1, 10, 0),
            [
                at(2024, 1, 1, 10, 1),
                at(2024, 1, 1, 10, 3),
                at(2024, 1, 1, 10, 5),
                at(2024, 1, 1, 11, 1),
            ],
        ),
        (
            "50/5 * * * *",
            at(2024, 1, 1, 10, 0),
            [at(2024, 1, 1, 10, 50), at(2024, 1, 1, 10, 55), at(2024, 1, 1, 11, 50)],
        ),
        (
            "0,30 9-10 * * *",
            at(2024, 1, 1, 9, 0),
            [
                at(2024, 1, 1, 9, 30),
                at(2024, 1, 1, 10, 0),
                at(2024, 1, 1, 10, 30),
                at(2024, 1, 2, 9, 0),
            ],
        ),
        (
            "0 9 * * MON-FRI",
            at(2024, 1, 5, 10, 0),
            [at(2024, 1, 8, 9, 0), at(2024, 1, 9, 9, 0)],
        ),  # Fri -> Mon
        ("0 9 * * sun", at(2024, 1, 1), [at(2024, 1, 7, 9, 0)]),
        ("0 0 1 JAN *", at(2024, 6, 1), [at(2025, 1, 1), at(2026, 1, 1)]),
        ("0 0 1 jan-mar/2 *", at(2024, 1, 15), [at(2024, 3, 1), at(2025, 1, 1)]),
        ("0 0 29 2 *", at(2024, 3, 1), [at(2028, 2, 29), at(2032, 2, 29)]),
        ("0 0 31 * *", at(2024, 1, 31, 1), [at(2024, 3, 31), at(2024, 5, 31)]),
        # Both day fields restricted: either matches (the 13th, or any Friday).
        ("0 0 13 * 5", at(2024, 9, 1), [at(2024, 9, 6), at(2024, 9, 13), at(2024, 9, 20)]),
        # A "*" day field means only the other one counts.
        ("0 0 * * 5", at(2024, 9, 1), [at(2024, 9, 6), at(2024, 9, 13)]),
        ("0 0 ? * 5", at(2024, 9, 1), [at(2024, 9, 6)]),
        ("@hourly", at(2024, 1, 1, 10, 0), [at(2024, 1, 1, 11, 0)]),
        ("@daily", at(2024, 1, 1, 10, 0), [at(2024, 1, 2)]),
        ("@midnight", at(2024, 1, 1, 10, 0), [at(2024, 1, 2)]),
        ("@weekly", at(2024, 1, 1), [at(2024, 1, 7), at(2024, 1, 14)]),  # Sundays
        ("@monthly", at(2024, 1, 15), [at(2024, 2, 1)]),
        ("@yearly", at(2024, 1, 15), [at(2025, 1, 1)]),
        ("@annually", at(2024, 1, 15), [at(2025, 1, 1)]),
        ("@every 1h30m", at(2024, 1, 1, 10, 0, 0), [at(2024, 1, 1, 11, 30), at(2024, 1, 1, 13, 0)]),
        ("TZ=America/New_York 0 9 * * *", at(2024, 1, 1), [at(2024, 1, 1, 14, 0)]),
        ("CRON_TZ=Asia/Tokyo 0 9 * * *", at(2024, 1, 1), [at(2024, 1, 2, 0, 0)]),
    ],
)
def test_next_times(spec: str, start: datetime, expected: list[datetime]) -> None:
    assert runs(spec, start, len(expected)) == expected


def test_time_zone_argument_is_where_a_plain_schedule_is_read() -> None:
    assert runs("0 9 * * *", at(2024, 7, 1), 1, NEW_YORK) == [at(2024, 7, 1, 13, 0)]  # EDT
    assert runs("0 9 * * *", at(2024, 12, 1), 1, NEW_YORK) == [at(2024, 12, 1, 14, 0)]  # EST


def test_spring_forward_skips_a_time_that_does_not_exist() -> None:
    """02:30 does not exist in New York on 2024-03-10: that day has no run."""
    assert runs("30 2 * * *", at(2024, 3, 9, 12), 2, NEW_YORK) == [
        at(2024, 3, 11, 2, 30, zone=NEW_YORK),
        at(2024, 3, 12, 2, 30, zone=NEW_YORK),
    ]


def test_fall_back_runs_a_doubled_time_twice() -> None:
    """01:30 happens twice in New York on 2024-11-03 (EDT then EST): robfig fires at both."""
    assert runs("30 1 * * *", at(2024, 11, 2, 12), 3, NEW_YORK) == [
        at(2024, 11, 3, 5, 30),
        at(2024, 11, 3, 6, 30),
        at(2024, 11, 4, 6, 30),
    ]


def test_hourly_across_daylight_saving_changes() -> None:
    spring = runs("0 * * * *", at(2024, 3, 10, 5, 30), 3, NEW_YORK)
    assert [t - spring[0] for t in spring] == [timedelta(0), timedelta(hours=1), timedelta(hours=2)]
    assert [t.astimezone(NEW_YORK).hour for t in spring] == [1, 3, 4]


def test_daily_in_a_zone_whose_midnight_is_skipped() -> None:
    """Sao Paulo skipped 00:00 on 2018-11-04 (clocks went to 01:00): as with robfig,
    @daily has no run that day, nor a Sunday-midnight schedule on that Sunday."""
    sao_paulo = ZoneInfo("America/Sao_Paulo")
    first = runs("@daily", at(2018, 11, 3, 12, zone=sao_paulo), 2, sao_paulo)
    assert [t.astimezone(sao_paulo).replace(tzinfo=None) for t in first] == [
        datetime(2018, 11, 5, 0, 0),
        datetime(2018, 11, 6, 0, 0),
    ]
    weekly = runs("0 0 * * 0", at(2018, 10, 30, zone=sao_paulo), 1, sao_paulo)  # Sunday Nov 4
    assert weekly[0].astimezone(sao_paulo).replace(tzinfo=None) == datetime(2018, 11, 11, 0, 0)


def test_an_impossible_date_never_fires() -> None:
    assert cron.parse("59 23 31 2 *").next_time(at(2024, 1, 1)) is None


def test_next_time_is_strictly_after_and_drops_fractions() -> None:
    schedule = cron.parse("0 * * * *")
    assert schedule.next_time(at(2024, 1, 1, 10) + timedelta(microseconds=500)) == at(
        2024, 1, 1, 11
    )
    assert cron.parse("@every 10s").next_time(at(2024, 1, 1) + timedelta(microseconds=500)) == at(
        2024, 1, 1, 0, 0, 10
    )


def test_every_is_at_least_one_second() -> None:
    assert cron.parse("@every 100ms") == cron.EverySchedule(1)
    assert cron.parse("@every 1.5s") == cron.EverySchedule(1)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty spec string"),
        ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
        ("* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"),
        ("60 * * * *", "end of range (60) above maximum (59): 60"),
        ("* 24 * * *", "end of range (24) above maximum (23): 24"),
        ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
        ("* * * 13 *", "end of range (13) above maximum (12): 13"),
        ("* * * * 7", "end of range (7) above maximum (6): 7"),
        ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
        ("*/0 * * * *", "step of range should be a positive number: */0"),
        ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
        ("*/2/3 * * * *", "too many slashes: */2/3"),
        ("x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
        (
            "* * * FOO *",
            'failed to parse int from FOO: strconv.Atoi: parsing "FOO": invalid syntax',
        ),
        ("@fortnightly", "unrecognized descriptor: @fortnightly"),
        ("@every soon", 'failed to parse duration @every soon: time: invalid duration "soon"'),
        ("@every 5", 'failed to parse duration @every 5: time: invalid duration "5"'),
        (
            "TZ=Mars/Olympus 0 * * * *",
            "provided bad location Mars/Olympus: unknown time zone Mars/Olympus",
        ),
    ],
)
def test_parse_errors_carry_robfigs_messages(spec: str, message: str) -> None:
    with pytest.raises(cron.ScheduleError) as caught:
        cron.parse(spec)
    assert str(caught.value) == message


def test_names_are_case_insensitive_and_mix_with_numbers() -> None:
    assert cron.parse("0 0 * Jan,3 Mon-5") == cron.parse("0 0 * 1,MAR 1-fri")


def test_load_zone() -> None:
    assert cron.load_zone("") is UTC
    assert cron.load_zone("UTC") is UTC
    assert cron.load_zone("Europe/Paris") == ZoneInfo("Europe/Paris")
    for bad in ("Mars/Olympus", "../etc/passwd", "/etc/localtime"):
        with pytest.raises(ValueError, match=f"^unknown time zone {bad}$"):
            cron.load_zone(bad)
