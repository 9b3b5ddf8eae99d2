"""wrangler 4.86 and the deployer share a database's migrations: each recognises what the other applied
(wrangler's `d1_migrations` ledger, against cfemu), so a project can move between them without re-running
or skipping a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cfemu.launcher import Emulator
from tests.emulator.helpers import account_client, create_database, result
from tests.emulator.test_wrangler_items_app import run_wrangler, wrangler_app
from tests.integration.deploying import run_deploy

ADD_DONE = "ALTER TABLE items ADD COLUMN done INTEGER NOT NULL DEFAULT 0;\n"
INDEX_DONE = "CREATE INDEX items_by_done ON items (done);\n"


def query(emulator: Emulator, database_id: str, sql: str) -> list[dict[str, Any]]:
    with account_client(emulator) as api:
        rows: list[dict[str, Any]] = result(api.post(f"/d1/database/{database_id}/query", json={"sql": sql}))[-1][
            "results"
        ]
    return rows


def ledger(emulator: Emulator, database_id: str) -> list[str]:
    return [row["name"] for row in query(emulator, database_id, "SELECT name FROM d1_migrations ORDER BY id")]


def apply_with_wrangler(app: Path, emulator: Emulator) -> str:
    run = run_wrangler(app, emulator, "d1", "migrations", "apply", "items-app-db", "--remote")
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_the_deployer_recognises_what_wrangler_applied_and_the_other_way_round(
    emulator: Emulator, tmp_path: Path
) -> None:
    with account_client(emulator) as api:
        database_id = create_database(api, "items-app-db")
    app = wrangler_app(tmp_path, database_id)
    (app / "migrations").mkdir()
    (app / "migrations" / "0001_add_done.sql").write_text(ADD_DONE)
    # wrangler applies the baseline (as its users do) and the first migration.
    schema = "--command=" + (app / "schema.sql").read_text()  # (--file goes through D1's import, not emulated)
    baseline = run_wrangler(app, emulator, "d1", "execute", "items-app-db", "--remote", "-y", schema)
    assert baseline.returncode == 0, baseline.stdout + baseline.stderr
    apply_with_wrangler(app, emulator)
    assert ledger(emulator, database_id) == ["0001_add_done.sql"]

    # The deployer sees 0001 applied: re-running it would fail with "duplicate column name: done".
    first = run_deploy(emulator, app)
    assert first.returncode == 0, first.stderr
    assert first.outputs["database-id"] == database_id and first.outputs["migrations-applied"] == ""

    # The deployer applies 0002; wrangler then has nothing left to apply.
    (app / "migrations" / "0002_index_done.sql").write_text(INDEX_DONE)
    second = run_deploy(emulator, app)
    assert second.returncode == 0, second.stderr
    assert second.outputs["migrations-applied"] == "0002_index_done.sql"
    assert "No migrations to apply" in apply_with_wrangler(app, emulator)

    # And a third one, applied by wrangler, is not applied again by the deployer.
    (app / "migrations" / "0003_flag.sql").write_text("ALTER TABLE items ADD COLUMN flag TEXT;\n")
    apply_with_wrangler(app, emulator)
    third = run_deploy(emulator, app)
    assert third.returncode == 0, third.stderr
    assert third.outputs["migrations-applied"] == ""
    assert ledger(emulator, database_id) == ["0001_add_done.sql", "0002_index_done.sql", "0003_flag.sql"]
