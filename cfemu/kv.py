"""Workers KV namespaces: records in the state store, data in miniflare's files (`cfemu.storage_files`).

Endpoints (under `/client/v4/accounts/{a}/storage/kv/namespaces`), shapes from the official Python SDK 5.9.0
(`resources/kv/namespaces/namespaces.py`, `keys.py`, `values.py`; `types/kv/namespace.py`, `namespaces/key.py`):
- `POST ""` `{title, jurisdiction?}` → the namespace `{id, title, supports_url_encoding[, jurisdiction]}`. A title
  the account already uses is HTTP 400 code 10014 `a namespace with this account ID and title already exists`
  (the 400 is the SDK's docstring; code and text as wrangler prints them in workers-sdk issues #13242 and #14284).
  `title` is required, at most 512 characters (the API reference's `maxLength512`); `jurisdiction` is one of the
  SDK's `eu`, `fedramp`, `us`. The id is 32 lowercase hex digits (wrangler's `isValidKVNamespaceID`,
  `kv/helpers.ts`, checks `[0-9a-f]{32}`).
  GUESS: `supports_url_encoding` is true (the API's answer for namespaces made today); `jurisdiction` is shown only
  when one was given.
- `GET ""?page=&per_page=&order=&direction=` → page-paginated list with `result_info {page, per_page, count,
  total_count, total_pages}` (the SDK parses it as `V4PagePaginationArray`). `page` ≥ 1 and `per_page` from 1 to
  1000 (the API reference: developers.cloudflare.com/api/python/resources/kv/subresources/namespaces/methods/list);
  `order` is `id` or `title`, `direction` `asc` or `desc` (the SDK's `NamespaceListParams`). wrangler asks for
  `per_page=100&order=title&direction=asc` and stops at a short page (`listKVNamespaces`, `kv/helpers.ts`).
  GUESS: `per_page` defaults to 20; without `order` the namespaces come oldest first (`direction=desc` reverses).
- `GET /{id}` → the namespace; `PUT /{id}` `{title}` → the renamed namespace (the SDK's `update` returns it; a title
  another namespace has is 10014); `DELETE /{id}` → `{}` (the API reference's `Envelope<{ }>`), and the namespace's
  data is deleted with it (`storage_files.delete_object_data`). Scripts bound to it keep their binding.
  An id that names no namespace is code 10013 `namespace not found`; an id that is not 32 hex digits code 10011
  (both as `wrangler kv namespace delete` prints them, captured live in public projects' notes).
  GUESS: HTTP 404 for 10013 and HTTP 400 for 10011, and the 10011 text.
- `GET /{id}/keys?prefix=&limit=&cursor=` → `[{name, expiration?, metadata?}]` in key order, with
  `result_info {count, cursor}` (the SDK's `CursorLimitPagination`); `limit` from 10 to 1000, default 1000.
  GUESS: the cursor is opaque text (here the last key, base64url) and is `""` on the last page; the bounds are
  those of Cloudflare's KV list documentation.
- `GET /{id}/values/{key}` → the value's raw bytes (`application/octet-stream`, which the SDK asks for); a key
  that is absent or expired is code 10009 `get: 'key not found'` (as wrangler prints it). GUESS: HTTP 404.
  Expired keys (miniflare stores the expiry in milliseconds) are left out of both.

GUESS: every other malformed request (body, title, parameters) is HTTP 400 code 10011 with a text naming it.
Values are written by the Workers bound to the namespace (`env.NS.put`); the API does not write them.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cfemu import storage_files
from cfemu.context import Context, get_context
from cfemu.envelope import ApiError, bounded_int_param, decode_cursor, encode_cursor, ok, page_of, read_json_object
from cfemu.store import Store, now_iso

__all__ = ["namespace_exists", "routes"]

_BAD_REQUEST = 10011
_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_MAX_TITLE = 512
_JURISDICTIONS = ("eu", "fedramp", "us")
_DEFAULT_PER_PAGE = 20
_MAX_PER_PAGE = 1000
_MIN_KEYS_LIMIT = 10
_MAX_KEYS_LIMIT = 1000


def namespace_exists(store: Store, namespace_id: str) -> bool:
    """True if `namespace_id` is the id of an existing KV namespace."""
    return store.db.execute("SELECT 1 FROM kv_namespaces WHERE id = ?", (namespace_id,)).fetchone() is not None


def _describe(row: sqlite3.Row) -> dict[str, Any]:
    result: dict[str, Any] = {"id": row["id"], "title": row["title"], "supports_url_encoding": True}
    if row["jurisdiction"]:
        result["jurisdiction"] = row["jurisdiction"]
    return result


def _find(ctx: Context, namespace_id: str) -> sqlite3.Row:
    if not _ID_RE.match(namespace_id):
        raise ApiError(400, _BAD_REQUEST, f"could not parse namespace id {namespace_id!r}")
    row = ctx.store.db.execute("SELECT * FROM kv_namespaces WHERE id = ?", (namespace_id,)).fetchone()
    if row is None:
        raise ApiError(404, 10013, "namespace not found")
    assert isinstance(row, sqlite3.Row)
    return row


def _title(body: dict[str, Any]) -> str:
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ApiError(400, _BAD_REQUEST, "a namespace needs a `title` string")
    if len(title) > _MAX_TITLE:
        raise ApiError(400, _BAD_REQUEST, f"the title is longer than {_MAX_TITLE} characters")
    return title


def _check_title_free(ctx: Context, title: str, *, other_than: str = "") -> None:
    taken = ctx.store.db.execute("SELECT 1 FROM kv_namespaces WHERE title = ? AND id != ?", (title, other_than))
    if taken.fetchone() is not None:
        raise ApiError(400, 10014, "a namespace with this account ID and title already exists")


async def create_namespace(request: Request) -> Response:
    """`POST /accounts/{a}/storage/kv/namespaces`."""
    ctx = get_context(request)
    body = await read_json_object(request, code=_BAD_REQUEST)
    title = _title(body)
    jurisdiction = body.get("jurisdiction")
    if jurisdiction is not None and jurisdiction not in _JURISDICTIONS:
        raise ApiError(400, _BAD_REQUEST, f"Invalid jurisdiction {jurisdiction!r}; expected one of {_JURISDICTIONS}")
    _check_title_free(ctx, title)
    namespace_id = uuid.uuid4().hex
    ctx.store.db.execute(
        "INSERT INTO kv_namespaces (id, title, created_at, jurisdiction) VALUES (?, ?, ?, ?)",
        (namespace_id, title, now_iso(), jurisdiction),
    )
    return ok(_describe(_find(ctx, namespace_id)))


def _choice(request: Request, key: str, choices: tuple[str, ...]) -> str | None:
    value = request.query_params.get(key)
    if value is not None and value not in choices:
        raise ApiError(400, _BAD_REQUEST, f"Invalid {key}: {value!r}; expected one of {', '.join(choices)}")
    return value


async def list_namespaces(request: Request) -> Response:
    """`GET /accounts/{a}/storage/kv/namespaces?page=&per_page=&order=&direction=`."""
    ctx = get_context(request)
    page = bounded_int_param(request, "page", 1, 1, None, code=_BAD_REQUEST)
    per_page = bounded_int_param(request, "per_page", _DEFAULT_PER_PAGE, 1, _MAX_PER_PAGE, code=_BAD_REQUEST)
    order = _choice(request, "order", ("id", "title"))
    direction = _choice(request, "direction", ("asc", "desc"))
    column = {"id": "id", "title": "title", None: "created_at"}[order]
    way = "DESC" if direction == "desc" else "ASC"
    rows = ctx.store.db.execute(f"SELECT * FROM kv_namespaces ORDER BY {column} {way}, rowid {way}").fetchall()
    chunk, info = page_of(rows, page, per_page)
    return ok([_describe(row) for row in chunk], result_info=info)


async def get_namespace(request: Request) -> Response:
    """`GET /accounts/{a}/storage/kv/namespaces/{id}`."""
    ctx = get_context(request)
    return ok(_describe(_find(ctx, request.path_params["namespace_id"])))


async def rename_namespace(request: Request) -> Response:
    """`PUT /accounts/{a}/storage/kv/namespaces/{id}` `{title}`."""
    ctx = get_context(request)
    row = _find(ctx, request.path_params["namespace_id"])
    title = _title(await read_json_object(request, code=_BAD_REQUEST))
    _check_title_free(ctx, title, other_than=row["id"])
    ctx.store.db.execute("UPDATE kv_namespaces SET title = ? WHERE id = ?", (title, row["id"]))
    return ok(_describe(_find(ctx, row["id"])))


async def delete_namespace(request: Request) -> Response:
    """`DELETE /accounts/{a}/storage/kv/namespaces/{id}` (its keys and values go with it)."""
    ctx = get_context(request)
    row = _find(ctx, request.path_params["namespace_id"])
    ctx.store.db.execute("DELETE FROM kv_namespaces WHERE id = ?", (row["id"],))
    persist = storage_files.kv_persist_dir(ctx.config.data_dir)
    storage_files.delete_object_data(persist, storage_files.KV_UNIQUE_KEY, row["id"])
    return ok({})


def _now_ms() -> int:
    return int(time.time() * 1000)


def _live_entries(conn: sqlite3.Connection | None, condition: str, *params: object, limit: int) -> list[sqlite3.Row]:
    """At most `limit` unexpired entries meeting `condition` (SQL over `key`, parameters from ?2), in key order."""
    if conn is None or conn.execute("SELECT 1 FROM sqlite_master WHERE name = '_mf_entries'").fetchone() is None:
        return []
    return conn.execute(
        "SELECT key, blob_id, expiration, metadata FROM _mf_entries"
        f" WHERE (expiration IS NULL OR expiration >= ?1) AND {condition} ORDER BY key LIMIT {int(limit)}",
        (_now_ms(), *params),
    ).fetchall()


def _key_json(row: sqlite3.Row) -> dict[str, Any]:
    key: dict[str, Any] = {"name": row["key"]}
    if row["expiration"] is not None:
        key["expiration"] = int(row["expiration"]) // 1000
    if row["metadata"] is not None:
        key["metadata"] = json.loads(row["metadata"])
    return key


async def list_keys(request: Request) -> Response:
    """`GET /accounts/{a}/storage/kv/namespaces/{id}/keys?prefix=&limit=&cursor=`."""
    ctx = get_context(request)
    row = _find(ctx, request.path_params["namespace_id"])
    limit = bounded_int_param(request, "limit", _MAX_KEYS_LIMIT, _MIN_KEYS_LIMIT, _MAX_KEYS_LIMIT, code=_BAD_REQUEST)
    cursor = request.query_params.get("cursor") or ""
    after = decode_cursor(cursor, code=_BAD_REQUEST) if cursor else ""
    prefix = request.query_params.get("prefix") or ""
    persist = storage_files.kv_persist_dir(ctx.config.data_dir)
    with storage_files.open_object(persist, storage_files.KV_UNIQUE_KEY, row["id"]) as conn:
        condition = "substr(key, 1, length(?2)) = ?2 AND key > ?3"
        entries = _live_entries(conn, condition, prefix, after, limit=limit + 1)
    page, more = entries[:limit], len(entries) > limit
    next_cursor = encode_cursor(str(page[-1]["key"])) if more else ""
    return ok([_key_json(entry) for entry in page], result_info={"count": len(page), "cursor": next_cursor})


def _not_found() -> ApiError:
    return ApiError(404, 10009, "get: 'key not found'")


async def get_value(request: Request) -> Response:
    """`GET /accounts/{a}/storage/kv/namespaces/{id}/values/{key}`: the value's bytes."""
    ctx = get_context(request)
    row = _find(ctx, request.path_params["namespace_id"])
    key = request.path_params["key"]
    persist = storage_files.kv_persist_dir(ctx.config.data_dir)
    with storage_files.open_object(persist, storage_files.KV_UNIQUE_KEY, row["id"]) as conn:
        entries = _live_entries(conn, "key = ?2", key, limit=1)
    if not entries:
        raise _not_found()
    path = storage_files.blob_path(persist, row["id"], str(entries[0]["blob_id"]))
    if path is None or not path.is_file():
        raise _not_found()
    return Response(path.read_bytes(), media_type="application/octet-stream")


def routes() -> list[BaseRoute]:
    """Routes of this module (relative to /client/v4)."""
    base = "/accounts/{account_id}/storage/kv/namespaces"
    one = base + "/{namespace_id}"
    return [
        Route(base, create_namespace, methods=["POST"]),
        Route(base, list_namespaces, methods=["GET"]),
        Route(one, get_namespace, methods=["GET"]),
        Route(one, rename_namespace, methods=["PUT"]),
        Route(one, delete_namespace, methods=["DELETE"]),
        Route(one + "/keys", list_keys, methods=["GET"]),
        Route(one + "/values/{key:path}", get_value, methods=["GET"]),
    ]
