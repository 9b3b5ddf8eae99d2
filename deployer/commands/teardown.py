"""`teardown`: remove the preview of one pull request (when it closes): its D1 database, then its Worker.

Only a Worker that carries this app's preview tag for this pull request is deleted, and with it only the
database it is bound to when that is the preview's own (a shared preview database stays):
`deployer.commands._previews.remove_preview`. A preview that is already gone is success (status `absent`).
The front end then retires what GitHub shows: the action marks the preview's Deployments inactive and edits
the pull request's comment to say the preview was removed.
"""

from __future__ import annotations

from dataclasses import dataclass

from deployer.cloudflare import CloudflareClient
from deployer.commands._base import CommandResult, Options
from deployer.commands._previews import Removal, preview_target, remove_preview
from deployer.settings import Settings

__all__ = ["TeardownResult", "run"]


@dataclass(frozen=True, kw_only=True)
class TeardownResult(CommandResult):
    """What was removed (`removal`), and the GitHub environment whose Deployments to retire."""

    removal: Removal

    @property
    def environment(self) -> str:
        return self.removal.environment

    def changed_words(self) -> str:
        return self.removal.words()

    def outputs(self) -> dict[str, str]:
        return {**super().outputs(), "database-deleted": self.removal.database_deleted}


async def run(settings: Settings, client: CloudflareClient | None, options: Options) -> TeardownResult:
    """Remove the preview of pull request `options.pull_request`; see the module docstring."""
    assert client is not None, "teardown needs a client (the registry makes one)"
    names = preview_target(settings, options, "teardown")
    with options.hooks.group(f"Remove the preview {names.script}"):
        removal = await remove_preview(client, settings, names)
    for note in removal.notes:
        options.hooks.warn(note)
    return TeardownResult(
        command="teardown",
        status="removed" if removal.worker_deleted else "absent",
        script_name=names.script,
        text=removal.words(),
        removal=removal,
    )
