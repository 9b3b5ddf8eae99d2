"""A deploy that fails part-way says what it had already changed, so the user knows what the account holds;
the calls Cloudflare may answer oddly (a retried create, an expired upload token) are recovered from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import pytest
import stamina

from cfemu.launcher import Emulator
from deployer.commands import Hooks, Options, execute
from deployer.commands.deploy import DeployResult
from deployer.errors import CloudflareAPIError, DeployError, VerifyError
from devkit.example import EXAMPLE_SCRIPT
from tests.commands.conftest import settings_for
from tests.emulator.helpers import account_client, result

ON_CLOUDFLARES_SIDE = (
    "This is on Cloudflare's side, not in your app: the call was retried with backoff. Run the deploy again in a "
    "few minutes (www.cloudflarestatus.com shows incidents); what was deployed before still serves."
)
NOTHING_CHANGED = "Nothing was changed: the failure came before the first write."
CHANGED = "Changed before the failure: "
UPLOADED_ASSETS = "uploaded 3 asset files (served only once a Worker version uses them)"
APPLIED_SCHEMA = "applied schema.sql to items-app-db"
UPLOADED_WORKER = f"uploaded a new version of the Worker {EXAMPLE_SCRIPT}, which now serves"


@pytest.fixture(autouse=True)
def retries_without_waiting() -> Iterator[None]:
    with stamina.set_testing(True, attempts=2, cap=True):
        yield


async def deploy(emulator: Emulator, app: Path, options: Options | None = None) -> DeployResult:
    outcome = await execute("deploy", settings_for(emulator, app), options)
    assert isinstance(outcome, DeployResult)
    return outcome


async def failed_deploy(emulator: Emulator, app: Path, options: Options | None = None) -> DeployError:
    with pytest.raises(DeployError) as caught:
        await deploy(emulator, app, options)
    return caught.value


def databases(emulator: Emulator) -> list[str]:
    """The uuids of the databases named items-app-db."""
    with account_client(emulator) as api:
        return [d["uuid"] for d in result(api.get("/d1/database")) if d["name"] == "items-app-db"]


def changes_listed(hint: str) -> list[str]:
    """The writes the hint's last line lists, in the order it lists them."""
    line = hint.splitlines()[-1]
    assert line.startswith(CHANGED), hint
    assert line.endswith("."), hint
    return line.removeprefix(CHANGED).removesuffix(".").split("; ")


@pytest.mark.parametrize(
    ("method", "path", "after_steps_1_to_4"),
    [
        pytest.param("PUT", "/workers/scripts/*", [], id="worker-upload"),
        pytest.param("POST", "/workers/scripts/*/subdomain", [UPLOADED_WORKER], id="enable-url"),
        pytest.param("PATCH", "/workers/scripts/*/script-settings", [UPLOADED_WORKER, "enabled {url}"], id="record"),
    ],
)
async def test_a_first_deploy_failing_late_lists_every_write_it_made(
    emulator: Emulator, app: Path, method: str, path: str, after_steps_1_to_4: list[str]
) -> None:
    """Steps 1-4 finish side by side (their writes in either order), then the later writes in step order."""
    emulator.add_fault("500", method=method, path=path, times=-1)
    error = await failed_deploy(emulator, app)
    assert error.hint is not None
    first_line, _ = error.hint.split("\n")
    assert first_line == ON_CLOUDFLARES_SIDE
    (database,) = databases(emulator)
    listed = changes_listed(error.hint)
    assert sorted(listed[:3]) == sorted(
        [f"created the D1 database items-app-db ({database})", UPLOADED_ASSETS, APPLIED_SCHEMA]
    )
    url = emulator.workers_url(EXAMPLE_SCRIPT)
    assert listed[3:] == [change.format(url=url) for change in after_steps_1_to_4]


async def test_a_first_deploy_whose_url_could_not_be_enabled_is_redone_in_full(emulator: Emulator, app: Path) -> None:
    """The Worker was uploaded but workers.dev never enabled: no state was recorded, so the next deploy does
    every step again (not "unchanged": a Worker without state is redeployed in full) and enables the URL."""
    emulator.add_fault("500", method="POST", path="/workers/scripts/*/subdomain", times=-1)
    await failed_deploy(emulator, app)
    emulator.clear_faults()
    with account_client(emulator) as api:
        assert not [t for t in result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/settings"))["tags"] if "ds1-" in t]
    again = await deploy(emulator, app)
    assert again.status == "deployed" and again.changes is not None and again.changes.reason == "forced"
    with account_client(emulator) as api:
        assert result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/subdomain"))["enabled"] is True


async def test_a_failure_before_any_write_says_nothing_was_changed(emulator: Emulator, app: Path) -> None:
    await deploy(emulator, app)
    (app / "worker.js").write_text((app / "worker.js").read_text() + "\n// v2\n")
    emulator.add_fault("500", method="PUT", path="/workers/scripts/*", times=-1)
    error = await failed_deploy(emulator, app)
    assert error.hint == f"{ON_CLOUDFLARES_SIDE}\n{NOTHING_CHANGED}"


async def test_a_failed_check_of_the_live_app_lists_the_state_recorded_before_it(emulator: Emulator, app: Path) -> None:
    """A schema-only deploy records the new state without a new version; the check after it fails (this
    emulator runs no Worker: its workers.dev answers 503), and the message says the state was recorded."""
    await deploy(emulator, app)
    with (app / "schema.sql").open("a", encoding="utf-8") as schema:
        schema.write("\nCREATE INDEX IF NOT EXISTS items_by_id ON items (id);\n")
    groups: list[str] = []

    def group(title: str) -> AbstractContextManager[object]:
        groups.append(title)
        return nullcontext()

    with pytest.raises(VerifyError) as caught:
        await deploy(emulator, app, Options(verify=True, hooks=Hooks(group=group)))
    assert groups[-1] == f"Verify {emulator.workers_url(EXAMPLE_SCRIPT)}"
    assert caught.value.hint is not None
    assert caught.value.hint.splitlines()[-1] == (f"{CHANGED}{APPLIED_SCHEMA}; recorded the new state on the Worker.")


async def test_a_create_whose_answer_was_lost_uses_the_database_it_made(emulator: Emulator, app: Path) -> None:
    """The create went through but its answer was lost: the retry is refused with 7502 (the name exists),
    and the deploy binds that database instead of failing or making a second one."""
    emulator.add_fault("500", method="POST", path="/d1/database", after=True)
    outcome = await deploy(emulator, app)
    assert databases(emulator) == [outcome.database_id]
    assert outcome.database_created


async def test_a_refused_create_is_reported_when_no_database_has_the_name(emulator: Emulator, app: Path) -> None:
    emulator.add_fault("500", method="POST", path="/d1/database", times=-1)
    error = await failed_deploy(emulator, app)
    assert isinstance(error, CloudflareAPIError)
    assert (error.method, error.status, error.codes) == ("POST", 500, (10013,))
    assert databases(emulator) == []


async def test_an_expired_upload_token_opens_a_new_session_once(emulator: Emulator, app: Path) -> None:
    """The session's token is refused mid-upload: a warning, one new session, and every file still goes up."""
    emulator.add_fault("expire-tokens", times=1)
    warnings: list[str] = []
    outcome = await deploy(emulator, app, Options(hooks=Hooks(warn=warnings.append)))
    assert warnings == [
        "Cloudflare refused the asset upload token (Authentication error: invalid asset upload token "
        "(token expired) [code: 10000]); opening a new upload session"
    ]
    assert (outcome.assets_uploaded, outcome.asset_files) == (3, 3)
    sessions = [e for e in emulator.requests() if str(e["path"]).endswith("/assets-upload-session")]
    assert len(sessions) == 2
