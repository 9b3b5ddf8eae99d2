"""Cloudflare's v4 response envelope and the one exception type handlers raise.

Every `/client/v4` answer is `{"success", "errors": [{"code", "message"}], "messages": [], "result"}`
(plus `result_info` for paged lists). Handlers return `ok(result)` or raise `ApiError`; the server turns
an `ApiError` into `error_response(...)`. wrangler reads `errors[0].code` and renders each error as
`<message> [code: <code>]`, so the message text is what users see.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "ApiError",
    "JsonObject",
    "bounded_int_param",
    "decode_cursor",
    "encode_cursor",
    "error_response",
    "ok",
    "page_of",
    "read_json_object",
]

JsonObject = dict[str, Any]


class ApiError(Exception):
    """A Cloudflare-style API error: HTTP status plus one or more `(code, message)` pairs."""

    def __init__(self, status: int, code: int, message: str, *, extra: list[tuple[int, str]] | None = None):
        super().__init__(f"{status} [{code}] {message}")
        self.status = status
        self.errors: list[tuple[int, str]] = [(code, message), *(extra or [])]

    @property
    def code(self) -> int:
        """The first error code (the one clients branch on)."""
        return self.errors[0][0]


def _json_response(body: JsonObject, status: int) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")).encode(),
        status_code=status,
        media_type="application/json",
    )


def ok(result: Any, *, status: int = 200, result_info: JsonObject | None = None) -> Response:
    """A successful envelope around `result`."""
    body: JsonObject = {"success": True, "errors": [], "messages": [], "result": result}
    if result_info is not None:
        body["result_info"] = result_info
    return _json_response(body, status)


def error_response(error: ApiError) -> Response:
    """The failed envelope for `error` (`result` is null)."""
    body: JsonObject = {
        "success": False,
        "errors": [{"code": code, "message": message} for code, message in error.errors],
        "messages": [],
        "result": None,
    }
    return _json_response(body, error.status)


async def read_json_object(request: Request, *, code: int = 10021) -> JsonObject:
    """Parse the request body as a JSON object, or raise a 400 `ApiError` with `code`."""
    raw = await request.body()
    try:
        value = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        # GUESS: Cloudflare's exact text for an unparsable JSON body is not documented; this mirrors its tone.
        raise ApiError(400, code, "Could not parse request body as JSON") from None
    if not isinstance(value, dict):
        raise ApiError(400, code, "Request body must be a JSON object")
    return value


def bounded_int_param(request: Request, key: str, default: int, low: int, high: int | None, *, code: int) -> int:
    """Query parameter `key` as an integer from `low` to `high` (no upper bound when None), or `default` when absent;
    anything else is a 400 `ApiError` with `code` naming the parameter and its bounds (never clamped)."""
    raw = request.query_params.get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ApiError(400, code, f"Invalid {key}: {raw!r}; it must be an integer {bounds}")
    return value


def encode_cursor(position: str) -> str:
    """An opaque list cursor for `position` (the last name or key a page held): base64url without padding.
    GUESS: Cloudflare's cursors are opaque; any text that round-trips serves a client that passes it back."""
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, code: int) -> str:
    """The position `encode_cursor` made `cursor` from, or a 400 `ApiError` with `code` for one it did not make."""
    try:
        return base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(400, code, f"Invalid cursor {cursor!r}") from None


def page_of(rows: Sequence[Any], page: int, per_page: int) -> tuple[list[Any], JsonObject]:
    """Page `page` (from 1) of `rows`, and the `result_info` Cloudflare's paged lists send with it."""
    chunk = list(rows[(page - 1) * per_page : page * per_page])
    info: JsonObject = {
        "page": page,
        "per_page": per_page,
        "count": len(chunk),
        "total_count": len(rows),
        "total_pages": math.ceil(len(rows) / per_page),
    }
    return chunk, info
