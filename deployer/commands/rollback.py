"""`rollback`: put an earlier version of the Worker back in front of all traffic (`python -m deployer rollback
[--to VERSION]`), then check the live app.

- **Which version.** `--to` names one: its id, the first 8 or more characters of it, or its number (`inspect`
  lists them). Without it: the version live before the current one, as wrangler's `rollback` picks it (the
  newest earlier deployment that sent a version to 100%).
- **Idempotent.** Asking for the version that is live changes nothing (status `unchanged`); so does a second
  `rollback` without `--to` right after one (the live deployment is ours, its message starts with "rollback"):
  going further back takes `--to`.
- **Secrets.** Going back to a version whose secrets changed since it was live (a rotation, a new password)
  would bring their old values back: Cloudflare refuses (10220) and so does this command, unless `--force`.
- **What it leaves.** D1 is not touched (its rows are not versioned; `restore` takes a bookmark). The state
  tags no longer describe the live code, so the digests are removed after the deployment (a refused one changes
  nothing; a failed tag write says to deploy with --force) and the next deploy uploads everything. The secret ledger
  stays only when the secrets cannot have changed (an unforced return to an older version, which Cloudflare
  refuses with 10220 when they did); otherwise it is removed and the next deploy sends the secrets it is given.

Cron triggers are not changed: they belong to the script, not to a version (the config tag that records which
of them a deploy of ours set is kept, see `_tags_after`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from deployer.cloudflare import CloudflareClient
from deployer.cloudflare import workers as workers_api
from deployer.commands._base import CommandResult, Options
from deployer.commands._rollback import ROLLBACK_MESSAGE, live_version, short, version_label
from deployer.commands._verify import CheckResult, Verification, describe_results
from deployer.errors import CloudflareError, ConfigError, VerifyError
from deployer.settings import Settings
from deployer.state import LEDGER_TAG_PREFIX, STATE_TAG_PREFIX, recorded_triggers_of

__all__ = ["RollbackResult", "pick_version", "run"]

_FULL_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True, kw_only=True)
class RollbackResult(CommandResult):
    """The version live now, the one it replaced, and the checks of the live app."""

    version_id: str
    replaced: str = ""  # the version that was live before ("" when nothing changed)
    checks: tuple[CheckResult, ...] = ()

    def changed_words(self) -> str:
        return f"rolled back from {short(self.replaced)} to {short(self.version_id)}" if self.replaced else "nothing"

    def outputs(self) -> dict[str, str]:
        return {**super().outputs(), "version-id": self.version_id}


def pick_version(wanted: str, versions: Sequence[Mapping[str, Any]]) -> str:
    """The id of the version `wanted` names (a number, an id, or a prefix of 8 or more characters of one; an
    8-digit prefix is tried as a number first)."""
    ids = [str(version.get("id")) for version in versions]
    found = [str(v.get("id")) for v in versions if str(v.get("number")) == wanted] if wanted.isdigit() else []
    if not found and len(wanted) >= 8:
        found = [version_id for version_id in ids if version_id.startswith(wanted.lower())]
    if len(found) != 1:
        raise ConfigError(
            f"No single version of the Worker is named {wanted!r} ({len(found)} match)",
            hint="Give a version's number, its id or the first 8 characters of it: `python -m deployer inspect` "
            "lists the recent ones.",
        )
    return found[0]


def _previous(deployments: Sequence[Mapping[str, Any]], live: str) -> str | None:
    """The version live before `live`: the newest earlier deployment that sent another version to 100%."""
    for deployment in deployments[1:]:
        for share in deployment.get("versions") or ():
            if isinstance(share, dict) and share.get("percentage") == 100 and share.get("version_id") != live:
                return str(share["version_id"])
    return None


def _tags_after(
    remote_settings: Mapping[str, Any], target: Mapping[str, Any], live_number: Any, forced: bool
) -> list[str]:
    """The Worker's tags without our digests (they describe the code that is going away), but for a config tag
    that records cron triggers (alone it is no complete state: the next deploy redoes everything); cron triggers
    are not changed by a rollback. The secret ledger stays only when Cloudflare's 10220 vouches that the secrets
    do not change: an unforced return to an older version. GUESS (cfemu's too): 10220 covers older versions only,
    so going forward drops it."""
    tags = [str(tag) for tag in remote_settings.get("tags") or ()]
    older = isinstance(live_number, int) and isinstance(target.get("number"), int) and target["number"] < live_number
    keep_ledger = older and not forced
    # A config tag recording cron triggers stays: schedules belong to the script, so going back to a version
    # leaves them as they are, and the next deploy must still know which of them a deploy of ours set.
    return [
        tag
        for tag in tags
        if not tag.startswith(STATE_TAG_PREFIX)
        or (keep_ledger and tag.startswith(LEDGER_TAG_PREFIX))
        or recorded_triggers_of(tag)
    ]


async def run(settings: Settings, client: CloudflareClient | None, options: Options) -> RollbackResult:
    """Go back to `options.rollback_to` (or the previous version); see the module docstring."""
    assert client is not None, "rollback needs a client (the registry makes one)"
    script, hooks = settings.script_name, options.hooks
    remote_settings = await workers_api.script_settings(client, script)
    live = await live_version(client, script)
    if remote_settings is None or live is None:
        raise ConfigError(
            f"{script} has no version live at 100% to roll back from (no such Worker, or a gradual deployment)",
            hint="Check --name; a gradual deployment is ended with wrangler versions deploy VERSION@100%.",
        )
    url = workers_api.workers_dev_url(settings.api_base_url, script, await workers_api.account_subdomain(client))
    if options.rollback_to and _FULL_ID.match(options.rollback_to):  # any version, however old (no list paging)
        target = str((await workers_api.get_version(client, script, options.rollback_to.lower())).get("id"))
    elif options.rollback_to:
        target = pick_version(options.rollback_to, await workers_api.list_versions(client, script))
    elif live.message.startswith(ROLLBACK_MESSAGE):
        target = live.version_id  # a rollback again would undo the last one
        hooks.warn(f"{script} was rolled back already ({live.message}); to go further back, name a version (--to)")
    else:
        found = _previous(await workers_api.list_deployments(client, script), live.version_id)
        if found is None:
            raise ConfigError(
                f"{script} has no earlier version that was live at 100%", hint="Name one with --to (see inspect)."
            )
        target = found
    label = await version_label(client, script, target)
    if target == live.version_id:
        return RollbackResult(
            command="rollback",
            status="unchanged",
            script_name=script,
            url=url,
            text=f"{label} of {script} is live already; nothing changed.",
            version_id=target,
        )
    target_version = await workers_api.get_version(client, script, target)
    live_number = (await workers_api.get_version(client, script, live.version_id)).get("number")
    with hooks.group(f"Roll back {script} to {label}"):
        message = f"{ROLLBACK_MESSAGE} to {short(target)}: asked for"
        await workers_api.create_deployment(client, script, target, message=message, force=options.force)
        tags = _tags_after(remote_settings, target_version, live_number, options.force)
        try:
            await workers_api.set_script_tags(client, script, tags)
        except CloudflareError as exc:
            exc.message = f"{script} was rolled back to {label}, but its state tags were not updated: {exc.message}"
            exc.hint = "The next deploy may read 'nothing changed' against the old code: deploy with --force."
            raise
    checks: tuple[CheckResult, ...] = ()
    if options.verify:
        bindings = (target_version.get("resources") or {}).get("bindings") or ()
        names = {str(b.get("name")) for b in bindings if isinstance(b, dict)}
        password = settings.app_password.get_secret_value() if settings.app_password else None
        with hooks.group(f"Verify {url}"):
            try:
                checks = tuple(await Verification("APP_PASSWORD" in names, settings.checks, password).run(url))
            except VerifyError as exc:
                exc.message = exc.message.replace(" was deployed, but", f" was rolled back to {label}, but")
                exc.hint = "The rollback itself went through: choose another version (--to) or fix and deploy."
                raise
    return RollbackResult(
        command="rollback",
        status="rolled-back",
        script_name=script,
        url=url,
        text="\n".join(
            filter(None, [f"{script} rolled back from {short(live.version_id)} to {label}.", describe_results(checks)])
        ),
        version_id=target,
        replaced=live.version_id,
        checks=checks,
    )
