"""The pure part of previews: names that are always valid, the tag that marks one, and which ones are stale."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from deployer.previews import (
    Preview,
    app_key,
    fit_name,
    parse_age,
    preview_names,
    preview_of,
    preview_tag,
    stale_previews,
)
from deployer.settings import D1Config, Settings

WORKER_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def test_a_preview_is_named_from_the_app_and_the_pull_request() -> None:
    names = preview_names("items-app", "items-app-db", 7)
    assert (names.script, names.database, names.environment) == ("items-app-pr-7", "items-app-db-pr-7", "preview/pr-7")
    assert names.number == 7
    assert names.tag == f"dspv-{app_key('items-app')}-7" and not names.shared_database
    shared = preview_names("items-app", "items-app-db", 7, mode="shared")
    assert (shared.script, shared.database, shared.shared_database) == ("items-app-pr-7", "items-app-db-previews", True)


@pytest.mark.parametrize(
    ("app", "number", "script"),
    [
        ("My_App", 3, "my-app-pr-3"),  # upper case and underscores (a repository's name) become a DNS label
        ("__Weird__Name__", 12, "weird-name-pr-12"),
        ("a" * 63, 1, f"{'a' * 51}-{{hash}}-pr-1"),
        ("shop-" + "x" * 53, 123456, f"shop-{'x' * 41}-{{hash}}-pr-123456"),  # the number pushes it past 63
        ("app-" + "y" * 45 + "-" + "z" * 20, 99, f"app-{'y' * 45}-{{hash}}-pr-99"),  # no '-' left before the hash
    ],
)
def test_preview_worker_names_are_always_valid_and_shortened_with_a_stable_hash(
    app: str, number: int, script: str
) -> None:
    names = preview_names(app, "db", number)
    assert WORKER_NAME.match(names.script) and len(names.script) <= 63
    assert names.script.endswith(f"-pr-{number}")
    if "{hash}" in script:
        digest = re.fullmatch(script.replace("{hash}", "([0-9a-f]{6})"), names.script)
        assert digest is not None, names.script
    else:
        assert names.script == script
    assert preview_names(app, "db", number).script == names.script  # stable


def test_two_long_app_names_with_the_same_start_get_two_preview_names() -> None:
    first, second = ("a" * 60 + "one"), ("a" * 60 + "two")
    assert preview_names(first, "db", 1).script != preview_names(second, "db", 1).script


def test_every_preview_database_name_is_a_valid_d1_name() -> None:
    for database in ("items-app-db", "D" * 64, "x_" * 32):
        for number in (1, 99999999):
            for mode in ("isolated", "shared"):
                name = preview_names("app", database, number, mode=mode).database
                assert D1Config(name=name).name == name and len(name) <= 64


def test_a_preview_worker_name_is_accepted_by_the_settings() -> None:
    for app in ("items-app", "X" * 80, "a_b_c"):
        script = preview_names(app, "db", 4242).script
        assert Settings(name=script).name == script


def test_fit_name_keeps_what_fits_and_marks_what_it_cuts() -> None:
    assert fit_name("short", "-pr-1", 63) == "short-pr-1"
    cut = fit_name("b" * 70, "-end", 20)
    assert len(cut) == 20 and cut.startswith("b" * 9 + "-") and cut.endswith("-end")
    assert re.fullmatch(r"[0-9a-f]{6}-end", fit_name("-" * 70, "-end", 20))  # nothing of the start is left


def test_pull_request_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="1 or more"):
        preview_names("app", "db", 0)
    assert preview_names("app", "db", 1).script == "app-pr-1"


def test_a_name_that_fits_exactly_is_kept_and_a_cut_keeps_its_capitals() -> None:
    assert fit_name("a" * 58, "-pr-1", 63) == "a" * 58 + "-pr-1"  # 63 characters: no hash
    cut = fit_name("a" * 50 + "X" * 30, "-end", 63)
    assert cut.startswith("a" * 50 + "XX-") and len(cut) == 63


@pytest.mark.parametrize(
    ("app", "database", "script", "name"),
    [
        ("___", "db", "app-pr-2", "db-pr-2"),  # nothing of the app's name is a label: "app"
        ("app", "_db_", "app-pr-2", "db-pr-2"),  # a D1 name does not start or end with '-' or '_'
        ("app", "My.DB name", "app-pr-2", "My-DB-name-pr-2"),  # other characters become '-', capitals stay
        ("app", "Xdb", "app-pr-2", "Xdb-pr-2"),
        ("app", "...", "app-pr-2", "app-pr-2"),  # nothing left of the database's name: the app's label
    ],
)
def test_names_made_from_any_text(app: str, database: str, script: str, name: str) -> None:
    names = preview_names(app, database, 2)
    assert (names.script, names.database) == (script, name)


def test_the_tag_tells_whose_preview_a_worker_is() -> None:
    tags = ["team-x", preview_tag("items-app", 7), "ds1-code-0123456789abcdef"]
    assert preview_of(tags, "items-app") == 7
    assert preview_of(tags, "other-app") is None  # another app's preview
    assert preview_of(["team-x"], "items-app") is None
    assert preview_of([f"dspv-{app_key('items-app')}-07"], "items-app") is None  # not a tag this tool writes
    assert not preview_tag("items-app", 7).startswith("ds1-")  # kept like a user's tag, never rewritten


NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


def test_stale_previews_are_those_of_closed_pull_requests_or_older_than_the_maximum_age() -> None:
    previews = [
        Preview("app-pr-3", 3, NOW - dt.timedelta(days=1)),
        Preview("app-pr-1", 1, NOW - dt.timedelta(hours=1)),
        Preview("app-pr-2", 2, NOW - dt.timedelta(days=9)),
        Preview("app-pr-4", 4, None),  # Cloudflare did not say when
        Preview("app-pr-5", 5, NOW - dt.timedelta(days=30)),
    ]
    states = {1: "closed", 2: "open", 3: None, 4: "open", 5: None}
    only_closed = stale_previews(previews, states=states, now=NOW, max_age=None)
    assert [(s.preview.number, s.reason) for s in only_closed] == [(1, "pull request #1 is closed")]
    by_age = stale_previews(previews, states=states, now=NOW, max_age=dt.timedelta(days=7))
    assert [(s.preview.number, s.reason) for s in by_age] == [
        (1, "pull request #1 is closed"),
        (2, "not deployed for 9.0 days (more than 7 days)"),
        (5, "not deployed for 30.0 days (more than 7 days)"),
    ]
    exactly = [Preview("app-pr-6", 6, NOW - dt.timedelta(days=1))]
    assert stale_previews(exactly, states={}, now=NOW, max_age=dt.timedelta(days=1)) == []  # older than, not as old
    (day,) = stale_previews(exactly, states={}, now=NOW, max_age=dt.timedelta(hours=23))
    assert day.reason == "not deployed for 1.0 days (more than 23 hours)"
    (one,) = stale_previews(previews[2:3], states={}, now=NOW, max_age=dt.timedelta(days=1))
    assert one.reason == "not deployed for 9.0 days (more than 1 day)"
    hours = stale_previews(previews, states={}, now=NOW, max_age=dt.timedelta(hours=12))
    assert [s.preview.number for s in hours] == [2, 3, 5]
    assert hours[1].reason == "not deployed for 1.0 days (more than 12 hours)"


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("7d", dt.timedelta(days=7)),
        ("36h", dt.timedelta(hours=36)),
        ("90m", dt.timedelta(minutes=90)),
        ("2", dt.timedelta(days=2)),
        (" 1.5D ", dt.timedelta(days=1.5)),
    ],
)
def test_ages_are_written_with_a_unit(text: str, age: dt.timedelta) -> None:
    assert parse_age(text) == age


@pytest.mark.parametrize("text", ["", "7w", "-1d", "d", "7 days"])
def test_an_age_without_a_known_unit_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not an age such as 7d, 36h or 90m"):
        parse_age(text)
