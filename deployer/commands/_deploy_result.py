"""What a deploy did: `DeployResult`, and how it is said in words."""

from __future__ import annotations

from dataclasses import dataclass

from deployer.commands._base import CommandResult
from deployer.commands._verify import CheckResult, describe_results
from deployer.steps import Step

__all__ = ["DeployResult"]


@dataclass(frozen=True, kw_only=True)
class DeployResult(CommandResult):
    """What a deploy did (beyond `CommandResult`): the database, the uploads, the secrets, the steps taken."""

    database_id: str | None
    database_created: bool
    asset_files: int
    assets_uploaded: int
    asset_bytes_uploaded: int
    secrets_sent: tuple[str, ...]
    generated_secrets: tuple[str, ...]
    steps: tuple[Step, ...]
    checks: tuple[CheckResult, ...] = ()  # the live app's checks, when verified
    bookmark: str | None = None  # the D1 Time Travel bookmark taken before changing a database with data
    migrations_applied: tuple[str, ...] = ()
    restore: str = ""  # how to go back to `bookmark`
    database_name: str = ""

    @property
    def details(self) -> str:
        """The summary's block below its table: the checks of the live app, and the bookmark a migration took."""
        parts: list[str] = []
        if self.checks:
            parts.append(f"Checks of the live app:\n{describe_results(self.checks)}")
        if self.bookmark:
            parts.append(f"D1 Time Travel bookmark before this deploy: `{self.bookmark}`\n\n{self.restore}")
        return "\n\n".join(parts)

    def outputs(self) -> dict[str, str]:
        preview = {"preview-url": self.url} if self.command == "preview" else {}
        return {
            **super().outputs(),
            **preview,
            "database-id": self.database_id or "",
            "d1-bookmark": self.bookmark or "",
            "migrations-applied": ",".join(self.migrations_applied),
        }

    def report_rows(self) -> tuple[tuple[str, str], ...]:
        if not self.database_name:
            return ()
        database = f"`{self.database_name}`" + (" (created by this run)" if self.database_created else "")
        return (("Database", database), ("Migrations applied", ", ".join(self.migrations_applied) or "none"))

    def changed_words(self) -> str:
        assert self.changes is not None
        if self.changes.nothing:
            return "nothing (already up to date)"
        parts = ["first deploy" if self.changes.reason == "first" else str(self.changes).replace(",", ", ")]
        details: list[str] = []
        if self.database_created:
            details.append("D1 database created")
        if self.migrations_applied:
            details.append(f"migrations applied: {', '.join(self.migrations_applied)}")
        if self.assets_uploaded:
            details.append(
                f"{self.assets_uploaded} of {self.asset_files} files uploaded ({_size(self.asset_bytes_uploaded)})"
            )
        sent = [name for name in self.secrets_sent if name not in self.generated_secrets]
        if sent:
            details.append(f"secrets sent: {', '.join(sent)}")
        if self.generated_secrets:
            details.append(f"generated: {', '.join(self.generated_secrets)}")
        if details:
            parts.append(f"({'; '.join(details)})")
        return " ".join(parts)


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KiB"
    return f"{count / 1024 / 1024:.1f} MiB"
