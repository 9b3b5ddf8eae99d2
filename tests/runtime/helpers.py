"""Shared helpers for the runtime tests: the example app as a `ScriptState`, a local workers.dev proxy."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cfemu.miniflare_runtime import MiniflareRuntime
from cfemu.runtime import AssetFile, ModuleFile, ScriptState
from cfemu.workers_dev import serve_workers_dev
from devkit.example import APP_PASSWORD, EXAMPLE_APP, EXAMPLE_SCRIPT

SESSION_SECRET = "0123456789abcdef0123456789abcdef-test-secret"
SUBDOMAIN = "demo"

# What the deployer uploads for the example's files (wrangler's types, see deployer/_mime.py).
ASSET_TYPES = {
    "/app.html": "text/html; charset=utf-8",
    "/app.js": "text/javascript; charset=utf-8",
    "/login.html": "text/html; charset=utf-8",
}


def make_asset(store: Path, url_path: str, content: bytes, content_type: str | None) -> AssetFile:
    """Store `content` content-addressed under `store` (as the emulator does) and describe it."""
    digest = hashlib.sha256(content).hexdigest()[:32]
    store.mkdir(parents=True, exist_ok=True)
    file = store / digest
    file.write_bytes(content)
    return AssetFile(path=url_path, hash=digest, size=len(content), content_type=content_type, file=file)


def items_app_state(
    store: Path,
    *,
    version_id: str,
    database_id: str,
    worker_source: str | None = None,
    extra_assets: Iterable[tuple[str, bytes, str | None]] = (),
    asset_config: dict[str, Any] | None = None,
) -> ScriptState:
    """The example app as the control plane would hand it to the runtime."""
    source = worker_source if worker_source is not None else (EXAMPLE_APP / "worker.js").read_text()
    assets = [
        make_asset(store, url_path, (EXAMPLE_APP / "public" / url_path.lstrip("/")).read_bytes(), content_type)
        for url_path, content_type in ASSET_TYPES.items()
    ]
    assets += [make_asset(store, url_path, content, content_type) for url_path, content, content_type in extra_assets]
    return ScriptState(
        script_name=EXAMPLE_SCRIPT,
        version_id=version_id,
        main_module="worker.js",
        modules=(ModuleFile("worker.js", "application/javascript+module", source.encode()),),
        bindings=(
            {"type": "d1", "name": "DB", "id": database_id},
            {"type": "secret_text", "name": "APP_PASSWORD", "text": APP_PASSWORD},
            {"type": "secret_text", "name": "SESSION_SECRET", "text": SESSION_SECRET},
            {"type": "assets", "name": "ASSETS"},
        ),
        compatibility_date="2025-01-01",
        compatibility_flags=(),
        assets=tuple(assets),
        asset_config=asset_config
        if asset_config is not None
        else {"html_handling": "none", "not_found_handling": "none", "run_worker_first": True},
    )


def simple_state(name: str, version_id: str, source: str, *, bindings: tuple[dict[str, Any], ...] = ()) -> ScriptState:
    """A one-module Worker without assets."""
    return ScriptState(
        script_name=name,
        version_id=version_id,
        main_module="index.js",
        modules=(ModuleFile("index.js", "application/javascript+module", source.encode()),),
        bindings=bindings,
        compatibility_date="2025-01-01",
        compatibility_flags=(),
    )


def create_items_db(path: Path) -> None:
    """Create the D1 file from Python first (as the API's D1 endpoints would) with the example's schema."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript((EXAMPLE_APP / "schema.sql").read_text())
    finally:
        conn.close()


@dataclass
class Proxy:
    """A local server answering workers.dev hosts through `serve_workers_dev`."""

    port: int
    enabled: dict[str, bool] = field(default_factory=dict)

    def host(self, script: str = EXAMPLE_SCRIPT) -> str:
        return f"{script}.{SUBDOMAIN}.workers.dev.localhost:{self.port}"

    def client(self, script: str = EXAMPLE_SCRIPT) -> httpx.AsyncClient:
        """A client that talks to 127.0.0.1 with the workers.dev Host header (no redirects followed)."""
        return httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{self.port}",
            headers={"Host": self.host(script)},
            trust_env=False,
            follow_redirects=False,
            timeout=30.0,
        )


@asynccontextmanager
async def running_proxy(runtime: MiniflareRuntime) -> AsyncIterator[Proxy]:
    """Run a uvicorn server (in this event loop) whose every request goes to `serve_workers_dev`."""
    proxy = Proxy(port=0)

    async def endpoint(request: Request) -> Response:
        from cfemu.workers_dev import parse_workers_dev_host

        parsed = parse_workers_dev_host(request.headers.get("host", ""))
        enabled = proxy.enabled.get(parsed[0], True) if parsed else False
        return await serve_workers_dev(request, runtime, enabled=enabled)

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    app = Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        assert server.started, "uvicorn did not start"
        proxy.port = server.servers[0].sockets[0].getsockname()[1]
        yield proxy
    finally:
        server.should_exit = True
        await task
