"""Static assets: upload sessions, bucket uploads and the per-account asset store.

1. `POST /accounts/{a}/workers/scripts/{name}/assets-upload-session` `{"manifest": {path: {hash, size}}}`
   (the script need not exist). The answer (HTTP 201, as wrangler's mock) is `{jwt, buckets}`: `buckets`
   holds the manifest's hashes that the account's store lacks, deduplicated, in manifest order, grouped
   into buckets of at most `MAX_BUCKET_FILES` files and `MAX_BUCKET_BYTES` bytes. When nothing is missing,
   `buckets` is `[]` and `jwt` is already a completion token.
2. `POST /accounts/{a}/workers/assets/upload?base64=true`, authorised by `Bearer <session jwt>` (not the
   API token): multipart, one part per hash, value = base64 of the bytes, part Content-Type = the MIME type
   to serve (`application/null` = none; anything else, e.g. `text/html; charset=utf-8`, is kept as sent).
   Until every bucket hash of the session is stored the answer is HTTP 202 `{}`, then HTTP 201
   `{"jwt": <completion token>}`.
3. The script upload sends the completion token as `assets.jwt`; `completed_manifest()` turns it back into
   the session's manifest.

Bytes live in `DATA_DIR/assets/<hash>`; the `assets` table keeps each hash's Content-Type and size. The
server trusts the client's hash (as Cloudflare appears to: any consistent 32-hex scheme is allowed).

A manifest may list at most `EmulatorConfig.max_asset_files` files (`--max-asset-files`; by default 20,000, the
Free plan's limit; 100,000 on Workers Paid). Sources: developers.cloudflare.com/workers/platform/limits ("Static
Asset Files per Worker Version": 20,000 Free / 100,000 Paid) and the direct-upload docs ("The overall manifest
must not contain more than 20,000 file entries"). wrangler 4.86 no longer counts the files itself: its check
(`Maximum number of assets exceeded. Cloudflare Workers supports up to 20,000 assets in a version. …`, in
`assets.ts`) was removed by cloudflare/workers-sdk PR #10489 (2025-09) so that the API enforces each plan's
limit ("We want the API to handle this"); only miniflare (local dev) still counts, against 100,000.
GUESS: the API's answer to a larger manifest: HTTP 400, code 10021 (Workers' validation code), a message that
names the limit and the count, and nothing is stored (the real code and text are not in our sources).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cfemu.context import Context, get_context
from cfemu.envelope import ApiError, ok, read_json_object
from cfemu.formdata import read_form_parts
from cfemu.names import check_script_name
from cfemu.runtime import AssetFile
from cfemu.store import now_iso
from cfemu.tokens import TokenError, TokenKind, issue_token, read_token

__all__ = [
    "MAX_ASSET_BYTES",
    "MAX_BUCKET_BYTES",
    "MAX_BUCKET_FILES",
    "asset_files",
    "completed_manifest",
    "is_upload_path",
    "routes",
]

# GUESS: Cloudflare's bucket limits are not published; wrangler's code assumes about 50 MiB per bucket.
MAX_BUCKET_BYTES = 50 * 1024 * 1024
MAX_BUCKET_FILES = 1000
MAX_ASSET_BYTES = 25 * 1024 * 1024  # Cloudflare's per-file limit.
# GUESS: the docs call the hash "a 32 hexadecimal character hash" but their samples vary; we require exactly 32 hex.
_HASH_RE = re.compile(r"^[0-9a-fA-F]{32}$")
_UPLOAD_PATH_RE = re.compile(r"^/client/v4/accounts/[^/]+/workers/assets/upload/?$")
# GUESS: codes and statuses for asset errors are not documented; 10021 is the Workers validation code and
# 401/10000 a rejected credential.
_INVALID = 10021

Manifest = dict[str, dict[str, Any]]


def is_upload_path(path: str) -> bool:
    """True for the asset upload path, which is authorised by a session JWT instead of the API token."""
    return _UPLOAD_PATH_RE.match(path) is not None


def asset_file_path(data_dir: Path, asset_hash: str) -> Path:
    """Where the bytes of asset `asset_hash` are stored."""
    return data_dir / "assets" / asset_hash


def _stored(ctx: Context, hashes: list[str]) -> set[str]:
    found: set[str] = set()
    for index in range(0, len(hashes), 500):
        chunk = hashes[index : index + 500]
        marks = ",".join("?" * len(chunk))
        rows = ctx.store.db.execute(f"SELECT hash FROM assets WHERE hash IN ({marks})", chunk).fetchall()
        found.update(str(row["hash"]) for row in rows)
    return found


def _validate_manifest(value: Any, max_files: int) -> Manifest:
    if not isinstance(value, dict):
        raise ApiError(400, _INVALID, "manifest must be an object of {path: {hash, size}}")
    if len(value) > max_files:
        raise ApiError(
            400,
            _INVALID,
            f"Maximum number of assets exceeded: the manifest lists {len(value):,} files, and a Worker version on "
            f"this account may have at most {max_files:,} assets",
        )
    manifest: Manifest = {}
    for path, entry in value.items():
        if not isinstance(entry, dict):
            raise ApiError(400, _INVALID, f"manifest entry {path!r} must be an object with hash and size")
        asset_hash, size = entry.get("hash"), entry.get("size")
        if not isinstance(asset_hash, str) or not _HASH_RE.match(asset_hash):
            raise ApiError(400, _INVALID, f"manifest entry {path!r}: hash must be 32 hexadecimal characters")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ApiError(400, _INVALID, f"manifest entry {path!r}: size must be a non-negative integer")
        if size > MAX_ASSET_BYTES:
            raise ApiError(400, _INVALID, f"manifest entry {path!r} is larger than {MAX_ASSET_BYTES} bytes")
        manifest[path] = {"hash": asset_hash, "size": size}
    return manifest


def _buckets(manifest: Manifest, missing: list[str]) -> list[list[str]]:
    sizes = {entry["hash"]: int(entry["size"]) for entry in manifest.values()}
    buckets: list[list[str]] = []
    current: list[str] = []
    current_bytes = 0
    for asset_hash in missing:
        size = sizes[asset_hash]
        if current and (len(current) >= MAX_BUCKET_FILES or current_bytes + size > MAX_BUCKET_BYTES):
            buckets.append(current)
            current, current_bytes = [], 0
        current.append(asset_hash)
        current_bytes += size
    if current:
        buckets.append(current)
    return buckets


async def create_upload_session(request: Request) -> Response:
    """`POST /accounts/{a}/workers/scripts/{name}/assets-upload-session`."""
    ctx = get_context(request)
    script_name = check_script_name(request.path_params["script_name"])
    body = await read_json_object(request)
    manifest = _validate_manifest(body.get("manifest"), ctx.config.max_asset_files)
    wanted = list(dict.fromkeys(entry["hash"] for entry in manifest.values()))
    present = _stored(ctx, wanted)
    buckets = _buckets(manifest, [h for h in wanted if h not in present])
    session_id = str(uuid.uuid4())
    ctx.store.db.execute(
        "INSERT INTO upload_sessions (id, script_name, manifest, buckets, created_at) VALUES (?, ?, ?, ?, ?)",
        (session_id, script_name, json.dumps(manifest), json.dumps(buckets), now_iso()),
    )
    kind: TokenKind = "asset-upload" if buckets else "asset-completion"
    jwt = issue_token(
        ctx.store.signing_key(),
        kind=kind,
        session_id=session_id,
        account_id=ctx.config.account_id,
        lifetime=ctx.token_lifetime(),
    )
    return ok({"jwt": jwt, "buckets": buckets}, status=201)


def _session(ctx: Context, session_id: str) -> tuple[Manifest, list[list[str]]]:
    row = ctx.store.db.execute("SELECT manifest, buckets FROM upload_sessions WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        raise ApiError(401, 10000, "Authentication error: unknown asset upload session")
    return json.loads(row["manifest"]), json.loads(row["buckets"])


def _decode(asset_hash: str, data: bytes) -> bytes:
    try:
        content = base64.b64decode(b"".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, _INVALID, f"The content of {asset_hash} is not valid base64") from None
    if len(content) > MAX_ASSET_BYTES:
        raise ApiError(400, _INVALID, f"Asset {asset_hash} is larger than {MAX_ASSET_BYTES} bytes")
    return content


async def upload_assets(request: Request) -> Response:
    """`POST /accounts/{a}/workers/assets/upload?base64=true` (session JWT auth)."""
    ctx = get_context(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(400, 9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
    try:
        session_id = read_token(
            ctx.store.signing_key(), token.strip(), kind="asset-upload", account_id=ctx.config.account_id
        )
    except TokenError as exc:
        raise ApiError(401, 10000, f"Authentication error: invalid asset upload token ({exc})") from None
    if request.query_params.get("base64") != "true":
        raise ApiError(400, _INVALID, "Asset uploads must be base64-encoded and sent with ?base64=true")
    _, buckets = _session(ctx, session_id)
    expected = {asset_hash for bucket in buckets for asset_hash in bucket}
    parts = await read_form_parts(request)
    decoded: list[tuple[str, bytes, str | None]] = []
    for part in parts:
        if part.name not in expected:
            # GUESS: Cloudflare's reaction to a hash outside the session's buckets is undocumented.
            raise ApiError(400, _INVALID, f"Hash {part.name} is not part of this upload session")
        content_type = part.content_type
        if content_type is None or content_type.lower() == "application/null":
            content_type = None
        decoded.append((part.name, _decode(part.name, part.data), content_type))
    for asset_hash, content, _content_type in decoded:
        path = asset_file_path(ctx.config.data_dir, asset_hash)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{asset_hash}.{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(content)
        tmp.replace(path)
    # One transaction per bucket: the records become visible together, and one commit costs one fsync.
    with ctx.store.transaction() as db:
        db.executemany(
            "INSERT OR REPLACE INTO assets (hash, content_type, size, uploaded_at) VALUES (?, ?, ?, ?)",
            [(asset_hash, content_type, len(content), now_iso()) for asset_hash, content, content_type in decoded],
        )
    if len(_stored(ctx, sorted(expected))) < len(expected):
        return ok({}, status=202)
    jwt = issue_token(
        ctx.store.signing_key(),
        kind="asset-completion",
        session_id=session_id,
        account_id=ctx.config.account_id,
        lifetime=ctx.token_lifetime(),
    )
    return ok({"jwt": jwt}, status=201)


def completed_manifest(ctx: Context, jwt: object) -> Manifest:
    """The manifest of the session whose completion token is `jwt`, or raise a 10021 error."""
    if not isinstance(jwt, str):
        raise ApiError(400, _INVALID, "assets.jwt must be a string")
    try:
        session_id = read_token(ctx.store.signing_key(), jwt, kind="asset-completion", account_id=ctx.config.account_id)
    except TokenError as exc:
        # GUESS: code and text for an invalid completion token in script metadata.
        raise ApiError(400, _INVALID, f"Invalid assets completion token ({exc})") from None
    manifest, _ = _session(ctx, session_id)
    missing = {entry["hash"] for entry in manifest.values()} - _stored(
        ctx, [entry["hash"] for entry in manifest.values()]
    )
    if missing:
        raise ApiError(400, _INVALID, f"Assets of this upload session are missing: {sorted(missing)[:5]}")
    return manifest


def asset_files(ctx: Context, manifest: Manifest) -> tuple[AssetFile, ...]:
    """The stored files behind `manifest`, for the runtime."""
    hashes = sorted({entry["hash"] for entry in manifest.values()})
    types: dict[str, str | None] = {}
    for index in range(0, len(hashes), 500):
        chunk = hashes[index : index + 500]
        marks = ",".join("?" * len(chunk))
        for row in ctx.store.db.execute(f"SELECT hash, content_type FROM assets WHERE hash IN ({marks})", chunk):
            types[str(row["hash"])] = row["content_type"]
    return tuple(
        AssetFile(
            path=path,
            hash=entry["hash"],
            size=int(entry["size"]),
            content_type=types.get(entry["hash"]),
            file=asset_file_path(ctx.config.data_dir, entry["hash"]),
        )
        for path, entry in manifest.items()
    )


def routes() -> list[BaseRoute]:
    """Routes of this module (relative to /client/v4)."""
    return [
        Route(
            "/accounts/{account_id}/workers/scripts/{script_name}/assets-upload-session",
            create_upload_session,
            methods=["POST"],
        ),
        Route("/accounts/{account_id}/workers/assets/upload", upload_assets, methods=["POST"]),
    ]
