"""The request log (`GET /__emulator/requests`).

`RequestLogMiddleware` wraps the whole app. For every request under `/client/v4` it records one entry
`{seq, method, path, query, status, request_bytes, response_bytes, content_type, json, form}`:

- `json`: the parsed body of a JSON request, else null;
- `form`: for a multipart body, its parts (`name`, `filename`, `content_type`, `size`) and the parsed JSON of a
  part named `metadata`, else null.

Secret values never reach the log: the `text` of secret bindings and of anything sent to `/secrets`, and the key
material of secret keys, are replaced by `"<redacted>"`. `/__emulator/*` calls are not logged. The log lives in
memory, so it starts empty on every server start; `seq` counts from 1.

Network shaping (`--latency-ms`, `--bandwidth`) is `cfemu.network.NetworkShaper`, a middleware of its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cfemu.envelope import ApiError
from cfemu.formdata import parse_form_parts

__all__ = ["API_PREFIX", "RequestLog", "RequestLogMiddleware", "list_requests"]

API_PREFIX = "/client/v4"


@dataclass(slots=True)
class RequestLog:
    """In-memory list of logged requests."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    next_seq: int = 1

    def add(self, entry: dict[str, Any]) -> None:
        """Append `entry`, giving it the next sequence number."""
        entry["seq"] = self.next_seq
        self.next_seq += 1
        self.entries.append(entry)

    def since(self, seq: int) -> list[dict[str, Any]]:
        """Entries with a sequence number above `seq`."""
        return [entry for entry in self.entries if entry["seq"] > seq]


def _parse_json(body: bytes, content_type: str) -> Any:
    media = content_type.split(";", 1)[0].strip().lower()
    if not (media == "application/json" or media.endswith("+json")):
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _describe_form(body: bytes, content_type: str) -> dict[str, Any] | None:
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    try:
        parts = parse_form_parts(content_type, body)
    except ApiError:
        return None
    described: dict[str, Any] = {
        "parts": [
            {"name": p.name, "filename": p.filename, "content_type": p.content_type, "size": len(p.data)} for p in parts
        ],
        "metadata": None,
    }
    metadata_part = next((p for p in parts if p.name == "metadata"), None)
    if metadata_part is not None:
        try:
            metadata = json.loads(metadata_part.data)
        except (ValueError, UnicodeDecodeError):
            return described
        if isinstance(metadata, dict):
            described["metadata"] = redact_secrets(metadata)
    return described


_SECRET_TYPES = ("secret_text", "secret_key")
_KEY_MATERIAL = ("key_base64", "key_jwk")
REDACTED = "<redacted>"


def redact_secrets(value: Any, *, secret_context: bool = False) -> Any:
    """`value` with secret material replaced by `"<redacted>"`: the `text` of secret bindings (or of anything
    sent to a `/secrets` endpoint, `secret_context`) and `key_base64` / `key_jwk` of secret keys."""
    if isinstance(value, list):
        return [redact_secrets(item, secret_context=secret_context) for item in value]
    if not isinstance(value, dict):
        return value
    is_secret = secret_context or value.get("type") in _SECRET_TYPES
    redacted: dict[str, Any] = {}
    for key, item in value.items():
        if key in _KEY_MATERIAL or (key == "text" and is_secret):
            redacted[key] = REDACTED
        else:
            redacted[key] = redact_secrets(item, secret_context=secret_context)
    return redacted


class RequestLogMiddleware:
    """Records each `/client/v4` request in a `RequestLog` (see the module docstring)."""

    def __init__(self, app: ASGIApp, log: RequestLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        # The whole body is read up front so that its size is known even when a handler rejects the
        # request without reading it; the app then receives it as one message.
        body = bytearray()
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] != "http.request":
                return
            body.extend(message.get("body", b""))
            more_body = bool(message.get("more_body", False))
        status = 0
        response_bytes = 0
        replayed = False

        async def replay_receive() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        async def logging_send(message: Message) -> None:
            nonlocal status, response_bytes
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                response_bytes += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, logging_send)
        finally:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            content_type = headers.get("content-type")
            self.log.add(
                {
                    "method": scope.get("method", ""),
                    "path": path,
                    "query": scope.get("query_string", b"").decode("latin-1"),
                    "status": status,
                    "request_bytes": len(body),
                    "response_bytes": response_bytes,
                    "content_type": content_type,
                    "json": redact_secrets(
                        _parse_json(bytes(body), content_type or ""), secret_context="/secrets" in path
                    ),
                    "form": _describe_form(bytes(body), content_type or ""),
                }
            )


async def list_requests(request: Request) -> Response:
    """`GET /__emulator/requests[?since=SEQ]`: the logged requests, oldest first."""
    log: RequestLog = request.app.state.request_log
    try:
        since = int(request.query_params.get("since", "0"))
    except ValueError:
        since = 0
    return JSONResponse(log.since(since))
