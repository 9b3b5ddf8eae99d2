"""What a test run showed people, kept for one scan at the end: no secret value may appear in any of it.

When `DEVKIT_TRANSCRIPTS` names a folder (the test session sets it), every CLI run (`devkit.cli`), every action
step (its log, outputs file and summary) and every request body the fake GitHub API received (PR comments,
Deployments) is written there. `leaks()` then looks through those transcripts and through the asset files of
every cfemu data folder for the secret values the session knows of, plus every secret a cfemu stored (the
password and the generated `SESSION_SECRET`s included). The runner consumes `::add-mask::` lines, so those are
the one place a secret may stand.
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

__all__ = ["TRANSCRIPTS_VARIABLE", "leaks", "record", "stored_secrets"]

TRANSCRIPTS_VARIABLE = "DEVKIT_TRANSCRIPTS"
_MIN_SECRET_LENGTH = 8  # shorter test values ("pw") would match ordinary text
_counter = itertools.count()


def record(kind: str, text: str) -> None:
    """Keep `text` (what a `kind` of run showed) for the scan, when transcripts are on."""
    folder = os.environ.get(TRANSCRIPTS_VARIABLE)
    if not folder:
        return
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    (path / f"{os.getpid()}-{next(_counter):05d}-{kind}.txt").write_text(text, encoding="utf-8", errors="replace")


def stored_secrets(root: Path) -> set[str]:
    """Every secret_text value any cfemu under `root` stored (what Cloudflare keeps, and no one may see)."""
    found: set[str] = set()
    for database in root.rglob("cfemu.sqlite"):
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            rows = connection.execute("SELECT data FROM versions").fetchall()
        except sqlite3.Error:
            rows = []
        finally:
            connection.close()
        for (data,) in rows:
            for binding in json.loads(data).get("bindings") or ():
                if binding.get("type") == "secret_text" and isinstance(binding.get("text"), str):
                    found.add(binding["text"])
    return found


def leaks(root: Path, transcripts: Path, secrets: Iterable[str]) -> list[str]:
    """`file: line` for every transcript line (outside `::add-mask::`) and cfemu asset holding a secret."""
    wanted = {secret for secret in secrets if len(secret) >= _MIN_SECRET_LENGTH}
    found: list[str] = []
    for path in sorted(transcripts.glob("*.txt")) if transcripts.is_dir() else []:
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
            if not line.startswith("::add-mask::") and any(secret in line for secret in wanted):
                found.append(f"{path.name}:{number}")
    for asset in root.rglob("assets/*"):
        if asset.is_file() and asset.parent.parent.joinpath("cfemu.sqlite").exists():
            data = asset.read_bytes()
            if any(secret.encode() in data for secret in wanted):
                found.append(str(asset))
    return found
