"""D1 Time Travel in cfemu: a bookmark names the database's contents at that moment, and restoring it brings
them back, for the API and for a running Worker alike."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta

import httpx

from cfemu.d1 import d1_sqlite_path
from cfemu.launcher import Emulator
from tests.emulator.helpers import create_database, errors, result

BOOKMARK = re.compile(r"[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}")


def _query(api: httpx.Client, uuid: str, sql: str) -> list[dict[str, object]]:
    answer = result(api.post(f"/d1/database/{uuid}/query", json={"sql": sql}))
    rows: list[dict[str, object]] = answer[-1]["results"]
    return rows


def _bookmark(api: httpx.Client, uuid: str, **params: str) -> str:
    bookmark = result(api.get(f"/d1/database/{uuid}/time_travel/bookmark", params=params))["bookmark"]
    assert isinstance(bookmark, str)
    return bookmark


def test_restoring_a_bookmark_brings_back_the_rows_and_tables_of_that_moment(api: httpx.Client) -> None:
    uuid = create_database(api, "tt")
    _query(api, uuid, "CREATE TABLE items (id INTEGER PRIMARY KEY, title TEXT); INSERT INTO items (title) VALUES ('a')")
    before = _bookmark(api, uuid)
    assert BOOKMARK.fullmatch(before)
    _query(api, uuid, "INSERT INTO items (title) VALUES ('b'); CREATE TABLE extra (x); DROP TABLE items")

    answer = result(api.post(f"/d1/database/{uuid}/time_travel/restore", params={"bookmark": before}))

    assert _query(api, uuid, "SELECT title FROM items") == [{"title": "a"}]
    tables = _query(api, uuid, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    assert [row["name"] for row in tables] == ["items"]
    assert set(answer) == {"bookmark", "previous_bookmark", "message"}
    assert BOOKMARK.fullmatch(answer["bookmark"]) and answer["previous_bookmark"] != before
    # The restore can itself be undone: previous_bookmark is the moment just before it.
    result(api.post(f"/d1/database/{uuid}/time_travel/restore", params={"bookmark": answer["previous_bookmark"]}))
    assert _query(api, uuid, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") == [{"name": "extra"}]


def test_an_unchanged_database_keeps_its_bookmark_and_a_write_gives_a_new_one(api: httpx.Client) -> None:
    uuid = create_database(api, "idle")
    _query(api, uuid, "CREATE TABLE t (x)")
    first = _bookmark(api, uuid)
    assert _bookmark(api, uuid) == first
    _query(api, uuid, "INSERT INTO t VALUES (1)")
    assert _bookmark(api, uuid) != first


def test_a_timestamp_names_the_newest_bookmark_made_at_or_before_it(api: httpx.Client) -> None:
    uuid = create_database(api, "when")
    _query(api, uuid, "CREATE TABLE t (x)")
    first = _bookmark(api, uuid)
    now = datetime.now(UTC).isoformat()
    assert _bookmark(api, uuid, timestamp=now) == first
    long_ago = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    response = api.get(f"/d1/database/{uuid}/time_travel/bookmark", params={"timestamp": long_ago})
    assert response.status_code == 400 and errors(response)[0][0] == 7400


def test_an_unknown_bookmark_or_database_is_refused_and_changes_nothing(api: httpx.Client) -> None:
    uuid = create_database(api, "keep")
    _query(api, uuid, "CREATE TABLE t (x); INSERT INTO t VALUES (1)")
    other = create_database(api, "other")
    foreign = _bookmark(api, other)
    for bookmark in ("nonsense", foreign):
        response = api.post(f"/d1/database/{uuid}/time_travel/restore", params={"bookmark": bookmark})
        assert response.status_code == 400 and errors(response)[0][0] == 7400
    assert api.post(f"/d1/database/{uuid}/time_travel/restore").status_code == 400
    missing = api.get("/d1/database/00000000-0000-0000-0000-000000000000/time_travel/bookmark")
    assert missing.status_code == 404
    assert _query(api, uuid, "SELECT x FROM t") == [{"x": 1}]


def test_the_restored_file_stays_a_wal_database_that_other_connections_read(
    api: httpx.Client, emulator: Emulator
) -> None:
    """workerd opens the same file: after a restore it must still be a WAL database holding the old rows."""
    uuid = create_database(api, "shared")
    _query(api, uuid, "CREATE TABLE t (x); INSERT INTO t VALUES ('old')")
    bookmark = _bookmark(api, uuid)
    _query(api, uuid, "UPDATE t SET x = 'new'")
    result(api.post(f"/d1/database/{uuid}/time_travel/restore", params={"bookmark": bookmark}))
    conn = sqlite3.connect(d1_sqlite_path(emulator.data_dir, uuid))
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT x FROM t").fetchall() == [("old",)]
    finally:
        conn.close()


def test_deleting_the_database_deletes_its_bookmarks(api: httpx.Client, emulator: Emulator) -> None:
    uuid = create_database(api, "gone")
    _query(api, uuid, "CREATE TABLE t (x)")
    _bookmark(api, uuid)
    folder = emulator.data_dir / "d1-time-travel" / uuid
    assert any(folder.iterdir())
    result(api.delete(f"/d1/database/{uuid}"))
    assert not folder.exists()
