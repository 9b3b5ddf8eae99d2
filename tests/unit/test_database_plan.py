"""What a deploy does to the database, decided before any write (`deployer.database`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.app import LocalApp, load_app
from deployer.database import EMPTY, BoundDatabase, DatabaseState, check_switch, plan_database
from deployer.errors import ConfigError, DataSafetyError
from deployer.migrations import Migration
from tests.unit.test_migrations import app_folder

SCHEMA = "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, title TEXT NOT NULL);"
HOLDS_ITEMS = DatabaseState(frozenset({"items"}), frozenset(), ())


def app(tmp_path: Path, files: dict[str, str]) -> LocalApp:
    return load_app(app_folder(tmp_path, files))


def names(pending: tuple[Migration, ...]) -> list[str]:
    return [m.name for m in pending]


def test_a_new_database_gets_the_baseline_every_migration_and_the_seed(tmp_path: Path) -> None:
    local = app(
        tmp_path,
        {
            "schema.sql": SCHEMA,
            "seed.sql": "INSERT INTO items (title) VALUES ('first');",
            "migrations/0001_drop_old.sql": "DROP TABLE IF EXISTS legacy;",
        },
    )
    work = plan_database(local, EMPTY, database="db", schema_changed=None, allow_destructive=False)
    assert (work.baseline, work.seed, work.bookmark) == (True, True, False)
    assert names(work.pending) == ["0001_drop_old.sql"]  # nothing to lose in a new database


def test_a_database_with_tables_gets_only_its_pending_migrations_after_a_bookmark(tmp_path: Path) -> None:
    local = app(
        tmp_path,
        {
            "schema.sql": "CREATE TABLE items (id INTEGER PRIMARY KEY);",
            "seed.sql": "INSERT INTO items DEFAULT VALUES;",
            "migrations/0001_a.sql": "ALTER TABLE items ADD COLUMN a INT;",
            "migrations/0002_b.sql": "ALTER TABLE items ADD COLUMN b INT;",
        },
    )
    state = DatabaseState(frozenset({"items"}), frozenset(), ("0001_a.sql",))
    for schema_changed in (None, False):  # --force or a first deploy by this tool: the baseline is not re-run
        work = plan_database(local, state, database="db", schema_changed=schema_changed, allow_destructive=False)
        assert (work.baseline, work.schema_again, work.seed, work.bookmark) == (False, False, False, True)
        assert names(work.pending) == ["0002_b.sql"]


def test_nothing_pending_means_no_write_and_no_bookmark(tmp_path: Path) -> None:
    local = app(tmp_path, {"schema.sql": SCHEMA, "migrations/0001_a.sql": "SELECT 1;"})
    state = DatabaseState(frozenset({"items"}), frozenset(), ("0001_a.sql",))
    work = plan_database(local, state, database="db", schema_changed=False, allow_destructive=False)
    assert not work.writes and not work.bookmark


def test_a_changed_harmless_schema_runs_again_with_a_note(tmp_path: Path) -> None:
    local = app(tmp_path, {"schema.sql": SCHEMA + "\nCREATE TABLE IF NOT EXISTS tags (name TEXT);"})
    work = plan_database(local, HOLDS_ITEMS, database="db", schema_changed=True, allow_destructive=False)
    assert work.schema_again and work.bookmark and not work.baseline
    assert "does not change tables that exist" in work.notes[0]


def test_a_changed_schema_that_could_destroy_rows_is_refused_with_the_migration_to_write(tmp_path: Path) -> None:
    local = app(
        tmp_path,
        {"schema.sql": "DROP TABLE items;\nCREATE TABLE items (x);", "migrations/0003_c.sql": "SELECT 1;"},
    )
    with pytest.raises(ConfigError) as caught:
        plan_database(local, HOLDS_ITEMS, database="db", schema_changed=True, allow_destructive=True)
    assert caught.value.file == tmp_path / "schema.sql"
    assert "D1 database db already holds tables" in caught.value.message
    assert caught.value.hint is not None and "migrations/0004_describe_the_change.sql" in caught.value.hint


def test_a_destructive_pending_migration_is_refused_unless_allowed(tmp_path: Path) -> None:
    local = app(tmp_path, {"migrations/0001_ok.sql": "SELECT 1;", "migrations/0002_purge.sql": "\nDELETE FROM items;"})
    with pytest.raises(DataSafetyError) as caught:
        plan_database(local, HOLDS_ITEMS, database="db", schema_changed=False, allow_destructive=False)
    assert caught.value.file == tmp_path / "migrations" / "0002_purge.sql" and caught.value.line == 2
    assert "0002_purge.sql line 2: deletes every row of items (no WHERE)" in caught.value.message
    assert caught.value.hint is not None and "--allow-destructive" in caught.value.hint

    work = plan_database(local, HOLDS_ITEMS, database="db", schema_changed=False, allow_destructive=True)
    assert names(work.pending) == ["0001_ok.sql", "0002_purge.sql"] and work.bookmark
    assert [f.line for f in work.destructive] == [2]


def test_an_applied_destructive_migration_is_not_judged_again(tmp_path: Path) -> None:
    local = app(tmp_path, {"migrations/0001_purge.sql": "DELETE FROM items;"})
    state = DatabaseState(frozenset({"items"}), frozenset(), ("0001_purge.sql",))
    work = plan_database(local, state, database="db", schema_changed=False, allow_destructive=False)
    assert work.pending == () and work.destructive == ()


def test_dropping_a_unique_index_the_database_has_is_destructive(tmp_path: Path) -> None:
    local = app(tmp_path, {"migrations/0001_i.sql": "DROP INDEX by_title;"})
    state = DatabaseState(frozenset({"items"}), frozenset({"by_title"}), ())
    with pytest.raises(DataSafetyError):
        plan_database(local, state, database="db", schema_changed=False, allow_destructive=False)
    plain = DatabaseState(frozenset({"items"}), frozenset(), ())
    assert plan_database(local, plain, database="db", schema_changed=False, allow_destructive=False).pending


def test_a_ledger_entry_without_its_file_is_noted(tmp_path: Path) -> None:
    local = app(tmp_path, {"migrations/0002_b.sql": "SELECT 1;"})
    state = DatabaseState(frozenset({"items"}), frozenset(), ("0001_gone.sql",))
    work = plan_database(local, state, database="db", schema_changed=False, allow_destructive=False)
    assert names(work.pending) == ["0002_b.sql"]
    assert work.notes == (
        "D1 database db lists the migration 0001_gone.sql in d1_migrations, but migrations/ has no such file "
        "(renamed or deleted?); nothing is done about it",
    )


def test_the_state_of_a_database_leaves_out_sqlite_d1_and_the_ledger() -> None:
    master: list[dict[str, object]] = [
        {"type": "table", "name": "items", "sql": "CREATE TABLE items (x)"},
        {"type": "table", "name": "sqlite_sequence", "sql": "CREATE TABLE sqlite_sequence(name,seq)"},
        {"type": "table", "name": "_cf_KV", "sql": "CREATE TABLE _cf_KV (key)"},
        {"type": "table", "name": "d1_migrations", "sql": "CREATE TABLE d1_migrations (id)"},
        {"type": "index", "name": "By_Title", "sql": "CREATE UNIQUE INDEX By_Title ON items (x)"},
        {"type": "index", "name": "by_x", "sql": "CREATE INDEX by_x ON items (x)"},
        {"type": "index", "name": "sqlite_autoindex_items_1", "sql": None},
    ]
    state = DatabaseState.from_rows(master, [{"name": "0001_a.sql"}, {"name": "0002_b.sql"}])
    assert state == DatabaseState(
        frozenset({"items"}), frozenset({"by_title"}), ("0001_a.sql", "0002_b.sql"), has_ledger=True
    )
    assert DatabaseState.from_rows(master[1:4], []).empty
    assert DatabaseState.from_rows(master[:3], []).has_ledger is False  # compared: `apply_checked` reads again


def test_a_new_database_is_claimed_by_creating_its_ledger_first_unless_it_has_one(tmp_path: Path) -> None:
    """Two deploys filling one new database at once: the ledger is created without IF NOT EXISTS, so one of
    the two requests fails whole instead of running the seed twice."""
    local = app(tmp_path, {"schema.sql": SCHEMA, "seed.sql": "INSERT INTO items (title) VALUES ('a');"})
    assert plan_database(local, EMPTY, database="db", schema_changed=None, allow_destructive=False).claim
    ledger_only = DatabaseState(frozenset(), frozenset(), (), has_ledger=True)
    work = plan_database(local, ledger_only, database="db", schema_changed=None, allow_destructive=False)
    assert work.baseline and work.seed and not work.claim


OLD = BoundDatabase("uuid-old", "items-db")


@pytest.mark.parametrize(
    ("target", "becomes"),
    [
        (None, "a new, empty database renamed-db"),
        (BoundDatabase("uuid-new", "renamed-db"), "the other database renamed-db (uuid-new)"),
    ],
)
def test_binding_the_worker_to_another_database_is_refused_unless_allowed(
    target: BoundDatabase | None, becomes: str
) -> None:
    with pytest.raises(DataSafetyError) as caught:
        check_switch(OLD, target, name="renamed-db", binding="DB", allow_new_database=False)
    assert caught.value.message == (
        "app.yml's d1.name is 'renamed-db', but the Worker's DB binding is D1 database items-db (uuid-old), which "
        f"holds its current rows; this deploy would bind it to {becomes}"
    )
    assert caught.value.hint is not None and "set d1.name back to 'items-db'" in caught.value.hint
    warning = check_switch(OLD, target, name="renamed-db", binding="DB", allow_new_database=True)
    assert warning == f"The Worker's DB binding moves from D1 database items-db (uuid-old) to {becomes}"


def test_the_same_database_or_none_bound_is_no_switch() -> None:
    assert check_switch(OLD, OLD, name="items-db", binding="DB", allow_new_database=False) is None
    assert check_switch(None, None, name="items-db", binding="DB", allow_new_database=False) is None


def test_a_unique_index_from_schema_sql_counts_and_every_destructive_migration_is_listed(tmp_path: Path) -> None:
    local = app(
        tmp_path,
        {
            "schema.sql": "CREATE TABLE items (t TEXT);\nCREATE UNIQUE INDEX by_t ON items (t);",
            "migrations/0001_a.sql": "DROP INDEX by_t;",
            "migrations/0002_b.sql": "DELETE FROM items;",
        },
    )
    work = plan_database(local, HOLDS_ITEMS, database="db", schema_changed=False, allow_destructive=True)
    assert [(f.file.name, f.line) for f in work.destructive] == [("0001_a.sql", 1), ("0002_b.sql", 1)]


def test_the_messages_of_the_database_plan_word_for_word(tmp_path: Path) -> None:
    harmless = app(tmp_path / "a", {"schema.sql": SCHEMA})
    work = plan_database(harmless, HOLDS_ITEMS, database="db", schema_changed=True, allow_destructive=False)
    assert work.notes == (
        "schema.sql changed and is run again (only CREATE … IF NOT EXISTS): it creates what is missing and does not "
        "change tables that exist; change those with a migration",
    )
    changed = app(tmp_path / "b", {"schema.sql": "CREATE TABLE items (x);"})
    with pytest.raises(ConfigError) as refused:
        plan_database(changed, HOLDS_ITEMS, database="db", schema_changed=True, allow_destructive=False)
    assert refused.value.message == (
        f"{tmp_path / 'b' / 'schema.sql'} changed, but D1 database db already holds tables, and running it again "
        "could drop or duplicate rows (it has statements other than CREATE … IF NOT EXISTS)"
    )
    assert refused.value.hint == (
        "Put back the schema.sql that was deployed (it stays the baseline of new databases) and write the change as "
        "a migration: migrations/0001_describe_the_change.sql."
    )
    two = app(tmp_path / "c", {"migrations/0001_a.sql": "DELETE FROM a;", "migrations/0002_b.sql": "DELETE FROM b;"})
    with pytest.raises(DataSafetyError) as destructive:
        plan_database(two, HOLDS_ITEMS, database="db", schema_changed=False, allow_destructive=False)
    assert destructive.value.message == (
        "Refusing to apply a migration that can lose rows of D1 database db:\n"
        "  0001_a.sql line 1: deletes every row of a (no WHERE) (DELETE FROM a)\n"
        "  0002_b.sql line 1: deletes every row of b (no WHERE) (DELETE FROM b)"
    )
    assert destructive.value.hint == (
        "If that is intended, deploy with --allow-destructive (action input allow-destructive: true); a Time Travel "
        "bookmark is taken first, so the data can be restored. Otherwise change the migration (copy the rows into "
        "the new table before dropping the old one; give DELETE/UPDATE a WHERE)."
    )
    with pytest.raises(DataSafetyError) as switch:
        check_switch(OLD, None, name="renamed-db", binding="DB", allow_new_database=False)
    assert switch.value.hint == (
        "To keep the data, set d1.name back to 'items-db'. To switch on purpose, deploy with --allow-new-database "
        "(action input allow-new-database: true); the old database is kept."
    )


def test_a_ledger_entry_without_its_file_is_noted_for_a_database_without_tables_too(tmp_path: Path) -> None:
    local = app(tmp_path, {"schema.sql": SCHEMA})
    state = DatabaseState(frozenset(), frozenset(), ("0001_gone.sql",))
    work = plan_database(local, state, database="db", schema_changed=None, allow_destructive=False)
    assert work.baseline and len(work.notes) == 1 and "0001_gone.sql" in work.notes[0]
