"""Where miniflare (workerd) keeps the SQLite file of a D1 database, so the API can open the same file.

miniflare runs each D1 database as a Durable Object of the class `D1DatabaseObject` whose namespace has the
unique key `miniflare-D1DatabaseObject`; the object is addressed by name, the name being the database id
(the `d1Databases: {BINDING: id}` value). With `d1Persist: DIR` its SQLite file is

    DIR/miniflare-D1DatabaseObject/<object id>.sqlite      (plus -wal and -shm; metadata.sqlite next to it)

and the object id is workerd's `idFromName` (miniflare reimplements it as `durableObjectNamespaceIdFromName`
in miniflare/dist/src/index.js; checked against the file workerd actually created):

    key      = SHA-256(unique_key)
    name_mac = HMAC-SHA256(key, name)[:16]
    object   = name_mac || HMAC-SHA256(key, name_mac)[:16]        → 64 lowercase hex digits

The file is plain SQLite 3 in WAL mode. workerd adds its own `_cf_METADATA` table the first time it opens
the file (hide `_cf_%` tables from users), and it accepts a file that Python created first, tables and
rows included (a file in rollback-journal mode is switched to WAL by workerd). Both sides can read and
write it at the same time (see tests/runtime/test_d1_files.py), with one caveat:
DIFFERENCE: workerd sets no SQLite busy timeout, so a Worker statement that needs the write lock while
Python holds a write transaction fails at once with `D1_ERROR: ... database is locked: SQLITE_BUSY`
(real D1 serialises them). Keep the API's write transactions short. Python's side should open the file
with a busy timeout (sqlite3's `timeout=`) so it waits for workerd's (short) transactions instead.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

__all__ = ["D1_NAMESPACE_DIR", "D1_UNIQUE_KEY", "d1_object_id", "d1_sqlite_path", "durable_object_id_from_name"]

D1_UNIQUE_KEY = "miniflare-D1DatabaseObject"
# The directory under `d1Persist` that holds the D1 objects (miniflare names it after the unique key).
D1_NAMESPACE_DIR = D1_UNIQUE_KEY


def durable_object_id_from_name(unique_key: str, name: str) -> str:
    """workerd's `idFromName(name)` for the Durable Object namespace with `unique_key`, as 64 hex digits."""
    key = hashlib.sha256(unique_key.encode()).digest()
    name_mac = hmac.new(key, name.encode(), hashlib.sha256).digest()[:16]
    check = hmac.new(key, name_mac, hashlib.sha256).digest()[:16]
    return (name_mac + check).hex()


def d1_object_id(database_id: str) -> str:
    """The Durable Object id (file stem) miniflare uses for D1 database `database_id`."""
    return durable_object_id_from_name(D1_UNIQUE_KEY, database_id)


def d1_sqlite_path(d1_persist_dir: Path, database_id: str) -> Path:
    """The SQLite file miniflare uses for D1 database `database_id` when started with `d1Persist=d1_persist_dir`."""
    return d1_persist_dir / D1_NAMESPACE_DIR / f"{d1_object_id(database_id)}.sqlite"
