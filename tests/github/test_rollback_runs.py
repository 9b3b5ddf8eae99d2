"""A rolled-back deploy, as GitHub shows it: the step fails with status rolled-back, the summary and the pull
request's comment say "rolled back to …", and the GitHub Deployment is a failure with that reason."""

from __future__ import annotations

from devkit.example import EXAMPLE_SCRIPT
from tests.e2e.test_rollback import break_home
from tests.emulator.helpers import account_client, result
from tests.github.conftest import LiveStep


def test_a_preview_that_fails_its_checks_is_rolled_back_and_github_says_so(live_step: LiveStep) -> None:
    run, github = live_step.run, live_step.github
    first = run("pull_request.opened.json", command="preview", rollback_on_failure="true")
    assert first.returncode == 0, first.log
    break_home(live_step.app)

    failed = run("pull_request.synchronize.json", command="preview", rollback_on_failure="true")
    assert failed.returncode == 1
    assert failed.outputs["status"] == "rolled-back"
    assert "### ↩️ Rolled back: items-app" in failed.summary
    assert "rolled back to version 1" in failed.summary
    (comment,) = [c for c in github.comments(7) if "cf-stateful-deployer:comment" in str(c["body"])]
    assert "↩️ Rolled back" in comment["body"]
    assert "rolled back to version 1" in comment["body"]
    newest = github.deployments()[-1]
    assert newest["environment"] == "preview/pr-7"
    final = github.statuses(newest["id"])[-1]
    assert final["state"] == "failure"
    assert final["description"].startswith("Rolled back to version 1 (")


def test_a_preview_is_not_rolled_back_by_default(live_step: LiveStep) -> None:
    """A broken preview stays up for its author to look at; the run fails."""
    run = live_step.run
    assert run("pull_request.opened.json", command="preview").returncode == 0
    break_home(live_step.app)
    failed = run("pull_request.synchronize.json", command="preview")
    assert failed.returncode == 1
    assert failed.outputs["status"] == "failed"
    assert "rolled back" not in failed.summary.lower()


def test_a_production_deploy_is_rolled_back_by_default(live_step: LiveStep) -> None:
    """command: deploy on a push, no rollback input: the failing version goes, the Deployment says why."""
    run, github = live_step.run, live_step.github
    assert run("push.main.json").returncode == 0
    break_home(live_step.app)
    failed = run("push.main.json")
    assert failed.returncode == 1
    assert failed.outputs["status"] == "rolled-back"
    assert "rolled back to version 1" in failed.summary
    assert "rolled back since" in failed.summary and "which now serves" not in failed.summary
    newest = github.deployments()[-1]
    assert newest["environment"] == "production"
    final = github.statuses(newest["id"])[-1]
    assert final["state"] == "failure"
    assert final["description"].startswith("Rolled back to version 1 (")


def test_with_rollback_on_failure_false_the_failing_production_version_stays(live_step: LiveStep) -> None:
    run, emulator = live_step.run, live_step.emulator
    assert run("push.main.json").returncode == 0
    break_home(live_step.app)
    failed = run("push.main.json", rollback_on_failure="false")
    assert (failed.returncode, failed.outputs["status"]) == (1, "failed")
    assert "rolled back" not in failed.summary.lower()
    with account_client(emulator) as api:
        versions = result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/versions"))["items"]
        (share,) = result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/deployments"))["deployments"][0]["versions"]
    assert share["version_id"] == versions[0]["id"]  # the newest, failing version is live
