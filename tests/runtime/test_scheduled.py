"""`MiniflareRuntime.scheduled`: a Cron Trigger's event delivered to the serving version's scheduled handler."""

from __future__ import annotations

import asyncio
import sqlite3

from cfemu.d1_files import d1_sqlite_path
from cfemu.miniflare_runtime import MiniflareRuntime
from cfemu.runtime import ScheduledResult
from tests.runtime.helpers import simple_state

DATABASE_ID = "5c1e2a7b-0000-4000-8000-00000000c0de"
WORKER = """export default {
  fetch() { return new Response("up"); },
  async scheduled(controller, env, ctx) {
    if (controller.cron === "0 0 1 1 *") throw new Error("new year");
    if (controller.cron === "0 0 * * 1") controller.noRetry();
    await env.DB.prepare("CREATE TABLE IF NOT EXISTS runs (cron TEXT, at INTEGER, version TEXT)").run();
    const insert = env.DB.prepare("INSERT INTO runs VALUES (?, ?, ?)");
    ctx.waitUntil(new Promise((resolve) => setTimeout(resolve, 300)).then(() =>
      insert.bind(controller.cron, controller.scheduledTime, env.V).run()));
  },
};"""


def _runs(runtime: MiniflareRuntime) -> list[tuple[str, int, str]]:
    conn = sqlite3.connect(d1_sqlite_path(runtime.d1_persist_dir, DATABASE_ID), timeout=10.0)
    try:
        return [tuple(row) for row in conn.execute("SELECT cron, at, version FROM runs ORDER BY rowid")]
    finally:
        conn.close()


async def test_the_handler_runs_with_the_serving_versions_bindings(runtime: MiniflareRuntime) -> None:
    """The answer comes once the ctx.waitUntil() work is done; the next version's bindings run the next time."""
    assert await runtime.scheduled("cron", cron="* * * * *", scheduled_time_ms=0) is None  # nothing serves it
    await runtime.activate(simple_state("cron", "v1", WORKER, bindings=_bindings("v1")))
    done = await runtime.scheduled("cron", cron="*/5 * * * *", scheduled_time_ms=1_700_000_100_000)
    assert done == ScheduledResult(outcome="ok", no_retry=False)
    assert _runs(runtime) == [("*/5 * * * *", 1_700_000_100_000, "v1")]

    await runtime.activate(simple_state("cron", "v2", WORKER, bindings=_bindings("v2")))
    assert await runtime.scheduled("cron", cron="0 0 * * 1", scheduled_time_ms=60_000) == ScheduledResult("ok", True)
    assert _runs(runtime)[-1] == ("0 0 * * 1", 60_000, "v2")
    thrown = await runtime.scheduled("cron", cron="0 0 1 1 *", scheduled_time_ms=0)
    assert thrown == ScheduledResult(outcome="exception", no_retry=False)
    assert len(_runs(runtime)) == 2


async def test_a_worker_without_a_scheduled_handler_reports_an_exception(runtime: MiniflareRuntime) -> None:
    await runtime.activate(simple_state("plain", "v1", "export default { fetch() { return new Response('x'); } };"))
    result = await runtime.scheduled("plain", cron="* * * * *", scheduled_time_ms=0)
    assert result is not None and result.outcome == "exception"
    for _ in range(50):  # workerd's own words reach the log through its stderr pipe, a moment later
        if "lack a handler for ScheduledEvents" in runtime.log_path.read_text():
            break
        await asyncio.sleep(0.1)
    assert "lack a handler for ScheduledEvents" in runtime.log_path.read_text()


def _bindings(version: str) -> tuple[dict[str, object], ...]:
    return ({"type": "d1", "name": "DB", "id": DATABASE_ID}, {"type": "plain_text", "name": "V", "text": version})
