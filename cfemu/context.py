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

from cfemu.tokens import TOKEN_LIFETIME_S


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
    # D1 databases the account may hold: 10 on the Free plan (developers.cloudflare.com/d1/platform/limits).
    max_databases: int = 10
    # Asset files one Worker version may have: 20,000 on the Free plan, 100,000 on Workers Paid
    # (developers.cloudflare.com/workers/platform/limits); see `cfemu.assets`.
    max_asset_files: int = 20_000
    # Cron Triggers the account may hold, all scripts together: 5 on Workers Free, 250 on Workers Paid
    # (developers.cloudflare.com/workers/platform/limits); see `cfemu.schedules`.
    max_crons: int = 5
    # Fire each deployed script's crons on their schedule (`--run-crons`), not only when asked (`cfemu.schedules`).
    run_crons: bool = False


@dataclass(slots=True)
class Context:
    """Shared by every handler of one app (stored on `app.state.ctx`)."""

    config: EmulatorConfig
    store: Store
    runtime: Runtime
    # Serialises every change to scripts (upload, deploy, secrets, settings, delete), so that the
    # "activate, then commit" sequence of one request never interleaves with another's.
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # How many of the next upload tokens are issued already expired (the `expire-tokens` fault, cfemu.faults).
    expired_tokens_to_issue: int = 0

    def token_lifetime(self) -> int:
        """The lifetime of the next upload token: an hour, or 0 while the `expire-tokens` fault lasts."""
        if self.expired_tokens_to_issue > 0:
            self.expired_tokens_to_issue -= 1
            return 0
        return TOKEN_LIFETIME_S

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
