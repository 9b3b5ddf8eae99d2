"""The action's other paths, run in-process: forks, missing secrets, permissions, failures, commands."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest

import deployer.commands.deploy
from cfemu.launcher import Emulator
from devkit.example import APP_PASSWORD, REPO
from tests.github.conftest import CF_TOKEN, GH_TOKEN
from tests.github.fake_github import NOT_ACCESSIBLE, FakeGitHub
from tests.github.harness import (
    REPOSITORY,
    StepFiles,
    StepResult,
    assert_no_secret,
    default_inputs,
    run_in_process,
    runner_environment,
    workflow_commands,
)


def run(
    step: StepFiles,
    monkeypatch: pytest.MonkeyPatch,
    *,
    fixture: str,
    emulator: Emulator | None,
    github: FakeGitHub,
    **inputs: str,
) -> StepResult:
    """One step with the default inputs (verify off: these emulators run no Workers), `inputs` overriding."""
    values = default_inputs(
        api_token=CF_TOKEN,
        account_id=emulator.account_id if emulator else "0" * 32,
        api_base_url=emulator.api_base_url if emulator else "http://127.0.0.1:9/client/v4",
        github_token=GH_TOKEN,
    )
    values["verify"] = "false"
    values.update({name.replace("_", "-"): value for name, value in inputs.items()})
    environ = runner_environment(
        step, event_fixture=fixture, inputs=values, github_api_url=github.url, in_container=False
    )
    return run_in_process(step, environ, monkeypatch)


@pytest.mark.parametrize(
    ("fixture", "words"),
    [
        pytest.param("pull_request.fork.json", "comes from the fork mallory/hello-apps", id="pull_request"),
        pytest.param("pull_request_target.fork.json", "this is a pull_request_target run", id="pull_request_target"),
    ],
)
def test_a_pull_request_from_a_fork_ends_with_a_notice_and_deploys_nothing(
    step: StepFiles, monkeypatch: pytest.MonkeyPatch, cf: Emulator, github: FakeGitHub, fixture: str, words: str
) -> None:
    """A fork's pull request: exit 0, a notice naming the fork, status skipped, no Cloudflare or GitHub call."""
    result = run(step, monkeypatch, fixture=fixture, emulator=cf, github=github)
    assert result.returncode == 0, result.log
    (notice,) = workflow_commands(result.log, "notice")
    assert notice.startswith("::notice title=Nothing deployed::Pull request #8")
    assert words in notice
    assert "workflow_run" in notice
    assert result.outputs == {"status": "skipped"}
    assert "⏭️ Skipped" in result.summary
    assert cf.requests() == []
    assert github.calls == []


def test_a_pull_request_run_without_the_token_is_skipped(
    step: StepFiles, monkeypatch: pytest.MonkeyPatch, cf: Emulator, github: FakeGitHub
) -> None:
    """A same-repository pull request without the Cloudflare token (Dependabot) is skipped with a notice."""
    result = run(step, monkeypatch, fixture="pull_request.opened.json", emulator=cf, github=github, api_token="")
    assert result.returncode == 0, result.log
    (notice,) = workflow_commands(result.log, "notice")
    assert "No Cloudflare API token in this pull_request run" in notice
    assert cf.requests() == []


def test_a_push_without_the_token_fails(step: StepFiles, monkeypatch: pytest.MonkeyPatch, github: FakeGitHub) -> None:
    """Outside pull requests a missing token is an error naming the input, not a skip."""
    result = run(step, monkeypatch, fixture="push.main.json", emulator=None, github=github, api_token="")
    assert result.returncode == 1
    (error,) = workflow_commands(result.log, "error")
    assert "Missing CLOUDFLARE_API_TOKEN (input api-token)" in error
    assert result.outputs["status"] == "failed"


def test_a_push_deploys_to_production_without_a_comment(
    step: StepFiles, monkeypatch: pytest.MonkeyPatch, cf: Emulator, github: FakeGitHub
) -> None:
    """A push records a production Deployment for GITHUB_SHA and comments nowhere."""
    result = run(step, monkeypatch, fixture="push.main.json", emulator=cf, github=github)
    assert result.returncode == 0, result.log
    (deployment,) = github.deployments()
    assert deployment["ref"] == "6dcb09b5b57875f334f61aebed695e2e4193db5e"
    assert [s["state"] for s in github.statuses(int(deployment["id"]))] == ["in_progress", "success"]
    assert not any("comments" in call.path for call in github.calls)


def test_missing_permissions_are_warnings_that_name_the_permissions_entry(
    step: StepFiles, monkeypatch: pytest.MonkeyPatch, cf: Emulator, github: FakeGitHub
) -> None:
    """Without pull-requests/deployments write the app still deploys; warnings name the `permissions:` entries."""
    github.permissions = {"contents": "read"}
    result = run(step, monkeypatch, fixture="pull_request.opened.json", emulator=cf, github=github)
    assert result.returncode == 0, result.log
    warnings = workflow_commands(result.log, "warning")
    assert len(warnings) == 2
    deployment, comment = sorted(warnings)
    assert "title=GitHub Deployment not recorded" in deployment
    assert "lacks the permission `deployments: write`" in deployment
    assert "permissions:%0A  contents: read%0A  deployments: write" in deployment
    assert "title=PR comment not recorded" in comment
    assert "pull-requests: write" in comment
    assert {call.status for call in github.calls} == {403}
    assert NOT_ACCESSIBLE not in result.outputs.values()
    assert result.outputs["status"] == "deployed"


def test_a_schema_error_points_at_its_line_and_still_writes_what_was_known(
    step: StepFiles, monkeypatch: pytest.MonkeyPatch, cf: Emulator, github: FakeGitHub
) -> None:
    """A broken schema.sql: an annotation on its file and line, outputs written, a failed comment and deployment."""
    schema = step.workspace / "app" / "schema.sql"
    schema.write_text(schema.read_text(encoding="utf-8") + "\nCREAT TABLE oops (id INTEGER);\n", encoding="utf-8")
    broken_line = schema.read_text(encoding="utf-8").splitlines().index("CREAT TABLE oops (id INTEGER);") + 1
    result = run(step, monkeypatch, fixture="pull_request.opened.json", emulator=cf, github=github)
    assert result.returncode == 1
    (error,) = workflow_commands(result.log, "error")
    assert error.startswith(f"::error file=app/schema.sql,line={broken_line},title=schema.sql failed::")
    assert result.outputs["script-name"] == "items-app"
    assert result.outputs["url"].startswith("http://items-app.demo.workers.dev.localhost:")
    assert result.outputs["changed"] == "first-deploy"
    assert result.outputs["status"] == "failed"
    assert "CREAT" in result.outputs["error"]
    (comment,) = github.comments(7)
    assert "❌ Failed" in comment["body"]
    assert "schema.sql failed" in comment["body"]  # the error's title names the file
    (deployment,) = github.deployments()
    assert [s["state"] for s in github.statuses(int(deployment["id"]))] == ["in_progress", "failure"]


def test_an_app_yml_error_points_at_the_key(
    step: StepFiles, monkeypatch: pytest.MonkeyPatch, github: FakeGitHub
) -> None:
    """An unknown app.yml key fails before any API call, annotated on the key's line."""
    app_yml = step.workspace / "app" / "app.yml"
    app_yml.write_text(app_yml.read_text(encoding="utf-8") + "colour: blue\n", encoding="utf-8")
    line = len(app_yml.read_text(encoding="utf-8").splitlines())
    result = run(step, monkeypatch, fixture="push.main.json", emulator=None, github=github)
    assert result.returncode == 1
    (error,) = workflow_commands(result.log, "error")
    assert error.startswith(f"::error file=app/app.yml,line={line},title=Invalid configuration::")
    assert "colour: not a setting of this deployer" in error


@pytest.mark.parametrize(
    ("source", "line", "words"),
    [
        pytest.param('import { x } from "./lib";\nexport default { fetch: () => new Response(x) };\n', 2,
                     "src/lib.ts:2:", id="typescript-error"),
        pytest.param('// the app\nimport { Hono } from "hono";\nexport default new Hono();\n', 2,
                     "src/index.ts:2 imports the npm package hono, but the app folder has no node_modules",
                     id="no-node-modules"),
    ],
)  # fmt: skip
def test_a_bundling_error_is_annotated_on_its_file_and_line(
    step: StepFiles, monkeypatch: pytest.MonkeyPatch, github: FakeGitHub, source: str, line: int, words: str
) -> None:
    """A TypeScript app that does not bundle fails before any API call, with esbuild's place as the annotation's."""
    app = step.workspace / "app"
    (app / "app.yml").write_text("main: src/index.ts\n", encoding="utf-8")
    (app / "src").mkdir()
    (app / "src" / "index.ts").write_text(source, encoding="utf-8")
    (app / "src" / "lib.ts").write_text("export const x = 1;\nexport const y = (;\n", encoding="utf-8")
    result = run(step, monkeypatch, fixture="push.main.json", emulator=None, github=github)
    assert result.returncode == 1
    (error,) = workflow_commands(result.log, "error")
    file = "src/lib.ts" if "lib.ts" in words else "src/index.ts"
    assert error.startswith(f"::error file=app/{file},line={line},title=Invalid configuration::"), error
    assert words in error


def test_an_unknown_command_or_boolean_is_refused(
    step: StepFiles, monkeypatch: pytest.MonkeyPatch, cf: Emulator, github: FakeGitHub
) -> None:
    """A typo in command or in a boolean input is an error that names the input."""
    typo = run(step, monkeypatch, fixture="push.main.json", emulator=cf, github=github, command="deplyo")
    assert typo.returncode == 1
    assert "Unknown command 'deplyo' (input command)" in workflow_commands(typo.log, "error")[0]
    bad_bool = run(step, monkeypatch, fixture="push.main.json", emulator=cf, github=github, verify="yes")
    assert bad_bool.returncode == 1
    assert "Input verify must be true or false, not 'yes'" in workflow_commands(bad_bool.log, "error")[0]


def test_plan_changes_nothing_and_reports_what_would_change(
    step: StepFiles, monkeypatch: pytest.MonkeyPatch, cf: Emulator, github: FakeGitHub
) -> None:
    """command: plan reads the state, writes url/changed/status and a summary, and makes no write."""
    result = run(step, monkeypatch, fixture="push.main.json", emulator=cf, github=github, command="plan")
    assert result.returncode == 0, result.log
    assert result.outputs["changed"] == "first-deploy"
    assert result.outputs["status"] == "planned"
    assert "would change: first-deploy" in result.summary
    assert "1. find or create the D1 database" in result.summary
    # The Worker's settings and the account's subdomain, then the D1 lookup (the database would be created).
    assert [e["method"] for e in cf.requests()] == ["GET", "GET", "GET"]
    assert github.calls == []


def test_inspect_describes_the_deployed_app(
    step: StepFiles, monkeypatch: pytest.MonkeyPatch, cf: Emulator, github: FakeGitHub
) -> None:
    """command: inspect after a deploy prints the bindings and sets the url output."""
    deployed = run(step, monkeypatch, fixture="push.main.json", emulator=cf, github=github)
    assert deployed.returncode == 0, deployed.log
    result = run(step, monkeypatch, fixture="push.main.json", emulator=cf, github=github, command="inspect")
    assert result.returncode == 0, result.log
    assert result.outputs["url"] == deployed.outputs["url"]
    assert "SESSION_SECRET: secret (value hidden)" in result.summary
    assert_no_secret([result.visible_text()], [CF_TOKEN, GH_TOKEN, APP_PASSWORD])


def test_an_app_at_the_repository_root_is_named_after_the_repository(
    step: StepFiles, monkeypatch: pytest.MonkeyPatch, cf: Emulator, github: FakeGitHub
) -> None:
    """app-dir "." without a name deploys the Worker under the repository's name, not "workspace"."""
    (step.workspace / "app" / "app.yml").unlink()
    for item in (step.workspace / "app").iterdir():
        item.rename(step.workspace / item.name)
    result = run(step, monkeypatch, fixture="push.main.json", emulator=cf, github=github, app_dir=".")
    assert result.returncode == 0, result.log
    assert result.outputs["script-name"] == REPOSITORY.split("/")[1]


def test_a_cancelled_job_ends_with_a_cancelled_error(step: StepFiles, github: FakeGitHub) -> None:
    """SIGTERM (a cancelled job stopping the container) while a request hangs: exit 130 and a Cancelled error."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        values = default_inputs(
            api_token=CF_TOKEN, account_id="0" * 32, api_base_url=f"http://127.0.0.1:{port}/client/v4", github_token=""
        )
        environ = runner_environment(
            step, event_fixture="push.main.json", inputs=values, github_api_url=github.url, in_container=False
        )
        process = subprocess.Popen(
            [sys.executable, str(REPO / "entrypoint.py")],
            cwd=step.workspace,
            env={**environ, "PATH": os.environ.get("PATH", "")},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        silent.settimeout(30)
        connection, _ = silent.accept()  # the first API request arrived and hangs
        with connection:
            process.send_signal(signal.SIGTERM)
            log, _ = process.communicate(timeout=30)
    assert process.returncode == 130, log
    assert "::error title=Cancelled::Interrupted (the job was cancelled)" in log


def test_a_bug_is_reported_as_unexpected_with_its_traceback(
    step: StepFiles, monkeypatch: pytest.MonkeyPatch, cf: Emulator, github: FakeGitHub
) -> None:
    """An exception that is not a DeployError: exit 3, an "Unexpected error" annotation, the traceback in the log."""

    async def broken_deploy(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(deployer.commands.deploy, "run", broken_deploy)
    result = run(step, monkeypatch, fixture="push.main.json", emulator=cf, github=github)
    assert result.returncode == 3
    (error,) = workflow_commands(result.log, "error")
    assert error.startswith("::error title=Unexpected error::")
    assert "RuntimeError: a bug" in result.log
    (deployment,) = github.deployments()
    assert [s["state"] for s in github.statuses(int(deployment["id"]))] == ["in_progress", "failure"]


FORK_HEAD = "f00dfacef00dfacef00dfacef00dfacef00dface"  # workflow_run.head_sha of workflow_run.fork.json


def test_a_fork_preview_from_workflow_run_names_the_pull_request_from_the_input(
    step: StepFiles, monkeypatch: pytest.MonkeyPatch, cf: Emulator, github: FakeGitHub
) -> None:
    """preview-fork-deploy.yml: the event names no pull request, the input does, and GitHub confirms that its
    head is the commit built; the preview is PR 8's, its comment lands on PR 8 and its Deployment in
    preview/pr-8. The fork's app.yml may not declare secrets nor name the Worker or the database."""
    github.set_pull_request(8, "open", head_sha=FORK_HEAD)
    github.set_pull_request(9, "open", head_sha="9" * 40)
    app_yml = step.workspace / "app" / "app.yml"

    def preview_of(number: str) -> StepResult:
        return run(
            step,
            monkeypatch,
            fixture="workflow_run.fork.json",
            emulator=cf,
            github=github,
            command="preview",
            pull_request=number,
            name="items-app",
        )

    refused = preview_of("8")
    assert refused.returncode == 1
    assert "app.yml declares secrets" in workflow_commands(refused.log, "error")[0]
    app_yml.write_text(app_yml.read_text().replace("secrets: [APP_PASSWORD, SESSION_SECRET]\n", ""))
    named = preview_of("8")
    assert named.returncode == 1
    assert "app.yml sets name and d1.name, but this is a workflow_run run" in workflow_commands(named.log, "error")[0]
    app_yml.write_text(app_yml.read_text().replace("name: items-app\n", "").replace("  name: items-app-db\n", ""))
    another = preview_of("9")  # the artifact claims another pull request: its preview must not be overwritten
    assert another.returncode == 1
    assert "Pull request #9 (input pull-request) has the head commit 999999999999" in another.log
    assert cf.requests() == []

    done = preview_of("8")
    assert done.returncode == 0, done.log
    assert (done.outputs["script-name"], done.outputs["status"]) == ("items-app-pr-8", "deployed")
    (comment,) = github.comments(8)
    assert "items-app-pr-8" in str(comment["body"]) and "| **Database** | `items-app-db-pr-8`" in str(comment["body"])
    (deployment,) = github.deployments()
    assert deployment["environment"] == "preview/pr-8" and deployment["ref"] == FORK_HEAD


def test_preview_on_a_push_has_no_pull_request_and_says_so(
    step: StepFiles, monkeypatch: pytest.MonkeyPatch, cf: Emulator, github: FakeGitHub
) -> None:
    outcome = run(step, monkeypatch, fixture="push.main.json", emulator=cf, github=github, command="preview")
    assert outcome.returncode == 1
    (error,) = workflow_commands(outcome.log, "error")
    assert "preview needs the pull request's number" in error and "pull-request" in error
    assert github.calls == [] and cf.requests() == []
