"""`command: rotate` on a schedule (.github/examples/rotate.yml), through the action, against a cfemu that runs
the example Worker: the summary names what rotated and each check, and no value is shown anywhere."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import stamina

from cfemu.launcher import Emulator, running_emulator
from devkit.example import APP_PASSWORD, EXAMPLE_SCRIPT
from tests.emulator.helpers import account_client, result
from tests.github.conftest import CF_TOKEN, GH_TOKEN
from tests.github.fake_github import FakeGitHub, running_fake_github
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

Step = Callable[..., StepResult]
NEW_PASSWORD = "next-password-Wm4Tq8Zr"


@pytest.fixture
def step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Step, Emulator, FakeGitHub]]:
    """Run one action step (`inputs` over the defaults) against a cfemu with Workers and a fake GitHub."""
    with (
        stamina.set_testing(True, attempts=3),
        running_emulator(tmp_path / "cfemu", subdomain="demo", api_token=CF_TOKEN, run_workers=True) as emulator,
        running_fake_github(token=GH_TOKEN, repository=REPOSITORY) as github,
    ):
        files = StepFiles.create(tmp_path / "runner")
        defaults = default_inputs(
            api_token=CF_TOKEN,
            account_id=emulator.account_id,
            api_base_url=emulator.api_base_url,
            github_token=GH_TOKEN,
        )

        def run(fixture: str, **inputs: str) -> StepResult:
            values = {**defaults, **{name.replace("_", "-"): value for name, value in inputs.items()}}
            environ = runner_environment(
                files, event_fixture=fixture, inputs=values, github_api_url=github.url, in_container=False
            )
            return run_in_process(files, environ, monkeypatch)

        yield run, emulator, github


def secret_names(emulator: Emulator) -> list[str]:
    with account_client(emulator) as api:
        return sorted(item["name"] for item in result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/secrets")))


def test_a_scheduled_rotation_reports_names_and_checks_and_never_a_value(
    step: tuple[Step, Emulator, FakeGitHub],
) -> None:
    run, emulator, github = step
    deployed = run("push.main.json", app_password=APP_PASSWORD)
    assert deployed.returncode == 0, deployed.log
    calls_before = len(github.calls)

    graceful = run("schedule.json", command="rotate", app_password=APP_PASSWORD)
    assert graceful.returncode == 0, graceful.log
    assert (graceful.outputs["status"], graceful.outputs["rotated"], graceful.outputs["rotated-via"]) == (
        "rotated",
        "SESSION_SECRET",
        "settings",
    )
    assert "### 🔑 Rotated: items-app (rotate)" in graceful.summary
    assert "rotated SESSION_SECRET (graceful)" in graceful.summary
    assert "ok  a session from before the rotation still works" in graceful.summary
    assert secret_names(emulator) == ["APP_PASSWORD", "SESSION_SECRET", "SESSION_SECRET_PREVIOUS"]

    password = run("schedule.json", command="rotate", secrets="APP_PASSWORD", app_password=NEW_PASSWORD)
    assert password.returncode == 0, password.log
    assert "ok  the new password signs in" in password.summary
    assert "ok  a wrong password is refused" in password.summary
    assert len(github.calls) == calls_before, "a rotation records no GitHub Deployment and writes no comment"
    assert_no_secret(
        [graceful.visible_text(), password.visible_text()], [APP_PASSWORD, NEW_PASSWORD, CF_TOKEN, GH_TOKEN]
    )


def test_a_bad_mode_is_refused_with_an_annotation_and_changes_nothing(step: tuple[Step, Emulator, FakeGitHub]) -> None:
    run, emulator, _ = step
    assert run("push.main.json", app_password=APP_PASSWORD).returncode == 0
    with account_client(emulator) as api:
        before = result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/versions"))
    refused = run("schedule.json", command="rotate", mode="soft", app_password=APP_PASSWORD)
    assert refused.returncode == 1
    (error,) = workflow_commands(refused.log, "error")
    assert "input mode must be one of graceful, revoke, not 'soft'" in error
    with account_client(emulator) as api:
        assert result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/versions")) == before
