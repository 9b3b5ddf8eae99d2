"""Planning the database: what a deploy does to D1, decided from the app's SQL files and what the database
holds, with no I/O. The rows in it are the one thing a deploy must never lose.

| the database                  | what is applied                                                           |
|-------------------------------|---------------------------------------------------------------------------|
| new, or without tables        | `schema.sql` (the baseline), every migration, then `seed.sql`              |
| holds tables                  | the pending migrations only (not in `d1_migrations`), after a Time Travel  |
|                               | bookmark; destructive ones only with `allow-destructive`                   |
| holds tables, schema.sql      | run again only if it is harmless (`CREATE … IF NOT EXISTS` only), else     |
| changed since the last deploy | refused: the change belongs in a migration, whose file name is suggested   |

`schema.sql` and `seed.sql` never run again on a database with tables, whatever `--force` says: a baseline
re-run is how a `DROP TABLE` or a seed `INSERT` in it would empty or duplicate rows.

A change of `d1.name` that would bind the Worker to another database than the one holding its rows is refused
unless `allow-new-database` is given (`check_switch`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from deployer.app import LocalApp
from deployer.data_guard import Finding, destructive_statements, harmless, unique_indexes_created
from deployer.errors import ConfigError, DataSafetyError
from deployer.migrations import LEDGER_TABLE, Migration, next_migration_name

__all__ = ["EMPTY", "DatabasePlanner", "DatabaseState", "DatabaseWork", "check_switch", "plan_database"]


@dataclass(frozen=True, slots=True)
class DatabaseState:
    """What a D1 database holds, as read before any write (`deployer.commands._database.read_state`)."""

    tables: frozenset[str]  # the app's tables: not SQLite's, not D1's (`_cf_…`), not the ledger
    unique_indexes: frozenset[str]
    applied: tuple[str, ...]  # the ledger's names, oldest first (empty without a ledger)
    has_ledger: bool = False  # the `d1_migrations` table exists

    @property
    def empty(self) -> bool:
        return not self.tables

    @classmethod
    def from_rows(cls, master: Iterable[Mapping[str, object]], ledger: Iterable[Mapping[str, object]]) -> DatabaseState:
        """From `SELECT type, name, sql FROM sqlite_master` and `SELECT name FROM d1_migrations ORDER BY id`."""
        tables: set[str] = set()
        unique: set[str] = set()
        has_ledger = False
        for row in master:
            name, sql = str(row.get("name")), str(row.get("sql"))  # an automatic index has no sql: "None"
            if row.get("type") == "table" and not _internal(name):
                tables.add(name)
            elif row.get("type") == "table" and name == LEDGER_TABLE:
                has_ledger = True
            elif row.get("type") == "index" and sql.upper().startswith("CREATE UNIQUE INDEX"):
                unique.add(name.lower())
        applied = tuple(str(row.get("name")) for row in ledger)
        return cls(frozenset(tables), frozenset(unique), applied, has_ledger)


def _internal(table: str) -> bool:
    lowered = table.lower()
    return lowered.startswith(("sqlite_", "_cf_")) or lowered == LEDGER_TABLE


EMPTY = DatabaseState(frozenset(), frozenset(), ())


@dataclass(frozen=True, slots=True)
class DatabaseWork:
    """The writes one deploy makes to its database, in this order."""

    baseline: bool = False  # schema.sql on a new or empty database
    schema_again: bool = False  # a harmless, changed schema.sql on a database with tables
    pending: tuple[Migration, ...] = ()
    seed: bool = False  # seed.sql, after the baseline and the migrations of a new database
    bookmark: bool = False  # take a Time Travel bookmark first: the database holds data
    destructive: tuple[Finding, ...] = ()  # allowed by `allow-destructive`; listed in the plan
    notes: tuple[str, ...] = ()  # what the user should know; the deploy goes ahead
    # Create the ledger first, without IF NOT EXISTS: a deploy racing this one to fill a new database makes
    # one of the two requests fail whole instead of running schema.sql and seed.sql twice.
    claim: bool = False

    @property
    def writes(self) -> bool:
        return self.baseline or self.schema_again or bool(self.pending) or self.seed


def plan_database(
    app: LocalApp,
    state: DatabaseState,
    *,
    database: str,
    schema_changed: bool | None,
    allow_destructive: bool,
) -> DatabaseWork:
    """What to apply to `database` (a name, for messages) holding `state`; `schema_changed` is None when the
    deployed state is unknown (a first deploy by this tool, or `--force`: then schema.sql is not run again on a
    database with tables). Raises when the plan would lose rows."""
    applied = set(state.applied)
    pending = tuple(m for m in app.migrations if m.name not in applied)
    notes = [
        f"D1 database {database} lists the migration {name} in {LEDGER_TABLE}, but migrations/ has no such file "
        "(renamed or deleted?); nothing is done about it"
        for name in state.applied
        if name not in {m.name for m in app.migrations}
    ]
    if state.empty:
        work = DatabaseWork(
            baseline=app.schema is not None, pending=pending, seed=app.seed is not None, notes=tuple(notes)
        )
        return replace(work, claim=work.writes and not state.has_ledger)
    schema_again = False
    if app.schema is not None and schema_changed:
        if harmless(app.schema.statements):
            schema_again = True
            notes.append(
                "schema.sql changed and is run again (only CREATE … IF NOT EXISTS): it creates what is missing "
                "and does not change tables that exist; change those with a migration"
            )
        else:
            raise ConfigError(
                f"{app.schema.path} changed, but D1 database {database} already holds tables, and running it again "
                "could drop or duplicate rows (it has statements other than CREATE … IF NOT EXISTS)",
                hint=(
                    f"Put back the schema.sql that was deployed (it stays the baseline of new databases) and write the "
                    f"change as a migration: {next_migration_name(app.migrations, 'describe_the_change')}."
                ),
                file=app.schema.path,
            )
    findings = _destructive(app, state, pending)
    if findings and not allow_destructive:
        raise DataSafetyError(
            f"Refusing to apply a migration that can lose rows of D1 database {database}:\n"
            + "\n".join(f"  {finding}" for finding in findings),
            hint=(
                "If that is intended, deploy with --allow-destructive (action input allow-destructive: true); a "
                "Time Travel bookmark is taken first, so the data can be restored. Otherwise change the migration "
                "(copy the rows into the new table before dropping the old one; give DELETE/UPDATE a WHERE)."
            ),
            file=findings[0].file,
            line=findings[0].line,
        )
    return DatabaseWork(
        schema_again=schema_again,
        pending=pending,
        bookmark=bool(pending) or schema_again,
        destructive=tuple(findings),
        notes=tuple(notes),
    )


@dataclass(frozen=True, slots=True)
class DatabasePlanner:
    """`plan_database` with what one deploy plans with: the first plan and a re-plan after a race
    (`deployer.commands._database.apply_checked`) decide alike."""

    app: LocalApp
    database: str
    schema_changed: bool | None
    allow_destructive: bool

    def plan(self, state: DatabaseState) -> DatabaseWork:
        return plan_database(
            self.app,
            state,
            database=self.database,
            schema_changed=self.schema_changed,
            allow_destructive=self.allow_destructive,
        )


def _destructive(app: LocalApp, state: DatabaseState, pending: tuple[Migration, ...]) -> list[Finding]:
    unique = set(state.unique_indexes) | unique_indexes_created(app.schema.statements if app.schema else ())
    for migration in app.migrations:
        unique |= unique_indexes_created(migration.file.statements)
    findings: list[Finding] = []
    for migration in pending:
        findings += destructive_statements(migration.file.path, migration.file.statements, unique_indexes=unique)
    return findings


@dataclass(frozen=True, slots=True)
class BoundDatabase:
    """A D1 database as the switch check sees it."""

    uuid: str
    name: str


def check_switch(
    bound: BoundDatabase | None, target: BoundDatabase | None, *, name: str, binding: str, allow_new_database: bool
) -> str | None:
    """Refuse to bind the Worker to another database than the one it is bound to (which holds its rows).

    `bound` is the database the Worker is bound to now (None: none, or it no longer exists), `target` the one
    named `name` (None: it does not exist and would be created). Returns a warning when a switch is allowed.
    """
    if bound is None or (target is not None and target.uuid == bound.uuid):
        return None
    becomes = f"the other database {name} ({target.uuid})" if target else f"a new, empty database {name}"
    if not allow_new_database:
        raise DataSafetyError(
            f"app.yml's d1.name is {name!r}, but the Worker's {binding} binding is D1 database {bound.name} "
            f"({bound.uuid}), which holds its current rows; this deploy would bind it to {becomes}",
            hint=(
                f"To keep the data, set d1.name back to {bound.name!r}. To switch on purpose, deploy with "
                "--allow-new-database (action input allow-new-database: true); the old database is kept."
            ),
        )
    return f"The Worker's {binding} binding moves from D1 database {bound.name} ({bound.uuid}) to {becomes}"
