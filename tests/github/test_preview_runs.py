"""A pull request's preview from open to close, through the action, against cfemu running the Worker in workerd
and the fake GitHub: the workflow in .github/examples/preview.yml, step by step.

1. push to main: production is deployed and holds a row of its own;
2. pull_request opened → `preview`: the preview answers the seed's checklist on its own URL;
3. a reviewer adds a row; pull_request synchronize (a new migration pushed) → `preview` again;
4. pull_request closed → `teardown`.
The runs happen once per module; each test reads one facet. Production's deployed version, settings and rows
are compared before and after.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import stamina

from cfemu.launcher import Emulator, running_emulator
from devkit.checklist import ApiAccess, CheckResult, format_results, run_checklist
from devkit.example import APP_PASSWORD
from tests.emulator.helpers import account_client, result
from tests.github.conftest import CF_TOKEN, GH_TOKEN
from tests.github.fake_github import FakeGitHub, running_fake_github
from tests.github.harness import (
    REPOSITORY,
    StepFiles,
    StepResult,
    assert_no_secret,
    default_inputs,
    run_in_process,
    runner_environment,
)

PREVIEW = "items-app-pr-7"
PREVIEW_DB = "items-app-db-pr-7"
ADD_DONE = "ALTER TABLE items ADD COLUMN done INTEGER NOT NULL DEFAULT 0;\n"


def api_get(emulator: Emulator, path: str) -> Any:
    with account_client(emulator) as api:
        return result(api.get(path))


def sql(emulator: Emulator, database_id: str, statement: str) -> list[dict[str, Any]]:
    with account_client(emulator) as api:
        rows: list[dict[str, Any]] = result(api.post(f"/d1/database/{database_id}/query", json={"sql": statement}))[-1][
            "results"
        ]
    return rows


def databases(emulator: Emulator) -> dict[str, str]:
    return {db["name"]: db["uuid"] for db in api_get(emulator, "/d1/database?per_page=100")}


def production(emulator: Emulator) -> tuple[Any, Any, list[dict[str, Any]]]:
    return (
        api_get(emulator, "/workers/scripts/items-app/deployments"),
        api_get(emulator, "/workers/scripts/items-app/settings"),
        sql(emulator, databases(emulator)["items-app-db"], "SELECT * FROM items ORDER BY id"),
    )


@dataclass
class Lifecycle:
    emulator: Emulator
    github: FakeGitHub
    opened: StepResult
    checklist: list[CheckResult]
    pushed: StepResult
    closed: StepResult
    production_before: tuple[Any, Any, list[dict[str, Any]]]
    production_after: tuple[Any, Any, list[dict[str, Any]]]
    database_at_open: str
    after_push: dict[str, Any]
    comment_after_push: str

    def comments(self) -> list[dict[str, Any]]:
        return [c for c in self.github.comments(7) if "cf-stateful-deployer:comment" in str(c["body"])]


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lifecycle]:
    root = tmp_path_factory.mktemp("preview-runs")
    with (
        stamina.set_testing(True, attempts=3),
        running_emulator(root / "cfemu", subdomain="demo", api_token=CF_TOKEN, run_workers=True) as emulator,
        running_fake_github(token=GH_TOKEN, repository=REPOSITORY) as github,
        pytest.MonkeyPatch.context() as monkeypatch,
    ):
        files = StepFiles.create(root / "runner")
        inputs = default_inputs(
            api_token=CF_TOKEN,
            account_id=emulator.account_id,
            api_base_url=emulator.api_base_url,
            github_token=GH_TOKEN,
        )

        def step(fixture: str, command: str) -> StepResult:
            environ = runner_environment(
                files,
                event_fixture=fixture,
                inputs={**inputs, "command": command},
                github_api_url=github.url,
                in_container=False,
            )
            outcome = run_in_process(files, environ, monkeypatch)
            assert outcome.returncode == 0, outcome.log
            return outcome

        step("push.main.json", "deploy")
        sql(emulator, databases(emulator)["items-app-db"], "INSERT INTO items (name) VALUES ('production row')")
        before = production(emulator)

        opened = step("pull_request.opened.json", "preview")
        api = ApiAccess(emulator.api_base_url, emulator.account_id, CF_TOKEN)
        checklist = run_checklist(opened.outputs["url"], APP_PASSWORD, api=api, script=PREVIEW)
        print(format_results(checklist))
        database_at_open = databases(emulator)[PREVIEW_DB]
        sql(emulator, database_at_open, "INSERT INTO items (name) VALUES ('reviewer row')")

        migrations = files.workspace / "app" / "migrations"
        migrations.mkdir()
        (migrations / "0001_add_done.sql").write_text(ADD_DONE)
        pushed = step("pull_request.synchronize.json", "preview")
        after_push = {
            "database": databases(emulator).get(PREVIEW_DB),
            "rows": sql(emulator, database_at_open, "SELECT name, done FROM items ORDER BY id"),
            "ledger": sql(emulator, database_at_open, "SELECT name FROM d1_migrations"),
        }
        comment_after_push = str(github.comments(7)[-1]["body"])

        github.set_pull_request(7, "closed")
        closed = step("pull_request.closed.json", "teardown")
        yield Lifecycle(
            emulator,
            github,
            opened,
            checklist,
            pushed,
            closed,
            before,
            production(emulator),
            database_at_open,
            after_push,
            comment_after_push,
        )


def test_the_opened_preview_answers_the_checklist_on_its_own_url(lifecycle: Lifecycle) -> None:
    port = lifecycle.emulator.root_url.rsplit(":", 1)[1]
    assert lifecycle.opened.outputs["url"] == f"http://{PREVIEW}.demo.workers.dev.localhost:{port}"
    assert lifecycle.opened.outputs["preview-url"] == lifecycle.opened.outputs["url"]
    assert lifecycle.opened.outputs["script-name"] == PREVIEW
    assert lifecycle.opened.outputs["status"] == "deployed"
    failed = [check for check in lifecycle.checklist if not check.ok]
    assert failed == [], format_results(lifecycle.checklist)
    assert len(lifecycle.checklist) >= 10


def test_a_push_updates_the_same_preview_keeping_rows_and_applying_the_migration(lifecycle: Lifecycle) -> None:
    pushed = lifecycle.pushed.outputs
    assert pushed["url"] == lifecycle.opened.outputs["url"]
    assert pushed["database-id"] == lifecycle.database_at_open == lifecycle.after_push["database"]
    assert pushed["migrations-applied"] == "0001_add_done.sql"
    assert lifecycle.after_push["rows"] == [{"name": "reviewer row", "done": 0}]
    assert lifecycle.after_push["ledger"] == [{"name": "0001_add_done.sql"}]


def test_one_comment_says_where_the_preview_is_then_that_it_was_removed(lifecycle: Lifecycle) -> None:
    (comment,) = lifecycle.comments()
    pushed = lifecycle.comment_after_push
    assert "✅ Deployed" in pushed and lifecycle.opened.outputs["url"] in pushed
    assert "a1b2c3d" in pushed  # the pushed head commit
    assert f"| **Database** | `{PREVIEW_DB}` |" in pushed
    assert "| **Migrations applied** | 0001_add_done.sql |" in pushed
    body = str(comment["body"])
    assert "🧹 Preview removed" in body
    assert f"deleted the preview Worker {PREVIEW} and its D1 database {PREVIEW_DB}" in body
    assert "| **Updated (UTC)** |" in body
    assert lifecycle.opened.outputs["url"] not in body


def test_deployments_go_to_the_preview_environment_and_end_inactive(lifecycle: Lifecycle) -> None:
    github = lifecycle.github
    previews = [d for d in github.deployments() if d["environment"] == "preview/pr-7"]
    assert len(previews) == 2 and all(not d["production_environment"] and d["transient_environment"] for d in previews)
    for deployment in previews:
        states = [status["state"] for status in github.statuses(deployment["id"])]
        assert states == ["in_progress", "success", "inactive"]
    production = [d for d in github.deployments() if d["environment"] == "production"]
    assert len(production) == 1 and github.statuses(production[0]["id"])[-1]["state"] == "success"


def test_teardown_deleted_the_preview_worker_and_database_and_nothing_else(lifecycle: Lifecycle) -> None:
    emulator = lifecycle.emulator
    assert lifecycle.closed.outputs["status"] == "removed"
    assert lifecycle.closed.outputs["database-deleted"] == PREVIEW_DB
    assert [script["id"] for script in api_get(emulator, "/workers/scripts")] == ["items-app"]
    assert set(databases(emulator)) == {"items-app-db"}


def test_production_is_exactly_as_it_was(lifecycle: Lifecycle) -> None:
    assert lifecycle.production_after == lifecycle.production_before
    assert lifecycle.production_before[2] and lifecycle.production_before[2][0]["name"] == "production row"


def test_no_secret_is_shown_in_any_step(lifecycle: Lifecycle) -> None:
    texts = [step.visible_text() for step in (lifecycle.opened, lifecycle.pushed, lifecycle.closed)]
    texts += [str(c["body"]) for c in lifecycle.github.comments(7)]
    assert_no_secret(texts, [APP_PASSWORD, CF_TOKEN, GH_TOKEN])
