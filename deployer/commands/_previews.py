"""What `preview`, `teardown` and `sweep` share: the preview's names and settings, finding this app's previews,
and removing one (its database first, then its Worker), only when the Worker carries this app's preview tag."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from deployer.cloudflare import CloudflareClient
from deployer.cloudflare import d1 as d1_api
from deployer.cloudflare import workers as workers_api
from deployer.commands._base import Options
from deployer.errors import ConfigError
from deployer.previews import Preview, PreviewNames, preview_names, preview_of
from deployer.settings import Settings
from deployer.state import RemoteState

__all__ = ["Removal", "list_previews", "preview_settings", "preview_target", "remove_preview"]


def preview_target(settings: Settings, options: Options, command: str) -> PreviewNames:
    """The names of the preview `options.pull_request` of the app in `settings`; `ConfigError` without one."""
    if options.pull_request is None or options.pull_request < 1:
        raise ConfigError(
            f"{command} needs the pull request's number (1 or more)",
            hint=(
                "Pass --pr N (action input pull-request). On a pull_request event the action reads it from the event."
            ),
        )
    return preview_names(
        settings.script_name, settings.database_name, options.pull_request, mode=options.preview_database
    )


def preview_settings(settings: Settings, names: PreviewNames, *, warn: Callable[[str], None]) -> Settings:
    """`settings` for the preview: its own Worker and database names, and no given `SESSION_SECRET` (each
    preview generates its own, so a preview's code never holds the one production signs sessions with)."""
    if settings.session_secret is not None:
        warn("The SESSION_SECRET given is not sent to the preview: each preview generates its own")
    return settings.model_copy(
        update={
            "name": names.script,
            "d1": settings.d1.model_copy(update={"name": names.database}),
            "session_secret": None,
        }
    )


async def list_previews(client: CloudflareClient, app: str) -> list[Preview]:
    """The account's Workers that carry a preview tag of the production Worker `app`."""
    found = []
    for script in await workers_api.list_scripts(client):
        number = preview_of(script.tags, app)
        if number is not None:
            found.append(Preview(script.name, number, script.modified))
    return sorted(found, key=lambda preview: preview.number)


@dataclass(frozen=True, slots=True)
class Removal:
    """What removing one preview did."""

    number: int
    script: str
    environment: str  # the GitHub environment of its Deployments
    worker_deleted: bool  # False: there was no such Worker (already gone)
    database_deleted: str = ""  # the name of the database deleted with it ("" when none was)
    notes: tuple[str, ...] = ()

    def words(self) -> str:
        if not self.worker_deleted:
            return f"preview Worker {self.script} was already gone"
        database = f" and its D1 database {self.database_deleted}" if self.database_deleted else ""
        return f"deleted the preview Worker {self.script}{database}"


async def remove_preview(client: CloudflareClient, settings: Settings, names: PreviewNames) -> Removal:
    """Delete the preview `names`: first its own database (only the one its Worker is bound to, and only when
    it has the isolated preview database's name: a shared one stays), then its Worker. A Worker of that name
    without this app's preview tag for this pull request is refused (`ConfigError`) before anything is deleted.

    The database goes first so that a failure in between leaves the tagged Worker, which the next teardown
    finds again; the other order could leave a database that nothing records as the preview's."""
    found = await workers_api.script_settings(client, names.script)
    if found is None:
        notes: tuple[str, ...] = ()
        if not names.shared_database and await d1_api.find_database(client, names.database) is not None:
            notes = (
                f"A D1 database named {names.database} exists, but no preview Worker records it as its own (a "
                "preview whose first deploy failed?), so it was kept; delete it with "
                f"`wrangler d1 delete {names.database}` if it is a leftover",
            )
        return Removal(names.number, names.script, names.environment, worker_deleted=False, notes=notes)
    remote = RemoteState.from_settings(found)
    if preview_of(remote.other_tags, settings.script_name) != names.number:
        raise ConfigError(
            f"The Worker {names.script} is not the preview of {settings.script_name} for pull request "
            f"#{names.number} (it lacks the tag {names.tag}), so neither it nor its database was deleted",
            hint="Delete it yourself if it is a leftover; previews deployed by this tool always carry that tag.",
        )
    database, notes = await _own_database(client, settings, names, remote)
    if database is not None:
        await d1_api.delete_database(client, database.uuid)
    await workers_api.delete_script(client, names.script)
    return Removal(
        names.number,
        names.script,
        names.environment,
        worker_deleted=True,
        database_deleted=database.name if database else "",
        notes=notes,
    )


async def _own_database(
    client: CloudflareClient, settings: Settings, names: PreviewNames, remote: RemoteState
) -> tuple[d1_api.Database | None, tuple[str, ...]]:
    """The database to delete with the preview: the one its Worker is bound to, if it is the preview's own."""
    bound = remote.database_id(settings.d1.binding)
    if bound is None:
        return None, ()
    database = await d1_api.get_database(client, bound)
    if database is None:
        return None, ()
    own = preview_names(settings.script_name, settings.database_name, names.number, mode="isolated").database
    if database.name != own:  # the shared one, or one the preview was pointed at by hand
        return None, (f"D1 database {database.name} is not this preview's own ({own}), so it was kept",)
    return database, ()
