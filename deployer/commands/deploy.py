"""`deploy`: the six Cloudflare steps, top to bottom, doing only what the plan asks.

0. Read and check the app folder (no network), read the deployed state in one round and plan
   (`deployer.commands.plan.prepare`).
1. Find or create the D1 database (never a second one with the same name, never silently another one).
2. Apply what it lacks: `schema.sql` and `seed.sql` to a new database, pending migrations to one with data
   (after a Time Travel bookmark; destructive ones only when allowed), one file per request
   (`deployer.commands._database`, planned by `deployer.database`).
3. Open an asset upload session with the manifest of `public/`.
4. Upload only the buckets Cloudflare asks for, several at once.
   (1–2 and 3–4 run side by side: uploaded files change nothing that is served until step 5.)
5. Create the KV namespaces and R2 buckets the Worker binds that do not exist yet (looked up, and refused if
   they would hide data, before any write: `deployer.commands._storage`); upload the Worker with its bindings,
   the assets' completion token (or `keep_assets`) and the new state tags; then set its cron triggers when they
   changed (`deployer.commands._schedules`).
6. Enable its workers.dev URL (first deploy, or `--force`), and only then record the deployed state in the
   Worker's tags: a deploy stopped before that (killed, or the URL call failed) leaves no state, so the next one
   redoes every step instead of reading "nothing changed".

Then, with `Options.verify`, the live app is checked (`deployer.commands._verify`).

Each step is a function that returns what the next one needs. A failure a user can cause is found as early as
possible: local checks before any call, the reads before any write, so a missing subdomain or a bad token
changes nothing; a failed migration or a refused upload leaves the live Worker as it was.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from deployer._concurrency import both
from deployer.bindings import SecretBinding, Wanted, metadata_bindings, wanted_bindings
from deployer.cloudflare import CloudflareClient
from deployer.cloudflare import workers as workers_api
from deployer.cloudflare.multipart import FormPart
from deployer.commands._assets import Uploaded, upload_assets
from deployer.commands._base import Options
from deployer.commands._database import Applied, apply_checked, create_database, read_database
from deployer.commands._deploy_result import DeployResult
from deployer.commands._rollback import RollbackPlan, checked_or_rolled_back, live_version
from deployer.commands._schedules import sync_schedules
from deployer.commands._storage import check_storage, create_storage
from deployer.commands._verify import CheckResult, Verification
from deployer.commands.plan import Prepared, prepare
from deployer.database import BoundDatabase, DatabasePlanner, DatabaseWork, check_switch
from deployer.errors import DeployError, RolledBackError
from deployer.manifest import AssetManifest
from deployer.plan import Plan
from deployer.settings import Settings
from deployer.steps import SIDE_BY_SIDE_GROUP, Step

__all__ = ["DeployResult", "run"]

log = structlog.get_logger("deployer")

BUCKET_CONCURRENCY = 4


@dataclass(frozen=True, slots=True)
class _Database:
    """Steps 1-2: the database the Worker binds, and what was done to it."""

    id: str | None
    created: bool = False
    steps: tuple[Step, ...] = ()
    applied: Applied = field(default_factory=Applied)


async def run(settings: Settings, client: CloudflareClient | None, options: Options) -> DeployResult:
    """Deploy the app in `settings.app_dir` as `settings.script_name`; see the module docstring."""
    assert client is not None, "deploy needs a client (the registry makes one)"
    hooks = options.hooks
    with hooks.group(Step.READ.group):
        prepared = await prepare(settings, client=client, options=options)
    hooks.on_plan(prepared)
    plan = prepared.plan
    log.info("plan", script=plan.script, changed=str(plan.changes))
    for line in plan.describe()[1:]:
        log.info("plan step", step=line.strip())
    secret_values = _secret_values(prepared, mask=hooks.mask)
    done: list[str] = []  # what this run changed so far, for a failure's message
    try:
        return await _write(client, settings, prepared, options, secret_values, done)
    except DeployError as exc:
        if isinstance(exc, RolledBackError):  # the new version does not serve any more
            done = [step.replace(", which now serves", ", rolled back since") for step in done]
        exc.hint = "\n".join(filter(None, [exc.hint, _what_changed(done)]))
        raise


async def _write(
    client: CloudflareClient,
    settings: Settings,
    prepared: Prepared,
    options: Options,
    secret_values: dict[str, str],
    done: list[str],
) -> DeployResult:
    """Steps 1-6 and the check of the live app; each write is noted in `done`."""
    plan, app, hooks = prepared.plan, prepared.app, options.hooks
    storage = await check_storage(  # reads only: its refusals come before any write
        client, settings, prepared.remote, find=plan.find_storage, allow_switch=options.allow_new_database
    )
    database, assets = _Database(plan.database_id), Uploaded()
    if plan.find_database or plan.apply_schema or plan.upload_assets:
        with hooks.group(SIDE_BY_SIDE_GROUP):
            database, assets = await both(
                _database_and_schema(client, settings, prepared, options, done),
                upload_assets(client, prepared, done, hooks.warn),
            )
    steps = (*database.steps, *assets.steps)
    kv_ids = await create_storage(client, storage, done=done, log=Step.STORAGE.log, warn=hooks.warn)
    if plan.find_storage:
        steps += (Step.STORAGE,)
    # The version to go back to if the new one fails its checks (read before it is replaced).
    wanted = plan.upload_worker and prepared.remote.exists and options.verify and options.rollback_on_failure
    rollback = RollbackPlan(
        wanted,
        await live_version(client, plan.script) if wanted else None,
        tuple(sorted(name for name in secret_values if name not in plan.generate_secrets)),
    )
    if plan.upload_worker:
        assert database.id is not None
        # With step 6 to come, the state is recorded after it (see the module docstring).
        tags = prepared.remote.other_tags if plan.enable_subdomain else (plan.upload_tags or plan.tags)
        with hooks.group(Step.WORKER.group):
            await _upload_worker(
                client, settings, prepared, _Bound(database.id, kv_ids), secret_values, assets.completion_jwt, tags
            )
        done.append(f"uploaded a new version of the Worker {plan.script}, which now serves")
        steps += (Step.WORKER,)
    # New cron triggers would run the new version's code: with a rollback possible, they wait for its checks,
    # and until they are set the state recorded says the triggers are as they were.
    deferred = rollback.wanted and plan.crons is not None
    if not deferred:
        steps += await _schedules_and_tags(client, plan, done, record=plan.write_tags)
    if plan.enable_subdomain:
        with hooks.group(Step.SUBDOMAIN.group):
            await workers_api.enable_script_subdomain(client, plan.script)
            done.append(f"enabled {prepared.url}")
            Step.SUBDOMAIN.log(url=prepared.url)
            recorded = plan.upload_tags if deferred and plan.upload_tags is not None else plan.tags
            await workers_api.set_script_tags(client, plan.script, list(recorded))
            Step.RECORD_STATE.log(script=plan.script)
        steps += (Step.SUBDOMAIN, Step.RECORD_STATE)
    checks: tuple[CheckResult, ...] = ()
    if options.verify:
        password = settings.app_password.get_secret_value() if settings.app_password else None
        verification = Verification(_password_gated(settings, prepared), settings.checks, password)
        with hooks.group(f"Verify {prepared.url}"):
            checks = await checked_or_rolled_back(client, prepared, verification, rollback, applied=database.applied)
        for check in checks:
            log.info("checked", check=check.name, seen=check.seen)
    if deferred:
        steps += await _schedules_and_tags(client, plan, done, record=True)
    return DeployResult(
        command="deploy",
        status="unchanged" if plan.changes.nothing else "deployed",
        script_name=plan.script,
        url=prepared.url,
        changes=plan.changes,
        text=prepared.url,
        database_id=database.id,
        database_created=database.created,
        asset_files=len(app.manifest.files) if app.manifest else 0,
        assets_uploaded=assets.files,
        asset_bytes_uploaded=assets.bytes,
        secrets_sent=tuple(sorted(secret_values)),
        generated_secrets=plan.generate_secrets,
        steps=steps,
        checks=checks,
        bookmark=database.applied.bookmark,
        migrations_applied=database.applied.migrations,
        restore=database.applied.restore,
        database_name=settings.database_name,
    )


async def _schedules_and_tags(
    client: CloudflareClient, plan: Plan, done: list[str], *, record: bool
) -> tuple[Step, ...]:
    """The cron triggers when they changed, then (`record`) the state tags, now that they are true."""
    steps: tuple[Step, ...] = ()
    if plan.crons is not None:
        before = await sync_schedules(client, plan.script, plan.crons)
        if before is not None:
            done.append(f"set the cron triggers of {plan.script} (they were: {', '.join(before) or 'none'})")
        Step.SCHEDULES.log(crons=", ".join(plan.crons) or "none", changed=before is not None)
        steps += (Step.SCHEDULES,)
    if record:
        await workers_api.set_script_tags(client, plan.script, list(plan.tags))
        done.append("recorded the new state on the Worker")
        Step.WORKER_TAGS.log(script=plan.script)
        steps += (Step.WORKER_TAGS,)
    return steps


def _what_changed(done: list[str]) -> str:
    """The end of a failure's message: what this run had changed, or that it changed nothing."""
    if not done:
        return "Nothing was changed: the failure came before the first write."
    return "Changed before the failure: " + "; ".join(done) + "."


def _password_gated(settings: Settings, prepared: Prepared) -> bool:
    """The app has the seed's password gate: an `APP_PASSWORD` secret, declared, given or deployed."""
    return "APP_PASSWORD" in {*settings.secrets, *prepared.secret_values, *prepared.remote.secret_names}


def _secret_values(prepared: Prepared, *, mask: Callable[[str], None]) -> dict[str, str]:
    """The secret values this deploy sends: the given ones the plan sends, plus the generated ones (masked)."""
    values = {name: prepared.secret_values[name] for name in prepared.plan.send_secrets}
    for name in prepared.plan.generate_secrets:
        values[name] = secrets.token_urlsafe(48)
        mask(values[name])
    return values


# --- 1.–2. the database (`deployer.commands._database`) --------------------------------------------------


async def _database_and_schema(
    client: CloudflareClient, settings: Settings, prepared: Prepared, options: Options, done: list[str]
) -> _Database:
    """Read the database (and the one bound now), refuse what would lose rows, create it if needed, apply."""
    plan, app, hooks = prepared.plan, prepared.app, options.hooks
    if not (plan.find_database or plan.apply_schema):
        return _Database(plan.database_id)
    side_by_side = plan.side_by_side
    view = await read_database(
        client, settings, prepared.remote, find=plan.find_database, sql_changed=plan.apply_schema
    )
    target = BoundDatabase(view.target.uuid, view.target.name) if view.target else None
    switched = check_switch(
        view.bound,
        target,
        name=settings.database_name,
        binding=settings.d1.binding,
        allow_new_database=options.allow_new_database,
    )
    planner = DatabasePlanner(app, settings.database_name, plan.schema_changed, options.allow_destructive)
    work = planner.plan(view.state) if view.written else DatabaseWork()
    for warning in (*([switched] if switched else []), *work.notes):
        hooks.warn(warning)
    database, created = view.target, False
    if database is None:
        database, created = await create_database(client, settings.database_name), True
        done.append(f"created the D1 database {database.name} ({database.uuid})")
    steps: tuple[Step, ...] = ()
    if plan.find_database:
        steps = (Step.DATABASE,)
        Step.DATABASE.log(side_by_side, id=database.uuid, database=database.name, created=created)
    applied = Applied()
    if work.writes:
        applied = await apply_checked(
            client, app, database, view.state, work, replan=planner.plan, warn=hooks.warn, done=done
        )
        steps += (Step.SCHEMA,)
        bookmark = {"bookmark": applied.bookmark} if applied.bookmark else {}
        Step.SCHEMA.log(side_by_side, files=", ".join(applied.files), **bookmark)
    return _Database(database.uuid, created, steps, applied)


# --- 5. the Worker, 6. its URL ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Bound:
    """What step 1 found for the bindings: the D1 database's id and the KV namespaces' ids."""

    database_id: str
    kv_ids: Mapping[str, str]


async def _upload_worker(
    client: CloudflareClient,
    settings: Settings,
    prepared: Prepared,
    bound: _Bound,
    secret_values: Mapping[str, str],
    completion_jwt: str | None,
    tags: tuple[str, ...],
) -> None:
    plan, app = prepared.plan, prepared.app
    wanted = Wanted(
        settings=settings,
        has_assets=app.manifest is not None,
        database_id=bound.database_id,
        secret_values=secret_values,
        kv_ids=bound.kv_ids,
    )
    metadata: dict[str, Any] = {
        "main_module": app.main,
        "compatibility_date": settings.compatibility_date,
        "compatibility_flags": list(settings.compatibility_flags),
        "bindings": metadata_bindings(wanted_bindings(wanted)),
        # Secrets not re-sent stay as they are (the API would otherwise drop them with the old version).
        "keep_bindings": list(SecretBinding.types),
        "tags": list(tags),
    }
    if app.manifest is not None:
        if plan.keep_assets:
            # Files and asset config unchanged (a config change is an assets change: `deployer.state`), so the
            # form wrangler's `versions secret put` sends: `keep_assets` and no `assets` object, which
            # Cloudflare's models say would take precedence (and drop `run_worker_first`, the login gate).
            metadata["keep_assets"] = True
        else:
            assert completion_jwt is not None
            metadata["assets"] = {"jwt": completion_jwt, "config": _asset_config(settings, app.manifest)}
    modules = [
        FormPart(name, code, content_type="application/javascript+module", filename=name)
        for name, code in ((app.main, app.worker_code), *((m.name, m.code) for m in app.modules))
    ]
    uploaded = await workers_api.upload_script(client, plan.script, metadata=metadata, modules=modules)
    Step.WORKER.log(
        script=plan.script,
        etag=uploaded.get("etag"),
        keep_assets=plan.keep_assets,
    )


def _asset_config(settings: Settings, manifest: AssetManifest) -> dict[str, Any]:
    config: dict[str, Any] = {
        "html_handling": settings.assets.html_handling,
        "not_found_handling": settings.assets.not_found_handling,
    }
    if settings.assets.run_worker_first:
        config["run_worker_first"] = settings.assets.run_worker_first
    if manifest.headers is not None:
        config["_headers"] = manifest.headers
    if manifest.redirects is not None:
        config["_redirects"] = manifest.redirects
    return config
