"""The action and the app's data: the allow-destructive input, and the bookmark in the outputs, the summary
and the restore command (run in-process against cfemu, as tests/github/test_action_paths.py does)."""

from __future__ import annotations

import pytest

from cfemu.launcher import Emulator
from tests.github.fake_github import FakeGitHub
from tests.github.harness import StepFiles, workflow_commands
from tests.github.test_action_paths import run

DROP_CREATED_AT = "ALTER TABLE items DROP COLUMN created_at;\n"


def test_a_destructive_migration_needs_the_input_and_its_bookmark_restores_through_the_action(
    step: StepFiles, monkeypatch: pytest.MonkeyPatch, cf: Emulator, github: FakeGitHub
) -> None:
    first = run(step, monkeypatch, fixture="push.main.json", emulator=cf, github=github)
    assert first.returncode == 0, first.log
    migrations = step.workspace / "app" / "migrations"
    migrations.mkdir()
    (migrations / "0001_drop_created_at.sql").write_text(DROP_CREATED_AT)

    refused = run(step, monkeypatch, fixture="push.main.json", emulator=cf, github=github)
    assert refused.returncode == 1
    (error,) = workflow_commands(refused.log, "error")
    assert error.startswith(
        "::error file=app/migrations/0001_drop_created_at.sql,line=1,title=Refused to risk the data::"
    )
    assert "allow-destructive" in error

    allowed = run(step, monkeypatch, fixture="push.main.json", emulator=cf, github=github, allow_destructive="true")
    assert allowed.returncode == 0, allowed.log
    bookmark = allowed.outputs["d1-bookmark"]
    assert bookmark and allowed.outputs["migrations-applied"] == "0001_drop_created_at.sql"
    assert f"D1 Time Travel bookmark before this deploy: `{bookmark}`" in allowed.summary
    assert f"python -m deployer restore --bookmark {bookmark}" in allowed.summary

    restored = run(
        step, monkeypatch, fixture="push.main.json", emulator=cf, github=github, command="restore", bookmark=bookmark
    )
    assert restored.returncode == 0, restored.log
    assert restored.outputs["status"] == "restored"
    assert restored.outputs["database-id"] == allowed.outputs["database-id"]
