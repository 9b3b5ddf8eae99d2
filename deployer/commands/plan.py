"""`plan`: what a deploy would do, and step 0 of every deploy (`prepare`).

`prepare` checks the app folder (no network), reads the deployed state in one concurrent round (the Worker's
settings: state tags, bindings, secret names; and the account's workers.dev subdomain) and plans (pure,
`deployer.plan`). It changes nothing, so the `plan` command is `prepare` plus a description; without
credentials it stops after the local checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from deployer._concurrency import both
from deployer.app import LocalApp, load_app
from deployer.changes import Changes
from deployer.cloudflare import CloudflareClient
from deployer.cloudflare import workers as workers_api
from deployer.commands._base import CommandResult, Options
from deployer.commands._database import read_database
from deployer.commands._storage import check_storage
from deployer.database import BoundDatabase, check_switch, plan_database
from deployer.errors import DeployError
from deployer.plan import Plan, make_plan, owned_by
from deployer.settings import Settings
from deployer.state import RemoteState, local_digests, secret_inputs

__all__ = ["PlanResult", "Prepared", "load_settings_app", "prepare", "run"]


@dataclass(frozen=True, slots=True)
class Prepared:
    """Everything known before the first write: the app, the remote state, the plan and the URL."""

    app: LocalApp
    remote: RemoteState
    plan: Plan
    url: str
    secret_values: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class PlanResult(CommandResult):
    """The plan (None when no credentials were given: only the local checks ran)."""

    plan: Plan | None = None

    def changed_words(self) -> str:
        return f"would change: {self.changes}" if self.changes else "not read (no credentials)"


def load_settings_app(settings: Settings) -> LocalApp:
    """The app folder of `settings`, read with its layout (main module, assets and migrations folders)."""
    return load_app(
        settings.app_dir,
        settings.main,
        assets_dir=settings.assets_dir,
        migrations_dir=settings.migrations_dir,
        compatibility_flags=settings.compatibility_flags,
    )


async def prepare(
    settings: Settings, *, client: CloudflareClient, options: Options, app: LocalApp | None = None
) -> Prepared:
    """Step 0: check the app (unless `app` is the already loaded one), read the deployed state (one round of
    reads) and plan. Changes nothing."""
    app = app or load_settings_app(settings)
    given = {name: value.get_secret_value() for name, value in settings.secret_values().items()}
    for value in given.values():
        options.hooks.mask(value)
    script = settings.script_name
    remote_settings, subdomain = await both(
        workers_api.script_settings(client, script), workers_api.account_subdomain(client)
    )
    remote = RemoteState.from_settings(remote_settings) if remote_settings is not None else RemoteState(exists=False)
    if options.owner_tag is not None:
        remote = owned_by(remote, options.owner_tag, script=script)
    assert settings.api_token is not None
    local = local_digests(settings, app)
    inputs = secret_inputs(given, key=settings.api_token.get_secret_value())
    plan = make_plan(settings, app, remote, local=local, secrets=inputs, force=options.force)
    url = workers_api.workers_dev_url(settings.api_base_url, script, subdomain)
    for warning in (*settings.notes, *plan.warnings):
        options.hooks.warn(warning)
    return Prepared(app, remote, plan, url, given)


async def _describe_database(
    client: CloudflareClient, settings: Settings, prepared: Prepared, options: Options
) -> list[str]:
    """What step 2 would do: read the database (never written) and plan it, marking what a deploy would refuse."""
    plan = prepared.plan
    view = await read_database(
        client, settings, prepared.remote, find=plan.find_database, sql_changed=plan.apply_schema
    )
    name = settings.database_name
    lines = [f"  database: {name} ({view.target.uuid if view.target else 'to be created'})"]
    target = BoundDatabase(view.target.uuid, view.target.name) if view.target else None
    switch = check_switch(view.bound, target, name=name, binding=settings.d1.binding, allow_new_database=True)
    if switch:
        refused = "" if options.allow_new_database else " (REFUSED without --allow-new-database)"
        lines.append(f"    ! {switch}{refused}")
    if not view.written:
        return [*lines, "    unchanged: its SQL files are as deployed"]
    try:
        work = plan_database(
            prepared.app,
            view.state,
            database=name,
            schema_changed=prepared.plan.schema_changed,
            allow_destructive=True,
        )
    except DeployError as exc:
        return [*lines, f"    ! a deploy would stop here: {exc.message}"]
    applied = [
        f for f, wanted in (("schema.sql", work.baseline or work.schema_again), ("seed.sql", work.seed)) if wanted
    ]
    lines.append(f"    applies: {', '.join(applied) if applied else 'no schema.sql or seed.sql'}")
    lines.append(f"    pending migrations: {', '.join(m.name for m in work.pending) or 'none'}")
    for finding in work.destructive:
        refused = "" if options.allow_destructive else " (REFUSED without --allow-destructive)"
        lines.append(f"    ! destructive: {finding}{refused}")
    if work.bookmark:
        lines.append("    a Time Travel bookmark is taken first")
    lines += [f"    note: {note}" for note in work.notes]
    return lines


async def run(settings: Settings, client: CloudflareClient | None, options: Options) -> PlanResult:
    """The local checks, then (with a client) the plan against the deployed state."""
    app = load_settings_app(settings)
    manifest = app.manifest
    lines = [f"app {settings.app_dir}: Worker {settings.script_name}, {len(app.worker_code):,} bytes of code"]
    if manifest is not None:
        digest = local_digests(settings, app).assets  # the digest `inspect` shows
        lines.append(f"  assets: {len(manifest.files)} files, {manifest.total_bytes:,} bytes, digest {digest}")
    migrations = f"{len(app.migrations)} migrations" if app.migrations else "no migrations"
    lines.append(
        f"  SQL: {app.schema_path or 'no schema.sql'}, {migrations}{', seed.sql' if app.seed else ''}; "
        f"D1 database {settings.database_name} as {settings.d1.binding}"
    )
    titles = settings.kv_titles()
    storage = [f"KV {binding}: {config.id or titles[binding]}" for binding, config in settings.kv.items()]
    storage += [f"R2 {binding}: {bucket}" for binding, bucket in settings.r2_buckets().items()]
    if storage:
        lines.append(f"  storage: {'; '.join(storage)}")
    if settings.triggers.crons:
        lines.append(f"  cron triggers: {', '.join(settings.triggers.crons)}")
    if client is None:
        if app.bundle is not None:  # with a client, the plan's own lines say it
            lines.append(f"  {app.bundle.describe()}")
        for warning in app.warnings:
            options.hooks.warn(warning)
        lines.append("remote: not read (set CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID to plan against Cloudflare)")
        return PlanResult(command="plan", status="planned", script_name=settings.script_name, text="\n".join(lines))
    with options.hooks.group(f"Plan {settings.script_name}"):
        prepared = await prepare(settings, client=client, options=options, app=app)
    lines += prepared.plan.describe()
    if prepared.plan.find_database or prepared.plan.apply_schema:
        lines += await _describe_database(client, settings, prepared, options)
    if prepared.plan.find_storage:
        looked_up = await check_storage(client, settings, prepared.remote, find=True, allow_switch=True)
        refused = "" if options.allow_new_database else " (REFUSED without --allow-new-database)"
        lines += [f"  storage moves{refused}: {move}" for move in looked_up.moves]
        lines += [f"  KV namespace to create: {title}" for title in looked_up.new_namespaces.values()]
        lines += [f"  R2 bucket to create: {bucket}" for bucket in looked_up.new_buckets]
    lines.append(f"url: {prepared.url}")
    changes: Changes = prepared.plan.changes
    return PlanResult(
        command="plan",
        status="planned",
        script_name=settings.script_name,
        url=prepared.url,
        changes=changes,
        text="\n".join(lines),
        plan=prepared.plan,
    )
