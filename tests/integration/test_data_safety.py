"""The app's rows are never lost by a deploy (issue: the app's data): each finding that once lost or broke
data, with the CLI against cfemu, reading the database back through D1's `/query` as a person with the token
would. (The running app's view of the same is in tests/e2e/test_migrations.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cfemu.launcher import Emulator
from devkit.example import copy_example
from tests.integration.deploying import api, run_deploy, writes

ITEMS = "SELECT id, name, created_at FROM items ORDER BY id"


def query(emulator: Emulator, database_id: str, sql: str) -> list[dict[str, Any]]:
    answer = api(emulator, "POST", f"/d1/database/{database_id}/query", json={"sql": sql})
    assert answer["success"], answer
    rows: list[dict[str, Any]] = answer["result"][-1]["results"]
    return rows


def snapshot(emulator: Emulator, database_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows and the schema, to compare a database row by row."""
    schema = query(emulator, database_id, "SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
    tables = [row["name"] for row in schema if row["type"] == "table" and not row["name"].startswith("_cf_")]
    return {"schema": schema, **{table: query(emulator, database_id, f'SELECT * FROM "{table}"') for table in tables}}


def deployed(emulator: Emulator, app: Path, *args: str) -> dict[str, str]:
    run = run_deploy(emulator, app, *args)
    assert run.returncode == 0, run.stderr
    return run.outputs


def add_rows(emulator: Emulator, database_id: str, *names: str) -> None:
    values = ", ".join(f"('{name}')" for name in names)
    query(emulator, database_id, f"INSERT INTO items (name) VALUES {values}")


def migration(app: Path, name: str, sql: str) -> Path:
    path = app / "migrations" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(sql)
    return path


def test_a_schema_that_drops_and_seeds_runs_once_and_force_loses_nothing(emulator: Emulator, tmp_path: Path) -> None:
    """Finding: schema.sql was re-run on every change and every --force; a DROP TABLE in it emptied the table
    and a seed INSERT in it duplicated its rows. Now it is the baseline of a new database only."""
    app = copy_example(tmp_path)
    (app / "schema.sql").write_text(
        "DROP TABLE IF EXISTS items;\n"
        "CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, created_at TEXT);\n"
        "INSERT INTO items (name) VALUES ('from the schema');\n"
    )
    database_id = deployed(emulator, app)["database-id"]
    add_rows(emulator, database_id, "added by a user")
    before = snapshot(emulator, database_id)

    forced = deployed(emulator, app, "--force")
    assert snapshot(emulator, database_id) == before
    assert forced["migrations-applied"] == ""

    (app / "schema.sql").write_text((app / "schema.sql").read_text() + "CREATE INDEX by_name ON items (name);\n")
    seq = emulator.last_seq()
    refused = run_deploy(emulator, app)
    assert refused.returncode == 1
    assert "schema.sql changed, but D1 database items-app-db already holds tables" in refused.stderr
    assert "write the change as a migration: migrations/0001_describe_the_change.sql" in refused.stderr
    read = f"POST /client/v4/accounts/{emulator.account_id}/d1/database/{database_id}/query"
    assert writes(emulator.requests(since=seq)) == [read, read]  # reads: its tables, then its ledger
    assert snapshot(emulator, database_id) == before


def test_a_seed_runs_once_when_the_database_is_created(emulator: Emulator, tmp_path: Path) -> None:
    app = copy_example(tmp_path)
    (app / "seed.sql").write_text("INSERT INTO items (name) VALUES ('welcome');\n")
    database_id = deployed(emulator, app)["database-id"]
    assert [row["name"] for row in query(emulator, database_id, ITEMS)] == ["welcome"]
    (app / "schema.sql").write_text(
        (app / "schema.sql").read_text() + "\nCREATE INDEX IF NOT EXISTS by_name ON items (name);\n"
    )
    migration(app, "0001_noop.sql", "SELECT 1;")
    deployed(emulator, app)
    deployed(emulator, app, "--force")
    assert [row["name"] for row in query(emulator, database_id, ITEMS)] == ["welcome"]


def test_an_added_column_is_added_once_and_later_deploys_still_work(emulator: Emulator, tmp_path: Path) -> None:
    """Finding: an ALTER TABLE … ADD COLUMN in schema.sql worked once, then failed every later schema change
    ("duplicate column name"). As a migration it runs once; the ledger says so."""
    app = copy_example(tmp_path)
    database_id = deployed(emulator, app)["database-id"]
    migration(app, "0001_add_done.sql", "ALTER TABLE items ADD COLUMN done INTEGER NOT NULL DEFAULT 0;\n")
    assert deployed(emulator, app)["migrations-applied"] == "0001_add_done.sql"
    migration(app, "0002_index_done.sql", "CREATE INDEX IF NOT EXISTS items_by_done ON items (done);\n")
    assert deployed(emulator, app)["migrations-applied"] == "0002_index_done.sql"
    assert deployed(emulator, app, "--force")["migrations-applied"] == ""
    ledger = query(emulator, database_id, "SELECT id, name FROM d1_migrations ORDER BY id")
    assert ledger == [{"id": 1, "name": "0001_add_done.sql"}, {"id": 2, "name": "0002_index_done.sql"}]


def test_a_failing_migration_changes_nothing_and_names_its_file_and_line(emulator: Emulator, tmp_path: Path) -> None:
    app = copy_example(tmp_path)
    database_id = deployed(emulator, app)["database-id"]
    add_rows(emulator, database_id, "one", "two")
    before = snapshot(emulator, database_id)
    versions = api(emulator, "GET", "/workers/scripts/items-app/versions")["result"]
    migration(app, "0001_add_done.sql", "ALTER TABLE items ADD COLUMN done INTEGER NOT NULL DEFAULT 0;\n")
    migration(
        app, "0002_broken.sql", "UPDATE items SET done = 1 WHERE id = 1;\nUPDATE items SET nope = 1 WHERE id = 2;\n"
    )
    (app / "worker.js").write_text((app / "worker.js").read_text() + "\n// a new version that must not go live\n")

    run = run_deploy(emulator, app, env={"GITHUB_ACTIONS": "true"})

    assert run.returncode == 1
    assert "migrations/0002_broken.sql line 2 failed on D1 database items-app-db" in run.stderr
    assert "no such column: nope" in run.stderr
    assert f"::error file={app / 'migrations' / '0002_broken.sql'},line=2," in run.stdout
    assert snapshot(emulator, database_id) == before  # 0001 was rolled back with it: no column, no ledger
    assert api(emulator, "GET", "/workers/scripts/items-app/versions")["result"] == versions


def test_a_destructive_migration_is_refused_unless_allowed(emulator: Emulator, tmp_path: Path) -> None:
    app = copy_example(tmp_path)
    database_id = deployed(emulator, app)["database-id"]
    add_rows(emulator, database_id, "one", "two")
    before = snapshot(emulator, database_id)
    migration(app, "0001_drop_created_at.sql", "-- not needed any more\nALTER TABLE items DROP COLUMN created_at;\n")

    plan = run_deploy(emulator, app, command="plan")
    assert plan.returncode == 0, plan.stderr
    assert "pending migrations: 0001_drop_created_at.sql" in plan.stdout
    assert (
        "! destructive: 0001_drop_created_at.sql line 2: drops column created_at of table items and its values "
        "(ALTER TABLE items DROP COLUMN created_at) (REFUSED without --allow-destructive)"
    ) in plan.stdout

    refused = run_deploy(emulator, app)
    assert refused.returncode == 1
    assert "Refusing to apply a migration that can lose rows of D1 database items-app-db" in refused.stderr
    assert "--allow-destructive" in refused.stderr
    assert snapshot(emulator, database_id) == before

    allowed = deployed(emulator, app, "--allow-destructive")
    assert allowed["migrations-applied"] == "0001_drop_created_at.sql" and allowed["d1-bookmark"]
    assert query(emulator, database_id, "SELECT * FROM items ORDER BY id") == [
        {"id": 1, "name": "one"},
        {"id": 2, "name": "two"},
    ]


def test_plan_shows_a_database_switch_before_it_is_refused(emulator: Emulator, tmp_path: Path) -> None:
    app = copy_example(tmp_path)
    database_id = deployed(emulator, app)["database-id"]
    app_yml = app / "app.yml"
    app_yml.write_text(app_yml.read_text().replace("name: items-app-db", "name: items-app-data"))
    plan = run_deploy(emulator, app, command="plan")
    assert plan.returncode == 0, plan.stderr
    assert (
        f"! The Worker's DB binding moves from D1 database items-app-db ({database_id}) to a new, empty database "
        "items-app-data (REFUSED without --allow-new-database)"
    ) in plan.stdout


def test_inspect_shows_applied_and_pending_migrations_and_the_bookmark_now(emulator: Emulator, tmp_path: Path) -> None:
    app = copy_example(tmp_path)
    migration(app, "0001_add_done.sql", "ALTER TABLE items ADD COLUMN done INTEGER NOT NULL DEFAULT 0;\n")
    deployed(emulator, app)
    migration(app, "0002_index_done.sql", "CREATE INDEX items_by_done ON items (done);\n")
    run = run_deploy(emulator, app, str(app), command="inspect")
    assert run.returncode == 0, run.stderr
    assert "    migrations applied: 0001_add_done.sql\n" in run.stdout
    assert "    migrations pending: 0002_index_done.sql\n" in run.stdout
    assert "    Time Travel bookmark now: " in run.stdout
