"""The app's SQL files: `schema.sql` (the baseline of a new database), `seed.sql` (its first rows) and
`migrations/` (every change after that), with wrangler's naming and ledger so both tools can share a database.

wrangler's model, which this follows (wrangler 4.86, `src/d1/migrations/helpers.ts`, `apply.ts`):
- `migrations/NNNN_name.sql`, only the folder's top level, applied in the order of their number, then name.
  wrangler sorts names lexically and then by `parseInt` of the part before the first `_`, so a file without a
  number has no defined place: such a name is refused here, with the name to use.
- The ledger is the table `d1_migrations` (`id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at
  TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL`), one row per applied file, holding the file name.
- wrangler applies one file per `/query` request: the file's text, then `INSERT INTO d1_migrations (name)
  values ('<file name>');` (`migration_request`). D1 splits a multi-statement request on the server and runs
  it as one batch, and D1 documents batched statements as one SQL transaction ("if a statement in the
  sequence fails … it aborts or rolls back the entire sequence", D1 Worker API, batch statements); wrangler
  relies on the same for its ledger. So a failing file leaves neither part of its changes nor its ledger row.
  The deployer goes one step further and sends every file of a deploy in one request (each migration still
  followed by its ledger row): a failure then leaves the database exactly as it was, and a new database
  either gets its baseline, migrations and seed or stays empty. cfemu does the same (`cfemu.d1sql`: every
  statement of one request in one SQLite transaction).

File names are untrusted (a fork's pull request chooses them) and end up inside an SQL string: only
`[A-Za-z0-9_.-]` is accepted, and `'` could not appear anyway.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from deployer._files import contained, read_app_file
from deployer._sql import Statement
from deployer.data_guard import without_transaction
from deployer.errors import ConfigError

__all__ = [
    "CLAIM_LEDGER",
    "CREATE_LEDGER",
    "LEDGER_TABLE",
    "MIGRATIONS_DIR",
    "Migration",
    "SqlFile",
    "ledger_insert",
    "load_migrations",
    "load_sql_file",
    "migration_request",
    "next_migration_name",
    "terminated",
]

MIGRATIONS_DIR = "migrations"
LEDGER_TABLE = "d1_migrations"
CREATE_LEDGER = (
    f"CREATE TABLE IF NOT EXISTS {LEDGER_TABLE}(\n"
    "    id         INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "    name       TEXT UNIQUE,\n"
    "    applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL\n"
    ");"
)
# The same table without IF NOT EXISTS (it fails when the table exists): the first statement of a new database's
# request, so that two deploys filling it at once cannot both succeed (`deployer.database.DatabaseWork.claim`).
CLAIM_LEDGER = CREATE_LEDGER.replace(" IF NOT EXISTS", "", 1)
_NAME = re.compile(r"(?P<number>[0-9]+)(?:_[A-Za-z0-9_.-]*)?\.sql")


@dataclass(frozen=True, slots=True)
class SqlFile:
    """One SQL file of the app, ready to send: LF line endings, a wrapping `BEGIN`/`COMMIT` blanked out."""

    path: Path
    sql: str
    statements: tuple[Statement, ...]


@dataclass(frozen=True, slots=True)
class Migration:
    """One file of `migrations/`; `name` is what the ledger holds."""

    name: str
    number: int
    file: SqlFile


def load_sql_file(path: Path, root: Path) -> SqlFile | None:
    """The SQL file at `path` inside `root`, or None when it is absent or holds only whitespace."""
    data = read_app_file(path, root)
    if data is None:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})",
            hint=f"Save {path.name} as UTF-8.",
            file=path,
        ) from None
    if not text.strip():
        return None
    # wrangler sends LF line endings to D1; so do we.
    sql, statements = without_transaction(path, text.replace("\r\n", "\n"))
    return SqlFile(path, sql, tuple(statements))


def load_migrations(root: Path, folder_name: str = MIGRATIONS_DIR) -> tuple[Migration, ...]:
    """The migrations in `root/<folder_name>/` (default `migrations/`), in the order they are applied (none when
    there is no folder)."""
    folder = root / folder_name
    if not os.path.lexists(folder):
        return ()
    contained(folder, root)
    if not folder.is_dir():
        raise ConfigError(
            f"{folder} is not a folder",
            hint="migrations/ holds one NNNN_name.sql file per schema change.",
            file=folder,
        )
    names = sorted(name for name in os.listdir(folder) if name.endswith(".sql"))
    # A README or a subfolder is skipped: wrangler reads only the top level's .sql files too.
    numbered = {name: match for name in names if (match := _NAME.fullmatch(name))}
    migrations = [
        Migration(name, int(match["number"]), load_sql_file(folder / name, root) or SqlFile(folder / name, "", ()))
        for name, match in numbered.items()
    ]
    for name in names:
        if name not in numbered:
            raise ConfigError(
                f"{folder / name}: a migration's file name is its number, then `_` and a name of letters, digits, "
                f"`_`, `.` or `-`, like {next_migration_name(migrations, 'describe_the_change')}",
                hint="Rename the file (wrangler d1 migrations create names them the same way); files are applied "
                "in the order of their numbers.",
                file=folder / name,
            )
    return tuple(sorted(migrations, key=lambda m: (m.number, m.name)))


def terminated(sql_file: SqlFile) -> str:
    """The file's SQL, its last statement ended with `;` so that more SQL can follow it in one request."""
    body = sql_file.sql.rstrip()
    statements = sql_file.statements
    if statements and not body[: statements[-1].span[1]].endswith(";"):
        body += "\n;"
    return body


def ledger_insert(migration: Migration) -> str:
    """wrangler's ledger row for `migration` (its name holds no quote: `load_migrations` accepts none)."""
    return f"INSERT INTO {LEDGER_TABLE} (name) values ('{migration.name}');"


def migration_request(migration: Migration) -> str:
    """The SQL that applies `migration` and records it in the ledger, or neither (as wrangler sends it)."""
    return f"{CREATE_LEDGER}\n{terminated(migration.file)}\n{ledger_insert(migration)}"


def next_migration_name(migrations: tuple[Migration, ...] | list[Migration], topic: str) -> str:
    """The file name of the next migration about `topic`: wrangler's `NNNN_topic.sql`, one after the highest."""
    number = max((m.number for m in migrations), default=0) + 1
    slug = re.sub(r"[^A-Za-z0-9_]+", "_", topic.strip()).strip("_") or "change"
    return f"{MIGRATIONS_DIR}/{number:04d}_{slug}.sql"
