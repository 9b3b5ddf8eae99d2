"""Where miniflare (workerd) keeps the data of a KV namespace or an R2 bucket, so the API can read and delete it.

cfemu starts every Worker with `kvPersist=<data_dir>/kv` and `r2Persist=<data_dir>/r2` (`MiniflareRuntime`), and
hands miniflare a KV namespace by its id and an R2 bucket by its storage name (`r2_storage_name`). miniflare
runs each of them as a Durable Object addressed by that name, in a namespace whose unique key is
`miniflare-KVNamespaceObject` or `miniflare-R2BucketObject` (miniflare 4.20260426.0, `dist/src/index.js`:
`KV_PLUGIN.getServices` / `R2_PLUGIN.getServices`), so under the persist directory each one has

    <unique key>/<idFromName(name)>.sqlite      its entries (plus -wal and -shm), as for D1 (`cfemu.d1_files`)
    <name>/blobs/<blob id>                      the values' bytes, one file each (`BlobStore` in
                                                `dist/src/workers/shared/index.worker.js`; names are
                                                `sanitisePath`ed, which leaves KV ids and bucket names as they are)

The tables are miniflare's: KV's `_mf_entries(key, blob_id, expiration, metadata)` (expiration in milliseconds
since the epoch; `keyvalue.worker.ts`), R2's `_mf_objects`, `_mf_multipart_uploads` and `_mf_multipart_parts`
(`r2/bucket.worker.js`). The file and the tables appear when a Worker first uses the namespace or bucket, so a
missing file is an empty one.

Every Worker bound to the same id or name opens the same files, so they share the data, and it outlives a new
version of the Worker and a restart of cfemu. Python opens the file only while workerd may have it open too, with
a busy timeout, and keeps its transactions short (see the caveat in `cfemu.d1_files`).

DIFFERENCE: a Worker instance still running when its namespace or bucket is deleted keeps the deleted files open:
it sees the data gone (the rows are deleted in place first), but what it writes afterwards is lost with them. A
bucket made again under the same name gets new files, which such an instance sees from its next version (or from
the next start of cfemu) on.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from cfemu.d1_files import durable_object_id_from_name

__all__ = [
    "KV_UNIQUE_KEY",
    "R2_UNIQUE_KEY",
    "blob_path",
    "delete_object_data",
    "kv_persist_dir",
    "object_sqlite_path",
    "open_object",
    "r2_persist_dir",
    "r2_storage_name",
    "tables",
]

KV_UNIQUE_KEY = "miniflare-KVNamespaceObject"
R2_UNIQUE_KEY = "miniflare-R2BucketObject"
# The tables each kind of object keeps its data in, emptied when it is deleted.
_TABLES = {
    KV_UNIQUE_KEY: ("_mf_entries",),
    R2_UNIQUE_KEY: ("_mf_multipart_parts", "_mf_multipart_uploads", "_mf_objects"),
}
_BUSY_TIMEOUT_S = 5.0


def kv_persist_dir(data_dir: Path) -> Path:
    """miniflare's `kvPersist` for cfemu's data dir. The only place that decides it."""
    return data_dir / "kv"


def r2_persist_dir(data_dir: Path) -> Path:
    """miniflare's `r2Persist` for cfemu's data dir. The only place that decides it."""
    return data_dir / "r2"


def r2_storage_name(bucket_name: str, jurisdiction: str) -> str:
    """The name miniflare gets for an R2 bucket: its own name in the default jurisdiction, `<jurisdiction>_<name>`
    in another (a bucket name has no `_`, so the two never meet). Buckets of the same name in two jurisdictions are
    two buckets (developers.cloudflare.com/r2/reference/data-location/#jurisdictional-restrictions)."""
    return bucket_name if jurisdiction == "default" else f"{jurisdiction}_{bucket_name}"


def object_sqlite_path(persist_dir: Path, unique_key: str, name: str) -> Path:
    """The SQLite file of the object `name` (a namespace id, a bucket's storage name) of the kind `unique_key`."""
    return persist_dir / unique_key / f"{durable_object_id_from_name(unique_key, name)}.sqlite"


def blob_path(persist_dir: Path, name: str, blob_id: str) -> Path | None:
    """The file holding blob `blob_id` of object `name`, or None for an id that is not a plain file name."""
    if not blob_id or "/" in blob_id or "\\" in blob_id or blob_id in (".", ".."):
        return None
    return persist_dir / name / "blobs" / blob_id


@contextmanager
def open_object(persist_dir: Path, unique_key: str, name: str) -> Iterator[sqlite3.Connection | None]:
    """A connection to the object's SQLite file (rows as `sqlite3.Row`), or None when no Worker created it yet."""
    path = object_sqlite_path(persist_dir, unique_key, name)
    if not path.is_file():
        yield None
        return
    with closing(sqlite3.connect(path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)) as conn:
        conn.row_factory = sqlite3.Row
        yield conn


def tables(conn: sqlite3.Connection) -> set[str]:
    """The names of the tables in an object's SQLite file (miniflare creates them when the object is first used)."""
    return {str(row[0]) for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def delete_object_data(persist_dir: Path, unique_key: str, name: str) -> None:
    """Delete everything the object `name` holds: its rows, its SQLite file and its blobs.

    The rows are deleted first, in the file itself, so that a Worker still running with a binding to it (workerd
    keeps the file open) sees it empty too; then the files go, so nothing of it is left on disk.
    """
    with open_object(persist_dir, unique_key, name) as conn:
        if conn is not None:
            present = tables(conn)
            conn.execute("BEGIN IMMEDIATE")
            for table in _TABLES[unique_key]:
                if table in present:
                    conn.execute(f"DELETE FROM {table}")  # table names are the constants above
            conn.execute("COMMIT")
    path = object_sqlite_path(persist_dir, unique_key, name)
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    shutil.rmtree(persist_dir / name, ignore_errors=True)
