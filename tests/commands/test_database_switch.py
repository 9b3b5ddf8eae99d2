"""Which database the Worker is bound to, and a deploy that would bind it to another (in-process, cfemu):
refused unless allowed, found through a renamed binding, forgotten when it was deleted; and what the
database step says (warnings, the files it applied) when it has something to say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from cfemu.launcher import Emulator
from deployer.commands import Hooks, Options
from deployer.errors import DataSafetyError
from tests.commands.test_database_step import migration, query
from tests.commands.test_deploy import deploy
from tests.emulator.helpers import account_client, result


def rename_database(app: Path, name: str) -> None:
    yml = app / "app.yml"
    yml.write_text(re.sub(r"(?m)^  name: .*$", f"  name: {name}", yml.read_text()))


def rename_binding(app: Path, binding: str) -> None:
    yml = app / "app.yml"
    yml.write_text(yml.read_text().replace("  binding: DB\n", f"  binding: {binding}\n"))
    worker = app / "worker.js"
    worker.write_text(worker.read_text().replace("env.DB", f"env.{binding}"))


def warnings_into(found: list[str], **options: object) -> Options:
    return Options(hooks=Hooks(warn=found.append), **options)  # type: ignore[arg-type]


async def test_a_changed_database_name_is_refused_naming_both_databases(emulator: Emulator, app: Path) -> None:
    first = await deploy(emulator, app)
    rename_database(app, "items-app-db-2")
    with pytest.raises(DataSafetyError) as caught:
        await deploy(emulator, app)
    assert caught.value.message == (
        f"app.yml's d1.name is 'items-app-db-2', but the Worker's DB binding is D1 database items-app-db "
        f"({first.database_id}), which holds its current rows; this deploy would bind it to a new, empty database "
        "items-app-db-2"
    )
    with account_client(emulator) as api:
        assert [db["name"] for db in result(api.get("/d1/database"))] == ["items-app-db"]  # nothing created


async def test_an_allowed_switch_warns_and_binds_the_new_database(emulator: Emulator, app: Path) -> None:
    first = await deploy(emulator, app)
    rename_database(app, "items-app-db-2")
    found: list[str] = []
    moved = await deploy(emulator, app, warnings_into(found, allow_new_database=True))
    assert moved.database_created and moved.database_id != first.database_id
    assert query(emulator, moved.database_id or "", "SELECT name FROM sqlite_master WHERE name = 'items'") != []
    assert found == [
        f"The Worker's DB binding moves from D1 database items-app-db ({first.database_id}) to a new, empty "
        "database items-app-db-2"
    ]


async def test_a_renamed_binding_still_finds_the_database_holding_the_rows(emulator: Emulator, app: Path) -> None:
    """The Worker's only D1 binding is the bound database, whatever it is called: renaming DB to DATA with the
    same d1.name is no switch; renaming it and d1.name in one deploy is one, and refused."""
    first = await deploy(emulator, app)
    rename_binding(app, "DATA")
    rename_database(app, "elsewhere")
    with pytest.raises(DataSafetyError, match=f"binding is D1 database items-app-db \\({first.database_id}\\)"):
        await deploy(emulator, app)
    rename_database(app, "items-app-db")
    same = await deploy(emulator, app)
    assert same.database_id == first.database_id and not same.database_created


async def test_a_bound_database_deleted_meanwhile_holds_no_rows_to_protect(emulator: Emulator, app: Path) -> None:
    first = await deploy(emulator, app)
    with account_client(emulator) as api:
        result(api.delete(f"/d1/database/{first.database_id}"))
    rename_database(app, "items-app-db-2")
    again = await deploy(emulator, app)
    assert again.database_created and again.database_id != first.database_id


async def test_a_var_change_looks_the_database_up_without_reading_it(emulator: Emulator, app: Path) -> None:
    """Only the config changed: the database is found again (step 1) but its SQL is unchanged, so it is not
    read or written."""
    first = await deploy(emulator, app)
    seq = emulator.last_seq()
    yml = app / "app.yml"
    yml.write_text(yml.read_text() + "vars:\n  GREETING: hello\n")
    changed = await deploy(emulator, app)
    assert changed.database_id == first.database_id and changed.status == "deployed"
    d1_calls = [
        f"{e['method']} {str(e['path']).split('/d1/')[1]}" for e in emulator.requests(since=seq) if "/d1/" in e["path"]
    ]
    assert d1_calls == ["GET database"]  # found by name; it is the bound one, so not read again by id


async def test_a_migration_alone_reads_the_bound_database_without_looking_it_up(emulator: Emulator, app: Path) -> None:
    first = await deploy(emulator, app)
    seq = emulator.last_seq()
    migration(app, "0001_add_done.sql", "ALTER TABLE items ADD COLUMN done INTEGER NOT NULL DEFAULT 0;\n")
    await deploy(emulator, app)
    lookups = [e for e in emulator.requests(since=seq) if str(e["path"]).endswith("/d1/database")]
    assert lookups == [] and first.database_id


async def test_the_database_step_names_the_files_it_applied_and_the_ledgers_strangers(
    emulator: Emulator, app: Path
) -> None:
    (app / "seed.sql").write_text("INSERT INTO items (name) VALUES ('seeded');\n")
    with capture_logs() as logs:
        first = await deploy(emulator, app)
    step = next(e for e in logs if str(e["event"]).startswith("step 2/6"))
    assert step["files"] == "schema.sql, seed.sql"
    query(emulator, first.database_id or "", "INSERT INTO d1_migrations (name) VALUES ('0001_gone.sql')")
    migration(app, "0002_add_done.sql", "ALTER TABLE items ADD COLUMN done INTEGER NOT NULL DEFAULT 0;\n")
    found: list[str] = []
    await deploy(emulator, app, warnings_into(found))
    assert found == [
        "D1 database items-app-db lists the migration 0001_gone.sql in d1_migrations, but migrations/ has no such "
        "file (renamed or deleted?); nothing is done about it"
    ]


async def test_an_allowed_destructive_migration_is_applied(emulator: Emulator, app: Path) -> None:
    first = await deploy(emulator, app)
    migration(app, "0001_drop_items.sql", "DROP TABLE items;\n")
    with pytest.raises(DataSafetyError, match="Refusing to apply a migration that can lose rows"):
        await deploy(emulator, app)
    applied = await deploy(emulator, app, Options(allow_destructive=True))
    assert applied.migrations_applied == ("0001_drop_items.sql",) and applied.bookmark
    assert query(emulator, first.database_id or "", "SELECT name FROM sqlite_master WHERE name = 'items'") == []


async def test_a_database_with_tables_and_no_ledger_is_adopted_without_reading_one(
    emulator: Emulator, app: Path
) -> None:
    """A database made elsewhere (tables, no d1_migrations): its rows are kept, and no ledger is read that is
    not there."""
    with account_client(emulator) as api:
        database = result(api.post("/d1/database", json={"name": "items-app-db"}))["uuid"]
    query(emulator, database, "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, created_at TEXT)")
    query(emulator, database, "INSERT INTO items (name) VALUES ('made elsewhere')")
    migration(app, "0001_add_done.sql", "ALTER TABLE items ADD COLUMN done INTEGER NOT NULL DEFAULT 0;\n")
    adopted = await deploy(emulator, app)
    assert adopted.database_id == database and not adopted.database_created
    assert adopted.migrations_applied == ("0001_add_done.sql",)
    assert query(emulator, database, "SELECT name, done FROM items") == [{"name": "made elsewhere", "done": 0}]
