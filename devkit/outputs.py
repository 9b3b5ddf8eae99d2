"""Reading a `GITHUB_OUTPUT` file: `name=value` lines and `name<<DELIMITER` … `DELIMITER` blocks."""

from __future__ import annotations

from pathlib import Path

__all__ = ["read_outputs"]


def read_outputs(path: Path) -> dict[str, str]:
    """The outputs in the file at `path` (a later value for a name wins; a missing file has none)."""
    outputs: dict[str, str] = {}
    if not path.exists():
        return outputs
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            value: list[str] = []
            for body in lines:
                if body == delimiter:
                    break
                value.append(body)
            outputs[name] = "\n".join(value)
        elif "=" in line:
            name, value_text = line.split("=", 1)
            outputs[name] = value_text
    return outputs
