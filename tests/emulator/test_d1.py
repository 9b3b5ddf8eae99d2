"""D1 databases: records, pagination, files and queries."""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from cfemu.d1 import d1_sqlite_path
from cfemu.d1_files import d1_object_id
from cfemu.launcher import Emulator
from tests.emulator.helpers import create_database, errors, result


def test_create_returns_d1_object(api: httpx.Client) -> None:
    """Creating a database returns the D1 object."""
    db = result(api.post("/d1/database", json={"name": "app-db"}))
    assert db["name"] == "app-db"
    assert db["version"] == "production"
    assert db["read_replication"] == {"mode": "disabled"}
    assert {"uuid", "created_at", "file_size", "num_tables", "jurisdiction"} <= db.keys()


def test_create_duplicate_name_is_7502(api: httpx.Client) -> None:
    """A second database with the same name is refused with 7502."""
    create_database(api, "dup")
    response = api.post("/d1/database", json={"name": "dup"})
    assert response.status_code == 400
    assert errors(response)[0][0] == 7502


def test_an_account_holds_ten_databases_like_the_free_plan_then_7406(api: httpx.Client) -> None:
    """Creating an eleventh database is refused with 7406 and creates nothing; deleting one makes room."""
    ids = [create_database(api, f"db-{number}") for number in range(10)]
    response = api.post("/d1/database", json={"name": "one-more"})
    assert response.status_code == 400
    assert errors(response)[0][0] == 7406
    assert len(result(api.get("/d1/database", params={"per_page": 100}))) == 10
    result(api.delete(f"/d1/database/{ids[0]}"))
    assert result(api.post("/d1/database", json={"name": "one-more"}))["name"] == "one-more"


def test_create_without_name_is_rejected(api: httpx.Client) -> None:
    """A create without a name is a 400 error."""
    assert api.post("/d1/database", json={}).status_code == 400


def test_database_is_a_wal_sqlite_file(api: httpx.Client, emulator: Emulator) -> None:
    """Each database is a real SQLite file in WAL mode, where miniflare keeps the file for that id."""
    uuid = create_database(api, "filedb")
    path = d1_sqlite_path(emulator.data_dir, uuid)
    assert path == emulator.data_dir / "d1" / "miniflare-D1DatabaseObject" / f"{d1_object_id(uuid)}.sqlite"
    assert path.is_file()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_list_name_filter_is_substring(api: httpx.Client) -> None:
    """`?name=` keeps databases whose name contains the text."""
    create_database(api, "shop-prod")
    create_database(api, "shop-staging")
    create_database(api, "blog")
    names = [db["name"] for db in result(api.get("/d1/database", params={"name": "shop"}))]
    assert names == ["shop-prod", "shop-staging"]


def test_get_by_uuid_and_by_name(api: httpx.Client) -> None:
    """A database can be fetched by uuid or by name."""
    uuid = create_database(api, "named")
    assert result(api.get(f"/d1/database/{uuid}"))["name"] == "named"
    assert result(api.get("/d1/database/named"))["uuid"] == uuid


def test_get_missing_is_7404(api: httpx.Client) -> None:
    """A missing database is HTTP 404 code 7404."""
    response = api.get("/d1/database/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert errors(response)[0][0] == 7404


def test_delete_removes_record_and_file(api: httpx.Client, emulator: Emulator) -> None:
    """Deleting a database removes it from the list and deletes its file."""
    uuid = create_database(api, "gone")
    assert result(api.delete(f"/d1/database/{uuid}")) is None
    assert not d1_sqlite_path(emulator.data_dir, uuid).exists()
    assert api.get(f"/d1/database/{uuid}").status_code == 404


def test_query_runs_each_statement(api: httpx.Client) -> None:
    """Multi-statement SQL returns one result per statement, with params bound."""
    uuid = create_database(api, "q")
    sql = (
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);\n"
        "INSERT INTO items (name) VALUES (?);\n"
        "SELECT * FROM items"
    )
    results = result(api.post(f"/d1/database/{uuid}/query", json={"sql": sql, "params": ["apple"]}))
    assert len(results) == 3
    assert results[2]["results"] == [{"id": 1, "name": "apple"}]
    assert results[1]["meta"]["changes"] == 1
    assert results[1]["meta"]["last_row_id"] == 1
    assert all(entry["success"] for entry in results)


def test_query_meta_fields(api: httpx.Client) -> None:
    """Each result's meta has D1's fields."""
    uuid = create_database(api, "meta")
    meta = result(api.post(f"/d1/database/{uuid}/query", json={"sql": "SELECT 1 AS x"}))[0]["meta"]
    expected = {
        "changed_db",
        "changes",
        "duration",
        "last_row_id",
        "rows_read",
        "rows_written",
        "size_after",
        "served_by_primary",
        "served_by_region",
        "timings",
    }
    assert expected <= meta.keys()
    assert meta["served_by_primary"] is True
    assert "sql_duration_ms" in meta["timings"]


def test_semicolons_in_strings_comments_and_triggers(api: httpx.Client) -> None:
    """Splitting keeps `;` inside strings, comments and trigger bodies."""
    uuid = create_database(api, "split")
    sql = """
    CREATE TABLE t (v TEXT); -- a comment; with a semicolon
    CREATE TABLE log (v TEXT);
    CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.v); INSERT INTO log VALUES ('x;y'); END;
    /* block; comment */
    INSERT INTO t VALUES ('a;b');
    SELECT v FROM log ORDER BY rowid;
    -- trailing comment only
    """
    results = result(api.post(f"/d1/database/{uuid}/query", json={"sql": sql}))
    assert len(results) == 5
    assert results[-1]["results"] == [{"v": "a;b"}, {"v": "x;y"}]


def test_sql_error_is_7500(api: httpx.Client) -> None:
    """A SQL error is HTTP 400 code 7500 `<message>: SQLITE_ERROR`."""
    uuid = create_database(api, "err")
    response = api.post(f"/d1/database/{uuid}/query", json={"sql": "SELECT * FROM missing"})
    assert response.status_code == 400
    assert errors(response) == [(7500, "no such table: missing: SQLITE_ERROR")]


def test_constraint_error_names_its_code(api: httpx.Client) -> None:
    """A constraint failure ends with SQLITE_CONSTRAINT."""
    uuid = create_database(api, "uniq")
    api.post(f"/d1/database/{uuid}/query", json={"sql": "CREATE TABLE u (v TEXT UNIQUE); INSERT INTO u VALUES ('a')"})
    response = api.post(f"/d1/database/{uuid}/query", json={"sql": "INSERT INTO u VALUES ('a')"})
    assert errors(response)[0][1].endswith(": SQLITE_CONSTRAINT")


def test_failed_query_rolls_back_everything(api: httpx.Client) -> None:
    """When one statement fails, none of the request's statements are committed."""
    uuid = create_database(api, "rollback")
    result(api.post(f"/d1/database/{uuid}/query", json={"sql": "CREATE TABLE t (v INTEGER)"}))
    sql = "INSERT INTO t VALUES (1); CREATE TABLE other (x); INSERT INTO nope VALUES (2)"
    assert api.post(f"/d1/database/{uuid}/query", json={"sql": sql}).status_code == 400
    rows = result(api.post(f"/d1/database/{uuid}/query", json={"sql": "SELECT count(*) AS n FROM t"}))
    assert rows[0]["results"] == [{"n": 0}]
    tables = result(api.post(f"/d1/database/{uuid}/query", json={"sql": "SELECT name FROM sqlite_master"}))
    assert {"name": "other"} not in tables[0]["results"]


def test_batch_runs_in_one_transaction(api: httpx.Client) -> None:
    """`{batch: [...]}` returns one result per statement and is all-or-nothing."""
    uuid = create_database(api, "batch")
    batch = [
        {"sql": "CREATE TABLE b (v)"},
        {"sql": "INSERT INTO b VALUES (?)", "params": [7]},
        {"sql": "SELECT v FROM b"},
    ]
    results = result(api.post(f"/d1/database/{uuid}/query", json={"batch": batch}))
    assert results[2]["results"] == [{"v": 7}]
    failing = [{"sql": "INSERT INTO b VALUES (8)"}, {"sql": "SELEC broken"}]
    assert api.post(f"/d1/database/{uuid}/query", json={"batch": failing}).status_code == 400
    rows = result(api.post(f"/d1/database/{uuid}/query", json={"sql": "SELECT count(*) AS n FROM b"}))
    assert rows[0]["results"] == [{"n": 1}]


def test_raw_returns_columns_and_rows(api: httpx.Client) -> None:
    """`/raw` returns column names and row arrays."""
    uuid = create_database(api, "raw")
    results = result(api.post(f"/d1/database/{uuid}/raw", json={"sql": "SELECT 1 AS a, 'x' AS b"}))
    assert results[0]["results"] == {"columns": ["a", "b"], "rows": [[1, "x"]]}


@pytest.mark.parametrize("body", [{"sql": 5}, {"params": []}, {"sql": "SELECT ?", "params": "x"}])
def test_malformed_query_body_is_rejected(api: httpx.Client, body: dict[str, object]) -> None:
    """A query body without a SQL string or with non-array params is a 400."""
    uuid = create_database(api, "malformed")
    assert api.post(f"/d1/database/{uuid}/query", json=body).status_code == 400


def test_query_unknown_database_is_7404(api: httpx.Client) -> None:
    """Querying a missing database is 7404."""
    response = api.post("/d1/database/nope/query", json={"sql": "SELECT 1"})
    assert errors(response)[0][0] == 7404
