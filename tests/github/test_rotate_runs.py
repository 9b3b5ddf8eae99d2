"""`command: rotate` on a schedule (.github/examples/rotate.yml), through the action, against a cfemu that runs
the example Worker: the summary names what rotated and each check, and no value is shown anywhere."""

from __future__ import annotations

from cfemu.launcher import Emulator
from devkit.example import APP_PASSWORD, EXAMPLE_SCRIPT
from tests.emulator.helpers import account_client, result
from tests.github.conftest import CF_TOKEN, GH_TOKEN, LiveStep
from tests.github.harness import assert_no_secret, workflow_commands

NEW_PASSWORD = "next-password-Wm4Tq8Zr"


def secret_names(emulator: Emulator) -> list[str]:
    with account_client(emulator) as api:
        return sorted(item["name"] for item in result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/secrets")))


def test_a_scheduled_rotation_reports_names_and_checks_and_never_a_value(
    live_step: LiveStep,
) -> None:
    run, emulator, github = live_step.run, live_step.emulator, live_step.github
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


def test_a_bad_mode_is_refused_with_an_annotation_and_changes_nothing(live_step: LiveStep) -> None:
    run, emulator = live_step.run, live_step.emulator
    assert run("push.main.json", app_password=APP_PASSWORD).returncode == 0
    with account_client(emulator) as api:
        before = result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/versions"))
    refused = run("schedule.json", command="rotate", mode="soft", app_password=APP_PASSWORD)
    assert refused.returncode == 1
    (error,) = workflow_commands(refused.log, "error")
    assert "input mode must be one of graceful, revoke, not 'soft'" in error
    with account_client(emulator) as api:
        assert result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/versions")) == before
