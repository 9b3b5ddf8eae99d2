"""The app's SQL files as the deployer reads them: wrangler's migration naming, order and ledger request."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deployer._sql import split_statements
from deployer.app import load_app
from deployer.errors import ConfigError
from deployer.migrations import (
    CREATE_LEDGER,
    SqlFile,
    load_migrations,
    migration_request,
    next_migration_name,
    terminated,
)


def app_folder(root: Path, files: dict[str, str]) -> Path:
    (root / "worker.js").parent.mkdir(parents=True, exist_ok=True)
    (root / "worker.js").write_text("export default { fetch() { return new Response('ok') } }")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_migrations_are_applied_in_number_order_then_name_like_wrangler(tmp_path: Path) -> None:
    root = app_folder(
        tmp_path,
        {
            "migrations/0010_ten.sql": "SELECT 10;",
            "migrations/0002_b.sql": "SELECT 2;",
            "migrations/2_a.sql": "SELECT 2;",
            "migrations/0001_first.sql": "SELECT 1;",
            "migrations/README.md": "not SQL",
            "migrations/old/0003_nested.sql": "SELECT 3;",  # wrangler reads the top level only
        },
    )
    assert [m.name for m in load_migrations(root)] == ["0001_first.sql", "0002_b.sql", "2_a.sql", "0010_ten.sql"]


def test_no_migrations_folder_means_no_migrations(tmp_path: Path) -> None:
    assert load_migrations(app_folder(tmp_path, {})) == ()


@pytest.mark.parametrize("name", ["first.sql", "0001 first.sql", "0001_it's.sql", "0001_x\nDROP.sql", "v1_x.sql"])
def test_a_migration_without_wranglers_name_is_refused_with_the_name_to_use(tmp_path: Path, name: str) -> None:
    root = app_folder(tmp_path, {"migrations/0001_ok.sql": "SELECT 1;", f"migrations/{name}": "SELECT 2;"})
    with pytest.raises(ConfigError) as caught:
        load_migrations(root)
    assert caught.value.file == root / "migrations" / name
    assert "like migrations/0002_describe_the_change.sql" in caught.value.message
    assert caught.value.hint == (
        "Rename the file (wrangler d1 migrations create names them the same way); files are applied in the order "
        "of their numbers."
    )


def test_a_migrations_file_instead_of_a_folder_is_refused(tmp_path: Path) -> None:
    root = app_folder(tmp_path, {"migrations": "not a folder"})
    with pytest.raises(ConfigError) as caught:
        load_migrations(root)
    assert (caught.value.message, caught.value.file) == (f"{root / 'migrations'} is not a folder", root / "migrations")
    assert caught.value.hint == "migrations/ holds one NNNN_name.sql file per schema change."


def test_an_empty_migration_is_a_migration_with_no_statements(tmp_path: Path) -> None:
    root = app_folder(tmp_path, {"migrations/0001_nothing_yet.sql": "  \n"})
    (migration,) = load_migrations(root)
    assert migration.file == SqlFile(root / "migrations" / "0001_nothing_yet.sql", "", ())


def test_a_migrations_folder_linking_out_of_the_app_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "0001_steal.sql").write_text("SELECT 1;")
    root = app_folder(tmp_path / "app", {})
    os.symlink(outside, root / "migrations")
    with pytest.raises(ConfigError):
        load_migrations(root)


def test_a_migration_file_linking_out_of_the_app_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.sql"
    secret.write_text("SELECT 'secret';")
    root = app_folder(tmp_path / "app", {"migrations/0001_ok.sql": "SELECT 1;"})
    os.symlink(secret, root / "migrations" / "0002_link.sql")
    with pytest.raises(ConfigError):
        load_migrations(root)


def test_one_request_applies_the_file_and_its_ledger_row(tmp_path: Path) -> None:
    root = app_folder(tmp_path, {"migrations/0001_add_done.sql": "ALTER TABLE items ADD COLUMN done INT\r\n"})
    (migration,) = load_migrations(root)
    request = migration_request(migration)
    assert request.startswith(CREATE_LEDGER + "\n")
    assert "ALTER TABLE items ADD COLUMN done INT\n" in request and "\r" not in request
    assert request.endswith("INSERT INTO d1_migrations (name) values ('0001_add_done.sql');")


def test_the_ledger_is_wranglers_table() -> None:
    assert " ".join(CREATE_LEDGER.split()) == (
        "CREATE TABLE IF NOT EXISTS d1_migrations( id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, "
        "applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL );"
    )


def test_the_next_migration_is_numbered_after_the_highest(tmp_path: Path) -> None:
    root = app_folder(tmp_path, {"migrations/0001_a.sql": "SELECT 1;", "migrations/0007_b.sql": "SELECT 1;"})
    assert next_migration_name(load_migrations(root), "add done column") == "migrations/0008_add_done_column.sql"
    assert next_migration_name((), "x") == "migrations/0001_x.sql"


def test_the_app_reads_schema_seed_and_migrations(tmp_path: Path) -> None:
    root = app_folder(
        tmp_path,
        {
            "schema.sql": "CREATE TABLE items (id INTEGER PRIMARY KEY);",
            "seed.sql": "INSERT INTO items DEFAULT VALUES;",
            "migrations/0001_a.sql": "ALTER TABLE items ADD COLUMN a INT;",
        },
    )
    app = load_app(root)
    assert app.schema is not None and app.schema.path == root / "schema.sql"
    assert app.seed is not None and app.seed.sql == "INSERT INTO items DEFAULT VALUES;"
    assert [m.name for m in app.migrations] == ["0001_a.sql"]


def test_a_blank_seed_or_schema_is_none(tmp_path: Path) -> None:
    app = load_app(app_folder(tmp_path, {"schema.sql": "  \n", "seed.sql": ""}))
    assert app.schema is None and app.seed is None


@pytest.mark.parametrize(
    ("topic", "name"),
    [
        (" Add done? ", "migrations/0001_Add_done.sql"),
        ("fix X", "migrations/0001_fix_X.sql"),
        ("!!!", "migrations/0001_change.sql"),
    ],
)
def test_the_suggested_name_keeps_letters_digits_and_underscores(topic: str, name: str) -> None:
    assert next_migration_name((), topic) == name


@pytest.mark.parametrize(
    ("sql", "sent"),
    [
        ("SELECT 1;", "SELECT 1;"),
        ("\n\nSELECT 1  \n", "\n\nSELECT 1\n;"),
        ("SELECT 1 -- the last one", "SELECT 1 -- the last one\n;"),
        ("SELECT 1; -- done\n", "SELECT 1; -- done"),
        ("-- only a comment\n", "-- only a comment"),
    ],
)
def test_a_file_is_ended_with_a_semicolon_so_more_sql_can_follow_it(tmp_path: Path, sql: str, sent: str) -> None:
    assert terminated(SqlFile(tmp_path / "x.sql", sql, tuple(split_statements(sql)))) == sent


def test_an_sql_file_that_is_not_utf8_is_refused_and_crlf_becomes_lf(tmp_path: Path) -> None:
    root = app_folder(tmp_path, {"seed.sql": "INSERT INTO t VALUES (1);\r\nINSERT INTO t VALUES (2);\r\n"})
    app = load_app(root)
    assert app.seed is not None and app.seed.sql == "INSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2);\n"
    (root / "schema.sql").write_bytes(b"CREATE TABLE t (x TEXT DEFAULT '\xff');")
    with pytest.raises(ConfigError) as caught:
        load_app(root)
    assert caught.value.message == f"{root / 'schema.sql'} is not UTF-8 text (invalid start byte at byte 32)"
    assert (caught.value.hint, caught.value.file) == ("Save schema.sql as UTF-8.", root / "schema.sql")


def test_a_transaction_statement_is_refused_naming_its_file(tmp_path: Path) -> None:
    root = app_folder(tmp_path, {"migrations/0001_a.sql": "SELECT 1;\nSAVEPOINT s;\n"})
    with pytest.raises(ConfigError) as caught:
        load_migrations(root)
    assert caught.value.message.startswith(f"{root / 'migrations' / '0001_a.sql'} line 2: `SAVEPOINT s`")
