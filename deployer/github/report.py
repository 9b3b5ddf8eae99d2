"""What a run tells people: the job summary table and the sticky PR comment, both from one `RunReport`.

The PR comment starts with a hidden marker naming the app (its `app-dir`), so a later run finds the comment and
edits it in place instead of adding another; one comment per app and pull request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import quote

from deployer.commands._base import Status

__all__ = ["STATUS_TEXT", "RunReport", "Status", "comment_body", "comment_marker", "summary_markdown"]

# How each status (`deployer.commands.Status`, fed by the command registry) is shown.
STATUS_TEXT: dict[Status, str] = {
    "deployed": "✅ Deployed",
    "unchanged": "✅ Up to date",
    "planned": "📋 Planned",
    "inspected": "🔎 Inspected",
    "restored": "⏪ Restored",
    "removed": "🧹 Preview removed",
    "absent": "🧹 Preview already gone",
    "swept": "🧹 Swept",
    "rotated": "🔑 Rotated",
    "rolled-back": "↩️ Rolled back",
    "failed": "❌ Failed",
    "skipped": "⏭️ Skipped",
}
MARKER_PREFIX = "<!-- cf-stateful-deployer:comment app="
TOOL = "cf-stateful-deployer"


@dataclass(frozen=True, slots=True)
class RunReport:
    """One run of the action, ready to be shown."""

    app: str  # the Worker's name when known, else the app folder
    app_dir: str
    command: str
    status: Status
    url: str
    commit: str
    commit_url: str
    changed: str  # what changed, in words (`CommandResult.changed_words()`)
    duration_s: float
    run_url: str
    finished: dt.datetime  # UTC
    error: str = ""  # the failure's title and message
    hint: str = ""
    rows: tuple[tuple[str, str], ...] = ()  # the command's own rows (`CommandResult.report_rows()`)

    @property
    def status_text(self) -> str:
        return STATUS_TEXT[self.status]


def summary_markdown(report: RunReport) -> str:
    """The job summary: a heading, the table (app, status, URL, commit, what changed, duration), the error."""
    lines = [
        f"### {report.status_text}: {_cell(report.app)} ({report.command})",
        "",
        "| App | Status | URL | Commit | What changed | Duration |",
        "|---|---|---|---|---|---|",
        "| "
        + " | ".join(
            [
                _cell(report.app),
                report.status_text,
                _link(report.url),
                _commit(report),
                _cell(report.changed) or "–",
                f"{report.duration_s:.1f} s",
            ]
        )
        + " |",
        "",
    ]
    lines += _failure(report)
    return "\n".join(lines)


def comment_marker(app_dir: str) -> str:
    """The hidden first line that identifies this app's comment (the app folder, URL-quoted)."""
    return f"{MARKER_PREFIX}{quote(app_dir)} -->"


def comment_body(report: RunReport) -> str:
    """The sticky PR comment: status, URL, commit, what changed, time (UTC) and the run's logs."""
    logs = f"[workflow run]({report.run_url})" if report.run_url else "–"
    rows = [
        ("Status", report.status_text),
        ("URL", _link(report.url)),
        ("Commit", _commit(report)),
        ("What changed", _cell(report.changed) or "–"),
        *((name, _cell(value)) for name, value in report.rows),
        ("Updated (UTC)", report.finished.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")),
        ("Logs", logs),
    ]
    lines = [
        comment_marker(report.app_dir),
        f"### {report.status_text}: `{report.app}`",
        "",
        "| | |",
        "|---|---|",
        *(f"| **{name}** | {value} |" for name, value in rows),
        "",
    ]
    lines += _failure(report)
    lines.append(f"<sub>{TOOL} edits this comment on every run of `{report.app_dir}` for this pull request.</sub>")
    return "\n".join(lines)


def _failure(report: RunReport) -> list[str]:
    if not report.error:
        return []
    quoted = [f"> {line}" if line else ">" for line in report.error.splitlines()]
    if report.hint:
        quoted += [">", *(f"> {line}" if line else ">" for line in report.hint.splitlines())]
    return [*quoted, ""]


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def _link(url: str) -> str:
    return f"[{_cell(url)}]({url})" if url else "–"


def _commit(report: RunReport) -> str:
    if not report.commit:
        return "–"
    short = f"`{report.commit[:7]}`"
    return f"[{short}]({report.commit_url})" if report.commit_url else short
