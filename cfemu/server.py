"""The cfemu ASGI app: routing, authentication, error envelopes and the serve loop.

- Every API route lives under `/client/v4` and answers with Cloudflare's v4 envelope (`cfemu.envelope`).
- Authentication: `Authorization: Bearer <api token>` on everything except the asset upload, which takes
  the upload-session JWT instead (checked by `cfemu.assets`). A missing or malformed header gives HTTP 400
  code 9106; a wrong token HTTP 403 code 10000; an account id other than the emulated one HTTP 403 code 10000;
  a global API key (X-Auth-Email + X-Auth-Key, not emulated) HTTP 403 code 10000.
- Unknown paths give HTTP 404 code 7003 with Cloudflare's "Could not route to …" text; a known path with the
  wrong method gives HTTP 405. Unexpected exceptions give HTTP 500 code 10013 and a traceback on stderr, never
  to the client.
- `/__emulator/health` and `/__emulator/requests` are the emulator's own endpoints (not logged, no auth);
  `/__emulator/faults` sets injected failures (`cfemu.faults`); `/__emulator/scripts/{name}/scheduled` runs a
  Worker's scheduled handler (`cfemu.schedules`).
- `--latency-ms` / `--bandwidth` shape `/client/v4` traffic; `/__emulator/network` lists request timings
  (`cfemu.network`).
- Requests whose Host is `{script}.{subdomain}.workers.dev.localhost[:port]` are not API requests: they go
  to the deployed Worker (`cfemu.router`), before any of the above.

Deployed Workers run in workerd (`MiniflareRuntime`, unless `EmulatorConfig.run_workers` is False). At
startup the deployed version of every script is started again (state survives restarts); at shutdown the
runtime is closed, which stops every workerd.

The serve loop listens on a socket with TCP_NODELAY: without it (asyncio sets it only on sockets created
with `IPPROTO_TCP`) a keep-alive client waited ~40 ms per request for the delayed ACK between the
response's header and body segments (Nagle).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from cfemu import (
    assets,
    d1,
    d1_time_travel,
    kv,
    r2,
    r2_objects,
    schedules,
    scripts,
    secrets,
    settings,
    subdomains,
    versions,
)
from cfemu.context import Context, EmulatorConfig
from cfemu.envelope import ApiError, error_response
from cfemu.faults import FAULTS_PATH, FaultInjector, Faults, faults_endpoint
from cfemu.miniflare_runtime import MiniflareRuntime
from cfemu.network import NetworkModel, NetworkShaper
from cfemu.requestlog import API_PREFIX, RequestLog, RequestLogMiddleware, list_requests
from cfemu.router import WorkersDevRouter
from cfemu.runtime import NullRuntime, Runtime
from cfemu.store import Store
from cfemu.subdomains import account_subdomain
from cfemu.workers import reactivate_deployed

__all__ = ["create_app", "serve"]

logger = logging.getLogger("cfemu")

_MISSING_AUTH = ApiError(400, 9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
# GUESS: code 10000 for a well-formed but unknown token follows the reference (§3 error codes); the real
# API may answer 9109 or 9106 "Authentication failed" depending on the token's state.
_BAD_TOKEN = ApiError(403, 10000, "Authentication error")


class AuthMiddleware:
    """Checks the API token on every `/client/v4` request except the JWT-authenticated asset upload."""

    def __init__(self, app: ASGIApp, *, api_token: str) -> None:
        self.app = app
        self.api_token = api_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(API_PREFIX + "/") or assets.is_upload_path(path):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        error: ApiError | None = None
        if "x-auth-key" in request.headers and "x-auth-email" in request.headers and not header:
            # GUESS: the global API key (X-Auth-Email + X-Auth-Key) is not emulated; it is a rejected credential.
            error = _BAD_TOKEN
        elif scheme.lower() != "bearer" or not token.strip():
            error = _MISSING_AUTH
        elif token.strip() != self.api_token:
            error = _BAD_TOKEN
        if error is not None:
            await error_response(error)(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        # GUESS: Cloudflare's code for a wrong method on a known path is not documented; 10405 mirrors the status.
        return error_response(ApiError(405, 10405, f"Method {request.method} not allowed for {request.url.path}"))
    if exc.status_code == 404:
        message = f"Could not route to {request.url.path}, perhaps your object identifier is invalid?"
        return error_response(ApiError(404, 7003, message))
    return error_response(ApiError(exc.status_code, 10000 + exc.status_code, str(exc.detail)))


async def _server_error(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
    # GUESS: 10013 is what the Workers API uses for "An unknown error has occurred".
    return error_response(ApiError(500, 10013, "An unknown error has occurred"))


async def _health(request: Request) -> Response:
    return JSONResponse({"ok": True})


def api_routes() -> list[BaseRoute]:
    """Every `/client/v4` route, relative to the prefix."""
    return [
        *subdomains.routes(),
        *d1.routes(),
        *d1_time_travel.routes(),
        *kv.routes(),
        *r2.routes(),
        *r2_objects.routes(),
        *assets.routes(),
        *secrets.routes(),
        *settings.routes(),
        *versions.routes(),
        *schedules.routes(),
        *scripts.routes(),
    ]


def default_runtime(config: EmulatorConfig) -> Runtime:
    """`MiniflareRuntime` on the data dir, or `NullRuntime` when `config.run_workers` is False."""
    return MiniflareRuntime(config.data_dir) if config.run_workers else NullRuntime()


def create_app(
    config: EmulatorConfig,
    *,
    runtime: Runtime | None = None,
    network: NetworkModel | None = None,
    faults: Faults | None = None,
) -> Starlette:
    """Build the ASGI app for `config` (state in `config.data_dir`); `runtime` defaults to `default_runtime`."""
    store = Store(config.data_dir)
    if config.subdomain is not None:
        subdomains.set_account_subdomain(store, config.subdomain)
    ctx = Context(config=config, store=store, runtime=runtime or default_runtime(config))
    request_log = RequestLog()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            failures = await reactivate_deployed(ctx)
            for script_name, error in failures.items():
                logger.warning("could not start the deployed version of %s: %s", script_name, error)
            async with schedules.cron_clock(ctx):
                yield
        finally:
            await ctx.runtime.close()
            store.close()

    app = Starlette(
        routes=[
            Route("/__emulator/health", _health),
            Route("/__emulator/requests", list_requests),
            Route(FAULTS_PATH, faults_endpoint, methods=["GET", "POST", "DELETE"]),
            *schedules.admin_routes(),
            Mount(API_PREFIX, routes=api_routes()),
        ],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _server_error},
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.request_log = request_log
    app.state.faults = faults if faults is not None else Faults()
    app.add_middleware(AuthMiddleware, api_token=config.api_token)
    app.add_middleware(FaultInjector, faults=app.state.faults)  # injected failures (cfemu.faults), logged below
    app.add_middleware(RequestLogMiddleware, log=request_log)
    app.add_middleware(NetworkShaper, model=network)  # latency/bandwidth on /client/v4 (cfemu.network)
    app.add_middleware(WorkersDevRouter, ctx=ctx)  # outermost: workers.dev hosts skip auth and the log
    return app


class _AnnouncingServer(uvicorn.Server):
    """A uvicorn server that prints its announcement lines once its sockets accept connections."""

    def __init__(self, config: uvicorn.Config, *, announce: list[str]) -> None:
        super().__init__(config)
        self.announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            print("\n".join(self.announce), flush=True)


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket whose accepted connections have TCP_NODELAY (asyncio sets it for `IPPROTO_TCP`)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock


async def _serve(config: EmulatorConfig, network: NetworkModel | None = None, faults: Faults | None = None) -> None:
    sock = listening_socket(config.host, config.port)
    port = sock.getsockname()[1]
    host = f"[{config.host}]" if ":" in config.host else config.host
    app = create_app(config, network=network, faults=faults)
    uvicorn_config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=5, server_header=False
    )
    announce = [f"cfemu listening on http://{host}:{port}"]
    if config.run_workers:
        subdomain = account_subdomain(app.state.ctx.store) or "<subdomain>"
        announce.append(f"cfemu Workers answer at http://<script>.{subdomain}.workers.dev.localhost:{port}")
    else:
        announce.append("cfemu runs no Workers (--no-runtime): uploads are stored, not run")
    server = _AnnouncingServer(uvicorn_config, announce=announce)
    await server.serve(sockets=[sock])


def serve(config: EmulatorConfig, *, network: NetworkModel | None = None, faults: Faults | None = None) -> None:
    """Run the emulator until SIGINT/SIGTERM."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="cfemu %(levelname)s %(message)s")
    logger.setLevel(logging.INFO)  # cfemu's own messages; libraries (httpx: one line per proxied request) stay quiet
    logging.getLogger("uvicorn.error").addFilter(_not_an_injected_reset)
    asyncio.run(_serve(config, network, faults))


def _not_an_injected_reset(record: logging.LogRecord) -> bool:
    """uvicorn logs the exception a `reset` fault raises to drop the connection; that one is on purpose."""
    error = record.exc_info[1] if record.exc_info else None
    return not (isinstance(error, ConnectionResetError) and "cfemu fault" in str(error))
