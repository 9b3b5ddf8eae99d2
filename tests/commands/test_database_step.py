"""Steps 1-2 as a function: the database read, its ledger, the bookmark and how a failure is named
(`deployer.commands._database`, in-process against cfemu)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from cfemu.launcher import Emulator
from deployer.commands import Options
from deployer.errors import DeployError, SchemaError
from tests.commands.test_deploy import deploy
from tests.emulator.helpers import account_client, result

BOOKMARK = r"[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}"
ADD_DONE = "ALTER TABLE items ADD COLUMN done INTEGER NOT NULL DEFAULT 0;\n"


def migration(app: Path, name: str, sql: str) -> None:
    (app / "migrations").mkdir(exist_ok=True)
    (app / "migrations" / name).write_text(sql)


def query(emulator: Emulator, database_id: str, sql: str) -> list[dict[str, object]]:
    with account_client(emulator) as api:
        rows: list[dict[str, object]] = result(api.post(f"/d1/database/{database_id}/query", json={"sql": sql}))[-1][
            "results"
        ]
    return rows


async def test_each_migration_is_applied_once_after_a_bookmark_that_says_how_to_go_back(
    emulator: Emulator, app: Path
) -> None:
    first = await deploy(emulator, app)
    assert (first.bookmark, first.restore, first.migrations_applied) == (None, "", ())
    migration(app, "0001_add_done.sql", ADD_DONE)
    with capture_logs() as logs:
        one = await deploy(emulator, app)
    assert one.migrations_applied == ("0001_add_done.sql",)
    assert one.bookmark is not None and re.fullmatch(BOOKMARK, one.bookmark)
    database = one.database_id
    assert one.restore == (
        f"To undo it: python -m deployer restore --bookmark {one.bookmark} (or: wrangler d1 time-travel restore "
        f"items-app-db --bookmark={one.bookmark}; or the API: POST {emulator.api_base_url}/accounts/"
        f"{emulator.account_id}/d1/database/{database}/time_travel/restore?bookmark={one.bookmark})"
    )
    assert {
        "event": "time travel bookmark taken before changing the database",
        "database": "items-app-db",
        "bookmark": one.bookmark,
        "log_level": "info",
    } in logs
    assert {"event": one.restore, "log_level": "info"} in logs
    assert one.details == f"D1 Time Travel bookmark before this deploy: `{one.bookmark}`\n\n{one.restore}"

    # The ledger is read: 0001 is not applied again (it would fail: duplicate column name: done).
    migration(app, "0002_index_done.sql", "CREATE INDEX items_by_done ON items (done);\n")
    two = await deploy(emulator, app)
    assert two.migrations_applied == ("0002_index_done.sql",)
    assert query(emulator, str(database), "SELECT name FROM d1_migrations ORDER BY id") == [
        {"name": "0001_add_done.sql"},
        {"name": "0002_index_done.sql"},
    ]
    assert two.outputs()["migrations-applied"] == "0002_index_done.sql"


async def test_a_failing_migration_is_named_by_file_line_and_statement_with_the_bookmark(
    emulator: Emulator, app: Path
) -> None:
    await deploy(emulator, app)
    migration(app, "0001_add_done.sql", ADD_DONE)
    migration(
        app, "0002_broken.sql", "UPDATE items SET done = 1 WHERE id = 1;\nUPDATE items  SET nope = 1 WHERE id = 2;\n"
    )
    with pytest.raises(SchemaError) as caught:
        await deploy(emulator, app)
    error = caught.value
    assert error.message == (
        "migrations/0002_broken.sql line 2 failed on D1 database items-app-db in "
        "`UPDATE items SET nope = 1 WHERE id = 2`: no such column: nope: SQLITE_ERROR [code: 7500]"
    )
    assert (error.title, error.file, error.line) == (
        "migrations/0002_broken.sql failed",
        app / "migrations" / "0002_broken.sql",
        2,
    )
    assert error.hint is not None
    first_line = error.hint.splitlines()[0]
    assert re.fullmatch(
        r"Fix the SQL in migrations/0002_broken\.sql and deploy again\. D1 ran this deploy's SQL as one transaction, "
        r"so none of it was kept \(no migration, no d1_migrations row\): the database is as it was, the Worker was "
        rf"not changed and the live app keeps serving\. The database's state before this deploy is Time Travel "
        rf"bookmark {BOOKMARK}\.",
        first_line,
    )


async def test_a_failure_no_statement_can_be_found_for_names_the_files(emulator: Emulator, app: Path) -> None:
    await deploy(emulator, app)
    overflow = "SELECT abs(-9223372036854775807 - 1);\n"  # SQLite: "integer overflow", which names nothing
    migration(app, "0001_a.sql", ADD_DONE)
    migration(app, "0002_b.sql", overflow)
    with pytest.raises(SchemaError) as caught:
        await deploy(emulator, app)
    assert caught.value.message == (
        "the SQL of this deploy (migrations/0001_a.sql, migrations/0002_b.sql) failed on D1 database items-app-db: "
        "integer overflow: SQLITE_ERROR [code: 7500]"
    )
    assert (caught.value.title, caught.value.file, caught.value.line) == ("SQL failed", None, None)

    (app / "migrations" / "0001_a.sql").unlink()
    (app / "migrations" / "0002_b.sql").write_text("SELECT 1;\n" + overflow)
    with pytest.raises(SchemaError) as again:
        await deploy(emulator, app)
    assert again.value.message.startswith("migrations/0002_b.sql failed on D1 database items-app-db: integer")
    assert (again.value.title, again.value.file, again.value.line) == (
        "migrations/0002_b.sql failed",
        app / "migrations" / "0002_b.sql",
        None,
    )


async def test_a_new_database_gets_schema_migrations_and_seed_in_that_order(emulator: Emulator, app: Path) -> None:
    migration(app, "0001_add_done.sql", ADD_DONE)
    (app / "seed.sql").write_text("INSERT INTO items (name, done) VALUES ('seeded', 1);\n")
    outcome = await deploy(emulator, app, Options())
    assert outcome.migrations_applied == ("0001_add_done.sql",) and outcome.bookmark is None
    rows = query(emulator, str(outcome.database_id), "SELECT name, done FROM items")
    assert rows == [{"name": "seeded", "done": 1}]


async def test_seed_sql_is_not_applied_again_to_a_database_with_tables(emulator: Emulator, app: Path) -> None:
    (app / "seed.sql").write_text("INSERT INTO items (name) VALUES ('seeded');\n")
    first = await deploy(emulator, app)
    migration(app, "0001_add_done.sql", ADD_DONE)
    await deploy(emulator, app)
    assert query(emulator, str(first.database_id), "SELECT count(*) AS n FROM items") == [{"n": 1}]


async def test_a_long_failing_statement_is_shown_by_its_first_120_characters(emulator: Emulator, app: Path) -> None:
    await deploy(emulator, app)
    values = ", ".join(f"('{n:03d}')" for n in range(40))
    migration(app, "0001_long.sql", f"SELECT 1;\nINSERT INTO nowhere (name) VALUES {values};\n")
    with pytest.raises(SchemaError) as caught:
        await deploy(emulator, app)
    shown = f"INSERT INTO nowhere (name) VALUES {values}"[:120]
    assert f"in `{shown}`: no such table: nowhere" in caught.value.message


async def test_each_uploaded_file_carries_its_content_type(emulator: Emulator, app: Path) -> None:
    await deploy(emulator, app)
    uploads = [e for e in emulator.requests() if str(e["path"]).endswith("/workers/assets/upload")]
    parts = [part for entry in uploads for part in entry["form"]["parts"]]
    assert sorted(part["content_type"] for part in parts) == [
        "text/html; charset=utf-8",
        "text/html; charset=utf-8",
        "text/javascript; charset=utf-8",
    ]


async def test_a_failure_after_the_sql_says_which_files_were_applied(emulator: Emulator, app: Path) -> None:
    (app / "seed.sql").write_text("INSERT INTO items (name) VALUES ('x');\n")
    emulator.add_fault("500", method="POST", path="*/subdomain", times=-1)
    with pytest.raises(DeployError) as caught:
        await deploy(emulator, app)
    assert "Changed before the failure: created the D1 database items-app-db (" in str(caught.value.hint)
    assert "; applied schema.sql, seed.sql to items-app-db; " in str(caught.value.hint)
