"""`command: sweep` on a schedule (.github/examples/preview-sweep.yml), through the action, against cfemu and
the fake GitHub: the previews of closed pull requests go, with their Deployments and comments retired."""

from __future__ import annotations

import asyncio

import pytest

from cfemu.launcher import Emulator
from deployer.commands import Options, execute
from deployer.github.api import GitHubClient
from deployer.github.publish import Deployment
from deployer.settings import Settings
from devkit.cli import emulator_environment
from tests.github.conftest import GH_TOKEN
from tests.github.fake_github import FakeGitHub
from tests.github.harness import StepFiles
from tests.github.test_action_paths import run


async def open_previews(cf: Emulator, step: StepFiles, github: FakeGitHub, numbers: tuple[int, ...]) -> None:
    """Previews deployed earlier (by the CLI), each with a comment and a Deployment as the action leaves them."""
    settings = Settings.load(cli={"app_dir": step.workspace / "app"}, environ=emulator_environment(cf))
    async with GitHubClient(token=GH_TOKEN, repository=github.repository, api_url=github.url) as gh:
        for number in numbers:
            await execute("preview", settings, Options(pull_request=number))
            github.add_comment(number, "<!-- cf-stateful-deployer:comment app=app -->\nPreview here", user="bot")
            github.set_pull_request(number, "open")
            await Deployment(gh, ref="abc", environment=f"preview/pr-{number}", production=False, log_url="").start("x")


def test_a_scheduled_sweep_removes_closed_pull_requests_previews_and_retires_them(
    step: StepFiles, monkeypatch: pytest.MonkeyPatch, cf: Emulator, github: FakeGitHub
) -> None:
    asyncio.run(open_previews(cf, step, github, (1, 2)))
    github.set_pull_request(1, "closed")

    dry = run(step, monkeypatch, fixture="schedule.json", emulator=cf, github=github, command="sweep", dry_run="true")
    assert dry.returncode == 0, dry.log
    assert (dry.outputs["status"], dry.outputs["previews-stale"], dry.outputs["previews-removed"]) == (
        "planned",
        "1",
        "",
    )
    assert "would remove items-app-pr-1: pull request #1 is closed" in dry.log

    swept = run(step, monkeypatch, fixture="schedule.json", emulator=cf, github=github, command="sweep")
    assert swept.returncode == 0, swept.log
    assert (swept.outputs["status"], swept.outputs["previews-removed"]) == ("swept", "1")
    deleted = [str(e["path"]).rsplit("/", 1)[-1] for e in cf.requests() if e["method"] == "DELETE"]
    assert deleted[-1] == "items-app-pr-1" and "items-app-pr-2" not in deleted
    (comment,) = github.comments(1)
    assert "🧹 Preview removed" in str(comment["body"])
    assert "deleted the preview Worker items-app-pr-1 and its D1 database items-app-db-pr-1" in str(comment["body"])
    assert "Preview here" in str(github.comments(2)[0]["body"])  # the open pull request's comment is untouched
    assert "| **Database**" not in str(comment["body"])
    states = {d["environment"]: [s["state"] for s in github.statuses(d["id"])] for d in github.deployments()}
    assert states == {"preview/pr-1": ["in_progress", "inactive"], "preview/pr-2": ["in_progress"]}


def test_a_sweep_without_github_access_or_an_age_says_what_it_needs(
    step: StepFiles, monkeypatch: pytest.MonkeyPatch, cf: Emulator, github: FakeGitHub
) -> None:
    outcome = run(
        step, monkeypatch, fixture="schedule.json", emulator=cf, github=github, command="sweep", github_token=""
    )
    assert outcome.returncode == 1
    assert "no GitHub access to read pull requests and no maximum age" in outcome.log
    aged = run(
        step,
        monkeypatch,
        fixture="schedule.json",
        emulator=cf,
        github=github,
        command="sweep",
        github_token="",
        max_age="7d",
    )
    assert aged.returncode == 0 and aged.outputs["previews-stale"] == ""
    bad = run(step, monkeypatch, fixture="schedule.json", emulator=cf, github=github, command="sweep", max_age="a week")
    assert bad.returncode == 1 and "Input max-age: 'a week' is not an age such as 7d, 36h or 90m" in bad.log
