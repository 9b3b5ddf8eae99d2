"""`preview`, `teardown` and `sweep`, in-process against cfemu over HTTP: a preview never touches production,
keeps its rows across pushes, and is removed only when it carries this app's preview tag."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina

from cfemu.launcher import Emulator, running_emulator
from deployer.commands import Hooks, Options, execute
from deployer.commands._deploy_result import DeployResult
from deployer.commands.sweep import SweepResult
from deployer.commands.teardown import TeardownResult
from deployer.errors import ConfigError, DatabaseLimitError
from deployer.previews import preview_tag
from tests.commands.conftest import settings_for
from tests.commands.test_database_step import migration, query
from tests.commands.test_deploy import deploy
from tests.emulator.helpers import account_client, result


async def preview(emulator: Emulator, app: Path, number: int, **options: object) -> DeployResult:
    outcome = await execute("preview", settings_for(emulator, app), Options(pull_request=number, **options))  # type: ignore[arg-type]
    assert isinstance(outcome, DeployResult)
    return outcome


async def teardown(emulator: Emulator, app: Path, number: int) -> TeardownResult:
    outcome = await execute("teardown", settings_for(emulator, app), Options(pull_request=number))
    assert isinstance(outcome, TeardownResult)
    return outcome


def scripts(emulator: Emulator) -> dict[str, list[str]]:
    """Every Worker of the account and its tags."""
    with account_client(emulator) as api:
        return {item["id"]: item.get("tags") or [] for item in result(api.get("/workers/scripts"))}


def databases(emulator: Emulator) -> dict[str, str]:
    """Every D1 database of the account: name -> uuid."""
    with account_client(emulator) as api:
        return {db["name"]: db["uuid"] for db in result(api.get("/d1/database", params={"per_page": 100}))}


def production_snapshot(emulator: Emulator) -> tuple[object, object, list[dict[str, object]]]:
    """What a preview must never change: production's deployed version, its settings and its rows."""
    with account_client(emulator) as api:
        deployments = result(api.get("/workers/scripts/items-app/deployments"))
        settings = result(api.get("/workers/scripts/items-app/settings"))
    rows = query(emulator, databases(emulator)["items-app-db"], "SELECT * FROM items ORDER BY id")
    return deployments, settings, rows


async def test_a_preview_has_its_own_worker_and_database_and_never_touches_production(
    emulator: Emulator, app: Path
) -> None:
    await deploy(emulator, app)
    query(emulator, databases(emulator)["items-app-db"], "INSERT INTO items (name) VALUES ('production row')")
    before = production_snapshot(emulator)

    first = await preview(emulator, app, 7)
    assert (first.command, first.status, first.script_name) == ("preview", "deployed", "items-app-pr-7")
    assert first.url.startswith("http://items-app-pr-7.demo.workers.dev.localhost:")
    assert first.database_created and first.database_name == "items-app-db-pr-7"
    assert first.database_id == databases(emulator)["items-app-db-pr-7"]
    assert first.outputs()["preview-url"] == first.url
    assert preview_tag("items-app", 7) in scripts(emulator)["items-app-pr-7"]
    assert query(emulator, first.database_id, "SELECT * FROM items") == []  # not production's rows
    assert ("Database", "`items-app-db-pr-7` (created by this run)") in first.report_rows()

    # A push: the same Worker and database, the reviewer's row kept, the new migration applied.
    query(emulator, first.database_id, "INSERT INTO items (name) VALUES ('reviewer row')")
    migration(app, "0001_add_done.sql", "ALTER TABLE items ADD COLUMN done INTEGER NOT NULL DEFAULT 0;\n")
    second = await preview(emulator, app, 7)
    assert (second.status, second.url, second.database_id) == ("deployed", first.url, first.database_id)
    assert second.migrations_applied == ("0001_add_done.sql",) and not second.database_created
    assert query(emulator, first.database_id, "SELECT name, done FROM items") == [{"name": "reviewer row", "done": 0}]
    assert production_snapshot(emulator) == before  # the migration is the preview's alone until main deploys it


async def test_the_preview_gets_the_given_password_and_a_session_secret_of_its_own(
    emulator: Emulator, app: Path
) -> None:
    """The password is the run's (a preview-only one); a given SESSION_SECRET is not sent, one is generated."""
    warnings: list[str] = []
    settings = settings_for(emulator, app, SESSION_SECRET="production-session-secret-0123456789")
    options = Options(pull_request=3, hooks=_warn_into(warnings))
    outcome = await execute("preview", settings, options)
    assert isinstance(outcome, DeployResult)
    assert outcome.secrets_sent == ("APP_PASSWORD", "SESSION_SECRET")
    assert outcome.generated_secrets == ("SESSION_SECRET",)
    assert "The SESSION_SECRET given is not sent to the preview: each preview generates its own" in warnings


def _warn_into(warnings: list[str]) -> Hooks:
    return Hooks(warn=warnings.append)


async def test_a_worker_with_the_preview_name_but_not_the_tag_is_left_alone(emulator: Emulator, app: Path) -> None:
    """Someone's own Worker called items-app-pr-5: preview refuses to take it over, teardown to delete it."""
    impostor = settings_for(emulator, app).model_copy(update={"name": "items-app-pr-5"})
    await execute("deploy", impostor)
    with pytest.raises(ConfigError, match="exists but was not deployed as this preview"):
        await preview(emulator, app, 5)
    with pytest.raises(ConfigError, match="is not the preview of items-app for pull request #5"):
        await teardown(emulator, app, 5)
    assert "items-app-pr-5" in scripts(emulator)
    assert set(databases(emulator)) == {"items-app-db"}  # the impostor's (app.yml names it), untouched


async def test_teardown_deletes_the_database_then_the_worker_and_a_second_one_finds_it_gone(
    emulator: Emulator, app: Path
) -> None:
    await deploy(emulator, app)
    before = production_snapshot(emulator)
    await preview(emulator, app, 7)
    await preview(emulator, app, 8)
    removed = await teardown(emulator, app, 7)
    assert (removed.status, removed.removal.database_deleted) == ("removed", "items-app-db-pr-7")
    assert removed.changed_words() == "deleted the preview Worker items-app-pr-7 and its D1 database items-app-db-pr-7"
    assert removed.environment == "preview/pr-7"
    assert set(scripts(emulator)) == {"items-app", "items-app-pr-8"}
    assert set(databases(emulator)) == {"items-app-db", "items-app-db-pr-8"}
    again = await teardown(emulator, app, 7)
    assert (again.status, again.removal.worker_deleted) == ("absent", False)
    assert production_snapshot(emulator) == before


async def test_shared_previews_use_one_database_that_teardown_keeps(emulator: Emulator, app: Path) -> None:
    one = await preview(emulator, app, 1, preview_database="shared")
    two = await preview(emulator, app, 2, preview_database="shared")
    assert one.database_name == two.database_name == "items-app-db-previews"
    assert one.database_id == two.database_id and one.database_created and not two.database_created
    warnings: list[str] = []
    outcome = await execute(
        "teardown",
        settings_for(emulator, app),
        Options(pull_request=1, hooks=_warn_into(warnings)),
    )
    assert isinstance(outcome, TeardownResult)
    assert outcome.removal.database_deleted == ""
    assert warnings == [
        "D1 database items-app-db-previews is not this preview's own (items-app-db-pr-1), so it was kept"
    ]
    assert "items-app-db-previews" in databases(emulator) and "items-app-pr-1" not in scripts(emulator)


@pytest.fixture
def two_database_account(tmp_path: Path) -> Iterator[Emulator]:
    """An account that may hold two D1 databases."""
    with running_emulator(tmp_path / "cfemu-small", subdomain="demo", extra_args=["--max-databases", "2"]) as emu:
        yield emu


async def test_the_database_limit_names_the_previews_holding_one_and_the_ways_out(
    two_database_account: Emulator, app: Path
) -> None:
    emulator = two_database_account
    await deploy(emulator, app)
    await preview(emulator, app, 1)
    with pytest.raises(DatabaseLimitError) as caught:
        await preview(emulator, app, 2)
    error = caught.value
    assert 7406 in error.codes
    assert "needs its own D1 database (items-app-db-pr-2)" in error.message
    assert "as many as its plan allows (Free: 10)" in error.message
    assert "This app's previews that hold one: items-app-pr-1 (pull request #1)." in error.message
    assert error.hint is not None and "sweep" in error.hint and "preview-database: shared" in error.hint
    assert "uses items-app-db-previews" in error.hint
    assert "Nothing was changed" in error.hint
    assert "items-app-pr-2" not in scripts(emulator)
    # The way out works on the same account: the shared database is the second one.
    await teardown(emulator, app, 1)
    shared = await preview(emulator, app, 2, preview_database="shared")
    assert shared.status == "deployed"


async def test_two_preview_runs_at_once_end_in_one_preview_with_the_seed_once(emulator: Emulator, app: Path) -> None:
    """Both runs create the database (one finds it made by the other) and fill it: the ledger is created
    first without IF NOT EXISTS, so one request fails whole, reads the database again and finds it full.
    (Whether the two interleave depends on timing; tests/commands/test_database_races.py makes each case
    happen every time.)"""
    (app / "seed.sql").write_text("INSERT INTO items (name) VALUES ('seeded');\n")
    first, second = await asyncio.gather(preview(emulator, app, 9), preview(emulator, app, 9))
    assert first.database_id == second.database_id == databases(emulator)["items-app-db-pr-9"]
    assert [name for name in databases(emulator) if "pr-9" in name] == ["items-app-db-pr-9"]
    assert query(emulator, first.database_id or "", "SELECT name FROM items") == [{"name": "seeded"}]
    again = await preview(emulator, app, 9)
    assert again.status == "unchanged"


async def sweep(emulator: Emulator, app: Path, states: dict[int, str | None], **options: object) -> SweepResult:
    async def state(number: int) -> str | None:
        return states.get(number)

    outcome = await execute("sweep", settings_for(emulator, app), Options(pull_request_state=state, **options))  # type: ignore[arg-type]
    assert isinstance(outcome, SweepResult)
    return outcome


async def test_sweep_removes_exactly_the_previews_of_closed_pull_requests(
    emulator: Emulator, app: Path, tmp_path: Path
) -> None:
    await deploy(emulator, app)
    for number in (1, 2, 3, 4):
        await preview(emulator, app, number)
    other = settings_for(emulator, app).model_copy(update={"name": "other-app"})  # another app's preview
    await execute("preview", other, Options(pull_request=1))
    states: dict[int, str | None] = {1: "closed", 2: "open", 3: "closed", 4: None}  # 4: cannot be read

    dry = await sweep(emulator, app, states, dry_run=True)
    assert (dry.status, [s.preview.number for s in dry.stale], dry.removals) == ("planned", [1, 3], ())
    assert "would remove items-app-pr-1: pull request #1 is closed" in dry.text
    assert "kept (their pull request could not be read): items-app-pr-4" in dry.text
    assert len(scripts(emulator)) == 6

    swept = await sweep(emulator, app, states)
    assert swept.status == "swept" and swept.changed_words() == "removed 2 of 4 previews"
    assert [r.database_deleted for r in swept.removals] == ["items-app-db-pr-1", "items-app-db-pr-3"]
    assert set(scripts(emulator)) == {"items-app", "items-app-pr-2", "items-app-pr-4", "other-app-pr-1"}
    assert swept.outputs()["previews-removed"] == "1,3"


async def test_sweep_by_age_alone_and_its_refusal_without_a_way_to_judge(emulator: Emulator, app: Path) -> None:
    await preview(emulator, app, 1)
    fresh = await execute("sweep", settings_for(emulator, app), Options(max_age=dt.timedelta(days=1)))
    assert isinstance(fresh, SweepResult) and fresh.stale == ()
    old = await execute("sweep", settings_for(emulator, app), Options(max_age=dt.timedelta(0)))
    assert isinstance(old, SweepResult) and [r.script for r in old.removals] == ["items-app-pr-1"]
    with pytest.raises(ConfigError, match="no GitHub access to read pull requests and no maximum age"):
        await execute("sweep", settings_for(emulator, app), Options())


async def test_preview_and_teardown_need_a_pull_request_number(emulator: Emulator, app: Path) -> None:
    for command in ("preview", "teardown"):
        for options in (Options(), Options(pull_request=0)):
            with pytest.raises(ConfigError, match=f"{command} needs the pull request's number"):
                await execute(command, settings_for(emulator, app), options)
    assert emulator.requests() == []


async def test_a_sweep_that_cannot_remove_one_preview_removes_the_others_and_says_so(
    emulator: Emulator, app: Path
) -> None:
    for number in (1, 2, 3):
        await preview(emulator, app, number)
    emulator.add_fault("500", method="DELETE", path="/workers/scripts/items-app-pr-2", times=-1)
    with stamina.set_testing(True, attempts=2):
        swept = await execute("sweep", settings_for(emulator, app), Options(max_age=dt.timedelta(0)))
    assert isinstance(swept, SweepResult)
    assert [r.number for r in swept.removals] == [1, 3]
    assert swept.incomplete.startswith("sweep could not remove 1 preview(s): items-app-pr-2: ")
    assert swept.outputs()["previews-removed"] == "1,3" and swept.changed_words() == "removed 2 of 3 previews"
    assert set(scripts(emulator)) == {"items-app-pr-2"}
