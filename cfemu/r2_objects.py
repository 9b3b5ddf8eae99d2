"""The objects of an R2 bucket through the API: listed and deleted, which is what emptying a bucket before deleting it
takes (Cloudflare refuses to delete a bucket that holds objects, see `cfemu.r2`).

Endpoints (under `/client/v4/accounts/{a}/r2/buckets/{name}`; the `cf-r2-jurisdiction` header picks the bucket as
for the bucket endpoints), shapes from the official Python SDK 5.9.0 (`resources/r2/buckets/objects.py`,
`types/r2/buckets/object_list_response.py`, `object_list_params.py`, `object_delete_response.py`):
- `GET /objects?prefix=&start_after=&per_page=&cursor=` → `[{key, size, etag, last_modified, http_metadata,
  custom_metadata, storage_class}]` in key order (the SDK: "keys that come after the specified key in lexicographic
  order"), with `result_info {count, per_page, cursor?}` (the SDK's `CursorPagination`). `etag` is the raw hex
  digest, without quotes (the SDK's docstring of `etag`); `http_metadata` and `custom_metadata` are what the Worker
  stored (miniflare keeps them as JSON with the SDK's camelCase keys).
  GUESS: `per_page` is 1 to 1000 and defaults to 1000 (S3's ListObjectsV2 page); the cursor is left out on the last
  page; `storage_class` is `Standard` (miniflare keeps none per object); `last_modified` is ISO 8601 with
  milliseconds.
  DIFFERENCE: `delimiter` (grouping keys) is not emulated and is refused with HTTP 400 code 10040.
- `DELETE /objects/{key}` → `{key}` (the SDK's `ObjectDeleteResponse`); the key may hold `/`. The object's rows and
  blobs are deleted from miniflare's files, so the Workers bound to the bucket no longer see it.
  GUESS: a key the bucket does not hold is deleted all the same (as S3's DeleteObject and the Workers binding's
  `delete()` do).
A bucket the account does not have is HTTP 404 code 10006 (`cfemu.r2`). Reading an object's bytes
(`GET /objects/{key}`) and uploading one are not emulated: the Workers bound to the bucket read and write them.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cfemu import storage_files
from cfemu.context import get_context
from cfemu.envelope import ApiError, bounded_int_param, decode_cursor, encode_cursor, ok
from cfemu.r2 import BAD_REQUEST, bucket_storage

__all__ = ["routes"]

_MAX_PER_PAGE = 1000


def _iso_millis(epoch_ms: int) -> str:
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _describe(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "key": row["key"],
        "size": row["size"],
        "etag": row["etag"],
        "last_modified": _iso_millis(int(row["uploaded"])),
        "http_metadata": json.loads(row["http_metadata"]),
        "custom_metadata": json.loads(row["custom_metadata"]),
        "storage_class": "Standard",
    }


async def list_objects(request: Request) -> Response:
    """`GET /accounts/{a}/r2/buckets/{name}/objects?prefix=&start_after=&per_page=&cursor=`."""
    ctx = get_context(request)
    storage = bucket_storage(ctx, request)
    per_page = bounded_int_param(request, "per_page", _MAX_PER_PAGE, 1, _MAX_PER_PAGE, code=BAD_REQUEST)
    if request.query_params.get("delimiter"):
        raise ApiError(400, BAD_REQUEST, "delimiter is not supported by this emulator")
    cursor = request.query_params.get("cursor")
    after = decode_cursor(cursor, code=BAD_REQUEST) if cursor else request.query_params.get("start_after", "")
    prefix = request.query_params.get("prefix", "")
    persist = storage_files.r2_persist_dir(ctx.config.data_dir)
    rows: list[sqlite3.Row] = []
    with storage_files.open_object(persist, storage_files.R2_UNIQUE_KEY, storage) as conn:
        if conn is not None and "_mf_objects" in storage_files.tables(conn):
            rows = conn.execute(
                "SELECT key, size, etag, uploaded, http_metadata, custom_metadata FROM _mf_objects"
                " WHERE substr(key, 1, length(?1)) = ?1 AND key > ?2 ORDER BY key LIMIT ?3",
                (prefix, after, per_page + 1),
            ).fetchall()
    page = rows[:per_page]
    info: dict[str, Any] = {"count": len(page), "per_page": per_page}
    if len(rows) > per_page:
        info["cursor"] = encode_cursor(str(page[-1]["key"]))
    return ok([_describe(row) for row in page], result_info=info)


def _delete_rows(conn: sqlite3.Connection, key: str) -> list[str]:
    """Delete object `key` (and the parts it was assembled from) in one transaction; return the blob ids it used."""
    present = storage_files.tables(conn)
    if "_mf_objects" not in present:
        return []
    conn.execute("BEGIN IMMEDIATE")
    try:
        blobs = [row[0] for row in conn.execute("SELECT blob_id FROM _mf_objects WHERE key = ?", (key,)) if row[0]]
        if "_mf_multipart_parts" in present:
            parts = conn.execute("SELECT blob_id FROM _mf_multipart_parts WHERE object_key = ?", (key,))
            blobs += [str(row[0]) for row in parts]
            conn.execute("DELETE FROM _mf_multipart_parts WHERE object_key = ?", (key,))
        conn.execute("DELETE FROM _mf_objects WHERE key = ?", (key,))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return [str(blob) for blob in blobs]


async def delete_object(request: Request) -> Response:
    """`DELETE /accounts/{a}/r2/buckets/{name}/objects/{key}`."""
    ctx = get_context(request)
    storage = bucket_storage(ctx, request)
    key = request.path_params["object_key"]
    persist = storage_files.r2_persist_dir(ctx.config.data_dir)
    with storage_files.open_object(persist, storage_files.R2_UNIQUE_KEY, storage) as conn:
        blobs = [] if conn is None else _delete_rows(conn, key)
    for blob_id in blobs:
        path = storage_files.blob_path(persist, storage, blob_id)
        if path is not None:
            path.unlink(missing_ok=True)
    return ok({"key": key})


def routes() -> list[BaseRoute]:
    """Routes of this module (relative to /client/v4)."""
    base = "/accounts/{account_id}/r2/buckets/{bucket_name}/objects"
    return [
        Route(base, list_objects, methods=["GET"]),
        Route(base + "/{object_key:path}", delete_object, methods=["DELETE"]),
    ]
