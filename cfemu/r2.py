"""R2 buckets: records in the state store, objects in miniflare's files (`cfemu.storage_files`).

Endpoints (under `/client/v4/accounts/{a}/r2/buckets`), shapes from the official Python SDK 5.9.0
(`resources/r2/buckets/buckets.py`; `types/r2/bucket.py`, `bucket_list_response.py`, `bucket_create_params.py`,
`bucket_list_params.py`) and wrangler (`packages/wrangler/src/r2/helpers/bucket.ts`); codes from Cloudflare's R2
error codes page (cloudflare-docs `src/content/docs/r2/api/error-codes.mdx`):
- A bucket is `{name, creation_date, location, storage_class, jurisdiction}` (the SDK's `Bucket`, every field
  optional; wrangler reads `name`, `creation_date`, `location`, `storage_class`).
  GUESS: `location` is the hint given at creation, else `enam`, in the SDK's lower case; `jurisdiction` is
  always sent (`default` when none); `creation_date` is ISO 8601 with milliseconds.
- Every endpoint takes the `cf-r2-jurisdiction` header (`default`, `eu`, `us`, `fedramp`, `fedramp-high`; absent
  means `default`): a bucket lives in one jurisdiction, and the same name in two jurisdictions is two buckets.
- `POST ""` `{name, locationHint?, storageClass?}` → the bucket. A name is 3 to 63 characters of lower-case
  letters, digits and `-`, beginning and ending with a letter or digit, else HTTP 400 code 10005 (error codes
  page: InvalidBucketName; GUESS: S3's text `The specified bucket name is not valid.`). A name the account already
  has in that jurisdiction is HTTP 409 code 10004 `The bucket you tried to create already exists, and you own it.`
  (as `wrangler r2 bucket create` prints it, quoted by public projects that match on it; the error codes page lists
  10073 BucketConflict 409 besides). `locationHint` is one of `apac eeur enam weur wnam oc` (case-insensitive),
  `storageClass` `Standard` (the default) or `InfrequentAccess` (the SDK's literals).
- `GET ""?name_contains=&start_after=&per_page=&order=name&direction=&cursor=` → `result: {"buckets": [...]}`
  (wrangler's `listR2Buckets` reads `result.buckets`), names in lexicographic order (the SDK: "Buckets are ordered
  lexicographically"), `result_info: {cursor?, per_page}` (cursor style, see the project's API reference §7).
  `per_page` is 1 to 1000 (the API reference: developers.cloudflare.com/api/go/resources/r2/subresources/buckets/
  methods/list). GUESS: `per_page` defaults to 20; the cursor is opaque text (here the page's last name,
  base64url) and is left out on the last page; `name_contains` is a case-sensitive substring match.
- `GET /{name}` → the bucket; a bucket the account does not have is HTTP 404 code 10006 `The specified bucket does
  not exist.` (NoSuchBucket, error codes page; the text is also what wrangler prints).
- `DELETE /{name}` → `{}`; a bucket holding objects or unfinished multipart uploads is HTTP 409 code 10008
  (BucketNotEmpty, error codes page; the SDK's docstring: "The bucket must have no objects, no in-progress multipart
  uploads"). GUESS: the 10008 text (S3's) and the `{}` result (the SDK types it `object`). Its files are deleted.
  Scripts bound to it keep their binding.
GUESS: any other malformed request is HTTP 400 code 10040 with a text naming it.
Objects are written by the Workers bound to the bucket (`env.BUCKET.put`); the API lists and deletes them
(`cfemu.r2_objects`).
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cfemu import storage_files
from cfemu.context import Context, get_context
from cfemu.envelope import ApiError, bounded_int_param, decode_cursor, encode_cursor, ok, read_json_object
from cfemu.store import Store

__all__ = ["BAD_REQUEST", "bucket_exists", "bucket_storage", "routes"]

BAD_REQUEST = 10040  # GUESS: see the module docstring
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_LOCATIONS = ("apac", "eeur", "enam", "weur", "wnam", "oc")
_DEFAULT_LOCATION = "enam"
_STORAGE_CLASSES = ("Standard", "InfrequentAccess")
_JURISDICTIONS = ("default", "eu", "us", "fedramp", "fedramp-high")
_DEFAULT_PER_PAGE = 20
_MAX_PER_PAGE = 1000


def bucket_exists(store: Store, name: str, jurisdiction: str = "default") -> bool:
    """True if the account has a bucket `name` in `jurisdiction`."""
    row = store.db.execute("SELECT 1 FROM r2_buckets WHERE name = ? AND jurisdiction = ?", (name, jurisdiction))
    return row.fetchone() is not None


def _jurisdiction(request: Request) -> str:
    value = request.headers.get("cf-r2-jurisdiction", "default")
    if value not in _JURISDICTIONS:
        raise ApiError(400, BAD_REQUEST, f"Invalid cf-r2-jurisdiction {value!r}; expected one of {_JURISDICTIONS}")
    return value


def _describe(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "name": row["name"],
        "creation_date": row["created_at"],
        "location": row["location"],
        "storage_class": row["storage_class"],
        "jurisdiction": row["jurisdiction"],
    }


def _find(ctx: Context, name: str, jurisdiction: str) -> sqlite3.Row:
    row = ctx.store.db.execute(
        "SELECT * FROM r2_buckets WHERE name = ? AND jurisdiction = ?", (name, jurisdiction)
    ).fetchone()
    if row is None:
        raise ApiError(404, 10006, "The specified bucket does not exist.")
    assert isinstance(row, sqlite3.Row)
    return row


def bucket_storage(ctx: Context, request: Request) -> str:
    """The storage name (`storage_files.r2_storage_name`) of the bucket `{bucket_name}` in the request's jurisdiction;
    raises 10006 when the account has no such bucket."""
    row = _find(ctx, request.path_params["bucket_name"], _jurisdiction(request))
    return storage_files.r2_storage_name(row["name"], row["jurisdiction"])


def _creation_date() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _location(body: dict[str, Any]) -> str:
    hint = body.get("locationHint")
    if hint is None:
        return _DEFAULT_LOCATION
    if not isinstance(hint, str) or hint.lower() not in _LOCATIONS:
        raise ApiError(400, BAD_REQUEST, f"Invalid locationHint {hint!r}; expected one of {', '.join(_LOCATIONS)}")
    return hint.lower()


async def create_bucket(request: Request) -> Response:
    """`POST /accounts/{a}/r2/buckets`."""
    ctx = get_context(request)
    jurisdiction = _jurisdiction(request)
    body = await read_json_object(request, code=BAD_REQUEST)
    name = body.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ApiError(400, 10005, "The specified bucket name is not valid.")
    location = _location(body)
    storage_class = body.get("storageClass", "Standard")
    if storage_class not in _STORAGE_CLASSES:
        raise ApiError(400, BAD_REQUEST, f"Invalid storageClass {storage_class!r}; expected one of {_STORAGE_CLASSES}")
    if bucket_exists(ctx.store, name, jurisdiction):
        raise ApiError(409, 10004, "The bucket you tried to create already exists, and you own it.")
    ctx.store.db.execute(
        "INSERT INTO r2_buckets (name, jurisdiction, created_at, location, storage_class) VALUES (?, ?, ?, ?, ?)",
        (name, jurisdiction, _creation_date(), location, storage_class),
    )
    return ok(_describe(_find(ctx, name, jurisdiction)))


def _choice(request: Request, key: str, choices: tuple[str, ...], default: str) -> str:
    value = request.query_params.get(key, default)
    if value not in choices:
        raise ApiError(400, BAD_REQUEST, f"Invalid {key}: {value!r}; expected one of {', '.join(choices)}")
    return value


async def list_buckets(request: Request) -> Response:
    """`GET /accounts/{a}/r2/buckets?name_contains=&start_after=&per_page=&order=&direction=&cursor=`."""
    ctx = get_context(request)
    jurisdiction = _jurisdiction(request)
    per_page = bounded_int_param(request, "per_page", _DEFAULT_PER_PAGE, 1, _MAX_PER_PAGE, code=BAD_REQUEST)
    _choice(request, "order", ("name",), "name")
    descending = _choice(request, "direction", ("asc", "desc"), "asc") == "desc"
    rows = ctx.store.db.execute("SELECT * FROM r2_buckets WHERE jurisdiction = ?", (jurisdiction,)).fetchall()
    rows.sort(key=lambda row: str(row["name"]), reverse=descending)
    needle = request.query_params.get("name_contains")
    if needle:
        rows = [row for row in rows if needle in str(row["name"])]
    cursor = request.query_params.get("cursor")
    after = decode_cursor(cursor, code=BAD_REQUEST) if cursor else request.query_params.get("start_after")
    if after:
        rows = [row for row in rows if (str(row["name"]) < after if descending else str(row["name"]) > after)]
    page = rows[:per_page]
    info: dict[str, Any] = {"per_page": per_page}
    if len(rows) > per_page:
        info["cursor"] = encode_cursor(str(page[-1]["name"]))
    return ok({"buckets": [_describe(row) for row in page]}, result_info=info)


async def get_bucket(request: Request) -> Response:
    """`GET /accounts/{a}/r2/buckets/{name}`."""
    ctx = get_context(request)
    return ok(_describe(_find(ctx, request.path_params["bucket_name"], _jurisdiction(request))))


def _held(conn: sqlite3.Connection | None) -> int:
    """How many objects and unfinished multipart uploads (miniflare's state 0) the bucket's file holds."""
    if conn is None:
        return 0
    tables = storage_files.tables(conn)
    count = 0
    if "_mf_objects" in tables:
        count += int(conn.execute("SELECT count(*) FROM _mf_objects").fetchone()[0])
    if "_mf_multipart_uploads" in tables:
        count += int(conn.execute("SELECT count(*) FROM _mf_multipart_uploads WHERE state = 0").fetchone()[0])
    return count


async def delete_bucket(request: Request) -> Response:
    """`DELETE /accounts/{a}/r2/buckets/{name}`: only an empty bucket; its files are deleted."""
    ctx = get_context(request)
    row = _find(ctx, request.path_params["bucket_name"], _jurisdiction(request))
    persist = storage_files.r2_persist_dir(ctx.config.data_dir)
    storage = storage_files.r2_storage_name(row["name"], row["jurisdiction"])
    with storage_files.open_object(persist, storage_files.R2_UNIQUE_KEY, storage) as conn:
        if _held(conn):
            raise ApiError(409, 10008, "The bucket you tried to delete is not empty.")
    ctx.store.db.execute(
        "DELETE FROM r2_buckets WHERE name = ? AND jurisdiction = ?", (row["name"], row["jurisdiction"])
    )
    storage_files.delete_object_data(persist, storage_files.R2_UNIQUE_KEY, storage)
    return ok({})


def routes() -> list[BaseRoute]:
    """Routes of this module (relative to /client/v4)."""
    base = "/accounts/{account_id}/r2/buckets"
    return [
        Route(base, create_bucket, methods=["POST"]),
        Route(base, list_buckets, methods=["GET"]),
        Route(base + "/{bucket_name}", get_bucket, methods=["GET"]),
        Route(base + "/{bucket_name}", delete_bucket, methods=["DELETE"]),
    ]
