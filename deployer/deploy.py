"""The deploy: the six Cloudflare steps, top to bottom, doing only what the plan asks.

0. Read and check the app folder (no network). Read the deployed state in one concurrent round: the Worker's
   settings (state tags, bindings, secret names) and the account's workers.dev subdomain. Plan (pure).
1. Find or create the D1 database (never a second one with the same name).
2. Apply `schema.sql` (idempotent statements, one batch).
3. Open an asset upload session with the manifest of `public/`.
4. Upload only the buckets Cloudflare asks for, several at once.
   (1–2 and 3–4 run side by side: uploaded files change nothing that is served until step 5.)
5. Upload the Worker with its bindings, the assets' completion token (or `keep_assets`) and the new state tags.
6. Enable its workers.dev URL (first deploy, or `--force`).

A failure a user can cause is found as early as possible: local checks before any call, the reads before any
write, so a missing subdomain or a bad token changes nothing; a failed schema or a refused upload leaves the
live Worker as it was.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Coroutine, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import structlog

from deployer.app import MAIN_MODULE, LocalApp, load_app
from deployer.cloudflare import CloudflareClient
from deployer.cloudflare import d1 as d1_api
from deployer.cloudflare import workers as workers_api
from deployer.cloudflare.assets import UploadFile, open_upload_session, upload_bucket
from deployer.cloudflare.multipart import FormPart
from deployer.errors import CloudflareAPIError, CloudflareError, ConfigError, DeployError, SchemaError, SqlError
from deployer.manifest import AssetManifest
from deployer.plan import Plan, make_plan
from deployer.settings import Settings
from deployer.state import RemoteState, local_digests

__all__ = ["DeployResult", "Prepared", "deploy", "make_client", "prepare", "workers_dev_url"]

log = structlog.get_logger("deployer")

BUCKET_CONCURRENCY = 4
KEEP_SECRET_TYPES = ("secret_text", "secret_key")
ASSETS_BINDING = "ASSETS"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True, slots=True)
class DeployResult:
    """What a deploy did and where the app lives."""

    script_name: str
    url: str
    database_id: str | None
    changed: str  # "first-deploy", "nothing", or the kinds that changed, e.g. "code,assets"
    database_created: bool
    asset_files: int
    assets_uploaded: int
    asset_bytes_uploaded: int
    secrets_sent: tuple[str, ...]
    generated_secrets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Prepared:
    """Everything known before the first write: the app, the remote state, the plan and the URL."""

    app: LocalApp
    remote: RemoteState
    plan: Plan
    url: str
    secret_values: dict[str, str]


def make_client(settings: Settings) -> CloudflareClient:
    """A client for the configured account; `ConfigError` when credentials are missing."""
    missing = [
        label
        for label, value in (
            ("CLOUDFLARE_API_TOKEN (input api-token)", settings.api_token),
            ("CLOUDFLARE_ACCOUNT_ID (input account-id, flag --account-id)", settings.account_id),
        )
        if not value
    ]
    if missing:
        raise ConfigError(
            f"Missing {' and '.join(missing)}",
            hint="Create an API token with Workers Scripts:Edit and D1:Edit at dash.cloudflare.com/profile/api-tokens.",
        )
    assert settings.api_token is not None and settings.account_id is not None
    return CloudflareClient(
        base_url=settings.api_base_url,
        api_token=settings.api_token.get_secret_value(),
        account_id=settings.account_id,
    )


def workers_dev_url(api_base_url: str, script: str, subdomain: str) -> str:
    """Where the script answers: `https://{script}.{subdomain}.workers.dev`.

    A local target (an API on a loopback address, such as the cfemu emulator) serves workers.dev hosts on its own
    port under `.localhost`, which browsers and curl resolve to loopback:
    `http://{script}.{subdomain}.workers.dev.localhost:{port}`.
    """
    api = httpx.URL(api_base_url)
    if api.host in _LOOPBACK_HOSTS:
        port = f":{api.port}" if api.port else ""
        return f"http://{script}.{subdomain}.workers.dev.localhost{port}"
    return f"https://{script}.{subdomain}.workers.dev"


async def prepare(
    settings: Settings,
    *,
    client: CloudflareClient,
    force: bool = False,
    mask: Callable[[str], None] = lambda _: None,
    app: LocalApp | None = None,
) -> Prepared:
    """Step 0: check the app (unless `app` is the already loaded one), read the deployed state (one round of
    reads) and plan. Changes nothing."""
    app = app or load_app(settings.app_dir)
    given = {name: value.get_secret_value() for name, value in settings.secret_values().items()}
    for value in given.values():
        mask(value)
    script = settings.script_name
    remote_settings, subdomain = await _both(
        workers_api.script_settings(client, script), workers_api.account_subdomain(client)
    )
    remote = (
        RemoteState.from_settings(remote_settings, d1_binding=settings.d1.binding)
        if remote_settings is not None
        else RemoteState(exists=False)
    )
    assert settings.api_token is not None
    local = local_digests(settings, app, secret_values=given, key=settings.api_token.get_secret_value())
    plan = make_plan(settings, app, remote, local=local, given_secrets=given.keys(), force=force)
    return Prepared(app, remote, plan, workers_dev_url(settings.api_base_url, script, subdomain), given)


async def deploy(
    settings: Settings,
    *,
    client: CloudflareClient,
    force: bool = False,
    mask: Callable[[str], None] = lambda _: None,
    on_plan: Callable[[Prepared], None] = lambda _: None,
    group: Callable[[str], AbstractContextManager[object]] = lambda _: nullcontext(),
) -> DeployResult:
    """Deploy the app in `settings.app_dir` as `settings.script_name`; see the module docstring.

    `mask` is called with every secret value (given or generated) before it is used, so a runner can hide it
    from logs (`::add-mask::`). `force` redeploys everything whatever the recorded state says. `on_plan` sees
    the plan and the URL before the first write (so they can be reported even if a later step fails), and
    `group(title)` wraps each phase (a runner folds its log lines: `::group::`).
    """
    with group("Read the deployed state and plan"):
        prepared = await prepare(settings, client=client, force=force, mask=mask)
    on_plan(prepared)
    app, plan = prepared.app, prepared.plan
    script = plan.script
    log.info("plan", script=script, changed=plan.changed)
    for line in plan.describe()[1:]:
        log.info("plan step", step=line.strip())

    secret_values = {name: prepared.secret_values[name] for name in plan.send_secrets}
    for name in plan.generate_secrets:
        secret_values[name] = secrets.token_urlsafe(48)
        mask(secret_values[name])

    # 1.–2. D1 and its schema, side by side with 3.–4. the assets.
    database_id = plan.database_id
    created = False

    async def database_and_schema() -> None:
        nonlocal database_id, created
        if plan.find_database:
            database = await d1_api.find_database(client, settings.database_name)
            created = database is None
            if database is None:
                database = await _create_database(client, settings.database_name)
            database_id = database.uuid
            log.info("step 1/6 d1", database=database.name, id=database.uuid, created=created)
        # A database the Worker was not bound to (new, or renamed in app.yml) gets the schema too.
        if plan.apply_schema or (app.schema_sql is not None and database_id != plan.database_id):
            assert database_id is not None
            await _apply_schema(client, app, settings.database_name, database_id)
            log.info("step 2/6 schema applied", file=str(app.schema_path))

    completion_jwt: str | None = None
    uploaded_files = uploaded_bytes = 0

    async def assets() -> None:
        nonlocal completion_jwt, uploaded_files, uploaded_bytes
        if plan.upload_assets and app.manifest is not None:
            completion_jwt, uploaded_files, uploaded_bytes = await _upload_assets(client, script, app.manifest)

    if plan.find_database or plan.apply_schema or plan.upload_assets:
        with group("Steps 1-4: D1 database, schema and assets"):
            await _gather(database_and_schema(), assets())

    # 5. The Worker (or, when only the schema changed, just the new state).
    if plan.upload_worker:
        assert database_id is not None
        metadata = _worker_metadata(settings, app, plan, database_id, secret_values, completion_jwt)
        module = FormPart(
            MAIN_MODULE, app.worker_code, content_type="application/javascript+module", filename=MAIN_MODULE
        )
        with group("Step 5: upload the Worker"):
            uploaded = await workers_api.upload_script(client, script, metadata=metadata, modules=[module])
        log.info("step 5/6 worker uploaded", script=script, etag=uploaded.get("etag"), keep_assets=plan.keep_assets)
    elif plan.update_tags_only:
        await workers_api.set_script_tags(client, script, list(plan.tags))
        log.info("step 5/6 state recorded", script=script)

    # 6. The workers.dev URL.
    if plan.enable_subdomain:
        with group("Step 6: enable the workers.dev URL"):
            try:
                await workers_api.enable_script_subdomain(client, script)
            except DeployError:
                await _withdraw_state(client, script, prepared.remote)
                raise
        log.info("step 6/6 workers.dev enabled", url=prepared.url)
    return DeployResult(
        script_name=script,
        url=prepared.url,
        database_id=database_id,
        changed=plan.changed,
        database_created=created,
        asset_files=len(app.manifest.files) if app.manifest else 0,
        assets_uploaded=uploaded_files,
        asset_bytes_uploaded=uploaded_bytes,
        secrets_sent=tuple(sorted(secret_values)),
        generated_secrets=plan.generate_secrets,
    )


async def _both(first: Coroutine[Any, Any, T], second: Coroutine[Any, Any, U]) -> tuple[T, U]:
    """Two calls at once, typed; the first failure cancels the other (see `_gather`)."""
    one, two = await _gather(first, second)
    return one, two  # type: ignore[return-value]  # _gather keeps the order of its arguments


async def _gather(*calls: Coroutine[Any, Any, T]) -> list[T]:
    """Run `calls` together and return their results in order; on the first failure cancel the others (so none
    outlives the client) and raise that failure itself."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(call) for call in calls]
    except ExceptionGroup as group_error:
        raise group_error.exceptions[0] from None
    return [task.result() for task in tasks]


async def _withdraw_state(client: CloudflareClient, script: str, remote: RemoteState) -> None:
    """After a failure past the upload, drop our state tags so the next deploy redoes the remaining steps."""
    try:
        await workers_api.set_script_tags(client, script, list(remote.other_tags))
    except DeployError as exc:
        log.warning("could not withdraw the state tags; deploy again with --force", error=exc.message)


async def _create_database(client: CloudflareClient, name: str) -> d1_api.Database:
    try:
        return await d1_api.create_database(client, name)
    except CloudflareAPIError as exc:
        # 7502: created meanwhile (a concurrent deploy, or a retried create that had succeeded).
        if 7502 in exc.codes:
            existing = await d1_api.find_database(client, name)
            if existing is not None:
                return existing
        raise


async def _apply_schema(client: CloudflareClient, app: LocalApp, database_name: str, database_id: str) -> None:
    assert app.schema_sql is not None and app.schema_path is not None
    try:
        await d1_api.query(client, database_id, app.schema_sql)
    except SqlError as exc:
        raise SchemaError(
            f"{app.schema_path} failed on D1 database {database_name}: {exc.api_text}",
            hint=(
                "Fix the SQL in schema.sql and deploy again; the deployed Worker was not changed. "
                "Keep every statement idempotent (CREATE TABLE IF NOT EXISTS …)."
            ),
            file=app.schema_path,
        ) from exc


async def _upload_assets(client: CloudflareClient, script: str, manifest: AssetManifest) -> tuple[str, int, int]:
    session = await open_upload_session(client, script, manifest.as_upload_manifest())
    by_hash = manifest.by_hash()
    wanted = [hash_ for bucket in session.buckets for hash_ in bucket]
    unknown = [hash_ for hash_ in wanted if hash_ not in by_hash]
    if unknown:
        raise CloudflareError(f"Cloudflare asked for {len(unknown)} file(s) that are not in the manifest")
    total_bytes = sum(by_hash[hash_].size for hash_ in wanted)
    log.info(
        "step 3/6 upload session",
        files=len(manifest.files),
        to_upload=len(wanted),
        buckets=len(session.buckets),
        bytes=total_bytes,
    )
    if not session.buckets:
        log.info("step 4/6 assets unchanged", reason="Cloudflare has every file")
        return session.jwt, 0, 0

    limiter = asyncio.Semaphore(BUCKET_CONCURRENCY)
    done = {"files": 0, "bytes": 0}

    async def send(bucket: tuple[str, ...]) -> str | None:
        files = [UploadFile(hash=h, source=by_hash[h].source, content_type=by_hash[h].content_type) for h in bucket]
        async with limiter:
            jwt = await upload_bucket(client, session.jwt, files)
        done["files"] += len(bucket)
        done["bytes"] += sum(by_hash[h].size for h in bucket)
        log.info("step 4/6 uploading", files=f"{done['files']}/{len(wanted)}", bytes=done["bytes"])
        return jwt

    tokens = await _gather(*(send(bucket) for bucket in session.buckets))
    completion = next((token for token in reversed(tokens) if token), None)
    if completion is None:
        raise CloudflareError(
            "Cloudflare accepted every asset bucket but sent no completion token",
            hint="Deploy again: files already uploaded are kept and will not be sent twice.",
        )
    return completion, len(wanted), total_bytes


def _worker_metadata(
    settings: Settings,
    app: LocalApp,
    plan: Plan,
    database_id: str,
    secret_values: Mapping[str, str],
    completion_jwt: str | None,
) -> dict[str, Any]:
    bindings: list[dict[str, Any]] = [{"type": "d1", "name": settings.d1.binding, "id": database_id}]
    bindings += [{"type": "plain_text", "name": k, "text": v} for k, v in sorted(settings.vars.items())]
    bindings += [{"type": "secret_text", "name": k, "text": v} for k, v in sorted(secret_values.items())]
    metadata: dict[str, Any] = {
        "main_module": MAIN_MODULE,
        "compatibility_date": settings.compatibility_date,
        "compatibility_flags": list(settings.compatibility_flags),
        "bindings": bindings,
        # Secrets not re-sent stay as they are (the API would otherwise drop them with the old version).
        "keep_bindings": list(KEEP_SECRET_TYPES),
        "tags": list(plan.tags),
    }
    if app.manifest is not None:
        bindings.append({"type": "assets", "name": ASSETS_BINDING})
        config = _asset_config(settings, app.manifest)
        if plan.keep_assets:
            metadata["keep_assets"] = True
            metadata["assets"] = {"config": config}
        else:
            assert completion_jwt is not None
            metadata["assets"] = {"jwt": completion_jwt, "config": config}
    return metadata


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
