"""`cfemu.cron`: the expressions Cron Triggers accept (saffron's grammar) and the minutes they fire at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cfemu.cron import CronSyntaxError, parse_cron

# The docs' examples (developers.cloudflare.com/workers/configuration/cron-triggers/) and more of saffron's forms.
ACCEPTED = [
    "* * * * *",
    "*/30 * * * *",
    "45 * * * *",
    "0 17 * * sun",
    "0 17 * * 1",
    "10 7 * * mon-fri",
    "10 7 * * 2-6",
    "0 15 1 * *",
    "0 18 * * 6L",
    "0 18 * * friL",
    "59 23 LW * *",
    "*/3 * * * *",
    "0 0 L * *",
    "0 0 L-3 * *",
    "0 0 L-3W * *",
    "0 0 15W * *",
    "0 9 * * 2#1",
    "0 0 * * L",
    "5,*/10 * * * *",  # after the first item, `*` is the lowest value
    "0 22-2 * * *",
    "0\t0  * JAN-mar *",
    "1-5/2 * * * *",
    "5/15 * * * *",
    "0 0 */2,5 * *",
    "0 0 29 2 *",
    "007 * * * *",
]
REFUSED = [
    "0 22 * * 0",  # issue cloudflare/workers-sdk#8923: weekdays are 1-7
    "* * * *",
    "* * * * * *",
    " * * * * *",
    "* * * * * ",
    "* *\n* * *",
    "",
    "@daily",
    "60 * * * *",
    "* 24 * * *",
    "* * 0 * *",
    "* * 32 * *",
    "* * * 0 *",
    "* * * 13 *",
    "* * * * 8",
    "*/0 * * * *",
    "*/60 * * * *",
    "* */24 * * *",
    "* * */31 * *",
    "* * * */12 *",
    "* * * * */7",
    "*,5 * * * *",
    "*-5 * * * *",
    "* * ? * *",
    "* * L,5 * *",
    "* * 5L * *",
    "* * l * *",
    "* * L-0 * *",
    "* * L-31 * *",
    "* * 15W,3 * *",
    "* * * * 5#0",
    "* * * * 5#6",
    "* * * * fri#2,3",
    "* * * * L,2",
    "* * * JANUARY *",
    "* * * * monday",
    "* 5 * * * ",
    "a * * * *",
    "1.5 * * * *",
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepted(text: str) -> None:
    expression = parse_cron(text)
    assert expression.text == text
    assert not expression.never_matches()


@pytest.mark.parametrize("text", REFUSED)
def test_refused(text: str) -> None:
    with pytest.raises(CronSyntaxError):
        parse_cron(text)


@pytest.mark.parametrize("text", ["0 0 31 11 *", "0 0 30 2 *", "0 0 31 APR,JUN *", "0 0 L-30 2 *"])
def test_a_day_no_chosen_month_has_never_fires(text: str) -> None:
    assert parse_cron(text).never_matches()


def _days(text: str, year: int, month: int) -> list[int]:
    """The days of `year-month` on which `text` fires at noon."""
    expression = parse_cron(text)
    noon = datetime(year, month, 1, 12, tzinfo=UTC)
    days = [noon + timedelta(days=n) for n in range(31)]
    return [day.day for day in days if day.month == month and expression.matches(day)]


@pytest.mark.parametrize(
    ("text", "year", "month", "days"),
    [
        ("0 12 LW * *", 2024, 8, [30]),  # Aug 31 2024 is a Saturday
        ("0 12 LW * *", 2024, 6, [28]),  # Jun 30 2024 is a Sunday
        ("0 12 L * *", 2024, 2, [29]),
        ("0 12 L-3 * *", 2024, 2, [26]),
        ("0 12 1W * *", 2024, 6, [3]),  # Jun 1 2024 is a Saturday: the nearest weekday in June is Monday the 3rd
        ("0 12 15W * *", 2024, 9, [16]),  # Sep 15 2024 is a Sunday
        ("0 12 * * 6L", 2024, 5, [31]),  # the last Friday of May 2024
        ("0 12 * * 2#1", 2024, 9, [2]),  # the first Monday of September 2024
        ("0 12 * * L", 2024, 9, [7, 14, 21, 28]),  # `L` alone is Saturday
        ("0 12 * * sun", 2024, 9, [1, 8, 15, 22, 29]),
        ("0 12 1 * 2", 2024, 9, [1, 2, 9, 16, 23, 30]),  # both day fields restricted: either matches
        ("0 12 * FEB *", 2024, 9, []),
    ],
)
def test_days_it_fires_on(text: str, year: int, month: int, days: list[int]) -> None:
    assert _days(text, year, month) == days


def test_minutes_and_hours_with_steps_ranges_and_wrapping() -> None:
    expression = parse_cron("5/20 22-1 * * *")
    fired = [(h, m) for h in range(24) for m in range(60) if expression.matches(datetime(2024, 1, 1, h, m))]
    assert fired == [(h, m) for h in (0, 1, 22, 23) for m in (5, 25, 45)]
