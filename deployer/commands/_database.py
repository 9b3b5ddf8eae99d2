"""Steps 1-2 of a deploy, the database: read what it holds, refuse what would lose rows, take a Time Travel
bookmark, then apply what `deployer.database.plan_database` decided, every file in one request.

The reads come first and write nothing (`read_database`), so a refusal (a destructive migration, a changed
baseline, a switch to another database) leaves everything as it was. The files go in one `/query` request, which
D1 runs as one transaction (`deployer.migrations`): a failing file changes nothing, not even the files before it,
and the error names the file and the statement SQLite complained about.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog

from deployer._sql import Statement, statement_for_error
from deployer.app import LocalApp
from deployer.cloudflare import CloudflareClient
from deployer.cloudflare import d1 as d1_api
from deployer.data_guard import tables_created
from deployer.database import EMPTY, BoundDatabase, DatabaseState, DatabaseWork
from deployer.errors import CloudflareAPIError, SchemaError, SqlError
from deployer.migrations import CLAIM_LEDGER, LEDGER_TABLE, SqlFile, migration_request, next_migration_name, terminated
from deployer.settings import Settings
from deployer.state import RemoteState

__all__ = [
    "Applied",
    "DatabaseView",
    "apply_checked",
    "apply_work",
    "bound_database_id",
    "create_database",
    "read_database",
    "restore_hint",
]

log = structlog.get_logger("deployer")

_MASTER = "SELECT type, name, sql FROM sqlite_master WHERE type IN ('table', 'index')"
_LEDGER = f"SELECT name FROM {LEDGER_TABLE} ORDER BY id"


@dataclass(frozen=True, slots=True)
class DatabaseView:
    """The database this deploy binds and what it holds, and the one the Worker is bound to now."""

    target: d1_api.Database | None  # the database named in the settings (None: it does not exist yet)
    bound: BoundDatabase | None  # the database the Worker is bound to now, if it still exists
    state: DatabaseState  # what `target` holds (EMPTY when it does not exist, or was not read)
    written: bool  # step 2 plans writes to `target` (its SQL files changed, or the Worker moves to it)


def bound_database_id(settings: Settings, remote: RemoteState) -> str | None:
    """The database the Worker is bound to: through the settings' binding name, else its only D1 binding."""
    bound = remote.database_id(settings.d1.binding)
    if bound is None:
        ids = set((remote.bindings.get("d1") or {}).values())
        bound = ids.pop() if len(ids) == 1 else None
    return bound or None


async def read_database(
    client: CloudflareClient, settings: Settings, remote: RemoteState, *, find: bool, sql_changed: bool
) -> DatabaseView:
    """Read, never write: the database named in the settings (looked up when `find`, else the bound one), the
    bound one when it differs, and what the target holds when it is to be written (the app's SQL files
    changed, or the Worker moves to it)."""
    bound_id = bound_database_id(settings, remote)
    if find or bound_id is None:
        target = await d1_api.find_database(client, settings.database_name)
    else:
        target = d1_api.Database(uuid=bound_id, name=settings.database_name)
    bound: BoundDatabase | None = None
    if bound_id is not None:
        if target is not None and target.uuid == bound_id:
            bound = BoundDatabase(target.uuid, target.name)
        elif (found := await d1_api.get_database(client, bound_id)) is not None:
            bound = BoundDatabase(found.uuid, found.name)
    moves = bound is None or target is None or target.uuid != bound.uuid
    state = await read_state(client, target.uuid) if target is not None and (sql_changed or moves) else EMPTY
    return DatabaseView(target, bound, state, written=sql_changed or moves)


async def read_state(client: CloudflareClient, database_id: str) -> DatabaseState:
    """The tables, unique indexes and applied migrations of a database (one request; two with a ledger)."""
    master = (await d1_api.query(client, database_id, _MASTER))[0].get("results") or []
    has_ledger = any(row.get("type") == "table" and row.get("name") == LEDGER_TABLE for row in master)
    ledger = (await d1_api.query(client, database_id, _LEDGER))[0].get("results") or [] if has_ledger else []
    return DatabaseState.from_rows(master, ledger)


async def create_database(client: CloudflareClient, name: str) -> d1_api.Database:
    try:
        return await d1_api.create_database(client, name)
    except CloudflareAPIError as exc:
        # 7502: created meanwhile (a concurrent deploy, or a retried create that had succeeded).
        if 7502 in exc.codes:
            existing = await d1_api.find_database(client, name)
            if existing is not None:
                return existing
        raise


@dataclass(frozen=True, slots=True)
class Applied:
    """What step 2 did: the bookmark taken before it, and the files applied, in order."""

    bookmark: str | None = None
    files: tuple[str, ...] = ()
    migrations: tuple[str, ...] = ()
    restore: str = ""  # how to go back to `bookmark`


def restore_hint(client: CloudflareClient, database: d1_api.Database, bookmark: str) -> str:
    """How to put the database back to `bookmark`: our command, wrangler's, and the API call itself."""
    return (
        f"To undo it: python -m deployer restore --bookmark {bookmark} (or: wrangler d1 time-travel restore "
        f"{database.name} --bookmark={bookmark}; or the API: POST {client.base_url}{client.account_path}/d1/"
        f"database/{database.uuid}/time_travel/restore?bookmark={bookmark})"
    )


async def apply_work(
    client: CloudflareClient,
    app: LocalApp,
    database: d1_api.Database,
    work: DatabaseWork,
    *,
    done: list[str],
) -> Applied:
    """Apply `work` to `database`: the bookmark first (when it holds data), then every file in one request."""
    applied = Applied()
    if work.bookmark:
        bookmark = await d1_api.current_bookmark(client, database.uuid)
        applied = Applied(bookmark, restore=restore_hint(client, database, bookmark))
        log.info("time travel bookmark taken before changing the database", database=database.name, bookmark=bookmark)
        log.info(applied.restore)
    files: list[tuple[str, SqlFile, str]] = []  # (what, file, its SQL in the request)
    claim = f"{CLAIM_LEDGER}\n" if work.claim else ""
    if (work.baseline or work.schema_again) and app.schema is not None:
        files.append(("schema.sql", app.schema, terminated(app.schema)))
    for migration in work.pending:
        files.append((f"migrations/{migration.name}", migration.file, migration_request(migration)))
    if work.seed and app.seed is not None:
        files.append(("seed.sql", app.seed, terminated(app.seed)))
    try:
        await d1_api.query(client, database.uuid, claim + "\n".join(sql for _, _, sql in files))
    except SqlError as exc:
        raise _failed(app, database, [sql_file for _, sql_file, _ in files], exc, applied.bookmark) from exc
    what = tuple(name for name, _, _ in files)
    done.append(f"applied {', '.join(what)} to {database.name}")
    return Applied(applied.bookmark, what, tuple(m.name for m in work.pending), applied.restore)


async def apply_checked(
    client: CloudflareClient,
    app: LocalApp,
    database: d1_api.Database,
    state: DatabaseState,
    work: DatabaseWork,
    *,
    replan: Callable[[DatabaseState], DatabaseWork],
    warn: Callable[[str], None],
    done: list[str],
) -> Applied:
    """`apply_work`, and when it fails on a database that changed since `state` was read, once more.

    Two deploys at once: the one that lost finds the ledger it meant to create (`DatabaseWork.claim`) or a
    migration already in it; a request Cloudflare had applied before the client retried it fails the same way.
    Then the database is read again, and `replan` decides what it still lacks. A baseline the other deploy made
    must have every table this app's schema.sql creates, else this deploy stops (its schema.sql was not
    applied). A failure on a database nobody changed is the SQL's own, and is raised as it is."""
    try:
        return await apply_work(client, app, database, work, done=done)
    except SchemaError as exc:
        failed = exc
        now = await read_state(client, database.uuid)
        if now == state:
            raise
    if state.empty and app.schema is not None:
        missing = sorted(tables_created(app.schema.statements) - {table.lower() for table in now.tables})
        if missing:
            raise SchemaError(
                f"D1 database {database.name} was filled by another deploy while this one applied its SQL, and it "
                f"lacks table {', '.join(missing)} that this app's schema.sql creates (the two deploys had different "
                "schema.sql files); this deploy's schema.sql and seed.sql were not applied",
                hint="Nothing of this deploy's SQL was kept. Add the missing tables with a migration "
                f"({next_migration_name(app.migrations, 'add_missing_tables')}) and deploy again.",
            ) from failed
    warn(
        f"D1 database {database.name} changed while this deploy applied its SQL (another deploy at the same time, "
        "or a request of this one applied before a retry); it was read again and only what it lacks is applied"
    )
    again = replan(now)
    retried = await apply_work(client, app, database, again, done=done) if again.writes else Applied()
    bookmark = retried.bookmark or failed.bookmark
    meanwhile = tuple(m.name for m in work.pending if m.name in now.applied)
    return Applied(
        bookmark,
        retried.files,
        (*meanwhile, *retried.migrations),
        retried.restore or (restore_hint(client, database, bookmark) if bookmark else ""),
    )


def _failed(
    app: LocalApp, database: d1_api.Database, sql_files: list[SqlFile], exc: SqlError, bookmark: str | None
) -> SchemaError:
    """The error for a failed request: the file and statement SQLite complained about, when they can be told
    (SQLite's message names no statement; `deployer._sql.statement_for_error` finds it by what it quotes)."""
    found = _culprit(sql_files, exc.api_text)
    names = [sql_file.path.relative_to(app.root).as_posix() for sql_file in sql_files]
    if found is None:
        what = names[0] if len(names) == 1 else f"the SQL of this deploy ({', '.join(names)})"
        fix, file, line, shown = what, sql_files[0].path if len(names) == 1 else None, None, ""
    else:
        sql_file, statement = found
        what = fix = sql_file.path.relative_to(app.root).as_posix()
        file, line = sql_file.path, statement.line
        what += f" line {statement.line}"
        shown = f" in `{' '.join(statement.text.split())[:120]}`"
    hint = (
        f"Fix the SQL in {fix} and deploy again. D1 ran this deploy's SQL as one transaction, so none of it "
        "was kept (no migration, no d1_migrations row): the database is as it was, the Worker was not changed and "
        "the live app keeps serving."
    )
    if bookmark:
        hint += f" The database's state before this deploy is Time Travel bookmark {bookmark}."
    error = SchemaError(
        f"{what} failed on D1 database {database.name}{shown}: {exc.api_text}", hint=hint, file=file, line=line
    )
    error.title = f"{fix if file else 'SQL'} failed"
    error.bookmark = bookmark
    return error


def _culprit(sql_files: list[SqlFile], message: str) -> tuple[SqlFile, Statement] | None:
    """The file and statement `message` is about, or None when it cannot be told."""
    for sql_file in sql_files:
        found = statement_for_error(sql_file.statements, message)
        if found is not None:
            return sql_file, found
    only = sql_files[0]
    if len(sql_files) == 1 and len(only.statements) == 1:
        return only, only.statements[0]
    return None
