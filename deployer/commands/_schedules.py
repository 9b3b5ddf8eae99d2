"""The Worker's cron triggers, set after its upload with the schedules endpoint, only when they differ.

The schedules belong to the script, not to a version: they are read (`GET …/schedules`) and replaced
(`PUT …/schedules`) only when the app's `triggers.crons` differ from them, in any order; an empty list removes
them. Previews get none (`deployer.commands._previews`): a pull request's code does not run on a schedule.
"""

from __future__ import annotations

from deployer.cloudflare import CloudflareClient
from deployer.cloudflare import workers as workers_api

__all__ = ["sync_schedules"]


async def sync_schedules(client: CloudflareClient, script: str, crons: tuple[str, ...]) -> tuple[str, ...] | None:
    """Make the script's cron triggers `crons`; the ones it had when they were changed, None when they were
    already these."""
    current = await workers_api.get_schedules(client, script)
    if sorted(current) == sorted(crons):
        return None
    await workers_api.put_schedules(client, script, crons)
    return current
