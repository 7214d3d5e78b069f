"""Cron schedules as Kubernetes reads them: robfig/cron's standard parser
(`cron.ParseStandard`), the one the CronJob validation and controller both use.

Five fields (minute hour day-of-month month day-of-week) with lists, ranges, steps,
`*`/`?`, month and weekday names (case-insensitive), the `@yearly`-style macros and
`@every <duration>`, and an optional `TZ=`/`CRON_TZ=` prefix. Error messages are the
library's, because the API server returns them verbatim in a CronJob's validation error.

`next_time` repeats robfig's search step by step, absolute-time additions and all, so
daylight-saving transitions behave as on Kubernetes: a wall-clock time that does not
exist that day (02:30 when clocks spring forward) is skipped, one that happens twice
(01:30 when they fall back) fires twice."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from api.timefmt import parse_duration

_STAR = 1 << 63
_MONTHS = {
    name: i + 1
    for i, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}
_WEEKDAYS = {name: i for i, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}


@dataclass(frozen=True)
class _Bounds:
    low: int
    high: int
    names: dict[str, int] | None = None


_MINUTES = _Bounds(0, 59)
_HOURS = _Bounds(0, 23)
_DOM = _Bounds(1, 31)
_MONTH = _Bounds(1, 12, _MONTHS)
_DOW = _Bounds(0, 6, _WEEKDAYS)


class ScheduleError(ValueError):
    """A schedule robfig/cron refuses; str() is the library's message."""


def load_zone(name: str) -> tzinfo:
    """The IANA zone `name` as Go's time.LoadLocation finds it ("" and "UTC" are UTC);
    ValueError("unknown time zone <name>") otherwise."""
    if name in ("", "UTC"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name}") from None


@dataclass(frozen=True)
class SpecSchedule:
    """Bit sets of the matching minutes, hours, days, months and weekdays."""

    second: int
    minute: int
    hour: int
    dom: int
    month: int
    dow: int
    zone: tzinfo

    def next_time(self, after: datetime) -> datetime | None:
        """The first matching time strictly after `after` (whole seconds, in UTC), or
        None when nothing matches within five years (e.g. February 31st)."""
        return _next_spec(self, after)


@dataclass(frozen=True)
class EverySchedule:
    """`@every <duration>`: a constant delay, at least one second, whole seconds."""

    delay: int

    def next_time(self, after: datetime) -> datetime | None:
        return after.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=self.delay)


Schedule = SpecSchedule | EverySchedule


def parse(spec: str, zone: tzinfo = UTC) -> Schedule:
    """Parse as `cron.ParseStandard`; `zone` is where a schedule without its own `TZ=`
    prefix is read (robfig's time.Local: the controller manager's zone)."""
    if not spec:
        raise ScheduleError("empty spec string")
    if spec.startswith(("TZ=", "CRON_TZ=")):
        space = spec.find(" ")
        name = spec[spec.index("=") + 1 : space if space >= 0 else len(spec)]
        try:
            zone = load_zone(name)
        except ValueError as err:
            raise ScheduleError(f"provided bad location {name}: {err}") from None
        spec = spec[space:].strip() if space >= 0 else ""
    if spec.startswith("@"):
        return _descriptor(spec, zone)
    fields = spec.split()
    if len(fields) != 5:
        raise ScheduleError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    minute, hour, dom, month, dow = (
        _field(text, bounds)
        for text, bounds in zip(fields, (_MINUTES, _HOURS, _DOM, _MONTH, _DOW), strict=True)
    )
    return SpecSchedule(1, minute, hour, dom, month, dow, zone)


def _all(bounds: _Bounds) -> int:
    return _bits(bounds.low, bounds.high, 1) | _STAR


def _descriptor(spec: str, zone: tzinfo) -> Schedule:
    every_day, every_month = _all(_DOM), _all(_MONTH)
    table = {
        "@yearly": (1, 1, 1 << 1, 1 << 1, _all(_DOW)),
        "@annually": (1, 1, 1 << 1, 1 << 1, _all(_DOW)),
        "@monthly": (1, 1, 1 << 1, every_month, _all(_DOW)),
        "@weekly": (1, 1, every_day, every_month, 1 << 0),
        "@daily": (1, 1, every_day, every_month, _all(_DOW)),
        "@midnight": (1, 1, every_day, every_month, _all(_DOW)),
        "@hourly": (1, _all(_HOURS), every_day, every_month, _all(_DOW)),
    }
    if spec in table:
        minute, hour, dom, month, dow = table[spec]
        return SpecSchedule(1, minute, hour, dom, month, dow, zone)
    if spec.startswith("@every "):
        text = spec[len("@every ") :]
        try:
            if re.fullmatch(r"[+-]?[0-9.]+", text) and float(text) != 0:
                raise ValueError("missing unit")
            seconds = parse_duration(text)
        except ValueError:
            raise ScheduleError(
                f'failed to parse duration {spec}: time: invalid duration "{text}"'
            ) from None
        return EverySchedule(max(1, int(seconds)))
    raise ScheduleError(f"unrecognized descriptor: {spec}")


def _field(text: str, bounds: _Bounds) -> int:
    bits = 0
    for expr in (part for part in text.split(",") if part):
        bits |= _range(expr, bounds)
    return bits


def _range(expr: str, bounds: _Bounds) -> int:
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    extra = 0
    if low_and_high[0] in ("*", "?"):
        start, end, extra = bounds.low, bounds.high, _STAR
    else:
        start = _int_or_name(low_and_high[0], bounds.names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _int_or_name(low_and_high[1], bounds.names)
        else:
            raise ScheduleError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _non_negative_int(range_and_step[1])
        if len(low_and_high) == 1:  # "N/step" means "N-max/step"
            end = bounds.high
        if step > 1:
            extra = 0
    else:
        raise ScheduleError(f"too many slashes: {expr}")
    if start < bounds.low:
        raise ScheduleError(f"beginning of range ({start}) below minimum ({bounds.low}): {expr}")
    if end > bounds.high:
        raise ScheduleError(f"end of range ({end}) above maximum ({bounds.high}): {expr}")
    if start > end:
        raise ScheduleError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise ScheduleError(f"step of range should be a positive number: {expr}")
    return _bits(start, end, step) | extra


def _int_or_name(text: str, names: dict[str, int] | None) -> int:
    if names and text.lower() in names:
        return names[text.lower()]
    return _non_negative_int(text)


def _non_negative_int(text: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ScheduleError(
            f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax'
        )
    number = int(text)
    if number < 0:
        raise ScheduleError(f"negative number ({number}) not allowed: {text}")
    return number


def _bits(start: int, end: int, step: int) -> int:
    return sum(1 << i for i in range(start, end + 1, step))


# --- robfig's SpecSchedule.Next, on absolute (UTC) time with wall-clock fields in `zone`


def _wall(moment: datetime, zone: tzinfo) -> datetime:
    return moment.astimezone(zone)


def _go_date(
    year: int, month: int, day: int, hour: int, zone: tzinfo, minute: int = 0, second: int = 0
) -> datetime:
    """Go's time.Date: out-of-range months and days roll over; a wall time that falls
    in a spring-forward gap takes the offset after the transition (fold=1), an
    ambiguous one the first occurrence (fold=0). Returned in UTC."""
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    naive = datetime(year, month, 1) + timedelta(
        days=day - 1, hours=hour, minutes=minute, seconds=second
    )
    first = naive.replace(tzinfo=zone)
    exists = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive
    return (first if exists else naive.replace(tzinfo=zone, fold=1)).astimezone(UTC)


def _weekday(wall: datetime) -> int:
    return (wall.weekday() + 1) % 7  # Sunday is 0, as Go's time.Weekday


def _day_matches(schedule: SpecSchedule, wall: datetime) -> bool:
    dom_match = bool(1 << wall.day & schedule.dom)
    dow_match = bool(1 << _weekday(wall) & schedule.dow)
    if schedule.dom & _STAR or schedule.dow & _STAR:
        return dom_match and dow_match
    return dom_match or dow_match


def _next_spec(s: SpecSchedule, after: datetime) -> datetime | None:
    zone = s.zone
    t = after.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
    added = False
    year_limit = _wall(t, zone).year + 5
    while True:  # robfig's WRAP label
        w = _wall(t, zone)
        if w.year > year_limit:
            return None
        wrapped = False
        while not 1 << w.month & s.month:
            if not added:
                added = True
                t = _go_date(w.year, w.month, 1, 0, zone)
                w = _wall(t, zone)
            t = _go_date(w.year, w.month + 1, w.day, w.hour, zone, w.minute, w.second)
            w = _wall(t, zone)
            if w.month == 1:
                wrapped = True
                break
        if wrapped:
            continue
        while not _day_matches(s, w):
            if not added:
                added = True
                t = _go_date(w.year, w.month, w.day, 0, zone)
                w = _wall(t, zone)
            t = _go_date(w.year, w.month, w.day + 1, w.hour, zone, w.minute, w.second)
            w = _wall(t, zone)
            if w.hour != 0:  # midnight skipped or doubled by a DST change
                t += timedelta(hours=24 - w.hour) if w.hour > 12 else timedelta(hours=-w.hour)
                w = _wall(t, zone)
            if w.day == 1:
                wrapped = True
                break
        if wrapped:
            continue
        while not 1 << w.hour & s.hour:
            if not added:
                added = True
                t = _go_date(w.year, w.month, w.day, w.hour, zone)
            t += timedelta(hours=1)
            w = _wall(t, zone)
            if w.hour == 0:
                wrapped = True
                break
        if wrapped:
            continue
        while not 1 << w.minute & s.minute:
            if not added:
                added = True
                t = t.replace(second=0)
            t += timedelta(minutes=1)
            w = _wall(t, zone)
            if w.minute == 0:
                wrapped = True
                break
        if wrapped:
            continue
        while not 1 << w.second & s.second:
            if not added:
                added = True
            t += timedelta(seconds=1)
            w = _wall(t, zone)
            if w.second == 0:
                wrapped = True
                break
        if wrapped:
            continue
        return t
