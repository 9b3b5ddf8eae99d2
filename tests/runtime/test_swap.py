"""Redeploys swap atomically; a version that fails to start leaves the old one serving."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from cfemu.miniflare_runtime import MiniflareRuntime
from cfemu.runtime import WorkerStartupError
from devkit.processes import workerd_pids
from tests.runtime.helpers import Proxy, simple_state

VERSIONED = """export default { async fetch(request) {
  if (new URL(request.url).pathname === "/slow") await new Promise((r) => setTimeout(r, 1500));
  return new Response("%s");
} };"""


async def test_swap_under_load(runtime: MiniflareRuntime, proxy: Proxy) -> None:
    started = time.perf_counter()
    await runtime.activate(simple_state("swap", "v1", VERSIONED % "v1"))
    first_activate = time.perf_counter() - started
    v1_dir = runtime.runtime_dir / "swap" / "v1"
    assert (v1_dir / "index.js").is_file()

    stop = asyncio.Event()
    failures: list[str] = []
    seen: list[list[str]] = []

    async def hammer(client: httpx.AsyncClient) -> None:
        bodies: list[str] = []
        seen.append(bodies)
        while not stop.is_set():
            try:
                response = await client.get("/")
            except httpx.HTTPError as exc:
                failures.append(repr(exc))
                continue
            if response.status_code != 200:
                failures.append(f"{response.status_code} {response.text[:200]}")
            bodies.append(response.text)

    async with proxy.client("swap") as client:
        slow = asyncio.create_task(client.get("/slow"))  # in flight on v1 across the swap
        workers = [asyncio.create_task(hammer(client)) for _ in range(6)]
        await asyncio.sleep(0.3)
        started = time.perf_counter()
        await runtime.activate(simple_state("swap", "v2", VERSIONED % "v2"))
        swap = time.perf_counter() - started
        after_swap = await client.get("/")
        await asyncio.sleep(0.3)
        stop.set()
        await asyncio.gather(*workers)
        slow_response = await slow

    assert failures == []
    assert after_swap.text == "v2"
    assert (slow_response.status_code, slow_response.text) == (200, "v1")  # the old instance drained it
    for bodies in seen:
        assert bodies, "a request loop made no requests"
        # Per loop: v1 answers, then only v2 answers (never back to v1).
        first_v2 = bodies.index("v2")
        assert set(bodies[:first_v2]) <= {"v1"}
        assert set(bodies[first_v2:]) == {"v2"}
    assert sum(len(b) for b in seen) > 20
    print(f"\nfirst activate {first_activate * 1000:.0f} ms, swap activate {swap * 1000:.0f} ms")
    assert first_activate < 30 and swap < 30

    # The retired instance is disposed (after draining) and its directory removed.
    for _ in range(100):
        if not v1_dir.exists():
            break
        await asyncio.sleep(0.05)
    assert not v1_dir.exists()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("export default { fetch() { return new Response('x') ", "Uncaught SyntaxError"),
        ("throw new Error('boom');\nexport default { fetch() { return new Response('x'); } };", "Uncaught Error: boom"),
        ("import x from './missing.js';\nexport default { fetch() { return new Response(x); } };", "No such module"),
    ],
    ids=["syntax-error", "top-level-throw", "missing-module"],
)
async def test_broken_version_keeps_old_one(
    runtime: MiniflareRuntime, proxy: Proxy, source: str, expected: str
) -> None:
    await runtime.activate(simple_state("keep", "good", VERSIONED % "good"))
    url = runtime.url_for("keep")
    with pytest.raises(WorkerStartupError) as caught:
        await runtime.activate(simple_state("keep", "bad", source))
    assert expected in caught.value.message
    assert "file://" not in caught.value.message and str(runtime.runtime_dir) not in caught.value.message
    print(f"\n{caught.value.message}")
    # Still the old instance, still answering; the failed version left no directory behind.
    assert runtime.url_for("keep") == url
    assert runtime.version_for("keep") == "good"
    assert not (runtime.runtime_dir / "keep" / "bad").exists()
    async with proxy.client("keep") as client:
        response = await client.get("/")
        assert (response.status_code, response.text) == (200, "good")
    # And a good version after the failure still deploys.
    await runtime.activate(simple_state("keep", "fixed", VERSIONED % "fixed"))
    async with proxy.client("keep") as client:
        assert (await client.get("/")).text == "fixed"


async def test_first_version_broken(runtime: MiniflareRuntime) -> None:
    with pytest.raises(WorkerStartupError, match="boom"):
        await runtime.activate(simple_state("never", "v1", "throw new Error('boom'); export default {};"))
    assert runtime.url_for("never") is None


async def test_reactivating_the_serving_version(runtime: MiniflareRuntime, proxy: Proxy, tmp_path: Path) -> None:
    # A rollback / secret change can hand the same version id again: it gets its own directory.
    await runtime.activate(simple_state("same", "v1", VERSIONED % "first"))
    await runtime.activate(simple_state("same", "v1", VERSIONED % "second"))
    async with proxy.client("same") as client:
        assert (await client.get("/")).text == "second"


async def test_cancelled_activate_leaves_no_instance(runtime: MiniflareRuntime) -> None:
    await runtime.activate(simple_state("warm", "v1", VERSIONED % "warm"))  # supervisor up
    await runtime.stop("warm")
    pgid = runtime.supervisor_pid
    assert pgid is not None
    task = asyncio.create_task(runtime.activate(simple_state("cancel", "v1", VERSIONED % "x")))
    await asyncio.sleep(0.15)  # files written, the start request is with the supervisor now
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert runtime.url_for("cancel") is None
    # The supervisor finishes the start, sees the key was given up, and disposes it.
    for _ in range(200):
        if not workerd_pids(pgid):
            break
        await asyncio.sleep(0.05)
    assert workerd_pids(pgid) == []
    assert "[cancel@v1] started but was abandoned" in runtime.log_path.read_text()
