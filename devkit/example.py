"""The repository and its example app, as the tests, the benchmarks and the demo use them."""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = [
    "APP_PASSWORD",
    "EXAMPLE_APP",
    "EXAMPLE_SCRIPT",
    "REPO",
    "TYPESCRIPT_APP",
    "copy_example",
    "copy_typescript_app",
]

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_APP = REPO / "examples" / "items-app"
TYPESCRIPT_APP = REPO / "tests" / "fixtures" / "ts-app"  # a TypeScript app with an npm package, KV, R2 and a cron
EXAMPLE_SCRIPT = "items-app"  # the Worker name a copy of the example gets (its folder's name)
APP_PASSWORD = "correct horse battery staple"  # the password gate's value in tests (not a secret)


def copy_typescript_app(parent: Path) -> Path:
    """A fresh copy of the TypeScript fixture app (`tests/fixtures/ts-app`, Worker `ts-comments`) with the packages
    `scripts/bootstrap` installed in it (`npm ci`), as a workflow would have them after its install step."""
    if not (TYPESCRIPT_APP / "node_modules" / "hono").is_dir():
        raise RuntimeError(f"{TYPESCRIPT_APP}/node_modules is missing: run scripts/bootstrap (it runs npm ci there)")
    target = parent / "ts-comments"
    shutil.copytree(TYPESCRIPT_APP, target, symlinks=True)
    return target


def copy_example(parent: Path, name: str = EXAMPLE_SCRIPT) -> Path:
    """A fresh copy of the example app at `parent / name` (so the Worker is named `name`)."""
    target = parent / name
    shutil.copytree(EXAMPLE_APP, target, ignore=shutil.ignore_patterns(".wrangler", "node_modules"))
    return target
