"""What a deploy logs: the plan first, then one line per step it takes with what a reader of the run needs
(ids, counts, bytes, the URL), marked `beside` when it runs beside the other branch of steps 1-4."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import structlog

from cfemu.launcher import Emulator, running_emulator
from deployer.commands import Options, execute
from deployer.commands.deploy import DeployResult
from devkit.example import APP_PASSWORD, EXAMPLE_SCRIPT
from tests.commands.conftest import settings_for
from tests.emulator.helpers import account_client, result

FIRST_PLAN = [
    {"event": "plan", "script": EXAMPLE_SCRIPT, "changed": "first-deploy"},
    {"event": "plan step", "step": "1. find or create the D1 database (beside 3-4)"},
    {"event": "plan step", "step": "2. apply what the database lacks: schema.sql, migrations, seed.sql (beside 3-4)"},
    {"event": "plan step", "step": "3. open an asset upload session (beside 1-2)"},
    {"event": "plan step", "step": "4. upload the files Cloudflare lacks (beside 1-2)"},
    {"event": "plan step", "step": "5. upload the Worker"},
    {"event": "plan step", "step": "6. enable the workers.dev URL"},
    {"event": "plan step", "step": "6. record the deployed state on the Worker, now that it is complete"},
    {"event": "plan step", "step": "secrets sent: APP_PASSWORD, SESSION_SECRET (generated)"},
]


async def deploy_logged(emulator: Emulator, app: Path, options: Options | None = None) -> list[dict[str, Any]]:
    """The deployer's own lines (not the per-request debug lines) of one deploy, without their level."""
    with structlog.testing.capture_logs() as logs:
        outcome = await execute("deploy", settings_for(emulator, app), options)
    assert isinstance(outcome, DeployResult)
    return [{k: v for k, v in entry.items() if k != "log_level"} for entry in logs if entry["log_level"] == "info"]


def step_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["event"].startswith("step ")]


def deployed_etag(emulator: Emulator) -> str:
    with account_client(emulator) as api:
        scripts = result(api.get("/workers/scripts"))
    etag: str = next(script["etag"] for script in scripts if script["id"] == EXAMPLE_SCRIPT)
    return etag


def database_id(emulator: Emulator) -> str:
    with account_client(emulator) as api:
        databases = result(api.get("/d1/database"))
    uuid: str = next(database["uuid"] for database in databases if database["name"] == "items-app-db")
    return uuid


def public_bytes(app: Path) -> int:
    return sum(path.stat().st_size for path in (app / "public").iterdir())


async def test_a_first_deploy_logs_its_plan_then_every_step_with_what_it_did(emulator: Emulator, app: Path) -> None:
    """Steps 1-4 run as two branches whose lines interleave in any order; each names the branch beside it."""
    lines = await deploy_logged(emulator, app)
    assert lines[: len(FIRST_PLAN)] == FIRST_PLAN
    side_by_side = {line.pop("event"): line for line in lines[len(FIRST_PLAN) : -3]}
    size = public_bytes(app)
    assert side_by_side == {
        "step 1/6 find or create the D1 database": {
            "id": database_id(emulator),
            "database": "items-app-db",
            "created": True,
            "beside": "3-4",
        },
        "step 2/6 apply what the database lacks: schema.sql, migrations, seed.sql": {
            "files": "schema.sql",
            "beside": "3-4",
        },
        "step 3/6 open an asset upload session": {
            "files": 3,
            "to_upload": 3,
            "buckets": 1,
            "bytes": size,
            "beside": "1-2",
        },
        "step 4/6 upload the files Cloudflare lacks": {"files": "3/3", "bytes": size, "beside": "1-2"},
    }
    assert lines[-3:] == [
        {
            "event": "step 5/6 upload the Worker",
            "script": EXAMPLE_SCRIPT,
            "etag": deployed_etag(emulator),
            "keep_assets": False,
        },
        {"event": "step 6/6 enable the workers.dev URL", "url": emulator.workers_url(EXAMPLE_SCRIPT)},
        {
            "event": "step 6/6 record the deployed state on the Worker, now that it is complete",
            "script": EXAMPLE_SCRIPT,
        },
    ]


async def test_a_forced_deploy_logs_that_cloudflare_has_every_file(emulator: Emulator, app: Path) -> None:
    await deploy_logged(emulator, app)
    lines = await deploy_logged(emulator, app, Options(force=True))
    steps = {line.pop("event"): line for line in lines if line["event"].startswith("step ")}
    assert steps["step 1/6 find or create the D1 database"]["created"] is False
    assert steps["step 3/6 open an asset upload session"] == {
        "files": 3,
        "to_upload": 0,
        "buckets": 0,
        "bytes": 0,
        "beside": "1-2",
    }
    assert steps["step 4/6 upload the files Cloudflare lacks"] == {
        "files": 0,
        "reason": "Cloudflare has every file",
        "beside": "1-2",
    }


async def test_a_step_that_runs_alone_is_logged_without_beside(emulator: Emulator, app: Path) -> None:
    """A code change, a schema change and an asset change: each takes its own steps, one line each, in order."""
    await deploy_logged(emulator, app)
    etag = deployed_etag(emulator)

    (app / "worker.js").write_text((app / "worker.js").read_text() + "\n// v2\n")
    lines = await deploy_logged(emulator, app)
    assert lines == [
        {"event": "plan", "script": EXAMPLE_SCRIPT, "changed": "code"},
        {"event": "plan step", "step": "5. upload the Worker, keeping the deployed assets"},
        {"event": "plan step", "step": "secrets: deployed values kept"},
        {
            "event": "step 5/6 upload the Worker",
            "script": EXAMPLE_SCRIPT,
            "etag": deployed_etag(emulator),
            "keep_assets": True,
        },
    ]
    assert deployed_etag(emulator) != etag

    with (app / "schema.sql").open("a", encoding="utf-8") as schema:
        schema.write("\nCREATE INDEX IF NOT EXISTS items_by_id ON items (id);\n")
    lines = await deploy_logged(emulator, app)
    assert step_lines(lines) == [
        # A database with data: a Time Travel bookmark first (its value is D1's).
        {
            "event": "step 2/6 apply what the database lacks: schema.sql, migrations, seed.sql",
            "files": "schema.sql",
            "bookmark": lines_bookmark(lines),
        },
        {"event": "step 5/6 record the new state on the Worker (no new version)", "script": EXAMPLE_SCRIPT},
    ]

    (app / "public" / "new.txt").write_text("hello")
    lines = await deploy_logged(emulator, app)
    assert step_lines(lines) == [
        {"event": "step 3/6 open an asset upload session", "files": 4, "to_upload": 1, "buckets": 1, "bytes": 5},
        {"event": "step 4/6 upload the files Cloudflare lacks", "files": "1/1", "bytes": 5},
        {
            "event": "step 5/6 upload the Worker",
            "script": EXAMPLE_SCRIPT,
            "etag": deployed_etag(emulator),
            "keep_assets": False,
        },
    ]


GATED_CHECKS = [
    ("logged out, / redirects to the login page", "HTTP 302 → /login.html"),
    ("/api/items without a session is 401 JSON", 'HTTP 401, {"error":"unauthorized"}'),
]


async def test_a_verified_deploy_checks_the_password_gate_and_logs_each_check(app: Path, tmp_path: Path) -> None:
    """With Workers running, the live app is checked as the password-gated app it is (it has APP_PASSWORD)."""
    with running_emulator(tmp_path / "cfemu-run", run_workers=True) as emulator:
        settings = settings_for(emulator, app, APP_PASSWORD=APP_PASSWORD)
        with structlog.testing.capture_logs() as logs:
            outcome = await execute("deploy", settings, Options(verify=True))
    assert isinstance(outcome, DeployResult)
    checks = [(check.name, check.seen) for check in outcome.checks]
    assert [name for name, _ in checks] == [
        "logged out, / redirects to the login page",
        "/login.html answers without a session",
        "/api/items without a session is 401 JSON",
    ]
    assert [checks[0], checks[2]] == GATED_CHECKS
    assert checks[1][1].startswith("HTTP 200, <!doctype html>")
    assert [(e["check"], e["seen"]) for e in logs if e["event"] == "checked"] == checks


async def test_an_upload_in_several_buckets_logs_its_progress_as_running_totals(emulator: Emulator, app: Path) -> None:
    """Cloudflare asks for at most 1000 files per bucket: one line per bucket, counting up to every file."""
    for number in range(1000):
        (app / "public" / f"file-{number}.txt").write_text(f"{number}\n")
    size = public_bytes(app)
    lines = step_lines(await deploy_logged(emulator, app))
    session = next(line for line in lines if line["event"] == "step 3/6 open an asset upload session")
    assert (session["to_upload"], session["buckets"], session["bytes"]) == (1003, 2, size)
    progress = [line for line in lines if line["event"] == "step 4/6 upload the files Cloudflare lacks"]
    assert len(progress) == 2
    assert {line["files"] for line in progress} & {"1000/1003", "3/1003"}
    assert (progress[-1]["files"], progress[-1]["bytes"]) == ("1003/1003", size)


def lines_bookmark(lines: list[dict[str, object]]) -> str:
    """The bookmark the deploy logged taking (a D1 bookmark's shape), to compare the step's line with."""
    (taken,) = [line["bookmark"] for line in lines if str(line.get("event")).startswith("time travel bookmark")]
    assert isinstance(taken, str) and re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}", taken)
    return taken
