"""Cron Triggers: `GET`/`PUT …/scripts/{name}/schedules` and firing a Worker's scheduled handler (`cfemu.schedules`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from cfemu.context import EmulatorConfig
from cfemu.launcher import Emulator, running_emulator
from cfemu.runtime import RuntimeResult, ScheduledResult, ScriptState
from cfemu.schedules import cron_clock, fire_due
from cfemu.server import create_app
from tests.emulator.helpers import account_client, create_database, errors, put_script, result, script_form

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
BAD_BODY = (10026, "Could not parse request body. Please ensure the request is valid and try again.")


def _put(api: httpx.Client, script: str, crons: list[str]) -> httpx.Response:
    return api.put(f"/workers/scripts/{script}/schedules", json=[{"cron": cron} for cron in crons])


def _crons(api: httpx.Client, script: str) -> list[str]:
    return [item["cron"] for item in result(api.get(f"/workers/scripts/{script}/schedules"))["schedules"]]


def _fire(emulator: Emulator, script: str, **params: str) -> httpx.Response:
    return httpx.post(f"{emulator.root_url}/__emulator/scripts/{script}/scheduled", params=params, timeout=120.0)


def test_put_then_get_round_trip(api: httpx.Client) -> None:
    """A new script has no schedules; a PUT answers the list as GET then shows it, with both timestamps."""
    result(put_script(api, "app"))
    assert result(api.get("/workers/scripts/app/schedules")) == {"schedules": []}
    answer = result(_put(api, "app", ["*/5 * * * *", "0 17 * * sun"]))
    assert [item["cron"] for item in answer["schedules"]] == ["*/5 * * * *", "0 17 * * sun"]
    for item in answer["schedules"]:
        assert set(item) == {"cron", "created_on", "modified_on"}
        assert ISO.match(item["created_on"]) and item["modified_on"] == item["created_on"]
    assert result(api.get("/workers/scripts/app/schedules")) == answer


def test_a_put_replaces_the_list_and_keeps_the_dates_of_unchanged_crons(api: httpx.Client) -> None:
    """Unchanged crons keep their dates, new ones get later ones, dropped ones go; order as sent, repeats once."""
    result(put_script(api, "app"))
    first = {item["cron"]: item for item in result(_put(api, "app", ["0 * * * *", "15 9 * * *"]))["schedules"]}
    second = result(_put(api, "app", ["30 2 * * MON-FRI", "0 * * * *", "30 2 * * MON-FRI"]))["schedules"]
    assert [item["cron"] for item in second] == ["30 2 * * MON-FRI", "0 * * * *"]
    assert second[1] == first["0 * * * *"]
    assert second[0]["created_on"] > first["0 * * * *"]["created_on"]


def test_an_empty_list_removes_them(api: httpx.Client) -> None:
    result(put_script(api, "app"))
    result(_put(api, "app", ["*/5 * * * *"]))
    assert result(_put(api, "app", [])) == {"schedules": []}
    assert _crons(api, "app") == []


# The examples of developers.cloudflare.com/workers/configuration/cron-triggers/ and forms of saffron's grammar.
GOOD = [
    "* * * * *",
    "*/30 * * * *",
    "0 17 * * sun",
    "0 17 * * 1",
    "10 7 * * mon-fri",
    "0 18 * * 6L",
    "0 18 * * friL",
    "59 23 LW * *",
    "0 0 L-3 * *",
    "0 0 15W * *",
    "0 9 * * 2#1",
    "0 22-2 * JAN,jul *",
    "5/15 8-18/2 1-10,20 * *",
    "0 0 29 2 *",
]
# GUESS for each but the first (issue cloudflare/workers-sdk#8923): what saffron's grammar refuses.
BAD = [
    "0 22 * * 0",
    "* * * *",
    "* * * * * *",
    " * * * * *",
    "60 * * * *",
    "* 24 * * *",
    "* * 0 * *",
    "* * * 13 *",
    "*/0 * * * *",
    "*,5 * * * *",
    "* * L,5 * *",
    "* * * * 5#6",
    "* * ? * *",
    "@daily",
    "",
    "0 0 31 11 *",
]


@pytest.mark.parametrize("cron", GOOD)
def test_cloudflares_forms_are_accepted(api: httpx.Client, cron: str) -> None:
    result(put_script(api, "app"))
    assert [item["cron"] for item in result(_put(api, "app", [cron]))["schedules"]] == [cron]


@pytest.mark.parametrize("cron", BAD)
def test_a_bad_cron_is_refused_with_10100_and_nothing_changes(api: httpx.Client, cron: str) -> None:
    result(put_script(api, "app"))
    result(_put(api, "app", ["*/5 * * * *"]))
    response = _put(api, "app", ["0 * * * *", cron])
    assert response.status_code == 400
    assert errors(response) == [(10100, "invalid cron string")]
    assert _crons(api, "app") == ["*/5 * * * *"]


@pytest.mark.parametrize(
    "body", ['{"cron": "* * * * *"}', '[{"cron": {"cron": "0 5 * * *"}}]', '["* * * * *"]', "[{}]", "not json"]
)
def test_a_body_that_is_not_a_list_of_crons_is_refused_with_10026(api: httpx.Client, body: str) -> None:
    result(put_script(api, "app"))
    result(_put(api, "app", ["*/5 * * * *"]))
    response = api.put("/workers/scripts/app/schedules", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert errors(response) == [BAD_BODY]
    assert _crons(api, "app") == ["*/5 * * * *"]


def test_an_unknown_script_is_10007(api: httpx.Client) -> None:
    for response in (api.get("/workers/scripts/nope/schedules"), _put(api, "nope", ["* * * * *"])):
        assert response.status_code == 404
        assert errors(response) == [(10007, "workers.api.error.script_not_found")]


def test_auth_is_required(emulator: Emulator, api: httpx.Client) -> None:
    result(put_script(api, "app"))
    url = f"{emulator.api_base_url}/accounts/{emulator.account_id}/workers/scripts/app/schedules"
    missing = httpx.put(url, json=[{"cron": "* * * * *"}])
    assert (missing.status_code, errors(missing)[0][0]) == (400, 9106)
    with account_client(emulator, token="wrong-token") as wrong:
        refused = _put(wrong, "app", ["* * * * *"])
        assert (refused.status_code, errors(refused)[0][0]) == (403, 10000)
    other = api.get(f"{emulator.api_base_url}/accounts/{'f' * 32}/workers/scripts/app/schedules")
    assert (other.status_code, errors(other)[0][0]) == (403, 10000)
    assert _crons(api, "app") == []


def test_the_account_holds_at_most_five_crons(api: httpx.Client) -> None:
    """5 per account on the Free plan, all scripts together; a script's own crons do not count twice."""
    result(put_script(api, "one"))
    result(put_script(api, "two"))
    result(_put(api, "one", ["1 * * * *", "2 * * * *", "3 * * * *"]))
    result(_put(api, "one", ["1 * * * *", "2 * * * *", "3 * * * *", "4 * * * *"]))  # replacing its own
    response = _put(api, "two", ["5 * * * *", "6 * * * *"])
    assert response.status_code == 400
    text = "This account has reached the Workers Free limit of 5 cron triggers per account."
    assert errors(response) == [(10072, text)]
    assert _crons(api, "two") == []
    result(_put(api, "two", ["5 * * * *"]))


def test_the_limit_is_a_setting(tmp_path: Path) -> None:
    with (
        running_emulator(tmp_path / "cf", extra_args=["--max-crons", "250", "--run-crons"]) as emulator,
        account_client(emulator) as api,
    ):
        result(put_script(api, "app"))
        result(_put(api, "app", [f"{minute} * * * *" for minute in range(60)]))


def test_schedules_belong_to_the_script(tmp_path: Path) -> None:
    """They survive a restart and new versions and deployments; deleting the script deletes them."""
    data_dir = tmp_path / "state"
    with running_emulator(data_dir) as emulator, account_client(emulator) as api:
        result(put_script(api, "app"))
        before = result(_put(api, "app", ["*/5 * * * *", "0 0 * * *"]))
    with running_emulator(data_dir) as emulator, account_client(emulator) as api:
        assert result(api.get("/workers/scripts/app/schedules")) == before
        version = result(api.post("/workers/scripts/app/versions", files=script_form({"main_module": "index.js"})))
        deployment = {"strategy": "percentage", "versions": [{"version_id": version["id"], "percentage": 100}]}
        result(api.post("/workers/scripts/app/deployments", json=deployment))
        result(put_script(api, "app"))
        assert result(api.get("/workers/scripts/app/schedules")) == before
        result(api.delete("/workers/scripts/app"))
        assert api.get("/workers/scripts/app/schedules").status_code == 404
        result(put_script(api, "app"))
        assert _crons(api, "app") == []


def test_firing_needs_a_script_with_that_cron_and_a_runtime(emulator: Emulator, api: httpx.Client) -> None:
    assert _fire(emulator, "nope").status_code == 404
    result(put_script(api, "app"))
    no_crons = _fire(emulator, "app")
    assert no_crons.status_code == 400
    assert "no Cron Triggers" in no_crons.json()["error"]
    result(_put(api, "app", ["*/5 * * * *"]))
    assert _fire(emulator, "app", cron="* * * * *").status_code == 400
    assert _fire(emulator, "app", scheduledTime="soon").status_code == 400
    no_runtime = _fire(emulator, "app")  # this emulator runs no Workers (--no-runtime)
    assert no_runtime.status_code == 503
    assert emulator.requests() and all("__emulator" not in entry["path"] for entry in emulator.requests())


SCHEDULED_WORKER = """\
export default {
  async fetch(request, env) {
    const { results } = await env.DB.prepare("SELECT * FROM runs ORDER BY rowid").all();
    return Response.json(results);
  },
  async scheduled(controller, env, ctx) {
    if (controller.cron === "0 0 1 1 *") throw new Error("new year");
    await env.DB.prepare("INSERT INTO runs (cron, at, note) VALUES (?, ?, ?)")
      .bind(controller.cron, controller.scheduledTime, env.NOTE).run();
    ctx.waitUntil(
      new Promise((resolve) => setTimeout(resolve, 200)).then(() =>
        env.DB.prepare("INSERT INTO runs (cron, at, note) VALUES (?, ?, 'waitUntil')")
          .bind(controller.cron, controller.scheduledTime).run()));
  },
};
"""


def _deploy_worker(api: httpx.Client, database_id: str, source: str, note: str) -> dict[str, Any]:
    metadata = {
        "main_module": "index.js",
        "compatibility_date": "2025-01-01",
        "bindings": [
            {"type": "d1", "name": "DB", "id": database_id},
            {"type": "plain_text", "name": "NOTE", "text": note},
        ],
    }
    modules = {"index.js": (source.encode(), "application/javascript+module")}
    answer: dict[str, Any] = result(put_script(api, "cron-app", metadata, modules))
    return answer


def _runs(api: httpx.Client, database_id: str) -> list[dict[str, Any]]:
    answer = result(api.post(f"/d1/database/{database_id}/query", json={"sql": "SELECT * FROM runs ORDER BY rowid"}))
    rows: list[dict[str, Any]] = answer[0]["results"]
    return rows


def test_a_fired_cron_runs_the_scheduled_handler_with_the_deployed_versions_bindings(
    emulator_with_workers: Emulator,
) -> None:
    """The handler writes to D1 (its ctx.waitUntil work too, before the answer); a new version's code and vars run
    the next time; a handler that throws, or none at all, is the outcome "exception"."""
    emulator = emulator_with_workers
    with account_client(emulator) as api:
        database_id = create_database(api, "cron-db")
        result(api.post(f"/d1/database/{database_id}/query", json={"sql": "CREATE TABLE runs (cron, at, note)"}))
        first = _deploy_worker(api, database_id, SCHEDULED_WORKER, "v1")
        result(_put(api, "cron-app", ["*/5 * * * *", "0 0 1 1 *"]))

        fired = emulator.fire_scheduled("cron-app", scheduled_time_ms=1_700_000_100_000)
        assert fired == {
            "script": "cron-app",
            "version_id": first["deployment_id"],
            "cron": "*/5 * * * *",
            "scheduledTime": 1_700_000_100_000,
            "outcome": "ok",
            "noRetry": False,
        }
        assert _runs(api, database_id) == [
            {"cron": "*/5 * * * *", "at": 1_700_000_100_000, "note": "v1"},
            {"cron": "*/5 * * * *", "at": 1_700_000_100_000, "note": "waitUntil"},
        ]
        thrown = emulator.fire_scheduled("cron-app", cron="0 0 1 1 *")
        assert (thrown["outcome"], thrown["cron"], thrown["scheduledTime"] % 60_000) == ("exception", "0 0 1 1 *", 0)
        assert len(_runs(api, database_id)) == 2

        second = _deploy_worker(api, database_id, SCHEDULED_WORKER, "v2")
        fired = emulator.fire_scheduled("cron-app")
        assert (fired["version_id"], fired["outcome"]) == (second["deployment_id"], "ok")
        assert [row["note"] for row in _runs(api, database_id)][-2:] == ["v2", "waitUntil"]

        _deploy_worker(api, database_id, "export default { fetch() { return new Response('no cron'); } };", "v3")
        assert emulator.fire_scheduled("cron-app")["outcome"] == "exception"
        assert _crons(api, "cron-app") == ["*/5 * * * *", "0 0 1 1 *"]


class FiringRuntime:
    """Runs nothing; records the scheduled events it is asked to deliver."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.fired: list[tuple[str, str, int]] = []

    async def activate(self, state: ScriptState) -> RuntimeResult:
        self.running.add(state.script_name)
        return RuntimeResult()

    async def stop(self, script_name: str) -> None:
        self.running.discard(script_name)

    async def close(self) -> None:
        """Nothing to close."""

    def version_for(self, script_name: str) -> str | None:
        return "v" if script_name in self.running else None

    async def scheduled(self, script_name: str, *, cron: str, scheduled_time_ms: int) -> ScheduledResult | None:
        self.fired.append((script_name, cron, scheduled_time_ms))
        return ScheduledResult(outcome="ok", no_retry=False)


async def test_with_run_crons_the_due_crons_of_deployed_scripts_fire(tmp_path: Path) -> None:
    """`fire_due` (what --run-crons calls at the start of each minute) fires exactly the crons matching it."""
    runtime = FiringRuntime()
    config = EmulatorConfig(
        host="127.0.0.1",
        port=0,
        data_dir=tmp_path,
        account_id="a" * 32,
        api_token="t",
        subdomain="demo",
        run_crons=True,
    )
    app = create_app(config, runtime=runtime)
    ctx = app.state.ctx
    transport = httpx.ASGITransport(app=app)
    base_url = f"http://cfemu/client/v4/accounts/{'a' * 32}"
    async with httpx.AsyncClient(transport=transport, base_url=base_url, headers={"Authorization": "Bearer t"}) as api:
        for script, crons in {"a": ["0 9 * * mon", "5/7 * * * *"], "b": ["0 9 * * sun", "0 * * * *"]}.items():
            result(await api.put(f"/workers/scripts/{script}", files=script_form({"main_module": "index.js"})))
            body = [{"cron": cron} for cron in crons]
            result(await api.put(f"/workers/scripts/{script}/schedules", json=body))
    monday_nine = datetime(2024, 9, 2, 9, 0, tzinfo=UTC)
    runtime.running.discard("b")  # its instance is gone: started again before its event
    async with cron_clock(ctx):
        fired = await fire_due(ctx, monday_nine)
    assert fired == [("a", "0 9 * * mon", "ok"), ("b", "0 * * * *", "ok")]
    at = int(monday_nine.timestamp() * 1000)
    assert runtime.fired == [("a", "0 9 * * mon", at), ("b", "0 * * * *", at)]
    assert await fire_due(ctx, monday_nine + timedelta(minutes=1)) == []
    assert [entry[:2] for entry in await fire_due(ctx, monday_nine + timedelta(minutes=5))] == [("a", "5/7 * * * *")]
    ctx.store.close()
