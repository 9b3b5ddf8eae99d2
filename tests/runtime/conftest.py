"""Fixtures for the runtime tests: a real MiniflareRuntime (Node supervisor + workerd) per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cfemu.miniflare_runtime import MiniflareRuntime
from devkit.processes import group_pids, kill_group
from tests.runtime.helpers import Proxy, running_proxy


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[MiniflareRuntime]:
    """A runtime on a fresh data dir; closed after the test, which must leave no process of its group."""
    rt = MiniflareRuntime(tmp_path / "data")
    pgids: list[int] = []
    try:
        yield rt
    finally:
        pid = rt.supervisor_pid
        if pid is not None:
            pgids.append(pid)
        await rt.close()
        for pgid in pgids:
            leftover = group_pids(pgid)
            kill_group(pgid)
            assert leftover == [], f"processes left in the supervisor's group after close(): {leftover}"


@pytest.fixture
async def proxy(runtime: MiniflareRuntime) -> AsyncIterator[Proxy]:
    """A local workers.dev front end for `runtime`."""
    async with running_proxy(runtime) as front:
        yield front
