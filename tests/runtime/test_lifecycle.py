"""No workerd outlives the runtime: not after close(), not after its parent process is killed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import httpx

from cfemu.miniflare_runtime import MiniflareRuntime
from devkit.example import REPO
from devkit.processes import group_pids, kill_group, workerd_pids
from tests.runtime.helpers import simple_state

HELLO = "export default { fetch() { return new Response('hello'); } };"


async def test_close_leaves_nothing(tmp_path: Path) -> None:
    runtime = MiniflareRuntime(tmp_path / "data")
    try:
        await runtime.activate(simple_state("a", "v1", HELLO))
        await runtime.activate(simple_state("b", "v1", HELLO))
        await runtime.activate(simple_state("a", "v2", HELLO))
        pgid = runtime.supervisor_pid
        assert pgid is not None
        assert len(workerd_pids(pgid)) >= 2  # one workerd per running version
    finally:
        await runtime.close()
    assert runtime.supervisor_pid is None
    assert group_pids(pgid) == []
    assert runtime.url_for("a") is None
    log = runtime.log_path.read_text()
    assert "[a@v2] ready at" in log
    # Everything still running (v1 of "a" may still have been draining) was disposed by the supervisor.
    assert "cfemu supervisor: disposing" in log and "exiting" in log


CHILD = """
import asyncio, json, sys
from pathlib import Path
from cfemu.miniflare_runtime import MiniflareRuntime
from tests.runtime.helpers import simple_state

async def main() -> None:
    runtime = MiniflareRuntime(Path(sys.argv[1]))
    await runtime.activate(simple_state("orphan", "v1", "export default { fetch() { return new Response('hi'); } };"))
    print(json.dumps({"pgid": runtime.supervisor_pid, "url": runtime.url_for("orphan")}), flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


def _wait_until_empty(pgid: int, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := group_pids(pgid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


async def test_killed_parent_leaves_nothing(tmp_path: Path) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        str(tmp_path / "data"),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    pgid = None
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), timeout=60)
        info = json.loads(line)
        pgid = int(info["pgid"])
        async with httpx.AsyncClient(trust_env=False) as client:
            assert (await client.get(info["url"])).text == "hi"
        assert workerd_pids(pgid)
        child.send_signal(signal.SIGKILL)  # no chance to clean up
        await asyncio.wait_for(child.wait(), timeout=10)
        # The supervisor sees its stdin close, disposes every instance and exits.
        assert await asyncio.to_thread(_wait_until_empty, pgid, 15.0) == []
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        if pgid is not None:
            kill_group(pgid)
