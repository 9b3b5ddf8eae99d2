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
  tags no longer describe the live code, so the digests are removed and the next deploy uploads everything;
  the secret ledger stays, unless `--force` brought old secret values back (it is removed then, and the next
  deploy sends the secrets it is given).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from deployer.cloudflare import CloudflareClient
from deployer.cloudflare import workers as workers_api
from deployer.commands._base import CommandResult, Options
from deployer.commands._rollback import ROLLBACK_MESSAGE, live_version, short, version_label
from deployer.commands._verify import CheckResult, Verification, describe_results
from deployer.errors import ConfigError
from deployer.settings import Settings
from deployer.state import STATE_TAG_PREFIX

__all__ = ["RollbackResult", "pick_version", "run"]

_LEDGER_TAG = f"{STATE_TAG_PREFIX}secrets-"


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
    """The id of the version `wanted` names (an id, a prefix of 8 or more characters, or a number)."""
    ids = [str(version.get("id")) for version in versions]
    if wanted.isdigit():
        found = [str(v.get("id")) for v in versions if str(v.get("number")) == wanted]
    elif len(wanted) >= 8:
        found = [version_id for version_id in ids if version_id.startswith(wanted.lower())]
    else:
        found = []
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
    if options.rollback_to:
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
    with hooks.group(f"Roll back {script} to {label}"):
        message = f"{ROLLBACK_MESSAGE} to {short(target)}: asked for"
        await workers_api.create_deployment(client, script, target, message=message, force=options.force)
        tags = [str(tag) for tag in remote_settings.get("tags") or ()]
        kept = [tag for tag in tags if not tag.startswith(STATE_TAG_PREFIX) or tag.startswith(_LEDGER_TAG)]
        if options.force:
            kept = [tag for tag in kept if not tag.startswith(_LEDGER_TAG)]
        await workers_api.set_script_tags(client, script, kept)
    checks: tuple[CheckResult, ...] = ()
    if options.verify:
        names = {str(b.get("name")) for b in remote_settings.get("bindings") or () if isinstance(b, dict)}
        password = settings.app_password.get_secret_value() if settings.app_password else None
        with hooks.group(f"Verify {url}"):
            checks = tuple(await Verification("APP_PASSWORD" in names, settings.checks, password).run(url))
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
