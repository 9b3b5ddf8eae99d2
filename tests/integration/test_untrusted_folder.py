"""The app folder is untrusted input: nothing outside it is read, and what it names cannot reach our secrets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cfemu.launcher import Emulator
from devkit.example import copy_example
from tests.integration.deploying import run_deploy
from tests.reliability.catalogue import link


@pytest.mark.parametrize(
    ("relative", "target"),
    [
        pytest.param("public/env.txt", "/proc/self/environ", id="asset-to-the-environment"),
        pytest.param("public/passwd.txt", "/etc/passwd", id="asset-to-a-system-file"),
        pytest.param("worker.js", "/etc/hostname", id="worker-out-of-the-folder"),
        pytest.param("schema.sql", "../outside.sql", id="schema-beside-the-folder"),
        pytest.param("app.yml", "../outside.yml", id="app-yml-beside-the-folder"),
    ],
)
def test_a_link_out_of_the_app_folder_stops_the_deploy_before_any_request(
    emulator: Emulator, tmp_path: Path, relative: str, target: str
) -> None:
    (tmp_path / "outside.sql").write_text("CREATE TABLE IF NOT EXISTS x (id INTEGER);\n")
    (tmp_path / "outside.yml").write_text("name: items-app\n")
    app = link(relative, target)(copy_example(tmp_path))
    run = run_deploy(emulator, app)
    assert run.returncode == 1, run.stderr
    assert f"{app / relative} leads outside the app folder" in run.stderr
    assert "Copy the file into the folder" in run.stderr
    assert emulator.requests() == []


def test_a_link_inside_the_app_folder_is_deployed(emulator: Emulator, tmp_path: Path) -> None:
    app = copy_example(tmp_path)
    (app / "shared").mkdir()
    (app / "shared" / "note.txt").write_text("shared note\n")
    link("public/note.txt", "../shared/note.txt")(app)
    run = run_deploy(emulator, app)
    assert run.returncode == 0, run.stderr
    sessions = [e for e in emulator.requests() if str(e["path"]).endswith("/assets-upload-session")]
    assert "/note.txt" in sessions[0]["json"]["manifest"]


def test_a_fifo_in_public_is_refused_without_hanging(emulator: Emulator, tmp_path: Path) -> None:
    app = copy_example(tmp_path)
    os.mkfifo(app / "public" / "pipe.txt")
    run = run_deploy(emulator, app)
    assert run.returncode == 1
    assert "pipe.txt is not a regular file" in run.stderr
    assert emulator.requests() == []


def test_an_unreadable_worker_is_a_message_not_a_traceback(emulator: Emulator, tmp_path: Path) -> None:
    app = copy_example(tmp_path)
    (app / "worker.js").unlink()
    (app / "worker.js").mkdir()
    run = run_deploy(emulator, app)
    assert run.returncode == 1
    assert "worker.js is a directory" in run.stderr
    assert "Traceback" not in run.stderr
