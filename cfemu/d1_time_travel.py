"""D1 Time Travel: bookmarks of a database's contents, and restoring one, for real.

Endpoints (under `/client/v4/accounts/{a}/d1/database/{uuid}/time_travel`), shapes from the reference
(wrangler `d1/timeTravel/utils.ts`, `restore.ts`, `types.ts`; the TS SDK's `database/time-travel.ts`):
- `GET /bookmark[?timestamp=<ISO 8601>]` → `{bookmark}`: the current bookmark, or the one at that time.
- `POST /restore?bookmark=<b>` (or `?timestamp=`) → `{bookmark, previous_bookmark, message}`: the database's
  contents become what they were at the bookmark; `previous_bookmark` is where it was just before, so a
  restore can itself be undone.

Real D1 keeps a continuous log for 30 days, so any past moment has a bookmark. The emulator keeps a copy of
the SQLite file instead, made when a bookmark is asked for (and before every restore): GUESS: a `timestamp`
resolves to the newest copy made at or before it, and a time before the first copy is refused (code 7400,
like a malformed request; the real text and code are not in our sources). Bookmarks look like D1's
(`00000001-00000002-00004c6d-<32 hex>`: a sequence number, the page count, the change counter, a hash of the
contents) and the same contents asked twice in a row give the same bookmark, as an idle database does in D1.

The copy is made and restored with SQLite's backup API through the database's own locks, so a Worker running
in workerd on the same file sees the restored rows on its next query.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import sqlite3
from datetime import datetime
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cfemu.context import Context, get_context
from cfemu.d1 import bookmark_dir, d1_sqlite_path
from cfemu.d1sql import open_database
from cfemu.envelope import ApiError, ok
from cfemu.store import now_iso

__all__ = ["routes"]

_BAD_REQUEST = 7400  # GUESS, as in cfemu.d1
_BOOKMARK = re.compile(r"[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}")


def _database(ctx: Context, request: Request) -> str:
    database_id = request.path_params["database_id"]
    row = ctx.store.db.execute("SELECT uuid FROM d1_databases WHERE uuid = ?", (database_id,)).fetchone()
    if row is None:
        raise ApiError(404, 7404, f"The database {database_id} could not be found")
    return str(row["uuid"])


def _snapshot(live: Path, folder: Path, sequence: int) -> tuple[str, Path]:
    """Copy `live` into `folder`; return its bookmark and the copy's path."""
    folder.mkdir(parents=True, exist_ok=True)
    scratch = folder / f".copy-{sequence}.sqlite"
    source = open_database(live)
    try:
        target = sqlite3.connect(scratch)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")
            pages = target.execute("PRAGMA page_count").fetchone()[0]
            counter = target.execute("PRAGMA schema_version").fetchone()[0]
        finally:
            target.close()
    finally:
        source.close()
    # The first 100 bytes are SQLite's file header, whose change counter moves with every copy.
    content = hashlib.sha256(scratch.read_bytes()[100:]).hexdigest()[:32]
    bookmark = f"{sequence:08x}-{int(pages):08x}-{int(counter):08x}-{content}"
    path = folder / f"{bookmark}.sqlite"
    scratch.replace(path)
    return bookmark, path


def _latest(ctx: Context, database_id: str) -> str | None:
    row = ctx.store.db.execute(
        "SELECT bookmark FROM d1_bookmarks WHERE uuid = ? ORDER BY created_at DESC, bookmark DESC LIMIT 1",
        (database_id,),
    ).fetchone()
    return None if row is None else str(row["bookmark"])


async def _current_bookmark(ctx: Context, database_id: str) -> str:
    """The bookmark of the contents now: the newest one if nothing changed since, else a new copy."""
    folder = bookmark_dir(ctx.config.data_dir, database_id)
    latest = _latest(ctx, database_id)
    sequence = int(latest.split("-")[0], 16) + 1 if latest else 1
    bookmark, path = await asyncio.to_thread(
        _snapshot, d1_sqlite_path(ctx.config.data_dir, database_id), folder, sequence
    )
    if latest is not None and latest.split("-")[1:] == bookmark.split("-")[1:]:
        path.unlink()
        return latest
    ctx.store.db.execute(
        "INSERT INTO d1_bookmarks (uuid, bookmark, created_at) VALUES (?, ?, ?)", (database_id, bookmark, now_iso())
    )
    return bookmark


def _at_time(ctx: Context, database_id: str, timestamp: str) -> str:
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, _BAD_REQUEST, f"Invalid timestamp: {timestamp!r}") from None
    rows = ctx.store.db.execute(
        "SELECT bookmark, created_at FROM d1_bookmarks WHERE uuid = ? ORDER BY created_at DESC", (database_id,)
    ).fetchall()
    for row in rows:
        if datetime.fromisoformat(str(row["created_at"]).replace("Z", "+00:00")) <= moment:
            return str(row["bookmark"])
    raise ApiError(400, _BAD_REQUEST, f"No bookmark at or before {timestamp} for this database")


async def get_bookmark(request: Request) -> Response:
    """`GET …/time_travel/bookmark[?timestamp=]`."""
    ctx = get_context(request)
    database_id = _database(ctx, request)
    timestamp = request.query_params.get("timestamp")
    if timestamp:
        return ok({"bookmark": _at_time(ctx, database_id, timestamp)})
    return ok({"bookmark": await _current_bookmark(ctx, database_id)})


def _restore_file(copy: Path, live: Path) -> None:
    source = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        target = open_database(live)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


async def restore(request: Request) -> Response:
    """`POST …/time_travel/restore?bookmark=` (or `?timestamp=`)."""
    ctx = get_context(request)
    database_id = _database(ctx, request)
    bookmark = request.query_params.get("bookmark")
    timestamp = request.query_params.get("timestamp")
    if not bookmark and not timestamp:
        raise ApiError(400, _BAD_REQUEST, "A bookmark or a timestamp is required")
    target = bookmark or _at_time(ctx, database_id, str(timestamp))
    copy = bookmark_dir(ctx.config.data_dir, database_id) / f"{target}.sqlite"
    if not _BOOKMARK.fullmatch(target) or not copy.is_file():
        raise ApiError(400, _BAD_REQUEST, f"Invalid bookmark: {target!r} is not a bookmark of this database")
    previous = await _current_bookmark(ctx, database_id)
    await asyncio.to_thread(_restore_file, copy, d1_sqlite_path(ctx.config.data_dir, database_id))
    current = await _current_bookmark(ctx, database_id)
    return ok(
        {
            "bookmark": current,
            "previous_bookmark": previous,
            "message": f"Database restored to bookmark {target}",
        }
    )


def routes() -> list[BaseRoute]:
    """Routes of this module (relative to /client/v4)."""
    base = "/accounts/{account_id}/d1/database/{database_id}/time_travel"
    return [
        Route(base + "/bookmark", get_bookmark, methods=["GET"]),
        Route(base + "/restore", restore, methods=["POST"]),
    ]
