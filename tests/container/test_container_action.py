"""The action's image, built from this repository's Dockerfile and run the way the GitHub runner runs it.

`docker run --rm --network host --workdir /github/workspace` with the workspace, file-command, workflow and
home directories mounted at /github/…, every variable passed by name (`-e NAME`, values in the CLI's
environment, as the runner does: no secret on a command line), INPUT_* with their hyphens. The host network
lets the container reach cfemu (running Workers, so the health check is real) and the fake GitHub on 127.0.0.1.

Three runs share one engine, emulator and fake GitHub: pull request #7 opened, the same pull request after a
push, and pull request #8 from a fork.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import stamina

from cfemu.launcher import Emulator, running_emulator
from devkit.example import APP_PASSWORD, TYPESCRIPT_APP
from devkit.loopback import localhost_client
from tests.container.conftest import Docker
from tests.github.conftest import CF_TOKEN, GH_TOKEN
from tests.github.fake_github import FakeGitHub, running_fake_github
from tests.github.harness import (
    REPOSITORY,
    StepFiles,
    StepResult,
    assert_no_secret,
    collect,
    default_inputs,
    runner_environment,
    workflow_commands,
)
from tests.github.test_pull_request_runs import HEAD_OPENED, HEAD_PUSHED, deployed_secret


@dataclass
class ContainerRuns:
    emulator: Emulator
    github: FakeGitHub
    opened: StepResult
    pushed: StepResult
    fork: StepResult
    session_secret: str

    @property
    def expected_url(self) -> str:
        return f"http://items-app.demo.workers.dev.localhost:{self.emulator.root_url.rsplit(':', 1)[1]}"


def run_container(docker: Docker, image: str, files: StepFiles, environ: dict[str, str]) -> StepResult:
    """One step: the container with the runner's mounts and variables; its stdout and stderr are the log."""
    args = [
        "run",
        "--rm",
        "--network",
        "host",
        "--workdir",
        "/github/workspace",
        "--volume",
        f"{files.workspace}:/github/workspace",
        "--volume",
        f"{files.file_commands}:/github/file_commands",
        "--volume",
        f"{files.workflow}:/github/workflow",
        "--volume",
        f"{files.home}:/github/home",
    ]
    for name in environ:
        args += ["--env", name]
    completed = docker.run(*args, image, env=environ, timeout=300)
    return collect(files, completed.returncode, completed.stdout + completed.stderr)


@pytest.fixture(scope="module")
def runs(docker: Docker, action_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContainerRuns]:
    root = tmp_path_factory.mktemp("container-runs")
    with (
        stamina.set_testing(True, attempts=3),
        running_emulator(root / "cfemu", subdomain="demo", api_token=CF_TOKEN, run_workers=True) as emulator,
        running_fake_github(token=GH_TOKEN, repository=REPOSITORY) as github,
    ):
        files = StepFiles.create(root / "runner")
        inputs = default_inputs(
            api_token=CF_TOKEN,
            account_id=emulator.account_id,
            api_base_url=emulator.api_base_url,
            github_token=GH_TOKEN,
        )
        results = []
        for fixture in ("pull_request.opened.json", "pull_request.synchronize.json", "pull_request.fork.json"):
            environ = runner_environment(
                files, event_fixture=fixture, inputs=inputs, github_api_url=github.url, in_container=True
            )
            results.append(run_container(docker, action_image, files, environ))
        opened, pushed, fork = results
        yield ContainerRuns(
            emulator, github, opened, pushed, fork, deployed_secret(emulator, "items-app", "SESSION_SECRET")
        )


def test_the_image_follows_the_container_action_rules(docker: Docker, action_image: str) -> None:
    """The built image runs as root, sets no working directory, and starts /app/entrypoint.py by absolute path."""
    inspected = docker.run("image", "inspect", action_image)
    assert inspected.returncode == 0, inspected.stderr
    config = json.loads(inspected.stdout)[0]["Config"]
    assert config["Entrypoint"] == ["/usr/local/bin/python", "/app/entrypoint.py"]
    assert config["User"] == ""
    assert config["WorkingDir"] == ""


def test_a_deploy_through_the_container_writes_the_outputs(runs: ContainerRuns) -> None:
    """The first run deploys and writes url, script-name, database-id, changed and status to GITHUB_OUTPUT."""
    assert runs.opened.returncode == 0, runs.opened.log
    outputs = runs.opened.outputs
    assert outputs["url"] == runs.expected_url
    assert outputs["script-name"] == "items-app"
    assert outputs["changed"] == "first-deploy"
    assert outputs["status"] == "deployed"
    assert re.fullmatch(r"[0-9a-f-]{36}", outputs["database-id"])


def test_the_container_writes_the_job_summary(runs: ContainerRuns) -> None:
    """GITHUB_STEP_SUMMARY gets the table with the URL and the pull request's head commit."""
    summary = runs.opened.summary
    assert "| App | Status | URL | Commit | What changed | Duration |" in summary
    assert runs.expected_url in summary
    assert f"`{HEAD_OPENED[:7]}`" in summary


def test_two_container_runs_leave_one_pr_comment_updated_in_place(runs: ContainerRuns) -> None:
    """The fake GitHub holds one comment on #7, created by the first run and edited by the second."""
    assert runs.pushed.returncode == 0, runs.pushed.log
    (comment,) = runs.github.comments(7)
    body = str(comment["body"])
    assert "✅ Up to date" in body
    assert runs.expected_url in body
    assert f"`{HEAD_PUSHED[:7]}`" in body
    comment_writes = [c.method for c in runs.github.calls if c.method != "GET" and "comments" in c.path]
    assert comment_writes == ["POST", "PATCH"]


def test_the_container_records_deployments_with_their_url(runs: ContainerRuns) -> None:
    """Each deploying run leaves a Deployment whose last status is success with the app's URL."""
    deployments = runs.github.deployments()
    assert [d["ref"] for d in deployments] == [HEAD_OPENED, HEAD_PUSHED]
    for deployment in deployments:
        assert runs.github.statuses(int(deployment["id"]))[-1]["environment_url"] == runs.expected_url


def test_a_fork_pull_request_in_the_container_ends_with_a_notice_and_deploys_nothing(runs: ContainerRuns) -> None:
    """Pull request #8 from a fork: exit 0, a notice, status skipped, and no call for #8 anywhere."""
    assert runs.fork.returncode == 0, runs.fork.log
    (notice,) = workflow_commands(runs.fork.log, "notice")
    assert "comes from the fork mallory/hello-apps" in notice
    assert runs.fork.outputs == {"status": "skipped"}
    assert runs.github.comments(8) == []
    assert len(runs.github.deployments()) == 2


def test_no_secret_appears_in_anything_the_container_runs_produced(runs: ContainerRuns) -> None:
    """Logs, outputs, summaries, comments and GitHub request bodies hold no token, password or generated secret."""
    assert runs.session_secret in runs.opened.masked()
    texts = [
        *(run.visible_text() for run in (runs.opened, runs.pushed, runs.fork)),
        *(str(c["body"]) for c in runs.github.comments(7)),
        json.dumps(runs.github.bodies()),
    ]
    assert_no_secret(texts, [CF_TOKEN, GH_TOKEN, APP_PASSWORD, runs.session_secret])


def test_a_typescript_app_is_bundled_by_the_images_esbuild_and_answers_with_d1_data(
    docker: Docker, action_image: str, tmp_path: Path
) -> None:
    """The TypeScript fixture (npm packages installed, as after a workflow's `npm ci` step) deployed by the image:
    its pinned esbuild bundles src/index.ts, and the Worker answers with its D1 rows, KV and R2."""
    with (
        stamina.set_testing(True, attempts=3),
        running_emulator(tmp_path / "cfemu", subdomain="demo", api_token=CF_TOKEN, run_workers=True) as emulator,
        running_fake_github(token=GH_TOKEN, repository=REPOSITORY) as github,
    ):
        files = StepFiles.create(tmp_path / "runner", app=TYPESCRIPT_APP)
        inputs = default_inputs(
            api_token=CF_TOKEN,
            account_id=emulator.account_id,
            api_base_url=emulator.api_base_url,
            github_token=GH_TOKEN,
        )
        inputs["app-password"] = ""  # this app has no password gate
        environ = runner_environment(
            files, event_fixture="push.main.json", inputs=inputs, github_api_url=github.url, in_container=True
        )
        step = run_container(docker, action_image, files, environ)
        assert step.returncode == 0, step.log
        assert "bundle: built with esbuild 0.27.3 (src/index.ts is TypeScript or JSX): index.js" in step.log
        assert step.outputs["script-name"] == "ts-comments"
        with localhost_client(step.outputs["url"]) as client:
            assert [c["author"] for c in client.get("/api/comments").json()] == ["Kristian", "Serena", "Max"]
            assert client.put("/kv/from", content="the image").status_code == 204
            assert client.get("/kv/from").text == "the image"
