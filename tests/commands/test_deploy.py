"""`deploy` as a function: what it returns, the steps it takes, and what it leaves on the (emulated) account."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import pytest

from cfemu.launcher import Emulator
from deployer.commands import Hooks, Options, execute
from deployer.commands import deploy as deploy_command
from deployer.commands.deploy import DeployResult
from deployer.commands.plan import Prepared
from deployer.errors import ConfigError, SchemaError
from deployer.steps import SIDE_BY_SIDE_GROUP, Step
from devkit.example import EXAMPLE_SCRIPT
from tests.commands.conftest import settings_for
from tests.emulator.helpers import account_client, result

ALL_STEPS = (
    Step.DATABASE,
    Step.SCHEMA,
    Step.ASSET_SESSION,
    Step.ASSET_UPLOAD,
    Step.WORKER,
    Step.SUBDOMAIN,
    Step.RECORD_STATE,
)


async def deploy(emulator: Emulator, app: Path, options: Options | None = None, **environ: str) -> DeployResult:
    outcome = await execute("deploy", settings_for(emulator, app, **environ), options)
    assert isinstance(outcome, DeployResult)
    return outcome


def deployed_settings(emulator: Emulator) -> dict[str, object]:
    with account_client(emulator) as api:
        settings: dict[str, object] = result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/settings"))
    return settings


async def test_a_first_deploy_takes_the_six_steps_and_says_what_it_did(emulator: Emulator, app: Path) -> None:
    """Every step, in step order; the database is created; the Worker is bound to it, its assets and secrets."""
    outcome = await deploy(emulator, app)
    assert (outcome.command, outcome.status) == ("deploy", "deployed")
    assert outcome.changes is not None and outcome.changes.reason == "first"
    assert sorted(outcome.steps, key=lambda step: step.number) == list(ALL_STEPS)
    assert outcome.database_created
    assert outcome.url == emulator.workers_url(EXAMPLE_SCRIPT)
    assert outcome.assets_uploaded == outcome.asset_files == 3
    assert outcome.generated_secrets == ("SESSION_SECRET",)
    assert outcome.outputs() == {
        "url": outcome.url,
        "script-name": EXAMPLE_SCRIPT,
        "status": "deployed",
        "changed": "first-deploy",
        "database-id": outcome.database_id,
        "d1-bookmark": "",  # a new database holds nothing to go back to
        "migrations-applied": "",
    }
    bindings = {(b["type"], b["name"]): b for b in deployed_settings(emulator)["bindings"]}  # type: ignore[attr-defined]
    assert bindings[("d1", "DB")]["id"] == outcome.database_id
    assert {("secret_text", "APP_PASSWORD"), ("secret_text", "SESSION_SECRET"), ("assets", "ASSETS")} <= set(bindings)


async def test_a_second_deploy_of_the_same_app_takes_no_step(emulator: Emulator, app: Path) -> None:
    first = await deploy(emulator, app)
    seq = emulator.last_seq()
    again = await deploy(emulator, app)
    assert again.status == "unchanged"
    assert again.changes is not None and again.changes.nothing
    assert again.steps == ()
    assert again.database_id == first.database_id
    assert [entry["method"] for entry in emulator.requests(since=seq)] == ["GET", "GET"]
    assert again.changed_words() == "nothing (already up to date)"


async def test_a_code_change_takes_only_step_5(emulator: Emulator, app: Path) -> None:
    await deploy(emulator, app)
    with (app / "worker.js").open("a", encoding="utf-8") as worker:
        worker.write("\n// changed\n")
    outcome = await deploy(emulator, app)
    assert outcome.steps == (Step.WORKER,)
    assert outcome.changes is not None and outcome.changes.kinds == ("code",)
    assert outcome.assets_uploaded == 0


async def test_a_schema_change_applies_it_and_records_the_state_without_a_new_version(
    emulator: Emulator, app: Path
) -> None:
    await deploy(emulator, app)
    with (app / "schema.sql").open("a", encoding="utf-8") as schema:
        schema.write("\nCREATE INDEX IF NOT EXISTS items_by_id ON items (id);\n")
    outcome = await deploy(emulator, app)
    assert outcome.steps == (Step.SCHEMA, Step.WORKER_TAGS)
    assert outcome.changes is not None and outcome.changes.kinds == ("schema",)


async def test_the_hooks_see_the_plan_first_every_secret_and_every_group(emulator: Emulator, app: Path) -> None:
    """`on_plan` runs before any write, `mask` gets the given and the generated secrets, groups follow the steps."""
    seen: list[str] = []
    masked: list[str] = []

    def on_plan(prepared: Prepared) -> None:
        writes = [entry for entry in emulator.requests() if entry["method"] != "GET"]
        seen.append(f"plan {prepared.plan.changes} after {len(writes)} writes")

    def group(title: str) -> AbstractContextManager[object]:
        seen.append(title)
        return nullcontext()

    options = Options(hooks=Hooks(mask=masked.append, group=group, on_plan=on_plan))
    await deploy(emulator, app, options, APP_PASSWORD="given password")
    assert seen == [
        Step.READ.group,
        "plan first-deploy after 0 writes",
        SIDE_BY_SIDE_GROUP,
        Step.WORKER.group,
        Step.SUBDOMAIN.group,
    ]
    assert masked[0] == "given password"
    assert len(masked) == 2 and len(masked[1]) == 64  # the generated SESSION_SECRET: 48 random bytes


async def test_without_credentials_nothing_is_called(emulator: Emulator, app: Path) -> None:
    with pytest.raises(ConfigError, match="Missing CLOUDFLARE_API_TOKEN"):
        await execute("deploy", settings_for(None, app))
    assert emulator.requests() == []


def worker_uploads(emulator: Emulator, since: int = 0) -> list[dict[str, object]]:
    return [e for e in emulator.requests(since=since) if e["method"] == "PUT"]


async def test_the_worker_upload_carries_exactly_what_cloudflare_needs(emulator: Emulator, app: Path) -> None:
    """The first upload's metadata and parts, field by field, then a code-only upload that keeps the assets."""
    first = await deploy(emulator, app)
    (upload,) = worker_uploads(emulator)
    form = upload["form"]
    metadata = form["metadata"]  # type: ignore[index]
    assert metadata["main_module"] == "worker.js"
    assert metadata["compatibility_date"] == "2025-01-01"
    assert metadata["compatibility_flags"] == []
    assert metadata["keep_bindings"] == ["secret_text", "secret_key"]
    assert metadata["bindings"] == [
        {"type": "d1", "name": "DB", "id": first.database_id},
        {"type": "secret_text", "name": "APP_PASSWORD", "text": "<redacted>"},
        {"type": "secret_text", "name": "SESSION_SECRET", "text": "<redacted>"},
        {"type": "assets", "name": "ASSETS"},
    ]
    assert set(metadata["assets"]) == {"jwt", "config"}
    assert metadata["assets"]["config"] == {
        "html_handling": "none",
        "not_found_handling": "none",
        "run_worker_first": True,
    }
    assert "keep_assets" not in metadata
    assert [tag for tag in metadata["tags"] if tag.startswith("ds1-")] == []  # state comes after step 6
    module = next(part for part in form["parts"] if part["name"] == "worker.js")  # type: ignore[index]
    assert (module["filename"], module["content_type"]) == ("worker.js", "application/javascript+module")
    assert module["size"] == (app / "worker.js").stat().st_size
    assert (first.asset_files, first.assets_uploaded) == (3, 3)
    assert first.asset_bytes_uploaded == sum(f.stat().st_size for f in (app / "public").iterdir())

    seq = emulator.last_seq()
    (app / "worker.js").write_text((app / "worker.js").read_text() + "\n// v2\n")
    again = await deploy(emulator, app)
    (upload,) = worker_uploads(emulator, seq)
    metadata = upload["form"]["metadata"]  # type: ignore[index]
    assert metadata["keep_assets"] is True
    assert "assets" not in metadata  # wrangler's form; the kept assets keep their config
    assert [b["type"] for b in metadata["bindings"]] == ["d1", "assets"]  # secrets kept, not re-sent
    assert sorted(tag.split("-")[1] for tag in metadata["tags"]) == ["assets", "code", "config", "schema", "secrets"]
    assert (again.assets_uploaded, again.asset_bytes_uploaded, again.secrets_sent) == (0, 0, ())


async def test_a_forced_deploy_finds_every_file_known_and_uploads_none(emulator: Emulator, app: Path) -> None:
    await deploy(emulator, app)
    forced = await deploy(emulator, app, Options(force=True))
    assert Step.ASSET_SESSION in forced.steps and Step.ASSET_UPLOAD not in forced.steps
    assert (forced.assets_uploaded, forced.database_created) == (0, False)
    assert forced.changed_words().startswith("code, assets, config, schema, secrets")


async def test_a_failing_schema_says_what_this_run_created(emulator: Emulator, app: Path) -> None:
    (app / "schema.sql").write_text("CREATE TABLE broken (\n")
    with pytest.raises(SchemaError) as caught:
        await deploy(emulator, app)
    assert caught.value.file == app / "schema.sql"
    assert caught.value.message.startswith("schema.sql line 1 failed on D1 database items-app-db")
    assert caught.value.message.endswith("[code: 7500]")  # D1's own words, with their code
    assert caught.value.line == 1
    assert caught.value.hint is not None
    assert caught.value.hint.splitlines()[0] == (
        "Fix the SQL in schema.sql and deploy again. D1 ran this deploy's SQL as one transaction, so none of it "
        "was kept (no migration, no d1_migrations row): the database is as it was, the Worker was not changed and "
        "the live app keeps serving."
    )
    database = next(d["uuid"] for d in result_list(emulator) if d["name"] == "items-app-db")
    # The assets may or may not have gone up beside it: they run side by side.
    assert f"Changed before the failure: created the D1 database items-app-db ({database})" in caught.value.hint


def result_list(emulator: Emulator) -> list[dict[str, str]]:
    with account_client(emulator) as api:
        databases: list[dict[str, str]] = result(api.get("/d1/database"))
    return databases


async def test_a_renamed_database_is_created_and_gets_the_schema(emulator: Emulator, app: Path) -> None:
    """Allowed to move (`allow_new_database`), the Worker moves to the database app.yml now names; that one is
    new, so schema.sql is applied to it."""
    first = await deploy(emulator, app)
    (app / "app.yml").write_text((app / "app.yml").read_text().replace("name: items-app-db", "name: items-v2-db"))
    moved = await deploy(emulator, app, Options(allow_new_database=True))
    assert moved.database_created and moved.database_id != first.database_id
    assert {Step.DATABASE, Step.SCHEMA} <= set(moved.steps)
    with account_client(emulator) as api:
        tables = result(api.post(f"/d1/database/{moved.database_id}/query", json={"sql": "SELECT * FROM items"}))
    assert tables[0]["success"] is True


async def test_a_deploy_without_verify_checks_nothing_and_shows_the_url(emulator: Emulator, app: Path) -> None:
    outcome = await deploy(emulator, app)
    assert outcome.checks == ()
    assert outcome.text == outcome.url == emulator.workers_url(EXAMPLE_SCRIPT)


async def test_deploy_is_run_with_the_client_the_registry_makes(app: Path) -> None:
    with pytest.raises(AssertionError, match=r"^deploy needs a client \(the registry makes one\)$"):
        await deploy_command.run(settings_for(None, app), None, Options())
