"""`preview`: the app deployed as the preview of one pull request, with a Worker and a D1 database of its own.

The preview is a deploy (`deployer.commands.deploy`, every step and check of it) under the preview's names
(`deployer.previews`): the Worker `{app}-pr-{N}`, the database `{database}-pr-{N}` (or, with
`preview_database="shared"`, one `{database}-previews` for all previews). Its first run creates and fills the
database (schema.sql, every migration, seed.sql); each later push updates the same Worker and database
incrementally, rows kept and new migrations applied, exactly as a deploy to production would.

Production's Worker and database are never read or written. The preview gets the secrets given to this run
(so the preview workflow passes preview-only values: input app-password); a given `SESSION_SECRET` is not
sent, one is generated per preview and never shown. The Worker carries the preview tag, which `teardown` and
`sweep` check before they delete anything, and a Worker of the preview's name without it is left alone.

When the account has as many D1 databases as its plan allows (`7406`), the error names the limit, this app's
previews that hold one, and the two ways out: `sweep`, or `preview-database: shared`.
"""

from __future__ import annotations

from dataclasses import replace

from deployer.cloudflare import CloudflareClient
from deployer.commands import deploy
from deployer.commands._base import Options
from deployer.commands._deploy_result import DeployResult
from deployer.commands._previews import list_previews, preview_settings, preview_target
from deployer.errors import DatabaseLimitError
from deployer.previews import PreviewNames, preview_names
from deployer.settings import Settings

__all__ = ["run"]


async def run(settings: Settings, client: CloudflareClient | None, options: Options) -> DeployResult:
    """Deploy the preview of pull request `options.pull_request`; see the module docstring."""
    assert client is not None, "preview needs a client (the registry makes one)"
    names = preview_target(settings, options, "preview")
    settings_of_preview = preview_settings(settings, names, warn=options.hooks.warn)
    try:
        result = await deploy.run(settings_of_preview, client, replace(options, owner_tag=names.tag))
    except DatabaseLimitError as exc:
        await _explain_limit(client, settings, names, exc)
        raise
    return replace(result, command="preview")


async def _explain_limit(
    client: CloudflareClient, settings: Settings, names: PreviewNames, exc: DatabaseLimitError
) -> None:
    """Say which of this app's previews hold databases, and the two ways out."""
    previews = await list_previews(client, settings.script_name)
    holders = ", ".join(f"{p.script} (pull request #{p.number})" for p in previews if p.number != names.number)
    exc.message = (
        f"The preview of pull request #{names.number} needs its own D1 database ({names.database}), but the "
        f"account already has as many as its plan allows (Free: 10). {exc.api_text}. "
        + (f"This app's previews that hold one: {holders}." if holders else "No other preview of this app holds one.")
    )
    shared = preview_names(settings.script_name, settings.database_name, names.number, mode="shared").database
    ways_out = (
        "Remove the previews of closed pull requests: run the sweep command (python -m deployer sweep, or the "
        "action with command: sweep on a schedule). Or let every preview share one database: preview-database: "
        f"shared (flag --preview-database shared), which uses {shared}."
    )
    exc.hint = "\n".join(filter(None, [ways_out, exc.hint]))
