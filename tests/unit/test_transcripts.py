"""The suite-wide secret scan finds a secret where people could read it, and only there."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path

from devkit.transcripts import leaks, stored_secrets


def test_a_secret_in_a_transcript_is_found_and_a_mask_line_is_not(tmp_path: Path) -> None:
    transcripts = tmp_path / "transcripts"
    transcripts.mkdir()
    (transcripts / "1-cli.txt").write_text("::add-mask::hunter2-hunter2\nall fine\n")
    assert leaks(tmp_path, transcripts, ["hunter2-hunter2"]) == []
    (transcripts / "2-cli.txt").write_text("deploying\npassword is hunter2-hunter2\n")
    assert leaks(tmp_path, transcripts, ["hunter2-hunter2"]) == ["2-cli.txt:2"]


def test_a_secret_uploaded_as_an_asset_is_found_and_stored_secrets_are_known() -> None:
    # Outside the session's temporary folder, which the session's own scan reads at the end.
    with tempfile.TemporaryDirectory() as scratch:
        check_an_asset_holding_a_secret(Path(scratch))


def check_an_asset_holding_a_secret(tmp_path: Path) -> None:
    data = tmp_path / "cfemu"
    (data / "assets").mkdir(parents=True)
    database = sqlite3.connect(data / "cfemu.sqlite")
    database.execute("CREATE TABLE versions (data TEXT)")
    binding = {"type": "secret_text", "name": "SESSION_SECRET", "text": "generated-0123456789"}
    database.execute("INSERT INTO versions VALUES (?)", [json.dumps({"bindings": [binding]})])
    database.commit()
    database.close()
    assert stored_secrets(tmp_path) == {"generated-0123456789"}
    (data / "assets" / "0123abcd").write_bytes(b"KEY=generated-0123456789")
    assert leaks(tmp_path, tmp_path / "none", {"generated-0123456789"}) == [str(data / "assets" / "0123abcd")]
