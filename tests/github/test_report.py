"""The summary table, the PR comment and the words for what changed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import pytest

from deployer.changes import Changes
from deployer.commands import COMMANDS
from deployer.commands.deploy import DeployResult
from deployer.github.report import STATUS_TEXT, RunReport, comment_body, comment_marker, summary_markdown

RESULT = DeployResult(
    command="deploy",
    status="deployed",
    script_name="items-app",
    url="https://items-app.demo.workers.dev",
    database_id="db-1",
    changes=Changes.of({"code", "assets"}),
    database_created=False,
    asset_files=10,
    assets_uploaded=2,
    asset_bytes_uploaded=3 * 1024,
    secrets_sent=("APP_PASSWORD", "SESSION_SECRET"),
    generated_secrets=("SESSION_SECRET",),
    steps=(),
)
REPORT = RunReport(
    app="items-app",
    app_dir="apps/items",
    command="deploy",
    status="deployed",
    url="https://items-app.demo.workers.dev",
    commit="6dcb09b5b57875f334f61aebed695e2e4193db5e",
    commit_url="https://github.com/o/r/commit/6dcb09b5b57875f334f61aebed695e2e4193db5e",
    changed="code | assets",
    duration_s=2.345,
    run_url="https://github.com/o/r/actions/runs/1",
    finished=dt.datetime(2026, 11, 25, 9, 41, 7, tzinfo=dt.UTC),
)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        pytest.param(
            {},
            "code, assets (2 of 10 files uploaded (3.0 KiB); secrets sent: APP_PASSWORD; generated: SESSION_SECRET)",
            id="update",
        ),
        pytest.param({"changes": Changes.of(set())}, "nothing (already up to date)", id="nothing"),
        pytest.param(
            {
                "changes": Changes.first(),
                "database_created": True,
                "assets_uploaded": 0,
                "secrets_sent": (),
                "generated_secrets": (),
            },
            "first deploy (D1 database created)",
            id="first",
        ),
    ],
)
def test_what_changed_is_said_in_words(changes: dict[str, object], words: str) -> None:
    """The result's changed kinds, uploads, created database and secret names (never values) in one line."""
    assert dataclasses.replace(RESULT, **changes).changed_words() == words  # type: ignore[arg-type]


def test_every_status_a_command_ends_with_has_its_words() -> None:
    """The registry's statuses, plus the front ends' own (failed, rolled-back, skipped), each have words."""
    statuses = {status for spec in COMMANDS.values() for status in spec.statuses} | {"failed", "rolled-back", "skipped"}
    assert statuses == set(STATUS_TEXT)
    assert len(set(STATUS_TEXT.values())) == len(STATUS_TEXT)


def test_the_summary_table_has_one_row_per_run() -> None:
    """App, status, URL, short commit link, what changed (pipes escaped) and duration."""
    lines = summary_markdown(REPORT).splitlines()
    assert lines[0] == "### ✅ Deployed: items-app (deploy)"
    assert lines[2] == "| App | Status | URL | Commit | What changed | Duration |"
    assert lines[4] == (
        "| items-app | ✅ Deployed | [https://items-app.demo.workers.dev](https://items-app.demo.workers.dev) "
        "| [`6dcb09b`](https://github.com/o/r/commit/6dcb09b5b57875f334f61aebed695e2e4193db5e) "
        "| code \\| assets | 2.3 s |"
    )


def test_a_failure_is_quoted_below_the_table() -> None:
    """The error and its hint follow the table as a quote."""
    failed = dataclasses.replace(REPORT, status="failed", error="SQL error: near x\nline 2", hint="Fix it.")
    assert summary_markdown(failed).endswith("> SQL error: near x\n> line 2\n>\n> Fix it.\n")


def test_the_comment_starts_with_the_marker_and_shows_time_and_logs() -> None:
    """The hidden marker names the app folder; rows for status, URL, commit, changes, UTC time and logs."""
    body = comment_body(REPORT)
    assert body.splitlines()[0] == "<!-- cf-stateful-deployer:comment app=apps/items -->"
    assert "| **Updated (UTC)** | 2026-11-25 09:41:07 |" in body
    assert "| **Logs** | [workflow run](https://github.com/o/r/actions/runs/1) |" in body


def test_markers_differ_per_app_and_cannot_close_the_html_comment() -> None:
    """Each app folder has its own marker; characters that could end the comment are quoted."""
    assert comment_marker("a") != comment_marker("b")
    assert "-->" not in comment_marker("evil-->dir").removesuffix(" -->")


def test_the_summary_and_the_comment_word_for_word() -> None:
    """A deploy's summary, and a failure's summary and comment, exactly as GitHub renders them."""
    assert summary_markdown(REPORT) == (
        "### ✅ Deployed: items-app (deploy)\n\n"
        "| App | Status | URL | Commit | What changed | Duration |\n"
        "|---|---|---|---|---|---|\n"
        "| items-app | ✅ Deployed | [https://items-app.demo.workers.dev](https://items-app.demo.workers.dev) | "
        "[`6dcb09b`](https://github.com/o/r/commit/6dcb09b5b57875f334f61aebed695e2e4193db5e) | code \\| assets "
        "| 2.3 s |\n"
    )
    failed = dataclasses.replace(
        REPORT, url="", commit="", commit_url="", changed="", run_url="", status="failed",
        error="Invalid configuration: bad", hint="Fix it.\nTwice.",
    )  # fmt: skip
    quoted = "> Invalid configuration: bad\n>\n> Fix it.\n> Twice.\n"
    assert summary_markdown(failed) == (
        "### ❌ Failed: items-app (deploy)\n\n"
        "| App | Status | URL | Commit | What changed | Duration |\n"
        "|---|---|---|---|---|---|\n"
        "| items-app | ❌ Failed | – | – | – | 2.3 s |\n\n" + quoted
    )
    assert comment_body(failed) == (
        "<!-- cf-stateful-deployer:comment app=apps/items -->\n"
        "### ❌ Failed: `items-app`\n\n| | |\n|---|---|\n"
        "| **Status** | ❌ Failed |\n| **URL** | – |\n| **Commit** | – |\n| **What changed** | – |\n"
        "| **Updated (UTC)** | 2026-11-25 09:41:07 |\n| **Logs** | – |\n\n" + quoted + "\n"
        "<sub>cf-stateful-deployer edits this comment on every run of `apps/items` for this pull request.</sub>"
    )
    assert comment_marker("apps/my app+x") == "<!-- cf-stateful-deployer:comment app=apps/my%20app%2Bx -->"


def test_the_comment_of_a_deploy_word_for_word() -> None:
    """Every row of a successful deploy's comment: the URL and the commit as links, the logs link."""
    assert comment_body(REPORT) == (
        "<!-- cf-stateful-deployer:comment app=apps/items -->\n"
        "### ✅ Deployed: `items-app`\n\n| | |\n|---|---|\n"
        "| **Status** | ✅ Deployed |\n"
        "| **URL** | [https://items-app.demo.workers.dev](https://items-app.demo.workers.dev) |\n"
        "| **Commit** | [`6dcb09b`](https://github.com/o/r/commit/6dcb09b5b57875f334f61aebed695e2e4193db5e) |\n"
        "| **What changed** | code \\| assets |\n"
        "| **Updated (UTC)** | 2026-11-25 09:41:07 |\n"
        "| **Logs** | [workflow run](https://github.com/o/r/actions/runs/1) |\n\n"
        "<sub>cf-stateful-deployer edits this comment on every run of `apps/items` for this pull request.</sub>"
    )


def test_the_comment_time_is_utc_whatever_the_runners_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A finish time in another zone, on a runner set to yet another, is shown in UTC."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        finished = dt.datetime(2026, 11, 25, 11, 41, 7, tzinfo=dt.timezone(dt.timedelta(hours=2)))
        body = comment_body(dataclasses.replace(REPORT, finished=finished))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert "| **Updated (UTC)** | 2026-11-25 09:41:07 |" in body


def test_a_commands_own_rows_follow_what_changed_in_the_comment() -> None:
    report = dataclasses.replace(REPORT, rows=(("Database", "`items-app-db-pr-7`"), ("Migrations applied", "a | b")))
    body = comment_body(report)
    assert "| **What changed** | code \\| assets |\n| **Database** | `items-app-db-pr-7` |\n" in body
    assert "| **Migrations applied** | a \\| b |\n| **Updated (UTC)** |" in body


def test_a_commit_without_a_link_is_shown_short_and_plain() -> None:
    """No commit URL (outside Actions): the first seven characters, as code, not a link."""
    row = summary_markdown(dataclasses.replace(REPORT, commit_url="")).splitlines()[4]
    assert "| `6dcb09b` |" in row


def test_line_breaks_in_a_cell_become_br_and_blank_lines_in_a_quote_stay_quoted() -> None:
    """CRLF or LF inside a table cell is one `<br>`; an empty line of the error or the hint is a bare `>`."""
    failed = dataclasses.replace(
        REPORT, status="failed", changed="code\r\nassets\nschema", error="First.\n\nThird.", hint="Fix.\n\nAgain."
    )
    lines = summary_markdown(failed).splitlines()
    assert lines[4].endswith("| code<br>assets<br>schema | 2.3 s |")
    assert lines[6:] == ["> First.", ">", "> Third.", ">", "> Fix.", ">", "> Again."]
