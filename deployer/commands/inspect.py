"""`inspect`: land cold on a deployed app and learn everything about it in one command.

Reads the Worker's settings (bindings by name and type, never values; the state tags), the D1 database behind
its D1 binding (name, tables, applied migrations, the pending ones when the app folder has `migrations/`, and
its Time Travel bookmark now) and the workers.dev URL. Read-only. The report is a
JSON-ready mapping (`--json`); `render_inspection` writes it for a person, each binding as its kind shows it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from deployer.bindings import AssetsBinding, D1Binding, KVBinding, R2Binding, SecretBinding, kind_of
from deployer.cloudflare import CloudflareClient
from deployer.cloudflare import d1 as d1_api
from deployer.cloudflare import kv as kv_api
from deployer.cloudflare import workers as workers_api
from deployer.cloudflare.client import none_if_missing
from deployer.cloudflare.workers import workers_dev_url
from deployer.commands._base import CommandResult, Options
from deployer.errors import ConfigError, DeployError
from deployer.migrations import LEDGER_TABLE, Migration, load_migrations
from deployer.secret_ledger import SecretLedger
from deployer.settings import Settings
from deployer.state import Digests, RemoteState

__all__ = ["InspectResult", "inspect_app", "render_inspection", "run"]

_TABLES_SQL = (
    "SELECT name FROM sqlite_master WHERE type='table' "
    "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name"
)


@dataclass(frozen=True, kw_only=True)
class InspectResult(CommandResult):
    """The report (`report`, JSON-ready) and its text (`text`)."""

    report: dict[str, Any] = field(default_factory=dict)

    def changed_words(self) -> str:
        return "nothing (read-only)"

    def as_json(self) -> object:
        return self.report


async def run(settings: Settings, client: CloudflareClient | None, options: Options) -> InspectResult:
    """Describe the deployed Worker `settings.script_name`."""
    assert client is not None, "inspect needs a client (the registry makes one)"
    script = settings.script_name
    local: tuple[Migration, ...] = ()
    try:
        local = load_migrations(settings.app_dir, settings.migrations_dir) if settings.app_dir.is_dir() else ()
    except ConfigError as exc:  # inspect reads the app folder only for the pending migrations
        options.hooks.warn(f"pending migrations not shown: {exc.message}")
    with options.hooks.group(f"Inspect {script}"):
        report = await inspect_app(
            client, script, api_base_url=settings.api_base_url, local_migrations=[m.name for m in local]
        )
    return InspectResult(
        command="inspect",
        status="inspected",
        script_name=script,
        url=str(report["workers_dev"]["url"] or ""),
        text=render_inspection(report),
        report=report,
    )


async def inspect_app(
    client: CloudflareClient, script: str, *, api_base_url: str, local_migrations: list[str] | None = None
) -> dict[str, Any]:
    """A JSON-ready description of the deployed app `script`; with `local_migrations` (the app folder's), each
    database also lists the ones it has not applied."""
    settings, subdomain, toggle, versions, deployments, crons = await asyncio.gather(
        workers_api.script_settings(client, script),
        none_if_missing(workers_api.account_subdomain(client)),
        none_if_missing(workers_api.script_subdomain(client, script)),
        none_if_missing(workers_api.list_versions(client, script)),
        none_if_missing(workers_api.list_deployments(client, script)),
        none_if_missing(workers_api.get_schedules(client, script)),
    )
    if settings is None:
        raise DeployError(
            f"No Worker named {script} on account {client.account_id}",
            hint="Check --name (and CLOUDFLARE_ACCOUNT_ID); `python -m deployer plan` shows the name an app uses.",
        )
    bindings = [b for b in settings.get("bindings") or () if isinstance(b, dict)]
    digests = Digests.from_tags(str(tag) for tag in settings.get("tags") or ())
    databases = [await _describe_database(client, b) for b in bindings if b.get("type") in D1Binding.types]
    for database in databases:
        if "tables" in database:
            # D1 keeps no list of bookmarks: this is the one for the contents now (a deploy that migrates prints
            # the one it took before, and puts it in its outputs and summary).
            database["bookmark_now"] = await d1_api.current_bookmark(client, database["id"])
        if local_migrations and "tables" in database:
            applied = set(database.get("migrations") or ())
            database["pending_migrations"] = [name for name in local_migrations if name not in applied]
    enabled = bool(toggle and toggle.get("enabled"))
    return {
        "script": script,
        "compatibility_date": settings.get("compatibility_date"),
        "compatibility_flags": list(settings.get("compatibility_flags") or ()),
        "bindings": [await _binding(client, b) for b in bindings],
        "crons": list(crons or ()),
        "assets": (
            {"digest": digests.assets, "files": digests.assets_count}
            if digests
            else {"present": any(b.get("type") in AssetsBinding.types for b in bindings)}
        ),
        "state": ({"code": digests.code, "config": digests.config, "schema": digests.schema} if digests else None),
        "secrets": _secrets(bindings, RemoteState.from_settings(settings).ledger),
        "versions": _versions(versions or [], deployments or [], digests),
        "databases": databases,
        "workers_dev": {
            "enabled": enabled,
            "url": workers_dev_url(api_base_url, script, subdomain) if subdomain else None,
        },
    }


_RECENT_VERSIONS = 10


def _versions(
    versions: list[dict[str, Any]], deployments: list[dict[str, Any]], digests: Digests | None
) -> list[dict[str, Any]]:
    """The recent versions, newest first: number, id, time, source, what made them (the deployment message, a
    rollback, a rotation, …) and which is live; for the live one, the state our last deploy recorded."""
    live = {
        str(share.get("version_id")): share.get("percentage")
        for share in (deployments[0].get("versions") or [] if deployments else [])
        if isinstance(share, dict)
    }
    messages: dict[str, str] = {}
    for deployment in reversed(deployments):  # oldest first, so the newest message of a version wins
        message = str((deployment.get("annotations") or {}).get("workers/message") or "")
        for share in deployment.get("versions") or ():
            if isinstance(share, dict) and message:
                messages[str(share.get("version_id"))] = message
    shown: list[dict[str, Any]] = []
    for version in versions[:_RECENT_VERSIONS]:
        version_id = str(version.get("id"))
        metadata = version.get("metadata") or {}
        annotations = version.get("annotations") or {}
        entry: dict[str, Any] = {
            "number": version.get("number"),
            "id": version_id,
            "created_on": metadata.get("created_on"),
            "source": metadata.get("source"),
            "made_by": annotations.get("workers/triggered_by"),
            "message": annotations.get("workers/message") or messages.get(version_id),
            "live_percentage": live.get(version_id),
        }
        if version_id in live and digests is not None:
            entry["recorded"] = {"code": digests.code, "assets": digests.assets, "config": digests.config}
        shown.append(entry)
    return shown


def _secrets(bindings: list[dict[str, Any]], ledger: SecretLedger | None) -> list[dict[str, Any]]:
    """Each secret by name, with when it last changed and by which command, as the ledger recorded (never a
    value; a secret set by another tool, or before the ledger existed, has no record)."""
    shown: list[dict[str, Any]] = []
    for binding in bindings:
        if binding.get("type") not in SecretBinding.types:
            continue
        name = str(binding.get("name"))
        record = ledger.record(name) if ledger is not None else None
        changed = record.changed_at.strftime("%Y-%m-%dT%H:%MZ") if record else None
        by = {"deploy": "deploy", "generated": "deploy (generated)", "rotate": "rotate"}[record.by] if record else None
        shown.append({"name": name, "changed": changed, "by": by})
    return shown


async def _binding(client: CloudflareClient, binding: dict[str, Any]) -> dict[str, Any]:
    """Name and type (never a value); a KV namespace with its id and title, an R2 bucket with its name."""
    shown: dict[str, Any] = {"name": binding.get("name"), "type": binding.get("type")}
    if binding.get("type") in KVBinding.types and binding.get("namespace_id"):
        namespace = await kv_api.get_namespace(client, str(binding["namespace_id"]))
        shown["resource"] = str(binding["namespace_id"])
        shown["title"] = namespace.title if namespace else None  # None: the namespace was deleted
    elif binding.get("type") in R2Binding.types and binding.get("bucket_name"):
        shown["resource"] = str(binding["bucket_name"])
    return shown


def _shown(binding: dict[str, Any]) -> str:
    """The binding as its kind shows it (a kind this deployer does not manage: name and type)."""
    kind = kind_of(str(binding.get("type")))
    name = str(binding.get("name"))
    if kind is None:
        return f"{name}: {binding.get('type')}"
    line = kind.show(name, "" if kind.key == "d1" else str(binding.get("resource") or ""))
    if "title" in binding:
        line += f" {binding['title']}" if binding["title"] else " (MISSING: the namespace was deleted)"
    return line


async def _describe_database(client: CloudflareClient, binding: dict[str, Any]) -> dict[str, Any]:
    database_id = str(binding.get("id") or binding.get("database_id") or "")
    described: dict[str, Any] = {"binding": binding.get("name"), "id": database_id}
    if not database_id:
        described["missing"] = True
        return described
    info = await none_if_missing(client.call("GET", f"{client.account_path}/d1/database/{database_id}"))
    if info is None:
        described["missing"] = True
        return described
    described["name"] = info.mapping().get("name")
    tables_result = await d1_api.query(client, database_id, _TABLES_SQL)
    tables = [str(row["name"]) for row in tables_result[0].get("results") or ()] if tables_result else []
    described["tables"] = tables
    if LEDGER_TABLE in tables:
        rows = await d1_api.query(client, database_id, f"SELECT name FROM {LEDGER_TABLE} ORDER BY id")
        described["migrations"] = [str(row["name"]) for row in rows[0].get("results") or ()] if rows else []
    return described


def render_inspection(report: dict[str, Any]) -> str:
    """The report as text for a person."""
    lines = [f"Worker {report['script']} (compatibility {report['compatibility_date']})"]
    url = report["workers_dev"]["url"]
    state = "enabled" if report["workers_dev"]["enabled"] else "NOT enabled"
    lines.append(f"  url: {url or '(account has no workers.dev subdomain)'} [{state}]")
    lines.append("  bindings:")
    lines += [f"    {_shown(b)}" for b in report["bindings"]]
    lines.append(f"  cron triggers: {', '.join(report.get('crons') or ()) or 'none'}")
    for secret in report["secrets"]:
        when = f"changed {secret['changed']} by {secret['by']}" if secret["changed"] else "no record of its changes"
        lines.append(f"  secret {secret['name']}: {when}")
    if report["versions"]:
        lines.append("  recent versions (newest first):")
    for version in report["versions"]:
        live = f" LIVE {version['live_percentage']}%" if version["live_percentage"] is not None else ""
        made = ", ".join(str(v) for v in (version["made_by"], version["message"]) if v)
        recorded = version.get("recorded")
        state = f"; state recorded by our deploy: code {recorded['code']}" if recorded else ""
        lines.append(
            f"    {version['number']}  {str(version['id'])[:8]}  {version['created_on']}  {version['source']}"
            f"{f'  ({made})' if made else ''}{live}{state}"
        )
    assets = report["assets"]
    if "files" in assets:
        lines.append(f"  assets: {assets['files']} files, digest {assets['digest']}")
    else:
        lines.append(f"  assets: {'present' if assets['present'] else 'none'} (not deployed by this tool)")
    for database in report["databases"]:
        if database.get("missing"):
            lines.append(f"  D1 {database['binding']}: {database['id']} (MISSING: the database was deleted)")
            continue
        lines.append(f"  D1 {database['binding']}: {database['name']} ({database['id']})")
        lines.append(f"    tables: {', '.join(database['tables']) or '(none)'}")
        if "migrations" in database:
            lines.append(f"    migrations applied: {', '.join(database['migrations']) or '(none)'}")
        if "pending_migrations" in database:
            lines.append(f"    migrations pending: {', '.join(database['pending_migrations']) or '(none)'}")
        if "bookmark_now" in database:
            lines.append(f"    Time Travel bookmark now: {database['bookmark_now']}")
    return "\n".join(lines)
