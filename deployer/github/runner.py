"""The GitHub runner's contract: output files and workflow commands.

`GITHUB_OUTPUT` takes `name=value` lines; a value with a newline is written as `name<<DELIMITER` … `DELIMITER`
with a random delimiter that cannot occur in the value. Workflow commands escape `%`, CR and LF in their data and
additionally `:` and `,` in their properties (actions/toolkit `docs/commands.md`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

__all__ = ["error_command", "is_runner", "write_outputs"]


def is_runner(environ: Mapping[str, str] | None = None) -> bool:
    return (environ if environ is not None else os.environ).get("GITHUB_ACTIONS") == "true"


def write_outputs(path: Path, outputs: Mapping[str, str]) -> None:
    """Append `outputs` to the `GITHUB_OUTPUT` file at `path`, safely for multi-line values."""
    lines: list[str] = []
    for name, value in outputs.items():
        if "\n" in value or "\r" in value:
            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
            while delimiter in value:  # pragma: no cover - 128 random bits
                delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
            lines += [f"{name}<<{delimiter}", value, delimiter]
        else:
            lines.append(f"{name}={value}")
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def error_command(message: str, *, title: str | None = None, file: str | None = None, line: int | None = None) -> str:
    """An `::error …::message` line (an annotation on the run, pointing at `file`/`line` when given)."""
    properties = []
    if file:
        properties.append(f"file={_escape_property(file)}")
    if line:
        properties.append(f"line={line}")
    if title:
        properties.append(f"title={_escape_property(title)}")
    props = (" " + ",".join(properties)) if properties else ""
    return f"::error{props}::{_escape_data(message)}"
