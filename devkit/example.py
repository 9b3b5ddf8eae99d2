"""The repository and its example app, as the tests, the benchmarks and the demo use them."""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["APP_PASSWORD", "EXAMPLE_APP", "EXAMPLE_SCRIPT", "REPO", "copy_example"]

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_APP = REPO / "examples" / "items-app"
EXAMPLE_SCRIPT = "items-app"  # the Worker name a copy of the example gets (its folder's name)
APP_PASSWORD = "correct horse battery staple"  # the password gate's value in tests (not a secret)


def copy_example(parent: Path, name: str = EXAMPLE_SCRIPT) -> Path:
    """A fresh copy of the example app at `parent / name` (so the Worker is named `name`)."""
    target = parent / name
    shutil.copytree(EXAMPLE_APP, target, ignore=shutil.ignore_patterns(".wrangler", "node_modules"))
    return target
