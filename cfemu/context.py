"""The per-server context handlers share: configuration, state store, runtime and the write lock."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request

from cfemu.envelope import ApiError
from cfemu.runtime import Runtime
from cfemu.store import Store

__all__ = ["Context", "EmulatorConfig", "get_context", "source_of"]


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """Command-line settings of one emulator process."""

    host: str
    port: int
    data_dir: Path
    account_id: str
    api_token: str
    subdomain: str | None
    # Run deployed Workers in workerd (`MiniflareRuntime`); False runs none (`--no-runtime`: API only).
    run_workers: bool = True


@dataclass(slots=True)
class Context:
    """Shared by every handler of one app (stored on `app.state.ctx`)."""

    config: EmulatorConfig
    store: Store
    runtime: Runtime
    # Serialises every change to scripts (upload, deploy, secrets, settings, delete), so that the
    # "activate, then commit" sequence of one request never interleaves with another's.
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def check_account(self, account_id: str) -> None:
        """Raise 403/10000 unless `account_id` is the emulated account."""
        if account_id != self.config.account_id:
            # GUESS: Cloudflare answers a token used on another account with 403 code 10000; the exact
            # behaviour for a non-existent account id is not documented.
            raise ApiError(403, 10000, "Authentication error")


def get_context(request: Request) -> Context:
    """The `Context` of the app serving `request`, after checking the `{account_id}` path param."""
    ctx: Context = request.app.state.ctx
    account_id = request.path_params.get("account_id")
    if account_id is not None:
        ctx.check_account(str(account_id))
    return ctx


def source_of(request: Request) -> str:
    """`"wrangler"` for requests from wrangler (by User-Agent), else `"api"` (Cloudflare's `last_deployed_from`)."""
    return "wrangler" if request.headers.get("user-agent", "").startswith("wrangler/") else "api"
