"""Scripts, versions and deployments: the stored model and the one way to change it.

- A **script** row holds what is not versioned: its tag, timestamps, `tags`, `logpush`, `observability`,
  `tail_consumers`, the workers.dev toggle and `last_deployed_from`.
- A **version** is immutable: modules, bindings (secret values included), compatibility settings, the asset
  manifest and config, limits/placement and annotations. Every upload, secret change or settings PATCH
  makes a new version; numbers count from 1 per script.
- A **deployment** assigns traffic to versions (`[{version_id, percentage}]`); the newest deployment is the
  live one, and its version with the largest share is the one the runtime serves.

GUESS: "the previous version" (for `keep_bindings`, `inherit`, `keep_assets` and secret changes) is the
newest version, deployed or not; the real API's choice is undocumented and the two agree in normal use.

`commit_version()` is the only writer of new versions: it asks the runtime to activate a version that is
being deployed and stores nothing if that fails (HTTP 400 code 10021 with the runtime's message; HTTP 503
code 10013 when the runtime itself is unavailable). Callers hold `Context.write_lock`.

`reactivate_deployed()` starts the deployed version of every script again (the runtime keeps nothing across
emulator restarts); `ensure_running()` does it for one script whose instance is gone (e.g. its runtime died).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from cfemu.assets import asset_files
from cfemu.context import Context
from cfemu.envelope import ApiError
from cfemu.model import DEFAULT_SCRIPT_SETTINGS, Deployment, Script, Version
from cfemu.runtime import ModuleFile, RuntimeUnavailableError, ScriptState, WorkerStartupError
from cfemu.store import Store, now_iso

__all__ = [
    "commit_deployment",
    "commit_version",
    "delete_script",
    "deployed_version",
    "ensure_running",
    "get_script",
    "get_version",
    "latest_deployment",
    "latest_version",
    "list_deployments",
    "list_scripts",
    "list_versions",
    "reactivate_deployed",
    "redeploy",
    "require_script",
    "script_state",
    "version_bindings",
]


def _script_from_row(row: sqlite3.Row) -> Script:
    return Script(
        name=row["name"],
        tag=row["tag"],
        created_on=row["created_on"],
        modified_on=row["modified_on"],
        settings={**DEFAULT_SCRIPT_SETTINGS, **json.loads(row["settings"])},
        subdomain_enabled=bool(row["subdomain_enabled"]),
        previews_enabled=bool(row["previews_enabled"]),
        last_deployed_from=row["last_deployed_from"],
    )


def get_script(store: Store, name: str) -> Script | None:
    """The script called `name`, or None."""
    row = store.db.execute("SELECT * FROM scripts WHERE name = ?", (name,)).fetchone()
    return None if row is None else _script_from_row(row)


def require_script(store: Store, name: str) -> Script:
    """The script called `name`, or raise HTTP 404 code 10007."""
    script = get_script(store, name)
    if script is None:
        raise ApiError(404, 10007, "workers.api.error.script_not_found")
    return script


def list_scripts(store: Store) -> list[Script]:
    """All scripts, oldest first."""
    return [_script_from_row(row) for row in store.db.execute("SELECT * FROM scripts ORDER BY created_on, name")]


def _version_from_row(store: Store, row: sqlite3.Row, *, with_modules: bool) -> Version:
    data = json.loads(row["data"])
    modules: tuple[ModuleFile, ...] = ()
    if with_modules:
        modules = tuple(
            ModuleFile(name=m["name"], content_type=m["content_type"], content=bytes(m["content"]))
            for m in store.db.execute(
                "SELECT vm.name, vm.content_type, b.content FROM version_modules vm"
                " JOIN module_blobs b ON b.sha256 = vm.sha256 WHERE vm.version_id = ? ORDER BY vm.position",
                (row["id"],),
            )
        )
    return Version(
        id=row["id"],
        script_name=row["script_name"],
        number=row["number"],
        created_on=row["created_on"],
        source=row["source"],
        main_module=data["main_module"],
        body_part=data["body_part"],
        modules=modules,
        bindings=tuple(data["bindings"]),
        compatibility_date=data["compatibility_date"],
        compatibility_flags=tuple(data["compatibility_flags"]),
        assets_manifest=data["assets_manifest"],
        asset_config=data["asset_config"],
        limits=data["limits"],
        placement=data["placement"],
        annotations=data["annotations"],
        handlers=tuple(data["handlers"]),
        startup_time_ms=data["startup_time_ms"],
        etag=data["etag"],
    )


def get_version(store: Store, script_name: str, version_id: str, *, with_modules: bool = True) -> Version | None:
    """Version `version_id` of `script_name`, or None."""
    row = store.db.execute(
        "SELECT * FROM versions WHERE script_name = ? AND id = ?", (script_name, version_id)
    ).fetchone()
    return None if row is None else _version_from_row(store, row, with_modules=with_modules)


def version_bindings(store: Store, script_name: str) -> Callable[[str], tuple[dict[str, Any], ...] | None]:
    """A lookup of the bindings of `script_name`'s versions by id (None for an id it has no version of);
    what `cfemu.bindings.normalise_bindings` needs for an inherit binding's `version_id`."""

    def lookup(version_id: str) -> tuple[dict[str, Any], ...] | None:
        version = get_version(store, script_name, version_id, with_modules=False)
        return None if version is None else version.bindings

    return lookup


def latest_version(store: Store, script_name: str, *, with_modules: bool = True) -> Version | None:
    """The newest version of `script_name`, or None."""
    row = store.db.execute(
        "SELECT * FROM versions WHERE script_name = ? ORDER BY number DESC LIMIT 1", (script_name,)
    ).fetchone()
    return None if row is None else _version_from_row(store, row, with_modules=with_modules)


def list_versions(store: Store, script_name: str) -> list[Version]:
    """All versions of `script_name`, newest first, without module bodies."""
    rows = store.db.execute("SELECT * FROM versions WHERE script_name = ? ORDER BY number DESC", (script_name,))
    return [_version_from_row(store, row, with_modules=False) for row in rows]


def _deployment_from_row(row: sqlite3.Row) -> Deployment:
    return Deployment(
        id=row["id"],
        script_name=row["script_name"],
        created_on=row["created_on"],
        source=row["source"],
        strategy=row["strategy"],
        annotations=json.loads(row["annotations"]),
        versions=tuple(json.loads(row["versions"])),
    )


def list_deployments(store: Store, script_name: str) -> list[Deployment]:
    """All deployments of `script_name`, newest first."""
    rows = store.db.execute("SELECT * FROM deployments WHERE script_name = ? ORDER BY seq DESC", (script_name,))
    return [_deployment_from_row(row) for row in rows]


def latest_deployment(store: Store, script_name: str) -> Deployment | None:
    """The live deployment of `script_name`, or None."""
    row = store.db.execute(
        "SELECT * FROM deployments WHERE script_name = ? ORDER BY seq DESC LIMIT 1", (script_name,)
    ).fetchone()
    return None if row is None else _deployment_from_row(row)


def _main_version_id(deployment: Deployment) -> str:
    best = max(deployment.versions, key=lambda v: float(v["percentage"]))
    return str(best["version_id"])


def deployed_version(store: Store, script_name: str, *, with_modules: bool = True) -> Version | None:
    """The version the live deployment sends most traffic to, or None."""
    deployment = latest_deployment(store, script_name)
    if deployment is None:
        return None
    return get_version(store, script_name, _main_version_id(deployment), with_modules=with_modules)


def script_state(ctx: Context, version: Version) -> ScriptState:
    """What the runtime needs to serve `version`."""
    return ScriptState(
        script_name=version.script_name,
        version_id=version.id,
        main_module=version.main_module or version.body_part,
        modules=version.modules,
        bindings=version.bindings,
        compatibility_date=version.compatibility_date,
        compatibility_flags=version.compatibility_flags,
        assets=asset_files(ctx, version.assets_manifest or {}),
        asset_config=dict(version.asset_config or {}),
    )


async def _activate(ctx: Context, version: Version) -> Version:
    try:
        result = await ctx.runtime.activate(script_state(ctx, version))
    except WorkerStartupError as exc:
        raise ApiError(400, 10021, exc.message) from None
    except RuntimeUnavailableError as exc:
        # DIFFERENCE: an emulator failure (no Node, dead supervisor), not something Cloudflare reports.
        raise ApiError(503, 10013, f"The emulator's Worker runtime is unavailable: {exc}") from None
    handlers = version.handlers if result.handlers is None else result.handlers
    return replace(version, startup_time_ms=result.startup_time_ms, handlers=handlers)


def _insert_deployment(db: sqlite3.Connection, script_name: str, deployment: Deployment) -> None:
    seq = db.execute("SELECT coalesce(max(seq), 0) + 1 FROM deployments WHERE script_name = ?", (script_name,))
    db.execute(
        "INSERT INTO deployments (id, script_name, seq, created_on, source, strategy, annotations, versions)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            deployment.id,
            script_name,
            seq.fetchone()[0],
            deployment.created_on,
            deployment.source,
            deployment.strategy,
            json.dumps(deployment.annotations),
            json.dumps(list(deployment.versions)),
        ),
    )


def _new_deployment(script_name: str, versions: list[dict[str, Any]], source: str, annotations: Any) -> Deployment:
    return Deployment(
        id=str(uuid.uuid4()),
        script_name=script_name,
        created_on=now_iso(),
        source=source,
        strategy="percentage",
        annotations=annotations if isinstance(annotations, dict) else {},
        versions=tuple(versions),
    )


async def commit_version(
    ctx: Context,
    version: Version,
    *,
    deploy: bool,
    source: str,
    settings_update: dict[str, Any] | None = None,
    deployment_annotations: dict[str, Any] | None = None,
) -> tuple[Version, Deployment | None]:
    """Store `version` (numbered here) and, if `deploy`, activate it and deploy it at 100%."""
    store = ctx.store
    previous = latest_version(store, version.script_name, with_modules=False)
    version = replace(version, number=1 if previous is None else previous.number + 1)
    deployment: Deployment | None = None
    if deploy:
        version = await _activate(ctx, version)
        deployment = _new_deployment(
            version.script_name, [{"version_id": version.id, "percentage": 100}], source, deployment_annotations
        )
    now = now_iso()
    script = get_script(store, version.script_name)
    with store.transaction() as db:
        if script is None:
            settings = {**DEFAULT_SCRIPT_SETTINGS, **(settings_update or {})}
            db.execute(
                "INSERT INTO scripts (name, tag, created_on, modified_on, settings, subdomain_enabled,"
                " previews_enabled, last_deployed_from) VALUES (?, ?, ?, ?, ?, 0, 0, ?)",
                (version.script_name, secrets.token_hex(16), now, now, json.dumps(settings), source),
            )
        else:
            settings = {**script.settings, **(settings_update or {})}
            db.execute(
                "UPDATE scripts SET modified_on = ?, settings = ?, last_deployed_from = ? WHERE name = ?",
                (now, json.dumps(settings), source, version.script_name),
            )
        db.execute(
            "INSERT INTO versions (id, script_name, number, created_on, source, data) VALUES (?, ?, ?, ?, ?, ?)",
            (version.id, version.script_name, version.number, now, source, json.dumps(version._data())),
        )
        for position, module in enumerate(version.modules):
            sha = hashlib.sha256(module.content).hexdigest()
            db.execute("INSERT OR IGNORE INTO module_blobs (sha256, content) VALUES (?, ?)", (sha, module.content))
            db.execute(
                "INSERT INTO version_modules (version_id, position, name, content_type, sha256) VALUES (?, ?, ?, ?, ?)",
                (version.id, position, module.name, module.content_type, sha),
            )
        if deployment is not None:
            _insert_deployment(db, version.script_name, deployment)
    return replace(version, created_on=now), deployment


async def commit_deployment(
    ctx: Context, script_name: str, versions: list[dict[str, Any]], *, source: str, annotations: Any
) -> Deployment:
    """Activate the main version of `versions` and store the deployment."""
    deployment = _new_deployment(script_name, versions, source, annotations)
    version = get_version(ctx.store, script_name, _main_version_id(deployment))
    assert version is not None, "callers check that every version exists"
    await _activate(ctx, version)
    with ctx.store.transaction() as db:
        _insert_deployment(db, script_name, deployment)
        db.execute(
            "UPDATE scripts SET modified_on = ?, last_deployed_from = ? WHERE name = ?",
            (now_iso(), source, script_name),
        )
    return deployment


def delete_script(store: Store, script_name: str) -> None:
    """Remove a script with its versions, deployments and schedules (and module bodies no version uses any more)."""
    with store.transaction() as db:
        db.execute(
            "DELETE FROM version_modules WHERE version_id IN (SELECT id FROM versions WHERE script_name = ?)",
            (script_name,),
        )
        db.execute("DELETE FROM versions WHERE script_name = ?", (script_name,))
        db.execute("DELETE FROM deployments WHERE script_name = ?", (script_name,))
        db.execute("DELETE FROM schedules WHERE script_name = ?", (script_name,))
        db.execute("DELETE FROM scripts WHERE name = ?", (script_name,))
        db.execute("DELETE FROM module_blobs WHERE sha256 NOT IN (SELECT sha256 FROM version_modules)")


async def redeploy(ctx: Context, script_name: str, *, source: str, triggered_by: str | None, **changes: Any) -> Version:
    """Make a new version from the newest one with `changes` (Version fields) and deploy it at 100%."""
    latest = latest_version(ctx.store, script_name)
    if latest is None:
        raise ApiError(404, 10007, "workers.api.error.script_not_found")
    annotations = {"workers/triggered_by": triggered_by} if triggered_by else {}
    version = replace(latest, id=str(uuid.uuid4()), source=source, annotations=annotations, **changes)
    committed, _ = await commit_version(ctx, version, deploy=True, source=source)
    return committed


async def reactivate_deployed(ctx: Context) -> dict[str, str]:
    """Activate the deployed version of every script (at startup); returns {script: error} for failures.

    Scripts start concurrently; one that fails is logged by the caller and left stopped (its workers.dev
    address answers 404 until the next deploy, or until `ensure_running` succeeds).
    """
    versions = [v for s in list_scripts(ctx.store) if (v := deployed_version(ctx.store, s.name)) is not None]

    async def start(version: Version) -> str | None:
        try:
            await ctx.runtime.activate(script_state(ctx, version))
        except (WorkerStartupError, RuntimeUnavailableError) as exc:
            return str(exc)
        return None

    outcomes = await asyncio.gather(*(start(version) for version in versions))
    return {v.script_name: error for v, error in zip(versions, outcomes, strict=True) if error is not None}


async def ensure_running(ctx: Context, script_name: str, is_running: Callable[[], bool]) -> bool:
    """Start the deployed version of `script_name` unless `is_running()`; True if it runs afterwards.

    Holds `Context.write_lock`, so it never races an upload; raises nothing (a failure means False).
    """
    async with ctx.write_lock:
        if is_running():
            return True
        version = deployed_version(ctx.store, script_name)
        if version is None:
            return False
        try:
            await ctx.runtime.activate(script_state(ctx, version))
        except (WorkerStartupError, RuntimeUnavailableError):
            return False
        return is_running()
