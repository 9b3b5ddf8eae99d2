"""The GitHub runner's contract: inputs, output files, the job summary and workflow commands.

- Inputs arrive as `INPUT_<ID>` with the id upper-cased, spaces turned into `_` and **hyphens kept**
  (`api-token` → `INPUT_API-TOKEN`); every declared input is present, empty when the workflow leaves it out, and
  the runner does not enforce `required`.
- `GITHUB_OUTPUT` takes `name=value` lines; a value with a newline is written as `name<<DELIMITER` … `DELIMITER`
  with a random delimiter that does not occur in the value.
- `GITHUB_STEP_SUMMARY` takes Markdown, appended (1 MiB per step at most).
- Workflow commands go to stdout: `::group::`, `::add-mask::`, `::error file=…,line=…,title=…::`, `::warning::`,
  `::notice::`. Their data escapes `%`, CR and LF; their properties additionally `:` and `,`
  (actions/toolkit `docs/commands.md`).
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

__all__ = ["Runner", "error_command", "is_runner", "write_outputs"]

_SUMMARY_LIMIT = 1024 * 1024
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})


def is_runner(environ: Mapping[str, str] | None = None) -> bool:
    """True inside a GitHub Actions job (`GITHUB_ACTIONS=true`)."""
    return (environ if environ is not None else os.environ).get("GITHUB_ACTIONS") == "true"


def input_variable(name: str) -> str:
    """The environment variable that carries input `name`: `api-token` → `INPUT_API-TOKEN`."""
    return "INPUT_" + name.replace(" ", "_").upper()


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


def workflow_command(command: str, message: str = "", **properties: str | int | None) -> str:
    """One `::command key=value,…::message` line, escaped; properties that are None are left out."""
    props = ",".join(f"{key}={_escape_property(str(value))}" for key, value in properties.items() if value)
    return f"::{command}{' ' + props if props else ''}::{_escape_data(message)}"


def error_command(message: str, *, title: str | None = None, file: str | None = None, line: int | None = None) -> str:
    """An `::error …::message` line (an annotation on the run, pointing at `file`/`line` when given)."""
    return workflow_command("error", message, file=file, line=line, title=title)


class Runner:
    """The step's side of the runner contract, over an environment and a stdout stream.

    Writes go where the runner reads them: commands to `stdout`, outputs and the summary to the files named by
    `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY` (silently nowhere when they are unset, as outside Actions). Every
    output written is also kept in `outputs`, so a failure can still report what was known.
    """

    def __init__(self, environ: Mapping[str, str], stdout: TextIO | None = None) -> None:
        self.environ = environ
        self.stdout = stdout if stdout is not None else sys.stdout
        self.outputs: dict[str, str] = {}
        self._masked: set[str] = set()
        self._summary_bytes = 0

    # --- inputs -------------------------------------------------------------------------------------------

    def input(self, name: str, default: str = "") -> str:
        """Input `name`, stripped; `default` when it is unset or empty."""
        return self.environ.get(input_variable(name), "").strip() or default

    def bool_input(self, name: str, *, default: bool) -> bool | None:
        """Input `name` as a YAML 1.2 boolean (`true`/`True`/`TRUE`, `false`/…); None when it is neither."""
        raw = self.input(name)
        if not raw:
            return default
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
        return None

    # --- workflow commands ----------------------------------------------------------------------------------

    def command(self, command: str, message: str = "", **properties: str | int | None) -> None:
        print(workflow_command(command, message, **properties), file=self.stdout, flush=True)

    def mask(self, value: str | None) -> None:
        """Ask the runner to hide `value` in every later log line; one command per line of a multi-line value."""
        if not value:
            return
        for line in value.splitlines():
            part = line.strip()
            if part and part not in self._masked:
                self._masked.add(part)
                self.command("add-mask", part)  # escaped like any data; the runner unescapes it

    def scrub(self, text: str) -> str:
        """`text` with every masked value replaced by `***`, for what the runner does not mask itself
        (the outputs file, the job summary, a PR comment)."""
        for value in sorted(self._masked, key=len, reverse=True):
            text = text.replace(value, "***")
        return text

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A collapsible `::group::` section of the log around the block."""
        self.command("group", title)
        try:
            yield
        finally:
            self.command("endgroup")

    def notice(self, message: str, *, title: str | None = None) -> None:
        self.command("notice", message, title=title)

    def warning(self, message: str, *, title: str | None = None) -> None:
        self.command("warning", message, title=title)

    def error(
        self, message: str, *, title: str | None = None, file: str | None = None, line: int | None = None
    ) -> None:
        self.command("error", message, file=file, line=line, title=title)

    # --- files ----------------------------------------------------------------------------------------------

    def set_outputs(self, outputs: Mapping[str, str]) -> None:
        """Write `outputs` to `GITHUB_OUTPUT` (each name once per call; a later value for a name wins)."""
        outputs = {name: self.scrub(value) for name, value in outputs.items()}
        fresh = {name: value for name, value in outputs.items() if self.outputs.get(name) != value}
        self.outputs.update(fresh)
        path = self.environ.get("GITHUB_OUTPUT")
        if path and fresh:
            write_outputs(Path(path), fresh)

    def summary(self, markdown: str) -> None:
        """Append `markdown` to the job summary, cut short (with a note) before the runner's 1 MiB limit."""
        path = self.environ.get("GITHUB_STEP_SUMMARY")
        if not path:
            return
        markdown = self.scrub(markdown)
        data = markdown if markdown.endswith("\n") else markdown + "\n"
        room = _SUMMARY_LIMIT - 1024 - self._summary_bytes
        encoded = data.encode("utf-8")
        if len(encoded) > room:
            data = encoded[: max(room, 0)].decode("utf-8", "ignore") + "\n\n*(summary truncated)*\n"
        self._summary_bytes += len(data.encode("utf-8"))
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(data)
