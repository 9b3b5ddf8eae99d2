"""The registry of commands: each entry loads its module, and the CLI offers exactly the registered commands."""

from __future__ import annotations

import inspect
from typing import get_args

import pytest

from deployer.cli import _parser
from deployer.commands import COMMANDS, Status


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_is_a_run_function_in_its_own_module(name: str) -> None:
    run = COMMANDS[name].load()
    assert inspect.iscoroutinefunction(run)
    assert run.__module__ == f"deployer.commands.{name}"
    assert list(inspect.signature(run).parameters) == ["settings", "client", "options"]


def test_the_cli_offers_the_registered_commands() -> None:
    parser = _parser()
    subcommands = next(action for action in parser._actions if action.dest == "command")
    assert list(subcommands.choices) == list(COMMANDS)  # type: ignore[arg-type]


def test_a_command_succeeds_with_known_statuses_never_failed_or_skipped() -> None:
    """Commands may share statuses (a preview is a deploy: deployed or unchanged); the front ends own the two
    that say a command did not run to its end."""
    for spec in COMMANDS.values():
        assert spec.statuses and set(spec.statuses) <= set(get_args(Status)), spec.name
        assert "failed" not in spec.statuses and "skipped" not in spec.statuses
