"""Cron Triggers: a script's schedules (`/schedules`), and firing its scheduled handler on demand.

- `GET /accounts/{a}/workers/scripts/{name}/schedules` → `{"schedules": [{"cron", "created_on",
  "modified_on"}, …]}`; `PUT` the same path with a JSON array `[{"cron": "*/5 * * * *"}, …]` replaces them all
  (`[]` removes them) and answers the same shape. Sources: the official SDK (`cloudflare` 5.9.0,
  `resources/workers/scripts/schedules.py`: PUT's body is the array itself; `types/workers/scripts/
  schedule_get_response.py` / `schedule_update_response.py`: `schedules: List[{cron, created_on?,
  modified_on?}]`), cloudflare-go's `workers_cron_triggers_test.go` (the envelope, e.g. `"created_on":
  "2017-01-01T00:00:00Z"`), wrangler 4.86's `triggers/deploy.ts` (`PUT …/schedules` with `[{cron}]`, only
  when `triggers.crons` is set; `[]` is sent for `crons = []`).
- Errors (all HTTP 400 but the unknown script's 404 10007, `cfemu.workers.require_script`):
  - a body that is not an array of `{"cron": "<text>"}`: code 10026 "Could not parse request body. Please
    ensure the request is valid and try again." (cloudflare-docs PR #33580 quotes wrangler printing it for
    `[{"cron": {"cron": "0 5 * * *"}}]`). GUESS: HTTP 400, and that every other malformed body gets it too.
  - an expression Cloudflare does not accept (see `cfemu.cron`): code 10100 "invalid cron string" (issue
    cloudflare/workers-sdk#8923: `invalid cron string [code: 10100]` for `0 22 * * 0`). GUESS: HTTP 400.
  - more crons on the account than its plan allows: code 10072 "This account has reached the Workers Free
    limit of 5 cron triggers per account." (issue cloudflare/workers-sdk#15194; older answers said
    "workers.api.error.too_many_crons", issues #1633 and #5998), HTTP 400 (a deploy log in
    DylanDDeng/bubbles-brain PR #71). The limit is per account, 5 on Workers Free and 250 on Paid
    (developers.cloudflare.com/workers/platform/limits; the per-Worker limit of 3 was removed on 2023-10-18,
    cloudflare-docs PR #11351): `EmulatorConfig.max_crons` (`--max-crons`, default 5). This script's own
    current crons do not count against it (the bug of #1633 is not emulated).
  A refused PUT changes nothing. GUESS: the checks run in that order, after the script's existence.
- GUESS (undocumented): an entry whose `cron` text is unchanged keeps its `created_on` and `modified_on`
  across PUTs, a new one gets the time of the PUT; the answer lists them in the order sent, a repeated cron
  once; the text is kept as sent (not normalised). A PUT does not change the script's `modified_on`.
- Schedules belong to the script, not to a version: uploads, deployments and rollbacks keep them; deleting
  the script deletes them (`cfemu.workers.delete_script`). They are stored in `cfemu.store` (table
  `schedules`), so they survive a restart.

The emulator's own endpoint (no auth, not logged, like `/__emulator/faults`):
`POST /__emulator/scripts/{name}/scheduled[?cron=<expression>][&scheduledTime=<ms since the epoch>]` runs the
scheduled handler of the deployed version in workerd (`ScheduledBackend`, i.e. `MiniflareRuntime.scheduled`)
with the bindings of that version, and answers once the handler and its `ctx.waitUntil()` work are done:
`200 {"script", "version_id", "cron", "scheduledTime", "outcome", "noRetry"}`, where `outcome` is workerd's
("ok", "exception" — a thrown error or no `scheduled` handler at all —, …). `cron` defaults to the script's
first schedule and must be one of its schedules (as on Cloudflare, only a script's own crons fire);
`scheduledTime` defaults to the current minute (a Cron Trigger's `scheduledTime` is the minute it was due).
Errors, as `{"error": "<text>"}`: 404 no such script; 400 a cron the script does not have, a script without
schedules, a bad `scheduledTime`; 503 an emulator started with `--no-runtime`, or a runtime that cannot run
the deployed version.

With `--run-crons` (`EmulatorConfig.run_crons`, off by default) the crons also fire on their own schedule, as on
Cloudflare: at the start of every UTC minute, each deployed script's crons that match it (`cfemu.cron`) are
fired as above (`fire_due`), concurrently, and their outcomes logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from cfemu.context import Context, get_context
from cfemu.cron import CronSyntaxError, parse_cron
from cfemu.envelope import ApiError, ok
from cfemu.runtime import RuntimeUnavailableError, ScheduledResult
from cfemu.store import Store, now_iso
from cfemu.workers import deployed_version, ensure_running, get_script, list_scripts, require_script

__all__ = [
    "SCHEDULED_PATH",
    "Schedule",
    "ScheduledBackend",
    "admin_routes",
    "cron_clock",
    "fire_due",
    "list_schedules",
    "routes",
]

logger = logging.getLogger("cfemu")

SCHEDULED_PATH = "/__emulator/scripts/{script_name}/scheduled"
_BAD_BODY = "Could not parse request body. Please ensure the request is valid and try again."


@dataclass(frozen=True, slots=True)
class Schedule:
    """One Cron Trigger of a script."""

    cron: str
    created_on: str
    modified_on: str

    def as_json(self) -> dict[str, str]:
        """The API shape."""
        return {"cron": self.cron, "created_on": self.created_on, "modified_on": self.modified_on}


def list_schedules(store: Store, script_name: str) -> list[Schedule]:
    """The schedules of `script_name`, in the order they were last PUT."""
    rows = store.db.execute(
        "SELECT cron, created_on, modified_on FROM schedules WHERE script_name = ? ORDER BY position", (script_name,)
    )
    return [Schedule(row["cron"], row["created_on"], row["modified_on"]) for row in rows]


def _crons_of_body(raw: bytes) -> list[str]:
    """The cron texts of a PUT body, each once, or 10026."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, 10026, _BAD_BODY) from None
    if not isinstance(body, list) or not all(
        isinstance(item, dict) and isinstance(item.get("cron"), str) for item in body
    ):
        raise ApiError(400, 10026, _BAD_BODY)
    return list(dict.fromkeys(str(item["cron"]) for item in body))


def _check_crons(crons: list[str]) -> None:
    """10100 unless every expression is one Cloudflare accepts (see `cfemu.cron`)."""
    for cron in crons:
        try:
            if parse_cron(cron).never_matches():
                raise CronSyntaxError(f"{cron!r} never fires")
        except CronSyntaxError:
            raise ApiError(400, 10100, "invalid cron string") from None


def _check_account_limit(ctx: Context, script_name: str, crons: list[str]) -> None:
    """10072 when the account would hold more crons than `EmulatorConfig.max_crons`."""
    limit = ctx.config.max_crons
    row = ctx.store.db.execute("SELECT count(*) FROM schedules WHERE script_name != ?", (script_name,)).fetchone()
    if row[0] + len(crons) > limit:
        plan = "Free" if limit <= 5 else "Paid"
        raise ApiError(
            400, 10072, f"This account has reached the Workers {plan} limit of {limit} cron triggers per account."
        )


def _replace_schedules(store: Store, script_name: str, crons: list[str]) -> None:
    """Store `crons` as the schedules of `script_name`, keeping the timestamps of the unchanged ones."""
    kept = {schedule.cron: schedule for schedule in list_schedules(store, script_name)}
    now = now_iso()
    with store.transaction() as db:
        db.execute("DELETE FROM schedules WHERE script_name = ?", (script_name,))
        for position, cron in enumerate(crons):
            old = kept.get(cron)
            db.execute(
                "INSERT INTO schedules (script_name, position, cron, created_on, modified_on) VALUES (?, ?, ?, ?, ?)",
                (script_name, position, cron, old.created_on if old else now, old.modified_on if old else now),
            )


def _schedules_json(store: Store, script_name: str) -> dict[str, Any]:
    return {"schedules": [schedule.as_json() for schedule in list_schedules(store, script_name)]}


async def get_schedules(request: Request) -> Response:
    """`GET .../scripts/{name}/schedules`."""
    ctx = get_context(request)
    name = request.path_params["script_name"]
    require_script(ctx.store, name)
    return ok(_schedules_json(ctx.store, name))


async def put_schedules(request: Request) -> Response:
    """`PUT .../scripts/{name}/schedules` with `[{"cron": …}, …]`: replace the script's schedules."""
    ctx = get_context(request)
    name = request.path_params["script_name"]
    raw = await request.body()
    async with ctx.write_lock:
        require_script(ctx.store, name)
        crons = _crons_of_body(raw)
        _check_crons(crons)
        _check_account_limit(ctx, name, crons)
        _replace_schedules(ctx.store, name, crons)
        return ok(_schedules_json(ctx.store, name))


@runtime_checkable
class ScheduledBackend(Protocol):
    """What firing a scheduled event needs from the runtime (`MiniflareRuntime` has it; `NullRuntime` not)."""

    def version_for(self, script_name: str) -> str | None:
        """The version id `script_name` is serving, or None."""
        ...

    async def scheduled(self, script_name: str, *, cron: str, scheduled_time_ms: int) -> ScheduledResult | None:
        """Run the scheduled handler of the version serving `script_name` (None if nothing serves it)."""
        ...


def _error(status: int, text: str) -> Response:
    return JSONResponse({"error": text}, status_code=status)


def _scheduled_time(text: str | None) -> int:
    """`scheduledTime` in ms; by default the start of the current minute."""
    if text is None:
        return int(time.time() // 60 * 60 * 1000)
    return int(text)


async def fire_scheduled(request: Request) -> Response:
    """`POST /__emulator/scripts/{name}/scheduled[?cron=…][&scheduledTime=…]` (see the module docstring)."""
    ctx: Context = request.app.state.ctx
    name = request.path_params["script_name"]
    if get_script(ctx.store, name) is None:
        return _error(404, f"There is no script named {name!r}.")
    crons = [schedule.cron for schedule in list_schedules(ctx.store, name)]
    cron = request.query_params.get("cron", crons[0] if crons else None)
    if cron is None:
        return _error(400, f"{name} has no Cron Triggers (PUT its schedules first).")
    if cron not in crons:
        return _error(400, f"{cron!r} is not a Cron Trigger of {name}; it has {crons}.")
    try:
        scheduled_time = _scheduled_time(request.query_params.get("scheduledTime"))
    except ValueError:
        return _error(400, "scheduledTime must be milliseconds since the epoch.")
    backend = ctx.runtime
    if not isinstance(backend, ScheduledBackend):
        return _error(503, "This cfemu runs no Workers (started with --no-runtime).")
    if not await ensure_running(ctx, name, lambda: backend.version_for(name) is not None):
        return _error(503, f"The deployed version of {name} could not be started.")
    version_id = backend.version_for(name)
    try:
        outcome = await backend.scheduled(name, cron=cron, scheduled_time_ms=scheduled_time)
    except RuntimeUnavailableError as exc:
        return _error(503, f"The emulator's Worker runtime is unavailable: {exc}")
    if outcome is None:
        return _error(503, f"{name} stopped running before its scheduled event was delivered.")
    return JSONResponse(
        {
            "script": name,
            "version_id": version_id,
            "cron": cron,
            "scheduledTime": scheduled_time,
            "outcome": outcome.outcome,
            "noRetry": outcome.no_retry,
        }
    )


async def _fire(ctx: Context, backend: ScheduledBackend, name: str, cron: str, scheduled_time_ms: int) -> str:
    """Fire one cron of `name` and return its outcome, or why it could not run."""
    if not await ensure_running(ctx, name, lambda: backend.version_for(name) is not None):
        return "not running"
    try:
        result = await backend.scheduled(name, cron=cron, scheduled_time_ms=scheduled_time_ms)
    except RuntimeUnavailableError as exc:
        return f"runtime unavailable: {exc}"
    return "not running" if result is None else result.outcome


async def fire_due(ctx: Context, minute: datetime) -> list[tuple[str, str, str]]:
    """Fire every cron of a deployed script that matches `minute` (UTC); `(script, cron, outcome)` of each."""
    backend = ctx.runtime
    if not isinstance(backend, ScheduledBackend):
        return []
    due = [
        (script.name, schedule.cron)
        for script in list_scripts(ctx.store)
        if deployed_version(ctx.store, script.name, with_modules=False) is not None
        for schedule in list_schedules(ctx.store, script.name)
        if parse_cron(schedule.cron).matches(minute)
    ]
    scheduled_time_ms = int(minute.timestamp()) // 60 * 60_000
    outcomes = await asyncio.gather(*(_fire(ctx, backend, name, cron, scheduled_time_ms) for name, cron in due))
    for (name, cron), outcome in zip(due, outcomes, strict=True):
        logger.info("cron %r of %s fired: %s", cron, name, outcome)
    return [(name, cron, outcome) for (name, cron), outcome in zip(due, outcomes, strict=True)]


@contextlib.asynccontextmanager
async def cron_clock(ctx: Context) -> AsyncIterator[None]:
    """While the block runs and `ctx.config.run_crons` is on, fire the due crons at the start of every minute."""
    if not ctx.config.run_crons:
        yield
        return
    firing: set[asyncio.Task[list[tuple[str, str, str]]]] = set()

    async def tick() -> None:
        while True:
            start = (time.time() // 60 + 1) * 60  # the next minute, named before sleeping (no minute twice)
            await asyncio.sleep(start - time.time())
            minute = datetime.fromtimestamp(start, UTC)
            task = asyncio.create_task(fire_due(ctx, minute))  # a long handler must not delay the next minute
            firing.add(task)
            task.add_done_callback(firing.discard)

    clock = asyncio.create_task(tick())
    try:
        yield
    finally:
        for task in (clock, *firing):
            task.cancel()
        await asyncio.gather(clock, *firing, return_exceptions=True)


def routes() -> list[BaseRoute]:
    """API routes of this module (relative to /client/v4)."""
    path = "/accounts/{account_id}/workers/scripts/{script_name}/schedules"
    return [Route(path, get_schedules, methods=["GET"]), Route(path, put_schedules, methods=["PUT"])]


def admin_routes() -> list[BaseRoute]:
    """The emulator's own route (`/__emulator/…`, no auth, not logged)."""
    return [Route(SCHEDULED_PATH, fire_scheduled, methods=["POST"])]
