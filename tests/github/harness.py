"""Run the action the way the GitHub runner does: a workspace, file-command files, an event payload, INPUT_*.

`StepFiles` lays out one step's directories (as the runner's `_work/_temp` would): the workspace with the
example app copied into `app/`, `_runner_file_commands/` with fresh `set_output_…` and `step_summary_…` files, and
`_github_workflow/event.json`. `runner_environment` builds the variables the runner passes, with either the
host paths (the action run in-process) or the container paths (`/github/workspace`, `/github/file_commands`,
`/github/workflow`, `/github/home`).

`StepResult.visible_text()` is what a person could see afterwards: the log as the runner shows it (the
`::add-mask::` commands are consumed by the runner, never shown), the outputs file and the summary.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deployer.action import main
from devkit.example import APP_PASSWORD, EXAMPLE_APP, REPO
from devkit.outputs import read_outputs
from devkit.transcripts import record

EVENTS = REPO / "tests" / "fixtures" / "events"
REPOSITORY = "octo-org/hello-apps"
RUN_ID = "4242"


@dataclass
class StepFiles:
    """One step's directories and files on the host."""

    root: Path
    workspace: Path
    file_commands: Path
    workflow: Path
    home: Path
    output_name: str = ""
    summary_name: str = ""

    @classmethod
    def create(cls, root: Path, *, app: Path = EXAMPLE_APP) -> StepFiles:
        files = cls(
            root=root,
            workspace=root / "workspace",
            file_commands=root / "_runner_file_commands",
            workflow=root / "_github_workflow",
            home=root / "_github_home",
        )
        for directory in (files.workspace, files.file_commands, files.workflow, files.home):
            directory.mkdir(parents=True, exist_ok=True)
        shutil.copytree(app, files.workspace / "app", ignore=shutil.ignore_patterns("wrangler.toml", ".wrangler"))
        return files

    def new_step(self, event_fixture: str) -> None:
        """Fresh output and summary files (as for each step) and the event payload."""
        self.output_name = f"set_output_{uuid.uuid4()}"
        self.summary_name = f"step_summary_{uuid.uuid4()}"
        (self.file_commands / self.output_name).touch()
        (self.file_commands / self.summary_name).touch()
        shutil.copyfile(EVENTS / event_fixture, self.workflow / "event.json")

    @property
    def output_file(self) -> Path:
        return self.file_commands / self.output_name

    @property
    def summary_file(self) -> Path:
        return self.file_commands / self.summary_name


def event_name_of(fixture: str) -> str:
    """`pull_request.opened.json` → `pull_request`."""
    return fixture.split(".", 1)[0]


def runner_environment(
    files: StepFiles,
    *,
    event_fixture: str,
    inputs: Mapping[str, str],
    github_api_url: str,
    in_container: bool,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The variables the runner passes to a Docker action step (inputs with hyphens kept)."""
    files.new_step(event_fixture)
    if in_container:
        workspace, commands, workflow, home = (
            "/github/workspace",
            "/github/file_commands",
            "/github/workflow",
            "/github/home",
        )
    else:
        workspace, commands, workflow, home = map(
            str, (files.workspace, files.file_commands, files.workflow, files.home)
        )
    payload = json.loads((EVENTS / event_fixture).read_text(encoding="utf-8"))
    sha = str((payload.get("pull_request") or {}).get("merge_commit_sha") or payload.get("after") or "0" * 40)
    environ = {
        "HOME": home,
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": workspace,
        "GITHUB_EVENT_NAME": event_name_of(event_fixture),
        "GITHUB_EVENT_PATH": f"{workflow}/event.json",
        "GITHUB_OUTPUT": f"{commands}/{files.output_name}",
        "GITHUB_STEP_SUMMARY": f"{commands}/{files.summary_name}",
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_SHA": sha,  # for pull requests: the merge commit, which the action must not report
        "GITHUB_REF": "refs/pull/7/merge" if "pull_request" in event_fixture else "refs/heads/main",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_API_URL": github_api_url,
        "GITHUB_RUN_ID": RUN_ID,
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_ACTOR": "octocat",
        "RUNNER_OS": "Linux",
        "RUNNER_TEMP": "/home/runner/work/_temp",
    }
    environ.update({"INPUT_" + name.upper(): value for name, value in inputs.items()})
    environ.update(extra or {})
    return environ


def default_inputs(*, api_token: str, account_id: str, api_base_url: str, github_token: str) -> dict[str, str]:
    """Every input of action.yml, as the runner passes them (declared defaults filled in)."""
    return {
        "api-token": api_token,
        "account-id": account_id,
        "app-dir": "app",
        "name": "",
        "command": "deploy",
        "github-token": github_token,
        "vars": "",
        "secrets": "",
        "app-password": APP_PASSWORD,
        "session-secret": "",
        "api-base-url": api_base_url,
        "verify": "true",
        "force": "false",
        "allow-destructive": "false",
        "allow-new-database": "false",
        "bookmark": "",
        "environment": "production",
        "github-deployment": "true",
        "pr-comment": "true",
        "pull-request": "",
        "preview-database": "isolated",
        "dry-run": "false",
        "max-age": "",
        "mode": "",
        "version": "",
        "rollback-on-failure": "",
        "current-app-password": "",
    }


@dataclass
class StepResult:
    """What one step left behind."""

    returncode: int
    log: str
    outputs: dict[str, str]
    summary: str
    extra_texts: list[str] = field(default_factory=list)

    def masked(self) -> list[str]:
        """The values the step asked the runner to mask."""
        return [
            _unescape(line.removeprefix("::add-mask::"))
            for line in self.log.splitlines()
            if line.startswith("::add-mask::")
        ]

    def shown_log(self) -> str:
        """The log as the runner shows it: without the `::add-mask::` commands it consumes."""
        return "\n".join(line for line in self.log.splitlines() if not line.startswith("::add-mask::"))

    def visible_text(self) -> str:
        """Everything a person could read after the step: shown log, outputs, summary (and `extra_texts`)."""
        return "\n".join([self.shown_log(), json.dumps(self.outputs), self.summary, *self.extra_texts])


def collect(files: StepFiles, returncode: int, log: str) -> StepResult:
    result = StepResult(
        returncode=returncode,
        log=log,
        outputs=read_outputs(files.output_file),
        summary=files.summary_file.read_text(encoding="utf-8"),
    )
    record("action-step", "\n".join([log, files.output_file.read_text(encoding="utf-8"), result.summary]))
    return result


def run_in_process(files: StepFiles, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> StepResult:
    """Run `deployer.action.main` here, in the workspace, as the container would."""
    monkeypatch.chdir(files.workspace)
    stdout = io.StringIO()
    returncode = main(environ=environ, stdout=stdout)
    return collect(files, returncode, stdout.getvalue())


def assert_no_secret(texts: Iterable[str], secrets: Iterable[str]) -> None:
    """No secret value (nor any of its lines) appears in any of `texts`."""
    haystack = "\n".join(texts)
    for secret in secrets:
        for part in [secret, *secret.splitlines()]:
            if part.strip():
                assert part.strip() not in haystack, f"a secret value ({len(part)} characters) leaked"


def workflow_commands(log: str, kind: str) -> list[str]:
    """The `::kind …::message` lines of a log."""
    return [line for line in log.splitlines() if re.match(rf"^::{kind}( |::)", line)]


def _unescape(data: str) -> str:
    return data.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")
