"""The rules that keep D1 rows safe, over the statements of one SQL file (`deployer._sql`). No I/O.

- **Destructive** statements (`destructive_statements`) are refused in a pending migration unless the user
  passes `allow-destructive`:
  `DROP TABLE t` whose rows were not copied out earlier in the same file (an `INSERT … SELECT … FROM t`; the
  seed's rebuild pattern copies them, a rebuild that forgets to is caught here), `ALTER TABLE … DROP COLUMN`,
  `DELETE FROM t` and `UPDATE t …` with no `WHERE` of their own, and `DROP INDEX` of a unique index. A table
  the same file created is the file's own scratch space: dropping or emptying it is not destructive.
- **Harmless** schema text (`harmless`) holds only `CREATE … IF NOT EXISTS` statements: running it again on a
  database with data creates what is missing and changes nothing that exists.
- **Transaction statements** (`without_transaction`): D1 runs each request as one transaction itself and
  refuses `BEGIN`/`COMMIT` in SQL. As wrangler does (`d1/trimmer.ts`: "D1 runs your SQL in a transaction for
  you"), one `BEGIN TRANSACTION; … COMMIT;` pair around the whole file is dropped; any other one is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from deployer._sql import Statement, Word, split_statements
from deployer.errors import ConfigError

__all__ = [
    "Finding",
    "destructive_statements",
    "harmless",
    "tables_created",
    "unique_indexes_created",
    "without_transaction",
]

_TRANSACTION_VERBS = {"BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"}


@dataclass(frozen=True, slots=True)
class Finding:
    """A statement the rules object to: where it is and why."""

    file: Path
    line: int
    statement: str
    why: str

    def __str__(self) -> str:
        return f"{self.file.name} line {self.line}: {self.why} ({_shorten(self.statement)})"


def _shorten(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def destructive_statements(
    path: Path, statements: Sequence[Statement], *, unique_indexes: Iterable[str] = ()
) -> list[Finding]:
    """The statements of `path` that can lose rows or let duplicates in (see the module docstring)."""
    unique = {name.lower() for name in unique_indexes}
    created: set[str] = set()  # tables this file created
    copied: set[str] = set()  # tables whose rows this file copied out (INSERT … SELECT … FROM t)
    findings: list[Finding] = []

    def find(statement: Statement, why: str) -> None:
        findings.append(Finding(path, statement.line, statement.text, why))

    for statement in statements:
        if statement.starts_with("CREATE"):
            table = statement.after("TABLE")
            if table is not None:
                created.add(table)
            continue
        if statement.starts_with("INSERT") or statement.starts_with("REPLACE"):
            copied |= {word.name for prev, word in pairwise(statement.words) if _is(prev, "FROM")}
            continue
        if statement.starts_with("DROP", "TABLE"):
            table = statement.after("TABLE")
            if table is not None and table not in created and table not in copied:
                find(statement, f"drops table {table} and its rows without copying them to another table first")
        elif statement.starts_with("ALTER") and statement.has("DROP"):  # only ALTER TABLE can follow ALTER
            column = statement.after("COLUMN") or statement.after("DROP")
            find(statement, f"drops column {column} of table {statement.after('TABLE')} and its values")
        elif statement.starts_with("DELETE") and not statement.has("WHERE"):
            table = statement.after("FROM")
            if table not in created:
                find(statement, f"deletes every row of {table} (no WHERE)")
        elif statement.starts_with("UPDATE") and not statement.has("WHERE"):
            table = _update_target(statement)
            if table not in created:
                find(statement, f"overwrites a column in every row of {table} (no WHERE)")
        elif statement.starts_with("DROP", "INDEX"):
            index = statement.after("INDEX")
            if index in unique:
                find(statement, f"drops the unique index {index}, which lets duplicate rows in")
    return findings


def _is(word: Word, keyword: str) -> bool:
    return not word.quoted and word.text == keyword


def _update_target(statement: Statement) -> str:
    """The table of `UPDATE [OR …] t SET …` ("?" for an `UPDATE` that names none, which SQLite refuses)."""
    words = list(statement.words[1:])
    if words and _is(words[0], "OR"):
        words = words[2:]
    return words[0].name if words else "?"


def unique_indexes_created(statements: Iterable[Statement]) -> set[str]:
    """The unique indexes these statements create (`CREATE UNIQUE INDEX [IF NOT EXISTS] name …`)."""
    # UNIQUE right after CREATE can only begin CREATE UNIQUE INDEX.
    return {name for s in statements if s.starts_with("CREATE", "UNIQUE") and (name := s.after("INDEX")) is not None}


def tables_created(statements: Iterable[Statement]) -> set[str]:
    """The tables these statements create (`CREATE [VIRTUAL] TABLE [IF NOT EXISTS] name`), lower-cased unless
    quoted (as `Statement.after` gives names)."""
    return {name for s in statements if s.starts_with("CREATE") and (name := s.after("TABLE")) is not None}


def harmless(statements: Sequence[Statement]) -> bool:
    """Only `CREATE … IF NOT EXISTS` statements: safe to run again on a database that holds data."""
    return all(_creates_if_missing(statement) for statement in statements)


def _creates_if_missing(statement: Statement) -> bool:
    """`CREATE … IF NOT EXISTS name …` (of a table, index, view or trigger)."""
    return statement.starts_with("CREATE") and statement.after("IF", "NOT", "EXISTS") is not None


def without_transaction(path: Path, sql: str) -> tuple[str, list[Statement]]:
    """`sql` ready for D1, and its statements: a `BEGIN …; … COMMIT;` pair around the whole file is blanked
    out (keeping every line where it was); any other transaction statement is refused with `ConfigError`."""
    statements = split_statements(sql)
    control = [s for s in statements if s.words[0].text in _TRANSACTION_VERBS and not s.words[0].quoted]
    if not control:
        return sql, statements
    wraps = (
        len(control) == 2
        and control[0] is statements[0]
        and control[0].starts_with("BEGIN")
        and control[1] is statements[-1]
        and control[1].words[0].text in {"COMMIT", "END"}
    )
    if not wraps:
        ends = {id(statements[0]), id(statements[-1])}
        first = next((s for s in control if id(s) not in ends), control[0])
        raise ConfigError(
            f"{path} line {first.line}: `{_shorten(first.text, 40)}`: D1 runs each SQL file as one transaction "
            "and refuses transaction statements (BEGIN, COMMIT, ROLLBACK, SAVEPOINT) inside it",
            hint="Remove them: every statement of the file is applied together, or none is.",
            file=path,
            line=first.line,
        )
    for statement in control:
        start, end = statement.span
        sql = sql[:start] + "".join(ch if ch == "\n" else " " for ch in sql[start:end]) + sql[end:]
    return sql, statements[1:-1]
