"""The apps the benchmark deploys: the example app, as is or with generated asset files, and the edits made to it.

Every app is a copy of `examples/items-app` (worker.js, public/, schema.sql, app.yml for our deployer and
wrangler.toml for wrangler). Generated files go under `public/gen/` with incompressible pseudo-random bytes
from a fixed seed, so every run and both tools deploy exactly the same bytes; the counts and totals given
include the example's own three assets.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path

from devkit.example import APP_PASSWORD, EXAMPLE_APP, EXAMPLE_SCRIPT, REPO, copy_example

__all__ = [
    "APP_PASSWORD",
    "DATABASE_NAME",
    "EXAMPLE_APP",
    "REPO",
    "SCRIPT_NAME",
    "change_code",
    "change_one_asset",
    "copy_app",
    "generate_files",
    "make_app",
    "set_database_id",
    "write_secrets_file",
]

SCRIPT_NAME = EXAMPLE_SCRIPT
DATABASE_NAME = "items-app-db"
# What wrangler gets with --secrets-file; our deployer is given APP_PASSWORD and generates SESSION_SECRET.
SESSION_SECRET = "bench-session-secret-0123456789abcdef0123456789abcdef"

_EXTENSIONS = ("html", "css", "js", "json", "txt", "svg", "png", "woff2")
_FILES_PER_DIR = 250
_DATABASE_ID_RE = re.compile(r'^database_id = ".*"$', re.MULTILINE)
CHANGED_ASSET = "public/gen/d001/f00300.txt"


def make_app(dest: Path, *, files: int = 0, total_bytes: int = 0, seed: int = 1) -> Path:
    """Copy the example app to `dest`; with `files`, fill `public/` up to that many files and bytes."""
    copy_example(dest.parent, dest.name)
    if files:
        public = dest / "public"
        existing = [p for p in public.rglob("*") if p.is_file()]
        generate_files(
            public / "gen",
            count=files - len(existing),
            total_bytes=total_bytes - sum(p.stat().st_size for p in existing),
            seed=seed,
        )
    return dest


def copy_app(template: Path, dest: Path) -> Path:
    """A fresh copy of a prepared app (each run deploys its own copy, so edits never leak into the next)."""
    shutil.copytree(template, dest)
    return dest


def generate_files(root: Path, *, count: int, total_bytes: int, seed: int = 1) -> list[Path]:
    """Write `count` files of pseudo-random bytes totalling exactly `total_bytes` under `root`.

    Files are spread over sub-directories of 250 and cycle through common web extensions (so MIME types vary
    as on a real site). The same arguments always give the same files.
    """
    if count <= 0 or total_bytes < count:
        msg = f"cannot make {count} files of {total_bytes} bytes"
        raise ValueError(msg)
    rng = random.Random(seed)
    base, extra = divmod(total_bytes, count)
    written: list[Path] = []
    for index in range(count):
        folder = root / f"d{index // _FILES_PER_DIR:03}"
        if index % _FILES_PER_DIR == 0:
            folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"f{index:05}.{_EXTENSIONS[index % len(_EXTENSIONS)]}"
        path.write_bytes(rng.randbytes(base + (1 if index < extra else 0)))
        written.append(path)
    return written


def set_database_id(app: Path, database_id: str) -> None:
    """Point the app's wrangler.toml at the D1 database this run's emulator holds."""
    toml = app / "wrangler.toml"
    text, replaced = _DATABASE_ID_RE.subn(f'database_id = "{database_id}"', toml.read_text())
    if replaced != 1:
        msg = f"{toml} has no single database_id line"
        raise ValueError(msg)
    toml.write_text(text)


def write_secrets_file(path: Path) -> Path:
    """The JSON file wrangler's `deploy --secrets-file` reads: the two secrets the example app needs."""
    path.write_text(json.dumps({"APP_PASSWORD": APP_PASSWORD, "SESSION_SECRET": SESSION_SECRET}))
    return path


def change_code(app: Path) -> None:
    """A code-only change: one line appended to worker.js."""
    worker = app / "worker.js"
    worker.write_text(worker.read_text() + "\n// changed by the benchmark\n")


def change_one_asset(app: Path) -> None:
    """One asset of many changed: new bytes, same size, in one generated file."""
    path = app / CHANGED_ASSET
    size = path.stat().st_size
    path.write_bytes(random.Random(f"changed {size}").randbytes(size))
