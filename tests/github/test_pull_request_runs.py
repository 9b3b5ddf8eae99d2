"""Two action runs for the same pull request (opened, then a new push), against cfemu and the fake GitHub.

The runs happen once per module (deploying takes a few seconds); each test reads one facet of what they left.
The pull request already has 120 comments by other people, so the action's comment lands on the second page.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import stamina

from cfemu.launcher import Emulator, running_emulator
from deployer.steps import SIDE_BY_SIDE_GROUP, Step
from devkit.example import APP_PASSWORD
from tests.github.conftest import CF_TOKEN, GH_TOKEN
from tests.github.fake_github import FakeGitHub, running_fake_github
from tests.github.harness import (
    REPOSITORY,
    RUN_ID,
    StepFiles,
    StepResult,
    assert_no_secret,
    default_inputs,
    run_in_process,
    runner_environment,
)

HEAD_OPENED = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
HEAD_PUSHED = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
MERGE_COMMIT = "e5bd3914e2e596debea16f433f57875b5b90bcd6"
OTHER_COMMENTS = 120


@dataclass
class Scenario:
    emulator: Emulator
    github: FakeGitHub
    first: StepResult
    second: StepResult
    session_secret: str

    @property
    def expected_url(self) -> str:
        port = self.emulator.root_url.rsplit(":", 1)[1]
        return f"http://items-app.demo.workers.dev.localhost:{port}"

    def action_comments(self) -> list[dict[str, object]]:
        return [c for c in self.github.comments(7) if "cf-stateful-deployer:comment" in str(c["body"])]


def deployed_secret(emulator: Emulator, script: str, name: str) -> str:
    """A secret's value as the emulated Cloudflare holds it (its store; the API never returns values)."""
    with sqlite3.connect(emulator.data_dir / "cfemu.sqlite") as db:
        rows = db.execute("SELECT data FROM versions WHERE script_name = ? ORDER BY number", (script,)).fetchall()
    for (data,) in reversed(rows):
        for binding in json.loads(data)["bindings"]:
            if binding["name"] == name:
                return str(binding["text"])
    raise AssertionError(f"no {name} on {script}")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    root = tmp_path_factory.mktemp("pr-runs")
    with (
        stamina.set_testing(True, attempts=3),
        running_emulator(root / "cfemu", subdomain="demo", api_token=CF_TOKEN, run_workers=True) as emulator,
        running_fake_github(token=GH_TOKEN, repository=REPOSITORY) as github,
        pytest.MonkeyPatch.context() as monkeypatch,
    ):
        for index in range(OTHER_COMMENTS):
            github.add_comment(7, f"Looks good {index}", user="reviewer")
        files = StepFiles.create(root / "runner")
        inputs = default_inputs(
            api_token=CF_TOKEN,
            account_id=emulator.account_id,
            api_base_url=emulator.api_base_url,
            github_token=GH_TOKEN,
        )
        results = []
        for fixture in ("pull_request.opened.json", "pull_request.synchronize.json"):
            environ = runner_environment(
                files, event_fixture=fixture, inputs=inputs, github_api_url=github.url, in_container=False
            )
            results.append(run_in_process(files, environ, monkeypatch))
        yield Scenario(
            emulator, github, results[0], results[1], deployed_secret(emulator, "items-app", "SESSION_SECRET")
        )


def test_both_runs_succeed(scenario: Scenario) -> None:
    """Each run exits 0: the first deploys everything, the second finds nothing to change."""
    assert scenario.first.returncode == 0, scenario.first.log
    assert scenario.second.returncode == 0, scenario.second.log
    assert scenario.first.outputs["changed"] == "first-deploy"
    assert scenario.second.outputs["changed"] == "nothing"


def test_outputs_name_the_url_worker_database_and_status(scenario: Scenario) -> None:
    """The outputs file holds url, script-name, database-id, changed and status."""
    outputs = scenario.first.outputs
    assert outputs["url"] == scenario.expected_url
    assert outputs["script-name"] == "items-app"
    assert re.fullmatch(r"[0-9a-f-]{36}", outputs["database-id"])
    assert outputs["status"] == "deployed"
    assert scenario.second.outputs["status"] == "unchanged"


def test_the_summary_is_a_table_with_the_head_commit(scenario: Scenario) -> None:
    """The job summary has the app, status, URL, the pull request's head commit (not the merge commit), duration."""
    summary = scenario.first.summary
    assert "| App | Status | URL | Commit | What changed | Duration |" in summary
    row = next(line for line in summary.splitlines() if line.startswith("| items-app |"))
    assert "✅ Deployed" in row
    assert scenario.expected_url in row
    assert f"[`{HEAD_OPENED[:7]}`](https://github.com/{REPOSITORY}/commit/{HEAD_OPENED})" in row
    assert "first deploy" in row
    assert re.search(r"\| \d+\.\d s \|$", row)
    assert MERGE_COMMIT[:7] not in summary


def test_two_runs_leave_one_comment_edited_in_place(scenario: Scenario) -> None:
    """The second run finds the comment on page two by its marker and edits it; no second comment appears."""
    comments = scenario.action_comments()
    assert len(comments) == 1
    assert len(scenario.github.comments(7)) == OTHER_COMMENTS + 1
    writes = [(c.method, c.path) for c in scenario.github.calls if c.method != "GET" and "comments" in c.path]
    comment_id = comments[0]["id"]
    assert writes == [
        ("POST", f"/repos/{REPOSITORY}/issues/7/comments"),
        ("PATCH", f"/repos/{REPOSITORY}/issues/comments/{comment_id}"),
    ]
    pages = [c.query.get("page", ["1"])[0] for c in scenario.github.calls if c.method == "GET"]
    # each run reads both pages; the first reads them again after creating its comment (a run at the same
    # time may have created one too, and then only the first with the marker stays: `upsert_comment`)
    assert pages.count("2") == 3


def test_the_comment_shows_status_url_commit_changes_time_and_logs(scenario: Scenario) -> None:
    """The edited comment describes the latest run: status, URL, new head commit, what changed, UTC time, logs."""
    body = str(scenario.action_comments()[0]["body"])
    assert body.startswith("<!-- cf-stateful-deployer:comment app=app -->")
    assert "✅ Up to date" in body
    assert scenario.expected_url in body
    assert f"`{HEAD_PUSHED[:7]}`" in body
    assert HEAD_OPENED[:7] not in body
    assert "nothing (already up to date)" in body
    assert re.search(r"\*\*Updated \(UTC\)\*\* \| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \|", body)
    assert f"(https://github.com/{REPOSITORY}/actions/runs/{RUN_ID}/attempts/1)" in body


def test_each_run_records_a_deployment_from_in_progress_to_success(scenario: Scenario) -> None:
    """A GitHub Deployment per run, for the head commit, in production, ending in success with the URL and logs."""
    deployments = scenario.github.deployments()
    assert [d["ref"] for d in deployments] == [HEAD_OPENED, HEAD_PUSHED]
    for deployment in deployments:
        assert deployment["environment"] == "production"
        assert deployment["production_environment"] is True
        states = scenario.github.statuses(int(deployment["id"]))
        assert [s["state"] for s in states] == ["in_progress", "success"]
        assert states[-1]["environment_url"] == scenario.expected_url
        assert states[-1]["log_url"].endswith(f"/actions/runs/{RUN_ID}/attempts/1")


def test_the_log_masks_secrets_first_and_groups_the_steps(scenario: Scenario) -> None:
    """Masks come before any other line; the generated session secret is masked; steps sit in groups."""
    log = scenario.first.log.splitlines()
    first_other = next(i for i, line in enumerate(log) if not line.startswith("::add-mask::"))
    assert {CF_TOKEN, GH_TOKEN, APP_PASSWORD} <= set(scenario.first.masked()[:first_other])
    assert scenario.session_secret in scenario.first.masked()
    groups = [line for line in log if line.startswith("::group::")]
    assert groups == [
        "::group::Settings",
        f"::group::{Step.READ.group}",
        f"::group::{SIDE_BY_SIDE_GROUP}",
        f"::group::{Step.WORKER.group}",
        f"::group::{Step.SUBDOMAIN.group}",
        f"::group::Verify {scenario.expected_url}",
        "::group::Report",
    ]
    assert log.count("::endgroup::") == len(groups)


def test_no_secret_value_appears_in_logs_outputs_summary_comments_or_api_calls(scenario: Scenario) -> None:
    """The API token, GitHub token, app password and generated session secret appear nowhere a person can read."""
    texts = [
        scenario.first.visible_text(),
        scenario.second.visible_text(),
        *(str(c["body"]) for c in scenario.github.comments(7)),
        json.dumps(scenario.github.bodies()),
    ]
    assert_no_secret(texts, [CF_TOKEN, GH_TOKEN, APP_PASSWORD, scenario.session_secret])


def test_the_fake_github_saw_only_the_workflow_token(scenario: Scenario) -> None:
    """Every GitHub call carried the token and was answered without an auth or permission error."""
    assert scenario.github.calls
    assert {c.authorization for c in scenario.github.calls} == {f"Bearer {GH_TOKEN}"}
    assert all(c.status < 400 for c in scenario.github.calls)
