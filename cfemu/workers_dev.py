"""Serving `https://{script}.{subdomain}.workers.dev` locally: Host-based routing to the running Workers.

The emulator answers browser requests on its own port by Host name:

    http://{script}.{subdomain}.workers.dev.localhost:{port}/...

(`*.localhost` resolves to loopback in browsers and in curl; other clients can send the request to
127.0.0.1 with that Host header). `serve_workers_dev` forwards such a request to the Miniflare instance
serving the script and streams the answer back unchanged: status, every header (repeated `Set-Cookie`
included), body bytes as sent (no decompression), and redirects are passed through, not followed.

The Worker sees the browser's URL: the request goes to workerd with the original `Host` header, and
workerd builds `request.url` from it (checked: `http://items-app.demo.workers.dev.localhost:8787/x?y=1`),
so absolute URLs the Worker builds from `request.url` point back at the emulator.
DIFFERENCE: the scheme is `http`, not `https` (the emulator serves plain HTTP).
`CF-Connecting-IP` is set to the client's address and `X-Forwarded-For` extended, as Cloudflare does;
headers starting with `MF-` (miniflare's internal control headers) are dropped from the request.
WebSocket upgrades are not proxied.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol, runtime_checkable

import httpx
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from cfemu.miniflare_runtime import Lease

__all__ = [
    "WORKERS_DEV_SUFFIXES",
    "WorkersDevBackend",
    "parse_workers_dev_host",
    "proxy_to_worker",
    "serve_workers_dev",
    "workers_dev_url",
]

# Longest first: "a.b.workers.dev.localhost" must not be read as host "a.b.workers.dev" + ".localhost".
WORKERS_DEV_SUFFIXES = (".workers.dev.localhost", ".workers.dev")

# Hop-by-hop headers (RFC 9110 §7.6.1) are per connection; httpx and uvicorn set their own.
_HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-authenticate",
    b"proxy-authorization",
    b"proxy-connection",
    b"te",
    b"trailer",
    b"transfer-encoding",
    b"upgrade",
}


@runtime_checkable
class WorkersDevBackend(Protocol):
    """What `serve_workers_dev` needs from the runtime (`MiniflareRuntime` provides it; `NullRuntime` does not)."""

    def acquire(self, script_name: str) -> Lease | None:
        """Claim the instance serving `script_name`, or None if it is not running."""
        ...

    def http_client(self) -> httpx.AsyncClient:
        """The HTTP client to reach the instances with."""
        ...


def parse_workers_dev_host(host: str) -> tuple[str, str] | None:
    """`(script, subdomain)` for a Host like `items-app.demo.workers.dev.localhost:8787`, else None.

    Also accepts `{script}.{subdomain}.workers.dev` (e.g. via /etc/hosts). Case-insensitive; the port and
    a trailing dot are ignored.
    """
    name = host.strip().lower()
    if name.startswith("["):
        return None  # an IPv6 literal
    name = name.rsplit(":", 1)[0] if ":" in name else name
    name = name.rstrip(".")
    for suffix in WORKERS_DEV_SUFFIXES:
        if name.endswith(suffix):
            labels = name[: -len(suffix)].split(".")
            if len(labels) == 2 and all(labels):
                return labels[0], labels[1]
            return None
    return None


def workers_dev_url(script_name: str, subdomain: str, port: int, *, host: str = "localhost") -> str:
    """The local URL of a script's workers.dev address: `http://{script}.{subdomain}.workers.dev.localhost:{port}`."""
    return f"http://{script_name}.{subdomain}.workers.dev.{host}:{port}"


async def serve_workers_dev(request: Request, runtime: WorkersDevBackend, *, enabled: bool) -> Response:
    """Answer a request addressed to `{script}.{subdomain}.workers.dev[.localhost]`.

    `enabled` is the script's workers.dev toggle (`POST .../scripts/{name}/subdomain {"enabled": true}`);
    the caller has checked that `{subdomain}` is the account's subdomain (else answer 404 itself).
    - Host not of that form → 404.
    - No running version of the script → 404 (see `not_found_response`).
    - Script running but not enabled on workers.dev → 403 (see `not_enabled_response`).
    - Otherwise the Worker's own response; 502 if its instance could not be reached.
    """
    parsed = parse_workers_dev_host(request.headers.get("host", ""))
    if parsed is None:
        return not_found_response()
    script_name, _subdomain = parsed
    lease = runtime.acquire(script_name)
    if lease is None:
        return not_found_response()
    if not enabled:
        lease.release()
        return not_enabled_response(script_name)
    return await proxy_to_worker(request, lease, runtime.http_client())


def not_found_response() -> Response:
    """The answer for a workers.dev host with no Worker behind it.

    GUESS: Cloudflare shows an HTML page for an unknown `*.workers.dev` name; status 404 is assumed, the
    body here is a short plain-text stand-in.
    """
    return PlainTextResponse("There is nothing here yet: no Worker is deployed at this workers.dev address.\n", 404)


def not_enabled_response(script_name: str) -> Response:
    """The answer for a deployed Worker that is not enabled on workers.dev.

    GUESS: the seed's gotcha says a freshly deployed Worker whose workers.dev route was not enabled gives
    "403 on a freshly deployed URL"; the exact body/code of Cloudflare's error page is not known, so this
    is a 403 with a plain-text hint naming the fix.
    """
    text = (
        f"Forbidden: the Worker {script_name!r} is not enabled on workers.dev.\n"
        f"Enable it with POST /accounts/{{account_id}}/workers/scripts/{script_name}/subdomain"
        ' {"enabled": true}.\n'
    )
    return PlainTextResponse(text, 403)


def _upstream_headers(request: Request) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[bytes, bytes]] = []
    forwarded_for: bytes | None = None
    for raw_name, value in request.headers.raw:
        name = raw_name.lower()
        if name in _HOP_BY_HOP or name.startswith(b"mf-") or name == b"cf-connecting-ip":
            continue
        if name == b"x-forwarded-for":
            forwarded_for = value if forwarded_for is None else forwarded_for + b", " + value
            continue
        headers.append((raw_name, value))
    if request.client is not None:
        client_ip = request.client.host.encode()
        headers.append((b"CF-Connecting-IP", client_ip))
        forwarded_for = client_ip if forwarded_for is None else forwarded_for + b", " + client_ip
    if forwarded_for is not None:
        headers.append((b"X-Forwarded-For", forwarded_for))
    return headers


async def proxy_to_worker(request: Request, lease: Lease, client: httpx.AsyncClient) -> Response:
    """Forward `request` to the instance of `lease` and stream its response back; releases the lease.

    The lease is held until the response body has been sent (or the client went away), so the instance
    is not disposed under a running request.
    """
    target = httpx.URL(lease.url)
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    query: bytes = request.scope.get("query_string", b"")
    url = target.copy_with(raw_path=raw_path + (b"?" + query if query else b""))
    # HTTP/1.1: a request has a body only if it says so. Sending an empty chunked body for a bodiless
    # DELETE made workerd close the connection when the Worker did not read it (a later request on that
    # pooled connection then failed).
    has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
    # A pooled connection workerd has just closed fails the next request sent on it; a request without a
    # body is sent once more (on a new connection), one with a streamed body cannot be replayed.
    attempts = 1 if has_body else 2
    try:
        for attempt in range(1, attempts + 1):
            upstream_request = client.build_request(
                request.method,
                url,
                headers=_upstream_headers(request),
                content=request.stream() if has_body else None,
            )
            try:
                upstream = await client.send(upstream_request, stream=True, follow_redirects=False)
                break
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                if attempt == attempts:
                    raise
    except httpx.HTTPError as exc:
        lease.release()
        # GUESS: Cloudflare's own failure pages are not emulated; a plain 502 says what happened.
        return PlainTextResponse(f"Bad gateway: the Worker's runtime could not be reached ({exc!r})\n", 502)
    except BaseException:
        lease.release()
        raise
    return _UpstreamResponse(upstream, lease)


class _UpstreamResponse(Response):
    """Sends an httpx streaming response through ASGI as it arrives, headers and bytes unchanged."""

    def __init__(self, upstream: httpx.Response, lease: Lease) -> None:
        self.upstream = upstream
        self.lease = lease
        self.status_code = upstream.status_code
        self.background = None
        self.raw_headers = [(k, v) for k, v in upstream.headers.raw if k.lower() not in _HOP_BY_HOP]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def stream_body() -> None:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            async for chunk in self.upstream.aiter_raw():
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        async def wait_for_disconnect() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return

        streaming = asyncio.ensure_future(stream_body())
        watching = asyncio.ensure_future(wait_for_disconnect())
        try:
            await asyncio.wait({streaming, watching}, return_when=asyncio.FIRST_COMPLETED)
            if streaming.done():
                streaming.result()
        finally:
            for task in (streaming, watching):
                task.cancel()
            for task in (streaming, watching):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self.upstream.aclose()
            self.lease.release()
