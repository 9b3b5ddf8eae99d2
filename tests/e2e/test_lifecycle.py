"""cfemu's Workers live and die with it: restarted from the stored state, stopped with the server, never orphaned."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from cfemu.launcher import Emulator, running_emulator
from devkit.loopback import localhost_client
from devkit.processes import kill_group, runtime_group, wait_until_gone, workerd_pids
from tests.conftest import SESSION_MARK, marked_processes
from tests.e2e.helpers import deploy_example, sign_in
from tests.emulator.helpers import account_client, put_script, result

HELLO = b"export default { fetch() { return new Response('hello'); } };"


def _deploy_hello(emu: Emulator, *names: str) -> None:
    with account_client(emu) as api:
        for name in names:
            result(put_script(api, name, modules={"index.js": (HELLO, "application/javascript+module")}))
            result(api.post(f"/workers/scripts/{name}/subdomain", json={"enabled": True}))


def test_deployed_app_and_its_rows_come_back_after_a_restart(tmp_path: Path) -> None:
    """A restarted cfemu serves the deployed app again, with its data, and the old one left no process."""
    with running_emulator(tmp_path / "cfemu", run_workers=True) as emu:
        app = deploy_example(emu, tmp_path)
        with app.client() as client:
            sign_in(client)
            assert client.post("/api/items", json={"name": "kept across restarts"}).status_code == 201
        pgid = runtime_group(emu.pid)
    assert wait_until_gone(pgid, 5.0) == []

    with (
        running_emulator(tmp_path / "cfemu", run_workers=True) as again,
        localhost_client(again.workers_url("items-app")) as client,
    ):
        assert client.get("/").headers["location"] == "/login.html"
        sign_in(client)
        assert [row["name"] for row in client.get("/api/items").json()] == ["kept across restarts"]


def test_stopping_cfemu_stops_every_workerd(tmp_path: Path) -> None:
    """SIGTERM to cfemu with two Workers running leaves neither the supervisor nor any workerd."""
    with running_emulator(tmp_path / "cfemu", run_workers=True) as emu:
        _deploy_hello(emu, "one", "two")
        with localhost_client(emu.workers_url("two")) as client:
            assert client.get("/").text == "hello"
        pgid = runtime_group(emu.pid)
        assert len(workerd_pids(pgid)) >= 2
    try:
        assert wait_until_gone(pgid, 5.0) == []
    finally:
        kill_group(pgid)


def test_killed_cfemu_leaves_no_orphan_workerd(tmp_path: Path) -> None:
    """SIGKILL to cfemu (no cleanup possible) still takes its supervisor and workerd down within seconds."""
    with running_emulator(tmp_path / "cfemu", run_workers=True) as emu:
        _deploy_hello(emu, "doomed")
        pgid = runtime_group(emu.pid)
        assert workerd_pids(pgid)
        os.kill(emu.pid, signal.SIGKILL)
        try:
            assert wait_until_gone(pgid, 15.0) == []
        finally:
            kill_group(pgid)


def test_the_session_guard_sees_processes_this_session_started() -> None:
    """The end-of-session orphan check finds a child by its inherited mark (and loses it once it exits)."""
    mark = os.environ[SESSION_MARK]
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert (child.pid, "sleep 30") in marked_processes(mark)
    finally:
        child.kill()
        child.wait()
    assert all(pid != child.pid for pid, _ in marked_processes(mark))
