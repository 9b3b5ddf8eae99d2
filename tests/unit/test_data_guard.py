"""The rules that keep rows safe, read as statements of SQL files (`deployer._sql`, `deployer.data_guard`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer._sql import Word, split_statements, statement_for_error
from deployer.data_guard import (
    destructive_statements,
    harmless,
    tables_created,
    unique_indexes_created,
    without_transaction,
)
from deployer.errors import ConfigError

MIGRATION = Path("migrations/0002_change.sql")

# The seed's pattern: recreate the table with the new shape, copy the rows, swap.
REBUILD = """-- add a column the SQLite way
CREATE TABLE items_new (id INTEGER PRIMARY KEY, title TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0);
INSERT INTO items_new (id, title) SELECT id, title FROM items;
DROP TABLE items;
ALTER TABLE items_new RENAME TO items;
"""


def whys(sql: str, unique: tuple[str, ...] = ()) -> list[tuple[int, str]]:
    return [(f.line, f.why) for f in destructive_statements(MIGRATION, split_statements(sql), unique_indexes=unique)]


def test_statements_are_split_where_sqlite_splits_them_with_the_line_each_starts_on() -> None:
    sql = (
        "-- a comment; not a statement\n"
        "CREATE TABLE a (x TEXT DEFAULT 'a;b', \"y;\" INT);\n"
        "/* block; comment */ INSERT INTO a VALUES ('it''s', 1);\n"
        "\n"
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE a SET x = 'z';\n  DELETE FROM a;\nEND;\n"
        "SELECT 1"
    )
    statements = split_statements(sql)
    assert [(s.line, s.text.split()[0]) for s in statements] == [
        (2, "CREATE"),
        (3, "INSERT"),
        (5, "CREATE"),
        (9, "SELECT"),
    ]
    assert statements[0].text == "CREATE TABLE a (x TEXT DEFAULT 'a;b', \"y;\" INT)"
    assert statements[1].text == "INSERT INTO a VALUES ('it''s', 1)"
    assert statements[2].text.endswith("END")


def test_the_seeds_rebuild_pattern_copies_the_rows_and_is_not_destructive() -> None:
    assert whys(REBUILD) == []


def test_a_rebuild_that_forgets_to_copy_the_rows_is_destructive() -> None:
    forgetful = REBUILD.replace("INSERT INTO items_new (id, title) SELECT id, title FROM items;\n", "")
    assert whys(forgetful) == [
        (3, "drops table items and its rows without copying them to another table first"),
    ]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("DROP TABLE items;", [(1, "drops table items and its rows without copying them to another table first")]),
        (
            'DROP TABLE IF EXISTS "Items";',
            [(1, "drops table Items and its rows without copying them to another table first")],
        ),
        ("ALTER TABLE items DROP COLUMN legacy;", [(1, "drops column legacy of table items and its values")]),
        ("ALTER TABLE items DROP legacy;", [(1, "drops column legacy of table items and its values")]),
        ("DELETE FROM sessions;", [(1, "deletes every row of sessions (no WHERE)")]),
        ("UPDATE items SET done = 0;", [(1, "overwrites a column in every row of items (no WHERE)")]),
        ("UPDATE OR IGNORE items SET done = 0;", [(1, "overwrites a column in every row of items (no WHERE)")]),
        # A WHERE inside a sub-query is not the statement's own.
        (
            "UPDATE items SET done = (SELECT 1 FROM flags WHERE flags.id = items.id);",
            [(1, "overwrites a column in every row of items (no WHERE)")],
        ),
        ("DROP INDEX by_email;", [(1, "drops the unique index by_email, which lets duplicate rows in")]),
    ],
)
def test_statements_that_can_lose_rows_are_found_with_their_line(sql: str, expected: list[tuple[int, str]]) -> None:
    assert whys("\n" * (expected[0][0] - 1) + sql, unique=("by_email",)) == expected


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM sessions WHERE expires_at < unixepoch();",
        "UPDATE items SET done = 0 WHERE done IS NULL;",
        "DROP INDEX by_title;",  # not a unique index
        "ALTER TABLE items ADD COLUMN done INTEGER NOT NULL DEFAULT 0;",
        "ALTER TABLE items RENAME COLUMN name TO title;",
        "CREATE TABLE scratch (x); INSERT INTO scratch VALUES (1); DELETE FROM scratch; DROP TABLE scratch;",
        "DROP VIEW open_items; DROP TRIGGER touch;",
        "INSERT INTO items (title) VALUES ('DROP TABLE items; DELETE FROM items');",
        "-- DROP TABLE items;\nSELECT 1;",
    ],
)
def test_statements_that_keep_every_row_are_not_destructive(sql: str) -> None:
    assert whys(sql, unique=("by_email",)) == []


def test_the_tables_a_schema_creates_are_known_by_name() -> None:
    sql = (
        "CREATE TABLE IF NOT EXISTS Items (id INTEGER);\n"
        'CREATE TABLE "Mixed Case" (x);\n'
        "CREATE VIRTUAL TABLE docs USING fts5(body);\n"
        "CREATE INDEX by_id ON items (id);\n"
        "INSERT INTO items VALUES (1);\n"
        "DROP TABLE old;\n"
    )
    assert tables_created(split_statements(sql)) == {"items", "Mixed Case", "docs"}


def test_unique_indexes_are_known_from_the_statements_that_create_them() -> None:
    sql = "CREATE UNIQUE INDEX IF NOT EXISTS by_email ON users (email); CREATE INDEX by_name ON users (name);"
    assert unique_indexes_created(split_statements(sql)) == {"by_email"}


@pytest.mark.parametrize(
    ("sql", "is_harmless"),
    [
        ("CREATE TABLE IF NOT EXISTS a (x); CREATE UNIQUE INDEX IF NOT EXISTS i ON a (x);", True),
        (
            "create view if not exists v as select 1; "
            "CREATE TRIGGER IF NOT EXISTS t AFTER INSERT ON a BEGIN SELECT 1; END;",
            True,
        ),
        ("CREATE TABLE a (x);", False),
        ("CREATE TABLE IF NOT EXISTS a (x); INSERT INTO a VALUES (1);", False),
        ("CREATE TABLE IF NOT EXISTS a (x); DROP TABLE b;", False),
    ],
)
def test_schema_sql_is_harmless_only_when_every_statement_creates_if_missing(sql: str, is_harmless: bool) -> None:
    assert harmless(split_statements(sql)) is is_harmless


def test_one_begin_commit_pair_around_the_file_is_dropped_keeping_the_lines() -> None:
    path = Path("migrations/0001_x.sql")
    sql = "BEGIN TRANSACTION;\nCREATE TABLE a (x);\nINSERT INTO a VALUES (1);\nCOMMIT;\n"
    sent, statements = without_transaction(path, sql)
    assert sent.splitlines()[1:3] == ["CREATE TABLE a (x);", "INSERT INTO a VALUES (1);"]
    assert sent.count("\n") == sql.count("\n") and "BEGIN" not in sent and "COMMIT" not in sent
    assert [s.line for s in statements] == [2, 3]


@pytest.mark.parametrize(
    ("sql", "line"),
    [
        ("CREATE TABLE a (x);\nSAVEPOINT s;\nRELEASE s;", 2),
        ("BEGIN;\nCREATE TABLE a (x);\nROLLBACK;\nCOMMIT;", 3),
        ("CREATE TABLE a (x);\nBEGIN;\nINSERT INTO a VALUES (1);", 2),
    ],
)
def test_any_other_transaction_statement_is_refused_with_its_line(sql: str, line: int) -> None:
    path = Path("migrations/0001_x.sql")
    with pytest.raises(ConfigError) as caught:
        without_transaction(path, sql)
    assert caught.value.line == line and caught.value.file == path
    assert "D1 runs each SQL file as one transaction" in caught.value.message


@pytest.mark.parametrize(
    ("message", "line"),
    [
        ('near "SELEC": syntax error: SQLITE_ERROR', 3),
        ("no such table: missing: SQLITE_ERROR", 2),
        ("duplicate column name: done: SQLITE_ERROR", 4),
        ("UNIQUE constraint failed: items.title: SQLITE_CONSTRAINT", 2),
    ],
)
def test_the_statement_sqlite_complained_about_is_found_from_its_message(message: str, line: int) -> None:
    sql = (
        "CREATE TABLE items (title TEXT UNIQUE);\n"
        "INSERT INTO items SELECT title FROM missing;\n"
        "SELEC 1;\n"
        "ALTER TABLE items ADD COLUMN done INT;"
    )
    found = statement_for_error(split_statements(sql), message)
    assert found is not None and found.line == line


def test_a_message_that_names_nothing_in_the_file_points_nowhere() -> None:
    statements = split_statements("CREATE TABLE a (x);\nCREATE TABLE b (y);")
    assert statement_for_error(statements, "database is locked: SQLITE_BUSY") is None


def test_a_finding_shows_its_statement_on_one_line_shortened_to_80_characters() -> None:
    long_name = "x" * 90
    (finding,) = destructive_statements(MIGRATION, split_statements(f"DELETE\n  FROM   {long_name};"))
    shown = str(finding)
    assert shown.startswith(f"0002_change.sql line 1: deletes every row of {long_name} (no WHERE) (DELETE FROM xxx")
    assert shown.endswith("…)") and len(shown.split(" (no WHERE) (")[1]) == 80 + 1  # 79 characters, "…", ")"
    (exact,) = destructive_statements(MIGRATION, split_statements("DELETE FROM " + "y" * 68))
    assert str(exact).endswith(f"(DELETE FROM {'y' * 68})")  # 80 characters: shown whole


def test_rows_copied_by_replace_or_by_an_earlier_insert_count_as_copied() -> None:
    sql = (
        "CREATE TABLE a2 (x); CREATE TABLE b2 (x);\n"
        "INSERT INTO a2 SELECT x FROM a;\n"
        "REPLACE INTO b2 SELECT x FROM b;\n"
        "DROP TABLE a;\nDROP TABLE b;"
    )
    assert whys(sql) == []


def test_a_statement_after_a_create_is_still_judged() -> None:
    assert whys("CREATE TABLE log (x);\nDELETE FROM items;") == [(2, "deletes every row of items (no WHERE)")]


def test_odd_statements_are_judged_without_failing() -> None:
    assert whys("UPDATE;") == [(1, "overwrites a column in every row of ? (no WHERE)")]
    assert split_statements("DROP TABLE")[0].after("TABLE") is None
    assert not harmless(split_statements('"items";'))


def test_names_in_messages_are_found_whatever_their_case_and_punctuation_only_where_it_stands() -> None:
    statements = split_statements("CREATE TABLE a (x TEXT);\nSELECT ( );\nINSERT INTO missing VALUES (1);")
    found = statement_for_error(statements, "no such table: MISSING: SQLITE_ERROR")
    assert found is not None and found.line == 3
    paren = statement_for_error(statements, 'near ")": syntax error: SQLITE_ERROR')
    assert paren is not None and paren.line == 1  # a ")" right after a word is still the token


def test_rows_copied_out_do_not_end_the_judging_of_the_file() -> None:
    sql = "INSERT INTO archive SELECT * FROM items;\nDELETE FROM sessions;"
    assert whys(sql) == [(2, "deletes every row of sessions (no WHERE)")]


def test_begin_end_is_a_wrapping_pair_too() -> None:
    sent, statements = without_transaction(Path("m.sql"), "BEGIN;\nCREATE TABLE a (x);\nEND TRANSACTION;\n")
    assert "END" not in sent and [s.line for s in statements] == [2]


def test_the_refusal_of_a_transaction_statement_word_for_word() -> None:
    path = Path("migrations/0001_x.sql")
    name = "a_savepoint_whose_name_is_longer_than_forty_characters"
    with pytest.raises(ConfigError) as caught:
        without_transaction(path, f"ROLLBACK;\nSELECT 1;\nSAVEPOINT {name};")
    assert caught.value.message == (
        "migrations/0001_x.sql line 1: `ROLLBACK`: D1 runs each SQL file as one transaction and refuses transaction "
        "statements (BEGIN, COMMIT, ROLLBACK, SAVEPOINT) inside it"
    )
    assert caught.value.hint == "Remove them: every statement of the file is applied together, or none is."
    with pytest.raises(ConfigError) as long:
        without_transaction(path, f"SELECT 1;\nSAVEPOINT {name};\nSELECT 2;")
    assert f"line 2: `SAVEPOINT {name}"[:48] + "…`" in long.value.message  # 39 characters and "…"


def test_quotes_empty_or_unclosed_do_not_swallow_what_follows() -> None:
    assert [s.text for s in split_statements("SELECT ''; SELECT 2")] == ["SELECT ''", "SELECT 2"]
    assert split_statements('SELECT "abc')[0].words[1] == Word("abc", 0, quoted=True)


def test_a_wrapping_begin_is_blanked_from_its_first_character() -> None:
    sent, _ = without_transaction(Path("m.sql"), "BEGIN;\nSELECT 1;\nCOMMIT;")
    assert sent == "      \nSELECT 1;\n       "


def test_not_exists_without_if_is_not_create_if_missing() -> None:
    assert not harmless(split_statements("CREATE VIEW v AS SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM t);"))
