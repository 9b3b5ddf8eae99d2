"""The six deploy steps (and the read before them), identified once.

The deploy logs each step with its `Step`, the plan describes the steps it will take with the same titles,
and `DeployResult.steps` lists the steps a deploy took, so tests assert on identities, never on log text.
Steps 1-2 (the database) and 3-4 (the assets) run side by side: `Step.beside` names the other branch.
"""

from __future__ import annotations

import enum

import structlog

__all__ = ["SIDE_BY_SIDE_GROUP", "Step"]

_log = structlog.get_logger("deployer")

# The log group around steps 1-4, which run as two branches side by side.
SIDE_BY_SIDE_GROUP = "Steps 1-4: the D1 database (1-2) beside the assets (3-4)"


class Step(enum.Enum):
    """One step of a deploy: its number (0 is the read before any write) and what it does."""

    READ = (0, "read the deployed state and plan")
    DATABASE = (1, "find or create the D1 database")
    SCHEMA = (2, "apply what the database lacks: schema.sql, migrations, seed.sql")
    ASSET_SESSION = (3, "open an asset upload session")
    ASSET_UPLOAD = (4, "upload the files Cloudflare lacks")
    STORAGE = (5, "find or create the KV namespaces and R2 buckets")
    WORKER = (5, "upload the Worker")
    SCHEDULES = (5, "set the cron triggers")
    WORKER_TAGS = (5, "record the new state on the Worker (no new version)")
    SUBDOMAIN = (6, "enable the workers.dev URL")
    RECORD_STATE = (6, "record the deployed state on the Worker, now that it is complete")

    @property
    def number(self) -> int:
        return int(self.value[0])

    @property
    def title(self) -> str:
        return str(self.value[1])

    @property
    def label(self) -> str:
        """`step 3/6`, as the log shows it."""
        return f"step {self.number}/6"

    @property
    def group(self) -> str:
        """The log group (a runner's `::group::`) around a step that runs alone."""
        return f"Step {self.number}: {self.title}"

    @property
    def beside(self) -> str | None:
        """The steps this one runs beside ("3-4" for the database steps, "1-2" for the asset steps)."""
        if self in (Step.DATABASE, Step.SCHEMA):
            return "3-4"
        if self in (Step.ASSET_SESSION, Step.ASSET_UPLOAD):
            return "1-2"
        return None

    def log(self, side_by_side: bool = False, **details: object) -> None:
        """One log line for this step: `step 3/6 open an asset upload session`, marked when it runs beside others
        (only steps 1-4 can; steps 5 and 6 always run alone)."""
        if side_by_side and self.beside:
            details["beside"] = self.beside
        _log.info(f"{self.label} {self.title}", **details)
