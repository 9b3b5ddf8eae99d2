"""A schema change with data in it, end to end: the running app's rows survive a migration (the seed's rebuild
pattern), reruns and --force change nothing, and the bookmark taken before the migration brings the old
database back, as the running Worker sees it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cfemu.launcher import Emulator, running_emulator
from devkit.example import copy_example
from devkit.loopback import localhost_client
from tests.e2e.helpers import sign_in
from tests.integration.deploying import run_deploy
from tests.integration.test_data_safety import ITEMS, query

# The seed's pattern for a change SQLite's ALTER TABLE cannot make: a new table of the new shape, the rows
# copied, the old one dropped, the new one renamed; D1 runs the file (with its ledger row) as one transaction.
ADD_DONE = """-- Items get a done flag.
CREATE TABLE items_new (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  created_at TEXT DEFAULT CURRENT_TIMESTAMP,
  done INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1))
);
INSERT INTO items_new (id, name, created_at) SELECT id, name, created_at FROM items;
DROP TABLE items;
ALTER TABLE items_new RENAME TO items;
"""


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with running_emulator(tmp_path_factory.mktemp("migrations") / "cfemu", run_workers=True) as emulator:
        yield emulator


def app_named(tmp_path: Path, name: str) -> Path:
    """The example app as Worker `name` with database `name-db`, so tests share one emulator."""
    app = copy_example(tmp_path)
    app_yml = app / "app.yml"
    text = app_yml.read_text().replace("name: items-app-db", f"name: {name}-db")
    app_yml.write_text(text.replace("name: items-app\n", f"name: {name}\n"))
    return app


def deployed(emu: Emulator, app: Path, *args: str) -> dict[str, str]:
    run = run_deploy(emu, app, *args, verify=True)
    assert run.returncode == 0, run.stderr
    return run.outputs


def columns(emu: Emulator, database_id: str) -> list[str]:
    return [row["name"] for row in query(emu, database_id, "SELECT name FROM pragma_table_info('items')")]


def items_seen_by_the_app(url: str) -> list[dict[str, Any]]:
    with localhost_client(url) as client:
        sign_in(client)
        response = client.get("/api/items")
        assert response.status_code == 200
        rows: list[dict[str, Any]] = response.json()
        return rows


def test_a_migration_keeps_every_row_and_reruns_or_force_change_nothing(emu: Emulator, tmp_path: Path) -> None:
    app = app_named(tmp_path, "migrated")
    first = deployed(emu, app)
    database_id = first["database-id"]
    with localhost_client(first["url"]) as client:
        sign_in(client)
        for name in ("milk", "bread"):
            assert client.post("/api/items", json={"name": name}).status_code == 201
    before = query(emu, database_id, ITEMS)

    (app / "migrations").mkdir()
    (app / "migrations" / "0001_add_done.sql").write_text(ADD_DONE)
    migrated = deployed(emu, app)

    assert migrated["changed"] == "schema" and migrated["migrations-applied"] == "0001_add_done.sql"
    assert migrated["d1-bookmark"]
    assert query(emu, database_id, ITEMS) == before  # every row, id and timestamp kept
    assert columns(emu, database_id) == ["id", "name", "created_at", "done"]
    assert query(emu, database_id, "SELECT name FROM d1_migrations") == [{"name": "0001_add_done.sql"}]
    assert [row["name"] for row in items_seen_by_the_app(first["url"])] == ["bread", "milk"]
    with localhost_client(first["url"]) as client:
        sign_in(client)
        assert client.post("/api/items", json={"name": "eggs"}).status_code == 201
    after = query(emu, database_id, ITEMS)

    rerun = deployed(emu, app)
    assert (rerun["changed"], rerun["migrations-applied"]) == ("nothing", "")
    forced = deployed(emu, app, "--force")
    assert forced["migrations-applied"] == "" and forced["d1-bookmark"] == ""
    assert query(emu, database_id, ITEMS) == after
    assert query(emu, database_id, "SELECT count(*) AS n FROM d1_migrations") == [{"n": 1}]


def test_the_bookmark_taken_before_a_migration_restores_the_database_the_app_had(emu: Emulator, tmp_path: Path) -> None:
    app = app_named(tmp_path, "restored")
    first = deployed(emu, app)
    database_id = first["database-id"]
    with localhost_client(first["url"]) as client:
        sign_in(client)
        assert client.post("/api/items", json={"name": "before the migration"}).status_code == 201
    before = query(emu, database_id, "SELECT type, name, sql FROM sqlite_master ORDER BY name")
    rows = query(emu, database_id, ITEMS)
    (app / "migrations").mkdir()
    (app / "migrations" / "0001_add_done.sql").write_text(ADD_DONE)
    bookmark = deployed(emu, app)["d1-bookmark"]
    assert "done" in columns(emu, database_id)

    restore = run_deploy(emu, app, "--bookmark", bookmark, command="restore")

    assert restore.returncode == 0, restore.stderr
    assert f"restored to bookmark {bookmark}" in restore.stdout
    assert "To undo the restore: python -m deployer restore --bookmark " in restore.stdout
    assert query(emu, database_id, "SELECT type, name, sql FROM sqlite_master ORDER BY name") == before
    assert query(emu, database_id, ITEMS) == rows
    assert [row["name"] for row in items_seen_by_the_app(first["url"])] == ["before the migration"]
