"""`restore`: put the app's D1 database back to a Time Travel bookmark, the one a deploy printed before it
migrated (`python -m deployer restore --bookmark B`).

The database is the one the Worker is bound to (the rows the app serves), else the one `d1.name` names. The
Worker is not touched: a restore that goes with an older Worker version is `rollback`'s business (wrangler's
`rollback` does not touch D1 either). The answer's `previous_bookmark` undoes the restore, and is printed.
"""

from __future__ import annotations

from dataclasses import dataclass

from deployer.cloudflare import CloudflareClient
from deployer.cloudflare import d1 as d1_api
from deployer.cloudflare import workers as workers_api
from deployer.commands._base import CommandResult, Options
from deployer.commands._database import bound_database_id, restore_hint
from deployer.errors import ConfigError
from deployer.settings import Settings
from deployer.state import RemoteState

__all__ = ["RestoreResult", "run"]


@dataclass(frozen=True, kw_only=True)
class RestoreResult(CommandResult):
    """The database restored, the bookmark it is at now and the one that undoes the restore."""

    database_id: str
    bookmark: str
    previous_bookmark: str

    def changed_words(self) -> str:
        return f"D1 database restored to {self.bookmark}"

    def outputs(self) -> dict[str, str]:
        return {**super().outputs(), "database-id": self.database_id, "d1-bookmark": self.bookmark}


async def run(settings: Settings, client: CloudflareClient | None, options: Options) -> RestoreResult:
    assert client is not None, "restore needs a client (the registry makes one)"
    if not options.bookmark:
        raise ConfigError(
            "restore needs the bookmark to go back to",
            hint="Pass --bookmark (action input bookmark): a deploy prints the bookmark it took before migrating, "
            "and `python -m deployer inspect` shows the last one.",
        )
    remote_settings = await workers_api.script_settings(client, settings.script_name)
    remote = RemoteState.from_settings(remote_settings) if remote_settings else RemoteState(exists=False)
    bound_id = bound_database_id(settings, remote)
    database = await d1_api.get_database(client, bound_id) if bound_id else None
    database = database or await d1_api.find_database(client, settings.database_name)
    if database is None:
        raise ConfigError(
            f"No D1 database to restore: the Worker {settings.script_name} has no D1 binding and there is no "
            f"database named {settings.database_name}",
            hint="Check the app folder (app.yml d1.name) or --name.",
        )
    with options.hooks.group(f"Restore D1 database {database.name}"):
        restored = await d1_api.restore_bookmark(client, database.uuid, options.bookmark)
    undo = restore_hint(client, database, restored.previous_bookmark).replace("To undo it", "To undo the restore")
    return RestoreResult(
        command="restore",
        status="restored",
        script_name=settings.script_name,
        text=(
            f"D1 database {database.name} ({database.uuid}) restored to bookmark {options.bookmark}; it is now at "
            f"{restored.bookmark}.\n{undo}"
        ),
        database_id=database.uuid,
        bookmark=restored.bookmark,
        previous_bookmark=restored.previous_bookmark,
    )
