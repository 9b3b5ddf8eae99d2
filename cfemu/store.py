"""SQLite-backed state of the emulated account.

One database file, `DATA_DIR/cfemu.sqlite`, holds everything that Cloudflare would remember: the account's
workers.dev subdomain, D1 database records and Time Travel bookmarks (each database's *data* is a separate
SQLite file, see `cfemu.d1`), KV namespace and R2 bucket records (their data is miniflare's, see
`cfemu.storage_files`), asset records (asset bytes are files under `DATA_DIR/assets/`), upload sessions, scripts,
their versions, module bodies (deduplicated by SHA-256) and deployments. Reopening the same data dir
restores all of it.

The connection is used from the event-loop thread only, in autocommit mode; `transaction()` groups
writes. The request log is deliberately *not* here: it is diagnostics, kept in memory per process.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["Store", "now_iso"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS d1_databases (
    uuid TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    jurisdiction TEXT,
    primary_location_hint TEXT,
    read_replication_mode TEXT NOT NULL DEFAULT 'disabled'
);
CREATE TABLE IF NOT EXISTS d1_bookmarks (
    uuid TEXT NOT NULL,
    bookmark TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (uuid, bookmark)
);
CREATE TABLE IF NOT EXISTS assets (
    hash TEXT PRIMARY KEY,
    content_type TEXT,
    size INTEGER NOT NULL,
    uploaded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS upload_sessions (
    id TEXT PRIMARY KEY,
    script_name TEXT NOT NULL,
    manifest TEXT NOT NULL,
    buckets TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scripts (
    name TEXT PRIMARY KEY,
    tag TEXT NOT NULL,
    created_on TEXT NOT NULL,
    modified_on TEXT NOT NULL,
    settings TEXT NOT NULL,
    subdomain_enabled INTEGER NOT NULL,
    previews_enabled INTEGER NOT NULL,
    last_deployed_from TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS schedules (
    script_name TEXT NOT NULL,
    position INTEGER NOT NULL,
    cron TEXT NOT NULL,
    created_on TEXT NOT NULL,
    modified_on TEXT NOT NULL,
    PRIMARY KEY (script_name, position)
);
CREATE TABLE IF NOT EXISTS versions (
    id TEXT PRIMARY KEY,
    script_name TEXT NOT NULL,
    number INTEGER NOT NULL,
    created_on TEXT NOT NULL,
    source TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS versions_by_script ON versions (script_name, number);
CREATE TABLE IF NOT EXISTS module_blobs (sha256 TEXT PRIMARY KEY, content BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS version_modules (
    version_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (version_id, position)
);
CREATE TABLE IF NOT EXISTS deployments (
    id TEXT PRIMARY KEY,
    script_name TEXT NOT NULL,
    seq INTEGER NOT NULL,
    created_on TEXT NOT NULL,
    source TEXT NOT NULL,
    strategy TEXT NOT NULL,
    annotations TEXT NOT NULL,
    versions TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deployments_by_script ON deployments (script_name, seq);
CREATE TABLE IF NOT EXISTS kv_namespaces (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    jurisdiction TEXT
);
CREATE TABLE IF NOT EXISTS r2_buckets (
    name TEXT NOT NULL,
    jurisdiction TEXT NOT NULL,
    created_at TEXT NOT NULL,
    location TEXT NOT NULL,
    storage_class TEXT NOT NULL,
    PRIMARY KEY (jurisdiction, name)
);
"""


def now_iso() -> str:
    """The current UTC time in Cloudflare's format, e.g. `2024-05-01T12:00:00.123456Z`."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Store:
    """The emulator's state database (see the module docstring)."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self.db = sqlite3.connect(data_dir / "cfemu.sqlite", isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the block's writes as one transaction (rolled back if the block raises)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def get_meta(self, key: str) -> str | None:
        """The stored value for `key`, or None."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str | None) -> None:
        """Store `value` under `key` (None deletes it)."""
        if value is None:
            self.db.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def signing_key(self) -> bytes:
        """This data dir's HS256 key for upload JWTs, created on first use."""
        stored = self.get_meta("jwt_key")
        if stored is None:
            stored = secrets.token_hex(32)
            self.set_meta("jwt_key", stored)
        return bytes.fromhex(stored)
