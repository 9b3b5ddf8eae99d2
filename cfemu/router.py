"""Routing by Host name: `{script}.{subdomain}.workers.dev.localhost:{port}` is a Worker, anything else the API.

`WorkersDevRouter` wraps the whole app (outermost middleware), so a request for a workers.dev host never
reaches the API's request log, authentication or routes, and its body streams from the client straight
to workerd (`cfemu.workers_dev.proxy_to_worker`). Every other Host (`127.0.0.1:PORT`, `localhost:PORT`, …)
is served by the API as before.

For a workers.dev host (see `cfemu.workers_dev.parse_workers_dev_host`):
- the subdomain is not the account's, or the account has none → 404 (no such address);
- no script of that name → 404;
- the emulator runs no Workers (`--no-runtime`) → 503 saying so;
- the script is not enabled on workers.dev → 403 (the seed's "403 on a freshly deployed URL" gotcha);
- otherwise the Worker's own response. If the runtime lost the script's instance (e.g. its supervisor
  died, or the start after an emulator restart failed), the deployed version is started again first.
WebSocket connections to a workers.dev host are refused (not proxied).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from cfemu.context import Context
from cfemu.subdomains import account_subdomain
from cfemu.workers import ensure_running, get_script
from cfemu.workers_dev import WorkersDevBackend, not_found_response, parse_workers_dev_host, serve_workers_dev

__all__ = ["WorkersDevRouter", "workers_dev_host_of"]

logger = logging.getLogger("cfemu")


def workers_dev_host_of(scope: Scope) -> tuple[str, str] | None:
    """`(script, subdomain)` if the request in `scope` is addressed to a workers.dev host, else None."""
    for name, value in scope.get("headers", []):
        if name == b"host":
            return parse_workers_dev_host(value.decode("latin-1"))
    return None


class WorkersDevRouter:
    """ASGI middleware sending workers.dev hosts to the running Workers (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, ctx: Context) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        parsed = workers_dev_host_of(scope) if scope["type"] in ("http", "websocket") else None
        if parsed is None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            # DIFFERENCE: WebSockets to Workers are not proxied; closing before accepting answers 403.
            await send({"type": "websocket.close", "code": 1008, "reason": "WebSockets are not emulated"})
            return
        script_name, subdomain = parsed
        request = Request(scope, receive)
        store = self.ctx.store
        script = get_script(store, script_name)
        if subdomain != account_subdomain(store) or script is None:
            response = not_found_response()
        elif not isinstance(self.ctx.runtime, WorkersDevBackend):
            text = "This cfemu runs no Workers (started with --no-runtime): the API accepted the upload only.\n"
            response = PlainTextResponse(text, 503)
        else:
            backend = self.ctx.runtime
            if script.subdomain_enabled and not _is_running(backend, script_name):
                logger.warning("%s has no running instance: starting its deployed version again", script_name)
                await ensure_running(self.ctx, script_name, lambda: _is_running(backend, script_name))
            response = await serve_workers_dev(request, backend, enabled=script.subdomain_enabled)
        await response(scope, receive, send)


def _is_running(backend: WorkersDevBackend, script_name: str) -> bool:
    lease = backend.acquire(script_name)
    if lease is None:
        return False
    lease.release()
    return True
