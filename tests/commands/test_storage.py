"""The KV namespaces and R2 buckets a deploy binds, in-process against cfemu: found or created once by name,
bound, never duplicated by a rerun, a race or `--force`; a namespace given by id must exist; a binding that
would move to other storage is refused unless allowed, and `plan` says so."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from cfemu.launcher import Emulator
from deployer.cloudflare.kv import find_or_create_namespace
from deployer.commands import Hooks, Options, execute
from deployer.commands._base import make_client
from deployer.commands._deploy_result import DeployResult
from deployer.commands.sweep import SweepResult
from deployer.errors import ConfigError, DataSafetyError
from deployer.steps import Step
from tests.commands.conftest import settings_for
from tests.emulator.helpers import account_client, result


def with_storage(app: Path, text: str) -> Path:
    (app / "app.yml").write_text((app / "app.yml").read_text() + text)
    return app


async def deploy(emulator: Emulator, app: Path, warnings: list[str] | None = None, **options: object) -> DeployResult:
    hooks = Hooks(warn=(warnings if warnings is not None else []).append)
    outcome = await execute("deploy", settings_for(emulator, app), Options(hooks=hooks, **options))  # type: ignore[arg-type]
    assert isinstance(outcome, DeployResult)
    return outcome


def namespaces(emulator: Emulator) -> dict[str, str]:
    with account_client(emulator) as api:
        return {n["title"]: n["id"] for n in result(api.get("/storage/kv/namespaces", params={"per_page": 100}))}


def bucket_names(emulator: Emulator) -> list[str]:
    with account_client(emulator) as api:
        return [b["name"] for b in result(api.get("/r2/buckets"))["buckets"]]


def bound(emulator: Emulator) -> dict[str, dict[str, object]]:
    with account_client(emulator) as api:
        settings = result(api.get("/workers/scripts/items-app/settings"))
    return {b["name"]: b for b in settings["bindings"]}


async def test_the_namespace_and_bucket_are_created_once_and_bound(emulator: Emulator, app: Path) -> None:
    with_storage(app, "kv:\n  CACHE:\nr2:\n  FILES: items-files\n")
    first = await deploy(emulator, app)
    assert Step.STORAGE in first.steps
    ids = namespaces(emulator)
    assert list(ids) == ["items-app-cache"] and bucket_names(emulator) == ["items-files"]
    assert bound(emulator)["CACHE"]["namespace_id"] == ids["items-app-cache"]
    assert bound(emulator)["FILES"]["bucket_name"] == "items-files"

    again = await deploy(emulator, app)
    assert str(again.changes) == "nothing" and Step.STORAGE not in again.steps
    forced = await deploy(emulator, app, force=True)
    assert Step.STORAGE in forced.steps
    assert namespaces(emulator) == ids and bucket_names(emulator) == ["items-files"]
    assert bound(emulator)["CACHE"]["namespace_id"] == ids["items-app-cache"]

    # A code change keeps the bindings from the deployed Worker, with no lookup.
    (app / "worker.js").write_text((app / "worker.js").read_text() + "\n// v2\n")
    code = await deploy(emulator, app)
    assert str(code.changes) == "code" and Step.STORAGE not in code.steps
    assert bound(emulator)["CACHE"]["namespace_id"] == ids["items-app-cache"]


async def test_two_deploys_creating_the_same_namespace_end_with_one(emulator: Emulator, app: Path) -> None:
    settings = settings_for(emulator, app)
    async with make_client(settings) as client:
        found = await asyncio.gather(*(find_or_create_namespace(client, "raced-title") for _ in range(4)))
    assert len({namespace.id for namespace, _ in found}) == 1
    assert sum(created for _, created in found) == 1
    assert list(namespaces(emulator)) == ["raced-title"]


async def test_a_namespace_given_by_id_must_exist_and_nothing_is_deployed_otherwise(
    emulator: Emulator, app: Path
) -> None:
    with_storage(app, f"kv:\n  CACHE: {{id: '{'ab' * 16}'}}\n")
    with pytest.raises(ConfigError, match=r"The KV namespace abab\S+ \(binding CACHE\) does not exist"):
        await deploy(emulator, app)
    with account_client(emulator) as api:
        assert api.get("/workers/scripts/items-app/settings").status_code == 404


async def test_a_binding_moved_to_other_storage_is_refused_unless_allowed_and_nothing_is_created(
    emulator: Emulator, app: Path
) -> None:
    """A new title or bucket would bind a new, empty namespace or bucket (the data stays in the old one): refused
    before any write, like a switch of D1 database; with allow-new-database it goes ahead with a warning."""
    with_storage(app, "kv:\n  CACHE: first\nr2:\n  FILES: files-one\n")
    await deploy(emulator, app)
    first = namespaces(emulator)["first"]
    (app / "app.yml").write_text(
        (app / "app.yml").read_text().replace("CACHE: first", "CACHE: second").replace("files-one", "files-two")
    )
    seq = emulator.last_seq()
    with pytest.raises(DataSafetyError) as refused:
        await deploy(emulator, app)
    assert f"CACHE: from the KV namespace {first} to a new, empty one titled 'second'" in refused.value.message
    assert "FILES: from the R2 bucket files-one to the bucket files-two" in refused.value.message
    assert [e for e in emulator.requests(since=seq) if e["method"] != "GET"] == []

    warnings: list[str] = []
    moved = await deploy(emulator, app, warnings, allow_new_database=True)
    assert str(moved.changes) == "config"
    assert any("binding moves (allow-new-database): CACHE: from the KV namespace" in w for w in warnings)
    assert set(namespaces(emulator)) == {"first", "second"} and set(bucket_names(emulator)) == {
        "files-one",
        "files-two",
    }
    assert bound(emulator)["CACHE"]["namespace_id"] == namespaces(emulator)["second"]


async def test_no_storage_is_created_when_the_database_step_refuses(emulator: Emulator, app: Path) -> None:
    """A destructive migration is refused before anything is created, KV and R2 included."""
    await deploy(emulator, app)
    with_storage(app, "kv:\n  CACHE:\nr2:\n  FILES:\n")
    (app / "migrations").mkdir(exist_ok=True)
    (app / "migrations" / "0001_drop.sql").write_text("DROP TABLE items;\n")
    with pytest.raises(DataSafetyError, match="DROP TABLE"):
        await deploy(emulator, app)
    assert namespaces(emulator) == {} and bucket_names(emulator) == []


async def test_sweep_removes_a_stale_previews_namespace_and_bucket_and_keeps_productions(
    emulator: Emulator, app: Path
) -> None:
    with_storage(app, "kv:\n  CACHE:\nr2:\n  FILES:\n")
    await deploy(emulator, app)
    for number in (1, 2):
        outcome = await execute("preview", settings_for(emulator, app), Options(pull_request=number))
        assert isinstance(outcome, DeployResult)
    assert set(namespaces(emulator)) == {"items-app-cache", "items-app-pr-1-cache", "items-app-pr-2-cache"}
    swept = await execute("sweep", settings_for(emulator, app), Options(max_age=dt.timedelta(0)))
    assert isinstance(swept, SweepResult) and len(swept.removals) == 2
    assert "deleted the preview Worker items-app-pr-1 and its D1 database items-app-db-pr-1, KV namespace" in (
        swept.removals[0].words()
    )
    assert set(namespaces(emulator)) == {"items-app-cache"}
    assert bucket_names(emulator) == ["items-app-files"]


async def test_plan_names_a_storage_switch_that_deploy_would_refuse(emulator: Emulator, app: Path) -> None:
    with_storage(app, "kv:\n  CACHE: first\n")
    await deploy(emulator, app)
    (app / "app.yml").write_text((app / "app.yml").read_text().replace("CACHE: first", "CACHE: second"))
    seq = emulator.last_seq()
    planned = await execute("plan", settings_for(emulator, app), Options())
    assert "storage moves (REFUSED without --allow-new-database): CACHE: from the KV namespace" in planned.text
    assert "KV namespace to create: second" in planned.text
    assert [e for e in emulator.requests(since=seq) if e["method"] != "GET"] == []


async def test_a_namespace_deleted_by_hand_is_no_data_to_keep(emulator: Emulator, app: Path) -> None:
    """The Worker is bound to a namespace that no longer exists: binding a new one hides nothing."""
    with_storage(app, "kv:\n  CACHE: first\n")
    await deploy(emulator, app)
    with account_client(emulator) as api:
        api.delete(f"/storage/kv/namespaces/{namespaces(emulator)['first']}").raise_for_status()
    (app / "app.yml").write_text((app / "app.yml").read_text().replace("CACHE: first", "CACHE: second"))
    await deploy(emulator, app)
    assert bound(emulator)["CACHE"]["namespace_id"] == namespaces(emulator)["second"]


async def test_two_bindings_that_would_share_a_namespace_are_refused(emulator: Emulator, app: Path) -> None:
    with_storage(app, "kv:\n  Cache:\n  CACHE:\n")
    with pytest.raises(ConfigError, match="The bindings CACHE, Cache would share the KV namespace 'items-app-cache'"):
        await deploy(emulator, app)
    assert [e for e in emulator.requests() if e["method"] != "GET"] == []
