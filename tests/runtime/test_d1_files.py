"""`d1_sqlite_path` names the file workerd really uses, and both sides can share it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from cfemu.d1_files import d1_object_id, d1_sqlite_path, durable_object_id_from_name
from cfemu.miniflare_runtime import MiniflareRuntime
from tests.runtime.helpers import simple_state

WORKER = """export default { async fetch(request, env) {
  const url = new URL(request.url);
  if (url.pathname === "/create") {
    await env.DB.prepare("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT)").run();
    return new Response("created");
  }
  if (url.pathname === "/write") {
    const row = await env.DB.prepare("INSERT INTO notes (body) VALUES (?) RETURNING id")
      .bind(url.searchParams.get("body")).first();
    return Response.json(row);
  }
  const { results } = await env.DB.prepare("SELECT id, body FROM notes ORDER BY id").all();
  return Response.json(results);
} };"""


def test_object_id_formula() -> None:
    # Value of the file workerd created for d1Databases {DB: "some-id"} (see cfemu/d1_files.py).
    assert d1_object_id("some-id") == "4409775430d27f355b85893b09d7d44124c2d9dcae91db5d581a5aa09468218c"
    assert durable_object_id_from_name("miniflare-D1DatabaseObject", "some-id") == d1_object_id("some-id")
    assert d1_sqlite_path(Path("/p"), "some-id") == Path(
        "/p/miniflare-D1DatabaseObject/4409775430d27f355b85893b09d7d44124c2d9dcae91db5d581a5aa09468218c.sqlite"
    )


async def _get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False, timeout=30.0) as client:
        return await client.get(url)


async def test_worker_creates_file_python_reads_it(runtime: MiniflareRuntime) -> None:
    database_id = "0d6d3c34-8f5e-4d8a-bb53-aaaaaaaaaaaa"
    path = d1_sqlite_path(runtime.d1_persist_dir, database_id)
    assert not path.exists()
    await runtime.activate(
        simple_state("notes", "n1", WORKER, bindings=({"type": "d1", "name": "DB", "id": database_id},))
    )
    base = runtime.url_for("notes")
    assert base is not None
    assert (await _get(f"{base}/create")).text == "created"
    assert (await _get(f"{base}/write?body=one")).json() == {"id": 1}
    # The very file named by the formula, the only database file workerd made.
    files = sorted(p.name for p in path.parent.glob("*.sqlite"))
    assert files == sorted([path.name, "metadata.sqlite"])

    conn = sqlite3.connect(path, isolation_level=None, timeout=10.0)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT id, body FROM notes").fetchall() == [(1, "one")]
        conn.execute("INSERT INTO notes (body) VALUES ('two')")  # while the Worker runs
    finally:
        conn.close()
    assert (await _get(f"{base}/")).json() == [{"id": 1, "body": "one"}, {"id": 2, "body": "two"}]


async def test_python_creates_file_worker_uses_it(runtime: MiniflareRuntime) -> None:
    database_id = "0d6d3c34-8f5e-4d8a-bb53-bbbbbbbbbbbb"
    path = d1_sqlite_path(runtime.d1_persist_dir, database_id)
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path, isolation_level=None, timeout=10.0)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO notes (body) VALUES ('seeded by python')")
    finally:
        conn.close()

    await runtime.activate(
        simple_state("notes", "n1", WORKER, bindings=({"type": "d1", "name": "DB", "id": database_id},))
    )
    base = runtime.url_for("notes")
    assert base is not None
    assert (await _get(f"{base}/")).json() == [{"id": 1, "body": "seeded by python"}]
    assert (await _get(f"{base}/write?body=from worker")).json() == {"id": 2}

    conn = sqlite3.connect(path, isolation_level=None, timeout=10.0)
    try:
        assert conn.execute("SELECT body FROM notes ORDER BY id").fetchall() == [
            ("seeded by python",),
            ("from worker",),
        ]
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {"notes", "_cf_METADATA"}  # workerd added its own table to the Python-made file
    finally:
        conn.close()
