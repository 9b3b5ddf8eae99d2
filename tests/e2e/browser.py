"""Headless Chromium (the Debian package, not a Playwright download) driven by Playwright's Python package.

`chromium_browser()` launches `/usr/bin/chromium` (or `$CHROMIUM`) with the flags that work in a container
without a sandbox or GPU (shared/reference/local-tooling.md §6). Chromium resolves `*.localhost` names to
the loopback address itself, so it opens cfemu's workers.dev URLs as they are printed.
Screenshots go to `test-artifacts/` at the repository root (gitignored; CI keeps it as an artifact).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

__all__ = ["ARTIFACTS", "CHROMIUM", "LAUNCH_ARGS", "chromium_browser"]

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@contextmanager
def chromium_browser() -> Iterator[Browser]:
    """A headless Chromium for the block; raises RuntimeError naming the fix if Chromium is not installed."""
    if not CHROMIUM.exists():
        raise RuntimeError(
            f"Chromium is not installed at {CHROMIUM}: run `apt-get install -y chromium` (scripts/bootstrap does "
            "it when run as root) or set CHROMIUM to its path"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()
