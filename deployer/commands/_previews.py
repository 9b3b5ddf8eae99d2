"""What `preview`, `teardown` and `sweep` share: the preview's names and settings, finding this app's previews,
and removing one (its database, KV namespaces and R2 buckets first, then its Worker), only when the Worker
carries this app's preview tag."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from deployer.cloudflare import CloudflareClient
from deployer.cloudflare import d1 as d1_api
from deployer.cloudflare import kv as kv_api
from deployer.cloudflare import r2 as r2_api
from deployer.cloudflare import workers as workers_api
from deployer.commands._base import Options
from deployer.errors import CloudflareAPIError, ConfigError
from deployer.previews import Preview, PreviewNames, preview_names, preview_of, preview_storage_name
from deployer.settings import R2_BUCKET_NAME, KVConfig, R2Config, Settings, TriggersConfig
from deployer.state import RemoteState

__all__ = ["Removal", "list_previews", "preview_settings", "preview_target", "remove_preview"]

_MAX_PREVIEW_OBJECTS = 5000  # a preview's bucket is emptied one request per object: a bound on a teardown's time


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
    if settings.triggers.crons:
        warn("The cron triggers are not set on the preview: a pull request's code does not run on a schedule")
    kv_titles, buckets = _preview_storage(settings, names)
    return settings.model_copy(
        update={
            "name": names.script,
            "d1": settings.d1.model_copy(update={"name": names.database}),
            "kv": {binding: KVConfig(title=title) for binding, title in kv_titles.items()},
            "r2": {binding: R2Config(bucket=bucket) for binding, bucket in buckets.items()},
            "triggers": TriggersConfig(),
            "session_secret": None,
        }
    )


def _preview_storage(
    settings: Settings, names: PreviewNames, *, check: bool = True
) -> tuple[dict[str, str], dict[str, str]]:
    """The preview's own KV namespace titles and R2 bucket names, by binding (`deployer.previews`); `check`:
    refuse a bucket name R2 would refuse (a deploy; a teardown only compares names with what is bound)."""
    kv_titles = {binding: preview_storage_name(names.script, binding, bucket=False) for binding in settings.kv}
    buckets = {binding: preview_storage_name(names.script, binding, bucket=True) for binding in settings.r2}
    for binding, bucket in sorted(buckets.items()) if check else ():
        if not R2_BUCKET_NAME.match(bucket):
            raise ConfigError(
                f"The preview's R2 bucket for binding {binding} would be named {bucket!r}, which R2 refuses",
                hint="Rename the binding (letters, digits and '_', not ending in '_').",
            )
    return kv_titles, buckets


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
    storage_deleted: tuple[str, ...] = ()  # its KV namespaces and R2 buckets deleted with it

    def words(self) -> str:
        if not self.worker_deleted:
            return f"preview Worker {self.script} was already gone"
        owned = ([f"its D1 database {self.database_deleted}"] if self.database_deleted else []) + list(
            self.storage_deleted
        )
        return f"deleted the preview Worker {self.script}" + (f" and {', '.join(owned)}" if owned else "")


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
    storage, storage_notes = await _remove_own_storage(client, settings, names, remote)
    await workers_api.delete_script(client, names.script)
    return Removal(
        names.number,
        names.script,
        names.environment,
        worker_deleted=True,
        database_deleted=database.name if database else "",
        notes=(*notes, *storage_notes),
        storage_deleted=storage,
    )


async def _remove_own_storage(
    client: CloudflareClient, settings: Settings, names: PreviewNames, remote: RemoteState
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Delete the KV namespaces and R2 buckets the preview Worker is bound to that have the preview's own names
    (anything else it is bound to is kept); a bucket that holds objects cannot be deleted and is named."""
    kv_titles, buckets = _preview_storage(settings, names, check=False)
    deleted: list[str] = []
    notes: list[str] = []
    for binding, namespace_id in sorted((remote.bindings.get("kv") or {}).items()):
        namespace = await kv_api.get_namespace(client, namespace_id) if namespace_id else None
        if namespace is None:
            continue
        if namespace.title != kv_titles.get(binding):
            notes.append(f"KV namespace {namespace.title} is not this preview's own, so it was kept")
        elif await kv_api.delete_namespace(client, namespace_id):
            deleted.append(f"KV namespace {namespace.title}")
    for binding, bucket in sorted((remote.bindings.get("r2") or {}).items()):
        if bucket != buckets.get(binding):
            notes.append(f"R2 bucket {bucket} is not this preview's own, so it was kept")
            continue
        try:
            if await r2_api.delete_bucket(client, bucket):
                deleted.append(f"R2 bucket {bucket}")
            continue
        except CloudflareAPIError as exc:
            if r2_api.BUCKET_NOT_EMPTY not in exc.codes:
                raise
        # Cloudflare deletes only empty buckets: the preview's objects go first (as its database's rows do).
        emptied = await r2_api.empty_bucket(client, bucket, at_most=_MAX_PREVIEW_OBJECTS)
        try:
            await r2_api.delete_bucket(client, bucket)
            deleted.append(f"R2 bucket {bucket} ({emptied.deleted} objects)")
        except CloudflareAPIError as exc:
            if r2_api.BUCKET_NOT_EMPTY not in exc.codes:
                raise
            why = (  # the keys themselves are not shown: the preview's code chose them
                f"{len(emptied.refused)} objects whose keys have empty, '.' or '..' parts (never sent in an API path)"
                if emptied.refused
                else f"more than {_MAX_PREVIEW_OBJECTS} objects (or multipart uploads)"
            )
            notes.append(
                f"R2 bucket {bucket} still holds {why}, so it was kept after {emptied.deleted} objects were "
                "deleted: empty it in the dashboard, then delete it"
            )
    return tuple(deleted), tuple(notes)


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
