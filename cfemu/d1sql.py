"""Running D1 `/query` and `/raw` requests against a database's SQLite file.

- SQL text may hold several `;`-separated statements; they are split here, on the server, with
  `sqlite3.complete_statement` (so `;` inside strings, comments and `CREATE TRIGGER … BEGIN … END` bodies
  is safe). Pieces holding only whitespace and comments are dropped.
- All statements of one request (every piece of `sql`, or every piece of every `batch` item) run in ONE
  transaction: if any fails, nothing is committed and the caller gets `D1QueryError`.
- `params` (positional) bind to a statement that has placeholders. With one statement they always bind,
  so a count mismatch is an error as in SQLite.
  GUESS: with several statements, `params` bind to each statement that has placeholders (D1's own rule for
  this case is not documented).
- A request with any statement that may write takes the write lock at once (`BEGIN IMMEDIATE`, waiting up
  to 10 s for a running Worker's transaction); read-only requests (`SELECT`/`EXPLAIN` only) use a deferred
  transaction, so they never hold the write lock. A running Worker (workerd sets no busy timeout) then
  only meets SQLITE_BUSY while a short API write transaction is under way.
- Error text is `<sqlite message>: <primary result code name>`, e.g. `no such table: x: SQLITE_ERROR`,
  as seen in public D1 error reports.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["D1QueryError", "Statement", "bind_params", "open_database", "run_statements", "split_statements"]

_PRIMARY_CODE_NAMES = {
    1: "SQLITE_ERROR",
    2: "SQLITE_INTERNAL",
    3: "SQLITE_PERM",
    4: "SQLITE_ABORT",
    5: "SQLITE_BUSY",
    6: "SQLITE_LOCKED",
    7: "SQLITE_NOMEM",
    8: "SQLITE_READONLY",
    9: "SQLITE_INTERRUPT",
    10: "SQLITE_IOERR",
    11: "SQLITE_CORRUPT",
    13: "SQLITE_FULL",
    14: "SQLITE_CANTOPEN",
    17: "SQLITE_SCHEMA",
    18: "SQLITE_TOOBIG",
    19: "SQLITE_CONSTRAINT",
    20: "SQLITE_MISMATCH",
    21: "SQLITE_MISUSE",
    23: "SQLITE_AUTH",
    25: "SQLITE_RANGE",
    26: "SQLITE_NOTADB",
}
# GUESS: D1 reports a region code per answer; the emulator always claims one.
SERVED_BY_REGION = "WNAM"
_SCHEMA_VERBS = ("CREATE", "DROP", "ALTER")
_READ_ONLY_VERBS = ("SELECT", "EXPLAIN")


class D1QueryError(Exception):
    """A statement failed; the whole request was rolled back. `str()` is D1's message text."""


@dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement with the positional parameters it binds."""

    sql: str
    params: tuple[Any, ...]


def _scan(sql: str) -> tuple[bool, int]:
    """Return (has code outside comments, number of positional placeholders) for one statement."""
    has_code = False
    sequential = 0
    numbered = 0
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"`[":
            close = "]" if ch == "[" else ch
            end = sql.find(close, i + 1)
            i = n if end < 0 else end + 1
            has_code = True
            continue
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if ch == "?":
            j = i + 1
            while j < n and sql[j].isdigit():
                j += 1
            if j > i + 1:
                numbered = max(numbered, int(sql[i + 1 : j]))
            else:
                sequential += 1
            i = j
            has_code = True
            continue
        if not ch.isspace() and ch != ";":
            has_code = True
        i += 1
    return has_code, max(sequential, numbered)


def split_statements(sql: str) -> list[str]:
    """Split `sql` into statements, dropping pieces that hold only whitespace and comments."""
    pieces: list[str] = []
    start = 0
    for index, ch in enumerate(sql):
        if ch == ";" and sqlite3.complete_statement(sql[start : index + 1]):
            pieces.append(sql[start : index + 1])
            start = index + 1
    pieces.append(sql[start:])
    return [piece.strip() for piece in pieces if _scan(piece)[0]]


def bind_params(statements: Sequence[str], params: Sequence[Any]) -> list[Statement]:
    """Pair each statement with the parameters it takes (see the module docstring)."""
    if len(statements) == 1:
        return [Statement(statements[0], tuple(params))]
    return [Statement(sql, tuple(params) if _scan(sql)[1] > 0 else ()) for sql in statements]


def _error_text(exc: sqlite3.Error) -> str:
    code = getattr(exc, "sqlite_errorcode", None)
    name = _PRIMARY_CODE_NAMES.get(code & 0xFF, "SQLITE_ERROR") if isinstance(code, int) else "SQLITE_ERROR"
    return f"{exc}: {name}"


def _sql_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if value is None or isinstance(value, int | float | str):
        return value
    raise D1QueryError(f"Type '{type(value).__name__}' not supported for value '{value}': SQLITE_ERROR")


def _json_value(value: Any) -> Any:
    return list(value) if isinstance(value, bytes) else value


def open_database(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) a D1 database file in WAL mode, autocommit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


def run_statements(path: Path, statements: Sequence[Statement], *, raw: bool) -> list[dict[str, Any]]:
    """Run `statements` in one transaction; return one D1 result object per statement."""
    conn = open_database(path)
    try:
        results: list[dict[str, Any]] = []
        read_only = all(s.sql.lstrip().upper().startswith(_READ_ONLY_VERBS) for s in statements)
        conn.execute("BEGIN" if read_only else "BEGIN IMMEDIATE")
        try:
            for statement in statements:
                results.append(_run_one(conn, statement, raw=raw))
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise D1QueryError(_error_text(exc)) from None
        except D1QueryError:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        page_count = conn.execute("PRAGMA page_count").fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()
    for result in results:
        result["meta"]["size_after"] = int(page_count) * int(page_size)
    return results


def _run_one(conn: sqlite3.Connection, statement: Statement, *, raw: bool) -> dict[str, Any]:
    params = tuple(_sql_value(value) for value in statement.params)
    started = time.perf_counter()
    changes_before = conn.total_changes
    cursor = conn.execute(statement.sql, params)
    rows = cursor.fetchall()
    duration_ms = (time.perf_counter() - started) * 1000
    columns = [d[0] for d in cursor.description] if cursor.description else []
    changes = conn.total_changes - changes_before
    last_row_id = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
    if raw:
        body: Any = {"columns": columns, "rows": [[_json_value(v) for v in row] for row in rows]}
    else:
        body = [{col: _json_value(v) for col, v in zip(columns, row, strict=False)} for row in rows]
    schema_change = statement.sql.lstrip().upper().startswith(_SCHEMA_VERBS)
    return {
        "results": body,
        "success": True,
        "meta": {
            "changed_db": changes > 0 or schema_change,
            "changes": changes,
            "duration": duration_ms,
            "last_row_id": int(last_row_id),
            # GUESS: D1 counts rows scanned; the emulator counts rows returned.
            "rows_read": len(rows),
            "rows_written": changes,
            "size_after": 0,
            "served_by_primary": True,
            "served_by_region": SERVED_BY_REGION,
            "timings": {"sql_duration_ms": duration_ms},
        },
    }
