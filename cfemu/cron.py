"""Cron expressions as Cloudflare's Cron Triggers accept them: parsing, validating and matching a minute.

The grammar is that of Cloudflare's own parser, saffron ("a cron parser used as part of the backend for Cron
Triggers in Cloudflare Workers", github.com/cloudflare/saffron, `saffron/src/parse.rs`; `saffron-c` is "the C API
used internally by the Workers API"), read and written again here, and agrees with the docs' table
(developers.cloudflare.com/workers/configuration/cron-triggers/, "Supported cron expressions"):

| field        | values                                     | also                                                   |
|--------------|--------------------------------------------|--------------------------------------------------------|
| minute       | 0-59                                       | `* , - /`                                              |
| hour         | 0-23                                       | `* , - /`                                              |
| day of month | 1-31                                       | `* , - /`, `L`, `LW`, `L-n`, `L-nW` (n 1-30), `nW`     |
| month        | 1-12, JAN-DEC (any case)                   | `* , - /`                                              |
| day of week  | 1-7 = Sunday-Saturday, SUN-SAT (any case)  | `* , - /`, `L` (Saturday), `dL` (last d), `d#n` (n 1-5)|

- Exactly five fields, separated by spaces or tabs; nothing before the first or after the last.
- An item is `v`, `a-b`, `a/s` or `a-b/s`; items are joined by `,`. A field may start with `*` (all) or `*/s`
  (then more items may follow `*/s`, not `*`). In an item after the first, `*` stands for the field's lowest
  value. A range whose start is above its end wraps around (`22-2` hours: 22, 23, 0, 1, 2).
- A step is 1 up to the field's span: 59 (minute), 23 (hour), 30 (day of month), 11 (month), 6 (day of week).
- `L`, `W` and `#` forms stand alone in their field (no list); `L` and `W` are upper case only.
- Day of week 0 is refused (issue cloudflare/workers-sdk#8923: `0 22 * * 0` was refused with
  "invalid cron string [code: 10100]"; "Weekdays range are from 1-7").

Matching (saffron's `Cron::contains`): minute, hour and month must match; when both day fields are
restricted, a day matches if either does (classic cron), otherwise the restricted one decides. `L-n` is the
n-th day before the last; `nW` / `LW` / `L-nW` the weekday nearest that day within the month.

`never_matches()` is saffron's `Cron::any()` negated: a day-of-month field whose earliest day is later than
the longest of the chosen months (`31 11 *`) never fires. GUESS: that the API refuses such an expression like
an unparsable one (saffron-c exports `saffron_cron_any`, which suggests the API asks it).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

__all__ = ["CronExpression", "CronSyntaxError", "parse_cron"]

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_FIVE_FIELDS = re.compile(r"[^ \t]+(?:[ \t]+[^ \t]+){4}")
_ITEM = re.compile(r"(?P<start>\*|[0-9]+|[A-Za-z]{3})(?:-(?P<end>[0-9]+|[A-Za-z]{3}))?(?:/(?P<step>[0-9]+))?")
_DAY_LAST = re.compile(r"L(?:-(?P<offset>[0-9]+))?(?P<weekday>W)?")
_DAY_NEAREST = re.compile(r"(?P<day>[0-9]+)W")
_WEEKDAY_SPECIAL = re.compile(r"(?P<day>[0-9]+|[A-Za-z]{3})(?:(?P<last>L)|#(?P<nth>[0-9]+))")

DayRule = Callable[[date], bool]


class CronSyntaxError(ValueError):
    """The expression is not one Cloudflare accepts."""


@dataclass(frozen=True, slots=True)
class _Field:
    low: int
    high: int
    names: tuple[str, ...] = ()

    def value(self, token: str, *, star: bool) -> int:
        if token == "*" and star:
            return self.low
        if token.isdigit():
            number = int(token)
        elif self.names and token.upper() in self.names:
            number = self.names.index(token.upper()) + self.low
        else:
            raise CronSyntaxError(f"{token!r} is not a value of this field")
        if not self.low <= number <= self.high:
            raise CronSyntaxError(f"{number} is out of range {self.low}-{self.high}")
        return number

    def step(self, token: str) -> int:
        number = int(token)
        if not 1 <= number <= self.high - self.low:
            raise CronSyntaxError(f"step {number} is out of range 1-{self.high - self.low}")
        return number

    def span(self, start: int, end: int, step: int) -> set[int]:
        if start <= end:
            return set(range(start, end + 1, step))
        wrapped = [*range(start, self.high + 1), *range(self.low, end + 1)]
        return set(wrapped[::step])

    def values(self, text: str) -> frozenset[int] | None:
        """The values `text` names, or None for `*` (every value)."""
        if text == "*":
            return None
        found: set[int] = set()
        for index, item in enumerate(text.split(",")):
            match = _ITEM.fullmatch(item)
            # A field's first item may be `*/s` but not `*` (a list) nor `*-b`; later items may start with `*`.
            leading_star = index == 0 and item.startswith("*") and (match is None or match["end"] or not match["step"])
            if match is None or leading_star:
                raise CronSyntaxError(f"{item!r} is not a value, range or step")
            start = self.value(match["start"], star=True)
            end = self.value(match["end"], star=False) if match["end"] is not None else None
            step = self.step(match["step"]) if match["step"] is not None else 1
            if end is None:
                end = self.high if match["step"] is not None else start
            found |= self.span(start, end, step)
        return frozenset(found)


MINUTE = _Field(0, 59)
HOUR = _Field(0, 23)
DAY_OF_MONTH = _Field(1, 31)
MONTH = _Field(1, 12, _MONTHS)
DAY_OF_WEEK = _Field(1, 7, _WEEKDAYS)


def _days_in_month(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _nearest_weekday(target: int, last: int, day: date) -> bool:
    """Whether `day` is the weekday (Mon-Fri) nearest to day `target` of its month, not leaving the month."""
    if not 1 <= target <= last:
        return False
    weekday = date(day.year, day.month, target).weekday()  # Monday 0 … Sunday 6
    if weekday == 5:
        target = target - 1 if target > 1 else target + 2
    elif weekday == 6:
        target = target + 1 if target < last else target - 2
    return day.day == target


def _cron_weekday(day: date) -> int:
    """1 for Sunday … 7 for Saturday."""
    return (day.weekday() + 1) % 7 + 1


def _day_of_month_rule(text: str) -> tuple[DayRule | None, int]:
    """The rule of the day-of-month field (None for `*`) and the earliest day it can name."""
    last = _DAY_LAST.fullmatch(text)
    if last is not None:
        offset = int(last["offset"]) if last["offset"] is not None else 0
        if last["offset"] is not None and not 1 <= offset <= 30:
            raise CronSyntaxError(f"L-{offset}: the offset is out of range 1-30")
        if last["weekday"]:
            return (lambda d: _nearest_weekday(_days_in_month(d) - offset, _days_in_month(d), d)), offset + 1
        return (lambda d: d.day + offset == _days_in_month(d)), offset + 1
    nearest = _DAY_NEAREST.fullmatch(text)
    if nearest is not None:
        target = DAY_OF_MONTH.value(nearest["day"], star=False)
        return (lambda d: _nearest_weekday(target, _days_in_month(d), d)), target
    days = DAY_OF_MONTH.values(text)
    if days is None:
        return None, 1
    return (lambda d: d.day in days), min(days)


def _day_of_week_rule(text: str) -> DayRule | None:
    """The rule of the day-of-week field, None for `*`."""
    if text == "L":
        return lambda d: _cron_weekday(d) == 7
    special = _WEEKDAY_SPECIAL.fullmatch(text)
    if special is not None:
        weekday = DAY_OF_WEEK.value(special["day"], star=False)
        if special["last"]:
            return lambda d: _cron_weekday(d) == weekday and d.day + 7 > _days_in_month(d)
        nth = int(special["nth"])
        if not 1 <= nth <= 5:
            raise CronSyntaxError(f"#{nth} is out of range 1-5")
        return lambda d: _cron_weekday(d) == weekday and (d.day - 1) // 7 + 1 == nth
    weekdays = DAY_OF_WEEK.values(text)
    if weekdays is None:
        return None
    return lambda d: _cron_weekday(d) in weekdays


@dataclass(frozen=True, slots=True)
class CronExpression:
    """A parsed expression; `None` fields are `*`."""

    text: str
    minutes: frozenset[int] | None
    hours: frozenset[int] | None
    months: frozenset[int] | None
    day_of_month: DayRule | None
    day_of_week: DayRule | None
    earliest_day: int

    def matches(self, when: datetime) -> bool:
        """Whether the expression fires at the minute of `when` (a UTC time)."""
        if self.minutes is not None and when.minute not in self.minutes:
            return False
        if self.hours is not None and when.hour not in self.hours:
            return False
        if self.months is not None and when.month not in self.months:
            return False
        day = when.date()
        if self.day_of_month is None or self.day_of_week is None:
            rule = self.day_of_month or self.day_of_week
            return rule is None or rule(day)
        return self.day_of_month(day) or self.day_of_week(day)

    def never_matches(self) -> bool:
        """True when the day of the month it names exists in none of its months (e.g. `0 0 31 11 *`)."""
        if self.day_of_week is not None or self.day_of_month is None:
            return False
        months = self.months if self.months is not None else frozenset(range(1, 13))
        longest = max(29 if month == 2 else calendar.monthrange(2001, month)[1] for month in months)
        return self.earliest_day > longest


def parse_cron(text: str) -> CronExpression:
    """Parse `text`, or raise CronSyntaxError saying what is wrong."""
    if not _FIVE_FIELDS.fullmatch(text):
        raise CronSyntaxError("a cron expression has five fields separated by spaces")
    minute, hour, day_of_month, month, day_of_week = re.split(r"[ \t]+", text)
    dom_rule, earliest = _day_of_month_rule(day_of_month)
    return CronExpression(
        text=text,
        minutes=MINUTE.values(minute),
        hours=HOUR.values(hour),
        months=MONTH.values(month),
        day_of_month=dom_rule,
        day_of_week=_day_of_week_rule(day_of_week),
        earliest_day=earliest,
    )
