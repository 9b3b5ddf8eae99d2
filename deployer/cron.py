"""Cron expressions checked as Cloudflare's Cron Triggers accept them, before any request.

A refused schedule would otherwise come back from the schedules call (`10100 invalid cron string`) after the
new Worker version is live, so every expression is checked while the app is read. The grammar is the one the
docs' table gives (developers.cloudflare.com/workers/configuration/cron-triggers/, "Supported cron
expressions") and Cloudflare's parser, saffron, implements:

| field        | values                                   | also                                                   |
|--------------|------------------------------------------|--------------------------------------------------------|
| minute       | 0-59                                     | `*`, lists `,`, ranges `-`, steps `/`                  |
| hour         | 0-23                                     | the same                                               |
| day of month | 1-31                                     | the same, and `L`, `LW`, `L-n`, `L-nW`, `nW`           |
| month        | 1-12, JAN-DEC                            | the same                                               |
| day of week  | 1-7 (Sunday is 1), SUN-SAT               | the same, and `L`, `dL` (the last d), `d#n` (n 1-5)    |

Day of week 0 is refused by Cloudflare ("Weekdays range are from 1-7", cloudflare/workers-sdk#8923), which
surprises users of standard cron, so the message says so. Whether an expression can ever fire (`0 0 31 2 *`) is
left to Cloudflare.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["cron_problem"]

_ITEM = re.compile(r"(?P<start>\*|[0-9]+|[A-Za-z]{3})(?:-(?P<end>[0-9]+|[A-Za-z]{3}))?(?:/(?P<step>[0-9]+))?")
_DAY_OF_MONTH_SPECIAL = re.compile(r"L(?:-(?P<offset>[0-9]+))?W?|(?P<day>[0-9]+)W")
_DAY_OF_WEEK_SPECIAL = re.compile(r"L|(?P<day>[0-9]+|[A-Za-z]{3})(?:L|#(?P<nth>[0-9]+))")


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()

    def value(self, token: str) -> int | None:
        if token.isdigit():
            number = int(token)
        elif token.upper() in self.names:
            number = self.names.index(token.upper()) + self.low
        else:
            return None
        return number if self.low <= number <= self.high else None


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")),
    _Field("day of week", 1, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)


def cron_problem(expression: str) -> str | None:
    """Why Cloudflare would refuse `expression` (None when it is a cron expression it accepts)."""
    texts = expression.split()
    if len(texts) != len(_FIELDS):
        return f"{expression!r} has {len(texts)} fields; a cron expression has five (minute hour day month weekday)"
    for text, field in zip(texts, _FIELDS, strict=True):
        problem = _special(text, field) if _is_special(text, field) else _items(text, field)
        if problem:
            return f"{expression!r}: the {field.name} field {text!r} {problem}"
    return None


def _is_special(text: str, field: _Field) -> bool:
    if field.name == "day of month":
        return _DAY_OF_MONTH_SPECIAL.fullmatch(text) is not None
    return field.name == "day of week" and _DAY_OF_WEEK_SPECIAL.fullmatch(text) is not None


def _special(text: str, field: _Field) -> str | None:
    """`L`, `W` and `#` forms (they stand alone in their field)."""
    match = (_DAY_OF_MONTH_SPECIAL if field.name == "day of month" else _DAY_OF_WEEK_SPECIAL).fullmatch(text)
    assert match is not None
    groups = match.groupdict()
    if groups.get("offset") and not 1 <= int(groups["offset"]) <= 30:
        return "counts back more than 30 days from the last"
    if groups.get("day") and field.value(groups["day"]) is None:
        return f"names no {field.name} ({_range(field)})"
    if groups.get("nth") and not 1 <= int(groups["nth"]) <= 5:
        return "asks for a weekday's occurrence outside 1-5"
    return None


def _items(text: str, field: _Field) -> str | None:
    for position, item in enumerate(text.split(",")):
        match = _ITEM.fullmatch(item)
        if match is None:
            return f"is not a value, range, step or list ({_range(field)})"
        start, end, step = match["start"], match["end"], match["step"]
        # `*` alone is every value and `*/s` a step from the lowest; a first item `*` in a list or `*-b` is
        # refused, while a later item may start with `*` (the lowest value), as saffron parses it.
        if start == "*" and position == 0 and (end is not None or (step is None and text != "*")):
            return "uses * inside a range or list"
        for token in (t for t in (start, end) if t is not None and t != "*"):
            if field.value(token) is None:
                if field.name == "day of week" and token == "0":
                    return "uses 0, but Cloudflare numbers weekdays 1-7 from Sunday (1 = SUN; or write SUN-SAT)"
                return f"has {token!r}, which is not in {_range(field)}"
        if step is not None and not 1 <= int(step) <= field.high - field.low:
            return f"has the step {step}, which is not 1-{field.high - field.low}"
    return None


def _range(field: _Field) -> str:
    names = f" or {field.names[0]}-{field.names[-1]}" if field.names else ""
    return f"{field.low}-{field.high}{names}"
