"""The seed's verification checklist, end to end: the CLI deploys items-app to cfemu, HTTP checks every item."""

from __future__ import annotations

import itertools

import pytest

from devkit.checklist import CHECK_KEYS, CHECK_NAMES, CheckResult, format_results, run_checklist
from tests.e2e.helpers import DeployedApp, deploy, deployed_version_id, edited_copy

_redeploys = itertools.count(1)


@pytest.fixture(scope="module")
def results(items_app: DeployedApp) -> dict[str, CheckResult]:
    """Every check of the checklist, run once against the deployed app (with API access and a redeploy)."""

    def redeploy() -> str:
        before = deployed_version_id(items_app)
        n = next(_redeploys)
        changed = edited_copy(
            items_app.app_dir,
            items_app.app_dir.parent / f"redeploy-{n}" / "items-app",
            append={"worker.js": f"\n// code-only change {n}\n"},
        )
        assert deploy(items_app.emu, changed) == items_app.url
        after = deployed_version_id(items_app)
        assert after != before, "the redeploy did not make a new version"
        return f"version {before[:8]} → {after[:8]}"

    outcome = run_checklist(items_app.url, items_app.password, api=items_app.api_access(), redeploy=redeploy)
    print(format_results(outcome))
    return {check.name: check for check in outcome}


def test_deployer_reports_the_browser_url(items_app: DeployedApp) -> None:
    """The CLI prints the emulator's workers.dev URL for the script, one a browser can open."""
    assert items_app.url == items_app.emu.workers_url("items-app")
    assert items_app.url.startswith("http://items-app.demo.workers.dev.localhost:")


def test_every_check_ran(results: dict[str, CheckResult]) -> None:
    """With API access and a redeploy hook, the run covers the whole checklist."""
    assert list(results) == list(CHECK_NAMES)


@pytest.mark.parametrize("check", CHECK_NAMES, ids=CHECK_KEYS)
def test_check_passes(results: dict[str, CheckResult], check: str) -> None:
    """The check passes against the app cfemu runs."""
    outcome = results[check]
    assert outcome.ok, outcome.detail
