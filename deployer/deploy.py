"""The deploy: the six Cloudflare steps, top to bottom.

0. Read and check the app folder (no network), then read what exists remotely, in one concurrent round:
   the account's workers.dev subdomain, the D1 database by name, the script's secret names.
1. Find or create the D1 database (never a second one with the same name).
2. Apply `schema.sql` (idempotent statements, one batch).
3. Open an asset upload session with the manifest of `public/`.
4. Upload only the buckets Cloudflare asks for, several at once.
5. Upload the Worker with its bindings and the assets' completion token.
6. Enable its workers.dev URL.

Every failure a user can cause is found as early as possible: local checks before any call, the reads before
any write, so a missing subdomain or a bad token changes nothing. Secrets that are not re-sent are kept
(`keep_bindings`), and a `SESSION_SECRET` the Worker has never had is generated here.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from pydantic import SecretStr

from deployer.app import MAIN_MODULE, LocalApp, load_app
from deployer.cloudflare import CloudflareClient
from deployer.cloudflare import d1 as d1_api
from deployer.cloudflare import workers as workers_api
from deployer.cloudflare.assets import UploadFile, open_upload_session, upload_bucket
from deployer.cloudflare.multipart import FormPart
from deployer.errors import CloudflareAPIError, CloudflareError, ConfigError, SchemaError, SqlError
from deployer.manifest import AssetManifest
from deployer.settings import Settings

__all__ = ["DeployResult", "deploy", "make_client", "workers_dev_url"]

log = structlog.get_logger("deployer")

BUCKET_CONCURRENCY = 4
KEEP_SECRET_TYPES = ("secret_text", "secret_key")
GENERATED_SECRETS = frozenset({"SESSION_SECRET"})  # secrets the deployer may invent when the Worker has none
ASSETS_BINDING = "ASSETS"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True, slots=True)
class DeployResult:
    """What a deploy did and where the app lives."""

    script_name: str
    url: str
    database_id: str
    database_created: bool
    asset_files: int
    assets_uploaded: int
    asset_bytes_uploaded: int
    secrets_sent: tuple[str, ...]
    generated_secrets: tuple[str, ...]


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


async def deploy(
    settings: Settings, *, client: CloudflareClient, mask: Callable[[str], None] = lambda value: None
) -> DeployResult:
    """Deploy the app in `settings.app_dir` as `settings.script_name`; see the module docstring.

    `mask` is called with every secret value (given or generated) before it is used, so a runner can hide it
    from logs (`::add-mask::`).
    """
    app = load_app(settings.app_dir)
    script = settings.script_name
    given_secrets = settings.secret_values()
    for value in given_secrets.values():
        mask(value.get_secret_value())

    subdomain, database, remote_secrets = await asyncio.gather(
        workers_api.account_subdomain(client),
        d1_api.find_database(client, settings.database_name),
        workers_api.list_secret_names(client, script),
    )
    secret_bindings, generated = _secrets_to_send(settings, given_secrets, remote_secrets or frozenset())
    for name in generated:
        mask(secret_bindings[name])

    # 1. Find or create the D1 database.
    created = database is None
    if database is None:
        database = await _create_database(client, settings.database_name)
    log.info("step 1/6 d1", database=database.name, id=database.uuid, created=created)

    # 2. Apply the schema.
    if app.schema_sql is not None:
        await _apply_schema(client, app, database)
        log.info("step 2/6 schema applied", file=str(app.schema_path))
    else:
        log.info("step 2/6 schema skipped", reason="no schema.sql")

    # 3. and 4. Open the asset upload session; upload what Cloudflare lacks.
    completion_jwt: str | None = None
    uploaded_files = uploaded_bytes = 0
    if app.manifest is not None:
        completion_jwt, uploaded_files, uploaded_bytes = await _upload_assets(client, script, app.manifest)

    # 5. Upload the Worker with its bindings.
    metadata = _worker_metadata(settings, app, database.uuid, secret_bindings, completion_jwt)
    module = FormPart(
        MAIN_MODULE, app.worker_code, content_type="application/javascript+module", filename=MAIN_MODULE
    )
    uploaded = await workers_api.upload_script(client, script, metadata=metadata, modules=[module])
    log.info("step 5/6 worker uploaded", script=script, etag=uploaded.get("etag"))

    # 6. Enable the workers.dev URL.
    await workers_api.enable_script_subdomain(client, script)
    url = workers_dev_url(settings.api_base_url, script, subdomain)
    log.info("step 6/6 workers.dev enabled", url=url)
    return DeployResult(
        script_name=script,
        url=url,
        database_id=database.uuid,
        database_created=created,
        asset_files=len(app.manifest.files) if app.manifest else 0,
        assets_uploaded=uploaded_files,
        asset_bytes_uploaded=uploaded_bytes,
        secrets_sent=tuple(sorted(secret_bindings)),
        generated_secrets=generated,
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


def _secrets_to_send(
    settings: Settings, given: Mapping[str, SecretStr], remote: frozenset[str]
) -> tuple[dict[str, str], tuple[str, ...]]:
    """Secret values to send with the Worker: the given ones, plus generated ones the Worker lacks."""
    values = {name: value.get_secret_value() for name, value in given.items()}
    generated: list[str] = []
    missing: list[str] = []
    for name in settings.secrets:
        if name in values or name in remote:
            continue
        if name in GENERATED_SECRETS:
            values[name] = secrets.token_urlsafe(48)
            generated.append(name)
        else:
            missing.append(name)
    if missing:
        inputs = ", ".join(f"{name} (env {name}, input {name.lower().replace('_', '-')})" for name in missing)
        raise ConfigError(
            f"Secret {inputs} has no value and the Worker {settings.script_name} does not have it yet",
            hint="Give the value on the first deploy; later deploys keep it until you send a new one.",
        )
    return values, tuple(generated)


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


async def _apply_schema(client: CloudflareClient, app: LocalApp, database: d1_api.Database) -> None:
    assert app.schema_sql is not None and app.schema_path is not None
    try:
        await d1_api.query(client, database.uuid, app.schema_sql)
    except SqlError as exc:
        raise SchemaError(
            f"{app.schema_path} failed on D1 database {database.name}: {exc.api_text}",
            hint=(
                "Fix the SQL in schema.sql and deploy again; the Worker and its assets were not changed. "
                "Keep every statement idempotent (CREATE TABLE IF NOT EXISTS …)."
            ),
            file=app.schema_path,
        ) from exc


async def _upload_assets(
    client: CloudflareClient, script: str, manifest: AssetManifest
) -> tuple[str, int, int]:
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
        files = [
            UploadFile(hash=h, source=by_hash[h].source, content_type=by_hash[h].content_type) for h in bucket
        ]
        async with limiter:
            jwt = await upload_bucket(client, session.jwt, files)
        done["files"] += len(bucket)
        done["bytes"] += sum(by_hash[h].size for h in bucket)
        log.info("step 4/6 uploading", files=f"{done['files']}/{len(wanted)}", bytes=done["bytes"])
        return jwt

    tokens = await asyncio.gather(*(send(bucket) for bucket in session.buckets))
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
    }
    if app.manifest is not None and completion_jwt is not None:
        bindings.append({"type": "assets", "name": ASSETS_BINDING})
        metadata["assets"] = {"jwt": completion_jwt, "config": _asset_config(settings, app.manifest)}
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
