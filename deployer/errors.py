"""Every failure the deployer reports to a user, in one tree.

```
DeployError                   a deploy could not be done; the message says why and how to fix it
├── ConfigError               bad local input: settings, app.yml, the app folder (no API call made)
│   └── ManifestError         public/ cannot be deployed as it is: a file too big, too many files, _worker.js
├── CloudflareError           Cloudflare could not be reached or answered with an error
│   ├── TransportError        the network failed, even after retries
│   └── CloudflareAPIError    an error envelope: HTTP status, Cloudflare codes and messages
│       ├── AuthenticationError       10000 / 9106 / 9109: the token is missing, wrong or lacks a scope
│       ├── NoWorkersSubdomainError   10007 on the account subdomain: the one-time claim is missing
│       ├── ApiValidationError        10021: the upload was refused (bindings, startup, metadata)
│       ├── UploadTokenError          an asset upload session's token was refused (it lives one hour)
│       ├── VersionNotDeployedError   10214 / 10215: a settings or secret change refused, the newest version
│       │                             is not the deployed one (a version upload, a rollback)
│       ├── SecretsChangedError       10220: a rollback to a version whose secrets changed since (needs force)
│       ├── DatabaseLimitError        7406: the account holds as many D1 databases as its plan allows
│       └── SqlError                  7500: D1 refused a statement
├── SchemaError               an SQL file (schema.sql, seed.sql, a migration) failed on D1: file and statement
├── DataSafetyError           refused before any write: a destructive migration, or a switch to another database
├── VerifyError               the deployed app did not answer at its URL in time, or failed its checks
│   └── RolledBackError       … after a deploy, which was rolled back to the version live before it
└── GitHubAPIError            the GitHub REST API refused a call (PR comment, deployment): status and message
```

Each error carries a one-line `message`, an optional `hint` (the fix), and where it has one, the
`file`/`line` it points at, which become a `::error file=…,line=…::` annotation on a runner.

Where the fix is written: for local input, at the raise site, which knows the input (`deployer.settings`,
`deployer.app`, `deployer.manifest`); for Cloudflare, in the one place that maps error codes to these classes
(`deployer.cloudflare.client`, `_api_error`: the token scopes, the subdomain claim, a refused upload); for
GitHub, in `deployer.github.api` (the missing `permissions:` entry); for a failed schema or verification, in
the command that raises it (`deployer.commands._database`, `deployer.commands._verify`); for a risk to the
data, in `deployer.database`, which plans the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ApiValidationError",
    "AuthenticationError",
    "CloudflareAPIError",
    "CloudflareError",
    "ConfigError",
    "DataSafetyError",
    "DatabaseLimitError",
    "DeployError",
    "GitHubAPIError",
    "ManifestError",
    "NoWorkersSubdomainError",
    "RolledBackError",
    "SchemaError",
    "SecretsChangedError",
    "SqlError",
    "TransportError",
    "UploadTokenError",
    "VerifyError",
    "VersionNotDeployedError",
]


class DeployError(Exception):
    """A deploy could not be done. `str()` is the message followed by the hint."""

    title = "Deploy failed"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        file: Path | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.file = file
        self.line = line

    def __str__(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message


class ConfigError(DeployError):
    """Local input is wrong (settings, app.yml, app layout, asset limits); found before any API call."""

    title = "Invalid configuration"


class ManifestError(ConfigError):
    """The assets directory cannot be deployed as it is; `file` names the offending file when there is one."""


class CloudflareError(DeployError):
    """Cloudflare could not be reached, or it refused a call."""

    title = "Cloudflare error"


class TransportError(CloudflareError):
    """The network failed on every attempt (connection refused, timeout, TLS)."""

    title = "Cloudflare unreachable"


@dataclass(frozen=True, slots=True)
class ApiErrorDetail:
    """One entry of the envelope's `errors` list."""

    code: int
    message: str


class CloudflareAPIError(CloudflareError):
    """Cloudflare answered with `success: false`; `codes` holds every error code of the envelope."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status: int,
        errors: tuple[ApiErrorDetail, ...],
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.method = method
        self.path = path
        self.status = status
        self.errors = errors

    @property
    def codes(self) -> tuple[int, ...]:
        return tuple(error.code for error in self.errors)

    @property
    def api_text(self) -> str:
        """The API's own messages, joined, with their codes (what Cloudflare's dashboard would show)."""
        return "; ".join(f"{e.message} [code: {e.code}]" for e in self.errors) or f"HTTP {self.status}"


class AuthenticationError(CloudflareAPIError):
    """The API token is missing, unknown, expired, or lacks the scope this call needs."""

    title = "Cloudflare authentication failed"


class NoWorkersSubdomainError(CloudflareAPIError):
    """The account has not claimed its `<handle>.workers.dev` subdomain (a one-time human step)."""

    title = "No workers.dev subdomain"


class ApiValidationError(CloudflareAPIError):
    """Cloudflare refused an upload as invalid (code 10021): its text says what was wrong."""

    title = "Upload refused by Cloudflare"


class UploadTokenError(CloudflareAPIError):
    """The asset upload session's token was refused: it expired (it lives one hour) or is not valid."""

    title = "Asset upload token refused"


class VersionNotDeployedError(CloudflareAPIError):
    """A change of settings or secrets in place was refused (10214 / 10215): the newest version is not deployed."""

    title = "Newest version not deployed"


class SecretsChangedError(CloudflareAPIError):
    """Deploying an older version was refused (code 10220): secrets changed since it was live."""

    title = "Secrets changed since that version"


class DatabaseLimitError(CloudflareAPIError):
    """Creating a D1 database was refused (code 7406): the account has as many as its plan allows."""

    title = "D1 database limit reached"


class SqlError(CloudflareAPIError):
    """D1 refused an SQL statement (code 7500)."""

    title = "SQL error"


class SchemaError(DeployError):
    """One of the app's SQL files (schema.sql, seed.sql, a migration) failed on D1. The file's request was
    rolled back whole, and nothing after the database step was changed."""

    title = "SQL failed"
    bookmark: str | None = None  # the Time Travel bookmark taken before the request, if one was


class DataSafetyError(DeployError):
    """The deploy would lose or hide rows (a destructive migration, a switch to another database) and the
    flag that allows exactly that was not given; found before any write."""

    title = "Refused to risk the data"


class VerifyError(DeployError):
    """The deployed app did not answer at its URL in time, or failed its checks."""

    title = "App not answering"
    results: tuple[object, ...] = ()  # the checks run, when they ran (`deployer.commands._verify.CheckResult`)


class RolledBackError(VerifyError):
    """The new version failed its checks, so the Worker went back to the version deployed before it."""

    title = "Rolled back"
    rolled_back_to: str = ""  # the version live again (its id)
    rolled_back_label: str = ""  # how it is named to people: "version 3 (abcd1234)"


class GitHubAPIError(DeployError):
    """The GitHub REST API refused a call (a PR comment, a deployment): `status` and GitHub's `message`."""

    title = "GitHub API error"

    def __init__(self, message: str, *, status: int, api_message: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.api_message = api_message
