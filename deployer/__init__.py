"""Deploy a small stateful web app (Worker + static assets + D1) to Cloudflare.

The public surface is small; the names below are loaded on first use, so `import deployer` stays cheap for
the container's start-up budget:

- `Settings`: the one settings model (`Settings.load(cli=…, environ=…)`);
- `execute(command, settings, options)` → a `CommandResult` (`DeployResult` for `deploy`); the registry of
  commands is `deployer.commands.COMMANDS`;
- `make_plan` / `Plan`: the pure planner;
- the error tree rooted at `DeployError` (`deployer.errors`).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deployer.commands import CommandResult, execute, make_client
    from deployer.commands.deploy import DeployResult
    from deployer.errors import (
        ApiValidationError,
        AuthenticationError,
        CloudflareAPIError,
        CloudflareError,
        ConfigError,
        DeployError,
        ManifestError,
        NoWorkersSubdomainError,
        SchemaError,
        SqlError,
        TransportError,
        VerifyError,
    )
    from deployer.plan import Plan, make_plan
    from deployer.settings import Settings

__all__ = [
    "ApiValidationError",
    "AuthenticationError",
    "CloudflareAPIError",
    "CloudflareError",
    "CommandResult",
    "ConfigError",
    "DeployError",
    "DeployResult",
    "ManifestError",
    "NoWorkersSubdomainError",
    "Plan",
    "SchemaError",
    "Settings",
    "SqlError",
    "TransportError",
    "VerifyError",
    "execute",
    "make_client",
    "make_plan",
]

_HOMES = {
    "CommandResult": "deployer.commands",
    "DeployResult": "deployer.commands.deploy",
    "execute": "deployer.commands",
    "make_client": "deployer.commands",
    "Plan": "deployer.plan",
    "make_plan": "deployer.plan",
    "Settings": "deployer.settings",
}


def __getattr__(name: str) -> Any:
    if name in __all__:
        module = import_module(_HOMES.get(name, "deployer.errors"))
        return getattr(module, name)
    raise AttributeError(f"module 'deployer' has no attribute {name!r}")
