"""The package's public surface, and the wall between the deployer and the emulator."""

from __future__ import annotations

import ast
from importlib import import_module
from pathlib import Path

import deployer

PACKAGE = Path(deployer.__file__).parent


def test_every_exported_name_resolves() -> None:
    """Each name in `deployer.__all__` loads, and `__all__` is sorted."""
    assert deployer.__all__ == sorted(deployer.__all__)
    for name in deployer.__all__:
        home = import_module(deployer._HOMES.get(name, "deployer.errors"))
        assert getattr(deployer, name) is getattr(home, name)


def test_the_deployer_never_imports_the_emulator() -> None:
    """No module of `deployer` imports `cfemu` (the emulator stands in for Cloudflare, never a dependency)."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n == "cfemu" or n.startswith("cfemu.")]
    assert offenders == []
