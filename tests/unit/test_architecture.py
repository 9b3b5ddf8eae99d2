"""docs/ARCHITECTURE.md's layer table, enforced: every module's first-party imports stay within its row.

The table is read from the document itself, so the rules and the map cannot drift apart. Imports inside
functions count as much as those at the top of a file.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from devkit.example import REPO

DOCUMENT = REPO / "docs" / "ARCHITECTURE.md"
FIRST_PARTY = ("deployer", "cfemu", "devkit", "bench", "tests", "entrypoint")
PLANNING = ("core",)  # layers that must not import httpx (planning is pure)


def _layers() -> list[tuple[str, tuple[str, ...], frozenset[str]]]:
    """(layer, module prefixes, layers it may import) from the document's table, top to bottom."""
    rows = []
    for line in DOCUMENT.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[1].startswith("`"):
            continue
        layer, modules, allowed = cells
        prefixes = tuple(re.findall(r"`([a-z_.]+)`", modules))
        names = frozenset(name.strip() for name in allowed.split(",") if name.strip() not in ("", "–"))
        rows.append((layer, prefixes, names))
    return rows


LAYERS = _layers()


def _layer_of(module: str) -> str | None:
    for layer, prefixes, _ in LAYERS:
        for prefix in prefixes:
            if module == prefix or (module.startswith(prefix + ".") and not prefix.endswith(".__init__")):
                return layer
    return None


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__" and parts[0] == "deployer" and len(parts) == 2:
        return "deployer.__init__"  # the package's public surface, a front end of its own
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imported(module: str) -> str:
    """The module an import names, as the table knows it (`deployer` alone is its `__init__`)."""
    return "deployer.__init__" if module == "deployer" else module


def _python_files() -> list[Path]:
    files = [REPO / "entrypoint.py"]
    for top in ("deployer", "cfemu", "devkit", "bench", "tests"):
        files += sorted((REPO / top).rglob("*.py"))
    return files


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def test_the_document_has_the_layer_table() -> None:
    """The table is there and names the layers the rules below rely on."""
    names = [layer for layer, _, _ in LAYERS]
    assert {"errors", "core", "cloudflare", "commands", "github", "frontends", "emulator", "devkit"} <= set(names)
    known = set(names)
    for layer, _, allowed in LAYERS:
        assert allowed <= known, f"layer {layer} may import unknown layers {allowed - known}"


@pytest.mark.parametrize("path", _python_files(), ids=lambda path: str(path.relative_to(REPO)))
def test_every_module_imports_only_what_its_layer_may(path: Path) -> None:
    module = _module_name(path)
    layer = _layer_of(module)
    assert layer is not None, f"{module} belongs to no layer of docs/ARCHITECTURE.md"
    allowed = next(names for name, _, names in LAYERS if name == layer) | {layer}
    for name in _imports(path):
        if layer in PLANNING:
            assert name.split(".")[0] != "httpx", f"{module} ({layer}) imports httpx: planning does no I/O"
        if name.split(".")[0] not in FIRST_PARTY:
            continue
        target = _layer_of(_imported(name))
        assert target in allowed, f"{module} ({layer}) imports {name} ({target}); {layer} may import {allowed}"


def test_a_new_module_out_of_place_would_be_caught() -> None:
    """The rules bite: the emulator importing the deployer, or the bench importing tests, is refused."""
    emulator_may = next(names for name, _, names in LAYERS if name == "emulator")
    assert _layer_of("deployer.commands.deploy") not in emulator_may
    bench_may = next(names for name, _, names in LAYERS if name == "bench")
    assert _layer_of("tests.integration.deploying") not in bench_may
    assert _layer_of("deployer.cloudflare.client") == "cloudflare"
    assert _layer_of("deployer.settings") not in next(names for name, _, names in LAYERS if name == "cloudflare")
