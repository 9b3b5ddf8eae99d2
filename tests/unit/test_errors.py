"""The error tree: every error a user can see is a `DeployError` defined in `deployer.errors` and drawn there."""

from __future__ import annotations

import importlib
import pkgutil

import deployer
from deployer import errors


def _all_subclasses(cls: type) -> set[type]:
    found: set[type] = set(cls.__subclasses__())
    for sub in list(found):
        found |= _all_subclasses(sub)
    return found


def test_every_error_lives_in_the_error_module_and_its_tree() -> None:
    """Import every deployer module; each `DeployError` subclass is defined in `deployer.errors`, exported, and
    named in the module docstring's tree (under its parent's branch)."""
    for module in pkgutil.walk_packages(deployer.__path__, "deployer."):
        importlib.import_module(module.name)
    classes = _all_subclasses(errors.DeployError)
    assert classes, "no error classes found"
    tree = errors.__doc__ or ""
    for cls in classes:
        assert cls.__module__ == "deployer.errors", f"{cls.__name__} is defined in {cls.__module__}"
        assert cls.__name__ in errors.__all__
        assert f"── {cls.__name__} " in tree, f"{cls.__name__} is missing from the tree in deployer/errors.py"
