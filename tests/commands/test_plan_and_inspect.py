"""`plan` and `inspect` as functions: they read, they never write, and they say what they found."""

from __future__ import annotations

from pathlib import Path

import pytest

from cfemu.launcher import Emulator
from deployer.commands import execute
from deployer.commands.inspect import InspectResult
from deployer.commands.plan import PlanResult
from deployer.errors import DeployError
from devkit.example import APP_PASSWORD, EXAMPLE_SCRIPT
from tests.commands.conftest import settings_for


async def test_plan_without_credentials_runs_the_local_checks_only(emulator: Emulator, app: Path) -> None:
    outcome = await execute("plan", settings_for(None, app))
    assert isinstance(outcome, PlanResult)
    assert outcome.plan is None
    assert "remote: not read" in outcome.text
    assert "assets: 3 files" in outcome.text
    assert emulator.requests() == []


async def test_plan_reads_the_account_and_plans_a_first_deploy(emulator: Emulator, app: Path) -> None:
    outcome = await execute("plan", settings_for(emulator, app))
    assert isinstance(outcome, PlanResult)
    assert outcome.plan is not None and outcome.plan.changes.reason == "first"
    assert outcome.status == "planned"
    assert outcome.url == emulator.workers_url(EXAMPLE_SCRIPT)
    assert outcome.changed_words() == "would change: first-deploy"
    assert {entry["method"] for entry in emulator.requests()} == {"GET"}


async def test_inspect_describes_the_deployed_app_and_never_a_secret_value(emulator: Emulator, app: Path) -> None:
    await execute("deploy", settings_for(emulator, app))
    outcome = await execute("inspect", settings_for(emulator, app))
    assert isinstance(outcome, InspectResult)
    assert outcome.status == "inspected"
    assert {"name": "APP_PASSWORD", "type": "secret_text"} in outcome.report["bindings"]
    assert "APP_PASSWORD: secret (value hidden)" in outcome.text
    # wrangler's ledger is created with every new database (`DatabaseWork.claim`), migrations or not
    assert outcome.report["databases"][0]["tables"] == ["d1_migrations", "items"]
    assert APP_PASSWORD not in outcome.text + str(outcome.report)


async def test_inspect_of_a_worker_that_does_not_exist_says_so(emulator: Emulator, tmp_path: Path) -> None:
    settings = settings_for(emulator, tmp_path).model_copy(update={"name": "nope"})
    with pytest.raises(DeployError, match="No Worker named nope"):
        await execute("inspect", settings)
