"""`sweep`: remove this app's forgotten previews (for a schedule): those whose pull request is closed, and with
`max_age` those not deployed for longer than that. `dry_run` says what would go and removes nothing.

The previews are the account's Workers with this app's preview tag (`deployer.previews`); whether a pull
request is closed comes from the front end (`Options.pull_request_state`, which asks GitHub). A preview whose
pull request cannot be read is kept. Each one is removed as `teardown` removes it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

from deployer.cloudflare import CloudflareClient
from deployer.commands._base import CommandResult, Options
from deployer.commands._previews import Removal, list_previews, remove_preview
from deployer.errors import ConfigError, DeployError
from deployer.previews import Stale, preview_names, stale_previews
from deployer.settings import Settings

__all__ = ["SweepResult", "run"]


@dataclass(frozen=True, kw_only=True)
class SweepResult(CommandResult):
    """The stale previews found, and what removing them did (nothing on a dry run)."""

    found: int  # this app's previews in the account
    stale: tuple[Stale, ...]
    removals: tuple[Removal, ...]
    dry_run: bool

    def changed_words(self) -> str:
        if not self.stale:
            return f"nothing: none of the {self.found} previews is stale"
        if self.dry_run:
            return f"would remove {len(self.stale)} of {self.found} previews"
        return f"removed {len(self.removals)} of {self.found} previews"

    def outputs(self) -> dict[str, str]:
        stale = ",".join(str(s.preview.number) for s in self.stale)
        removed = ",".join(str(r.number) for r in self.removals)
        return {**super().outputs(), "previews-removed": removed, "previews-stale": stale}


async def run(settings: Settings, client: CloudflareClient | None, options: Options) -> SweepResult:
    """Find this app's stale previews and remove them (unless `options.dry_run`); see the module docstring."""
    assert client is not None, "sweep needs a client (the registry makes one)"
    ask = options.pull_request_state
    if ask is None and options.max_age is None:
        raise ConfigError(
            "sweep cannot tell a stale preview: it has no GitHub access to read pull requests and no maximum age",
            hint="Give a GitHub token (input github-token; GITHUB_TOKEN and GITHUB_REPOSITORY for the CLI), or "
            "--max-age 7d (input max-age).",
        )
    previews = await list_previews(client, settings.script_name)
    states: dict[int, str | None] = {}
    if ask is not None:
        answers = await asyncio.gather(*(ask(preview.number) for preview in previews))
        states = {preview.number: answer for preview, answer in zip(previews, answers, strict=True)}
    stale = stale_previews(previews, states=states, now=dt.datetime.now(dt.UTC), max_age=options.max_age)
    lines = [f"{settings.script_name}: {len(previews)} preview{'' if len(previews) == 1 else 's'}, {len(stale)} stale"]
    removals: list[Removal] = []
    failures: list[str] = []
    for item in stale:
        lines.append(f"  {'would remove' if options.dry_run else 'removing'} {item.preview.script}: {item.reason}")
        if options.dry_run:
            continue
        names = preview_names(settings.script_name, settings.database_name, item.preview.number)
        try:
            removal = await remove_preview(client, settings, names)
        except DeployError as exc:  # the next previews are still removed; the run fails at the end
            failures.append(f"{item.preview.script}: {exc.message}")
            lines.append(f"    not removed: {exc.message}")
            continue
        removals.append(removal)
        lines.append(f"    {removal.words()}")
        for note in removal.notes:
            options.hooks.warn(note)
    unknown = [p.script for p in previews if ask is not None and states.get(p.number) is None]
    if unknown:
        lines.append(f"  kept (their pull request could not be read): {', '.join(unknown)}")
    return SweepResult(
        command="sweep",
        status="planned" if options.dry_run else "swept",
        script_name=settings.script_name,
        text="\n".join(lines),
        found=len(previews),
        stale=tuple(stale),
        removals=tuple(removals),
        dry_run=options.dry_run,
        incomplete=f"sweep could not remove {len(failures)} preview(s): " + "; ".join(failures) if failures else "",
    )
