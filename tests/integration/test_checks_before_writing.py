"""What can be checked is checked before the first write: the CLI exits 1 with one message and cfemu's request log
shows no mutating request (most of these stop before any request at all)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cfemu.launcher import Emulator
from devkit.example import copy_example
from tests.emulator.helpers import account_client
from tests.integration.deploying import run_deploy, writes
from tests.reliability.catalogue import yml


@pytest.mark.parametrize(
    ("extra", "args", "message"),
    [
        pytest.param("compatibility_date: 2999-01-01", (), "2999-01-01 is in the future", id="future-date"),
        pytest.param("vars: {APP_PASSWORD: x}", (), "declared both as a var and as a secret", id="var-and-secret"),
        pytest.param("vars: {DB: x}", (), "A binding name is used twice: DB (d1 and plain_text)", id="var-named-db"),
        pytest.param("vars: {ASSETS: x}", (), "ASSETS (plain_text and assets)", id="var-named-assets"),
        pytest.param("secrets: [CLOUDFLARE_API_TOKEN]", (), "own variable", id="secret-named-token"),
        pytest.param("", ("--account-id", "not-an-account"), "an account id is 32 hexadecimal", id="account-id"),
    ],
)
def test_a_bad_input_is_refused_before_any_write(
    emulator: Emulator, tmp_path: Path, extra: str, args: tuple[str, ...], message: str
) -> None:
    app = yml(extra)(copy_example(tmp_path))
    run = run_deploy(emulator, app, *args)
    assert run.returncode == 1, run.stderr
    assert message in run.stderr
    assert "Traceback" not in run.stderr
    assert writes(emulator.requests()) == []


def test_a_folder_name_that_is_not_a_worker_name_is_not_changed_silently(emulator: Emulator, tmp_path: Path) -> None:
    app = copy_example(tmp_path)
    odd = app.rename(tmp_path / "Ünïcødé___")
    (odd / "app.yml").write_text((odd / "app.yml").read_text().replace("name: items-app\n", ""))
    run = run_deploy(emulator, odd)
    assert run.returncode == 1, run.stderr
    assert "'Ünïcødé___', which is not a valid Worker name (it would become 'n-c-d')" in run.stderr
    assert emulator.requests() == []


def test_a_worker_reading_a_binding_it_will_not_have_gets_a_warning(emulator: Emulator, tmp_path: Path) -> None:
    app = copy_example(tmp_path)
    with (app / "worker.js").open("a", encoding="utf-8") as worker:
        worker.write("\nexport const flag = (env) => env.FEATURE_FLAG;\n")
    run = run_deploy(emulator, app, env={"GITHUB_ACTIONS": "true"})
    assert run.returncode == 0, run.stderr
    assert "warning: worker.js reads env.FEATURE_FLAG, but the Worker will have no binding named" in run.stderr
    assert "::warning::worker.js reads env.FEATURE_FLAG" in run.stdout


def test_an_empty_public_folder_is_said_out_loud(emulator: Emulator, tmp_path: Path) -> None:
    app = copy_example(tmp_path)
    shutil.rmtree(app / "public")
    (app / "public").mkdir()
    run = run_deploy(emulator, app)
    assert run.returncode == 0, run.stderr
    assert "public is empty: the Worker is deployed without static assets" in run.stderr
    assert "reads env.ASSETS, but the Worker will have no binding named ASSETS" in run.stderr


def test_a_var_flag_overrides_one_var_and_keeps_the_others(emulator: Emulator, tmp_path: Path) -> None:
    app = copy_example(tmp_path)
    yml("vars: {GREETING: hello, MODE: production}")(app)
    run = run_deploy(emulator, app, "--var", "MODE=staging")
    assert run.returncode == 0, run.stderr
    (upload,) = [e for e in emulator.requests() if e["method"] == "PUT"]
    plain = {b["name"]: b["text"] for b in upload["form"]["metadata"]["bindings"] if b["type"] == "plain_text"}
    assert plain == {"GREETING": "hello", "MODE": "staging"}


def test_with_json_logs_the_final_error_is_a_json_line_too(emulator: Emulator, tmp_path: Path) -> None:
    app = copy_example(tmp_path)
    yml("compatibility_date: 2999-01-01")(app)
    run = run_deploy(emulator, app, "--json-logs")
    assert run.returncode == 1
    (line,) = [line for line in run.stderr.splitlines() if line.strip()]
    record = json.loads(line)
    assert record["level"] == "error"
    assert record["event"] == "Invalid configuration"
    assert "2999-01-01 is in the future" in record["message"]
    assert record["hint"].startswith("Fix the values named above")


def test_a_failure_after_writes_says_what_was_changed(emulator: Emulator, tmp_path: Path) -> None:
    """A schema that fails on a new database: the message says the database was created (not "nothing")."""
    app = copy_example(tmp_path)
    (app / "schema.sql").write_text("CREATE TABLE broken (\n")
    run = run_deploy(emulator, app)
    assert run.returncode == 1
    assert "Changed before the failure: created the D1 database items-app-db" in run.stderr
    assert "Nothing was changed" not in run.stderr


def test_a_failure_before_any_write_says_nothing_was_changed(emulator: Emulator, tmp_path: Path) -> None:
    """The Worker upload refused with nothing else to do first (its database deleted meanwhile)."""
    app = copy_example(tmp_path)
    first = run_deploy(emulator, app)
    with account_client(emulator) as api:
        api.delete(f"/d1/database/{first.outputs['database-id']}")
    with (app / "worker.js").open("a", encoding="utf-8") as worker:
        worker.write("\n// changed\n")
    run = run_deploy(emulator, app)
    assert run.returncode == 1
    assert "Nothing was changed: the failure came before the first write." in run.stderr
