"""A Worker split into local modules, with no build step: uploaded as modules of one Worker, run by workerd."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cfemu.launcher import Emulator, running_emulator
from devkit.cli import CliRun, run_cli
from devkit.loopback import localhost_client

WORKER = (
    'import { greeting } from "./lib/greet.js";\nexport default { fetch() { return new Response(greeting()); } };\n'
)
GREET = 'import { WORD } from "./words.mjs";\nexport function greeting() { return `hello ${WORD}`; }\n'


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with running_emulator(tmp_path / "cfemu", run_workers=True) as emulator:
        yield emulator


def deploy(emu: Emulator, app: Path) -> CliRun:
    """`deploy` of an app with no password gate (the default environment gives the example's password)."""
    return run_cli(emu, "deploy", str(app), env={"APP_PASSWORD": ""})


def split_app(root: Path, word: str = "modules") -> Path:
    (root / "lib").mkdir(parents=True)
    (root / "worker.js").write_text(WORKER)
    (root / "lib" / "greet.js").write_text(GREET)
    (root / "lib" / "words.mjs").write_text(f'export const WORD = "{word}";\n')
    return root


def test_a_worker_split_into_three_modules_deploys_runs_and_redeploys_a_changed_module(
    emu: Emulator, tmp_path: Path
) -> None:
    app = split_app(tmp_path / "split-app")
    first = deploy(emu, app)
    assert first.returncode == 0, first.stderr
    with localhost_client(first.outputs["url"]) as client:
        assert client.get("/").text == "hello modules"
    (put,) = [e for e in emu.requests() if e["method"] == "PUT" and str(e["path"]).endswith("/split-app")]
    parts = {part["name"]: part["content_type"] for part in put["form"]["parts"]}
    assert parts == {
        "metadata": "application/json",
        "worker.js": "application/javascript+module",
        "lib/greet.js": "application/javascript+module",
        "lib/words.mjs": "application/javascript+module",
    }

    (app / "lib" / "words.mjs").write_text('export const WORD = "again";\n')
    again = deploy(emu, app)
    assert again.returncode == 0, again.stderr
    assert again.outputs["changed"] == "code"
    with localhost_client(again.outputs["url"]) as client:
        assert client.get("/").text == "hello again"
    assert deploy(emu, app).outputs["changed"] == "nothing"


def test_an_npm_import_without_node_modules_is_refused_before_any_request(emu: Emulator, tmp_path: Path) -> None:
    """An npm import makes the Worker bundled; with no packages installed, the message says to install them."""
    app = split_app(tmp_path / "npm-app")
    (app / "lib" / "greet.js").write_text('import { Hono } from "hono";\n' + GREET)
    refused = deploy(emu, app)
    assert refused.returncode == 1
    assert "lib/greet.js:1 imports the npm package hono, but the app folder has no node_modules" in refused.stderr
    assert "run `npm ci` in the app folder" in refused.stderr
    assert emu.requests() == []
