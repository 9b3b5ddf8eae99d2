"""`rotate`: give secrets of the deployed Worker new values without a redeploy, then check the live app.

1. Read the Worker's settings (bindings, tags) and the account's subdomain; plan (`deployer.rotation`):
   anything wrong is refused here, before any change.
2. Sign in with the app's password, when one is given and the app has the seed's gate, to hold a session from
   *before* the rotation.
3. Write: one `PATCH …/settings` with every binding inherited and the rotated ones new (no code is uploaded).
   When Cloudflare refuses it because the newest version is not the deployed one (10214 / 10215: a version
   uploaded without deploying it, a rollback), a new version is built from the *deployed* one instead: its
   modules (`GET …/content/v2`), its bindings inherited from it by `version_id`, `keep_assets`, then deployed
   at 100%. GUESS: `keep_assets` keeps the assets of the newest version (Cloudflare documents "a previously
   uploaded Worker version"); the deployed version's assets are the same unless that newer version changed them.
4. Record the rotation in the secret ledger tag (`deployer.secret_ledger`), so a push does not undo it.
5. Check the live app: after a graceful rotation the old session still works and a new sign-in works; after a
   revoke the old session is sent to the login page; after an `APP_PASSWORD` rotation the new password signs
   in and a wrong one does not. A failed check fails the run (the secrets are rotated: the message says so).

New values are masked (`Hooks.mask`) before any request; no value, cookie or password is in the result.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from deployer.cloudflare import CloudflareClient
from deployer.cloudflare import workers as workers_api
from deployer.cloudflare.client import none_if_missing
from deployer.commands._base import CommandResult, Options
from deployer.commands._session_checks import SessionProbe, rotation_checks
from deployer.commands._verify import CheckResult, describe_results, verify_url
from deployer.errors import CloudflareError, ConfigError, VerifyError, VersionNotDeployedError
from deployer.plan import MAX_SCRIPT_TAGS
from deployer.rotation import Rotation, plan_rotation
from deployer.secret_ledger import key_id_of
from deployer.settings import Settings
from deployer.state import LEDGER_TAG_PREFIX, RemoteState

__all__ = ["RotateResult", "run"]

_PATIENCE = 30.0  # seconds for a rotation to show on the live app


@dataclass(frozen=True, kw_only=True)
class RotateResult(CommandResult):
    """Which secrets were rotated (names only), how, and what the live app showed afterwards."""

    rotated: tuple[str, ...]
    mode: str  # "graceful", "revoke" or "" (no SESSION_SECRET)
    via: str  # "settings" (in place) or "version" (a new version from the deployed one)
    version_id: str = ""
    checks: tuple[CheckResult, ...] = ()

    def changed_words(self) -> str:
        how = f" ({self.mode})" if self.mode else ""
        return f"rotated {', '.join(self.rotated)}{how}"

    def report_rows(self) -> tuple[tuple[str, str], ...]:
        marks = {True: "✅", False: "❌"}
        return tuple((c.name, c.seen if c.seen == "not checked" else marks[c.ok]) for c in self.checks)

    def outputs(self) -> dict[str, str]:
        return {**super().outputs(), "rotated": ",".join(self.rotated), "rotated-via": self.via}


async def run(settings: Settings, client: CloudflareClient | None, options: Options) -> RotateResult:
    """Rotate `options.rotate` (default SESSION_SECRET); see the module docstring."""
    assert client is not None, "rotate needs a client (the registry makes one)"
    hooks, script = options.hooks, settings.script_name
    assert settings.api_token is not None
    token = settings.api_token.get_secret_value()
    with hooks.group("Read the deployed Worker"):
        remote_settings, subdomain, deployment = await asyncio.gather(
            workers_api.script_settings(client, script),
            workers_api.account_subdomain(client),
            none_if_missing(workers_api.latest_deployment(client, script)),
        )
    given = {name: value.get_secret_value() for name, value in settings.secret_values().items()}
    for value in (*given.values(), options.current_password or ""):
        if value:
            hooks.mask(value)
    deployed = _bindings(remote_settings)
    rotation = plan_rotation(
        script, options.rotate, mode=options.rotate_mode, deployed=deployed, given=given, declared_vars=[*settings.vars]
    )
    _refuse_a_gradual_deployment(script, deployment)
    new_tags = _ledger_tags(script, remote_settings or {}, rotation, key=token)
    values = {name: given[name] for name in rotation.names if name not in rotation.generated}
    for name in rotation.generated:
        values[name] = secrets.token_urlsafe(48)
        hooks.mask(values[name])
    url = workers_api.workers_dev_url(settings.api_base_url, script, subdomain)
    gated = "APP_PASSWORD" in {binding["name"] for binding in deployed or ()}
    current = options.current_password or (given.get("APP_PASSWORD") if "APP_PASSWORD" not in rotation.names else None)
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0), trust_env=False) as http:
        probe = SessionProbe(url, http)
        before = await _session_before(probe, url, current) if gated and current else None
        with hooks.group(f"Rotate {', '.join(rotation.names)}"):
            via, version_id = await _write(client, rotation, values, warn=hooks.warn)
            await _record(client, script, rotation, new_tags)
        with hooks.group("Check the live app"):
            checks = await rotation_checks(probe, rotation, values, before=before, current=current, gated=gated)
    result = RotateResult(
        command="rotate",
        status="rotated",
        script_name=script,
        url=url,
        text="\n".join([*rotation.describe(), *filter(None, [describe_results(checks)])]),
        rotated=rotation.names,
        mode=rotation.mode or "",
        via=via,
        version_id=version_id,
        checks=tuple(checks),
    )
    failed = [check for check in checks if not check.ok]
    if failed:
        raise VerifyError(
            f"{', '.join(rotation.names)} rotated on {script}, but {len(failed)} of {len(checks)} checks of the "
            "live app failed:\n" + describe_results(checks),
            hint="The new values are in force. If the app's Worker does not read SESSION_SECRET_PREVIOUS, sessions "
            "end at each rotation: use the example app's session code, or mode: revoke.",
        )
    return result


def _refuse_a_gradual_deployment(script: str, deployment: Mapping[str, Any] | None) -> None:
    """A rotation deploys one version to all traffic: it would end a gradual rollout, so it waits for its end."""
    shares = [entry for entry in (deployment or {}).get("versions") or () if isinstance(entry, dict)]
    if len(shares) > 1:
        split = " / ".join(f"{entry.get('percentage')}%" for entry in shares)
        raise ConfigError(
            f"{script} is in a gradual deployment ({len(shares)} versions share its traffic: {split}); a rotation "
            "deploys one version to all of it and would end the rollout",
            hint="Finish the rollout first (wrangler versions deploy VERSION@100%), then rotate.",
        )


def _bindings(remote_settings: Mapping[str, Any] | None) -> list[dict[str, Any]] | None:
    if remote_settings is None:
        return None
    found = remote_settings.get("bindings") or []
    return [binding for binding in found if isinstance(binding, dict) and isinstance(binding.get("name"), str)]


async def _session_before(probe: SessionProbe, url: str, password: str) -> str:
    """A session from before the rotation; `ConfigError` (before any change) when the password is refused."""
    await verify_url(url, patience=_PATIENCE, http=probe.http)
    cookie, seen = await probe.sign_in(password)
    if cookie is None:
        raise ConfigError(
            f"The live app at {url} refused the password this run was given ({seen}), so the rotation could not "
            "be checked; nothing was changed",
            hint="Give the password the app has now: app-password (after an APP_PASSWORD rotation, copy the new "
            "value into that repository secret), or current-app-password when rotating APP_PASSWORD itself.",
        )
    return cookie


async def _write(
    client: CloudflareClient, rotation: Rotation, values: Mapping[str, str], *, warn: Callable[[str], None]
) -> tuple[str, str]:
    """Write the rotation in place, or as a new version of the deployed one when Cloudflare refuses that."""
    try:
        await workers_api.patch_bindings(client, rotation.script, rotation.bindings(values))
        return "settings", ""
    except VersionNotDeployedError:
        warn(
            f"The newest version of {rotation.script} is not the deployed one, so Cloudflare refused to change "
            "its secrets in place; a new version is made from the deployed version's code and bindings instead"
        )
    script = rotation.script
    deployment = await workers_api.latest_deployment(client, script)
    shares = [entry for entry in (deployment or {}).get("versions") or () if isinstance(entry, dict)]
    _refuse_a_gradual_deployment(script, deployment)
    if not shares:
        raise CloudflareError(
            f"Cloudflare shows no deployment of {script} to build the rotated version from",
            hint="Deploy the app (command: deploy), then rotate.",
        )
    deployed_id = str(shares[0].get("version_id"))
    version = await workers_api.get_version(client, script, deployed_id)
    resources = version.get("resources") or {}
    rotation = plan_rotation(
        script,
        rotation.names,
        mode=rotation.mode,
        deployed=_bindings(resources) or [],
        given={name: "" if name in rotation.generated else value for name, value in values.items()},
    )
    modules = await workers_api.version_modules(client, script, deployed_id)
    runtime = resources.get("script_runtime") or {}
    message = f"rotate {', '.join(rotation.names)}" + (f" ({rotation.mode})" if rotation.mode else "")
    metadata: dict[str, Any] = {
        "main_module": modules.main_module,
        "compatibility_date": runtime.get("compatibility_date"),
        "compatibility_flags": runtime.get("compatibility_flags") or [],
        "bindings": rotation.bindings(values, version_id=deployed_id),
        # Every binding is listed (inherited or new): nothing is kept implicitly, so a revoked
        # SESSION_SECRET_PREVIOUS does not come back (Cloudflare keeps secrets an upload leaves out unless
        # keep_bindings says otherwise, as wrangler's `versions secret delete` relies on).
        "keep_bindings": [],
        "keep_assets": True,
        "annotations": {"workers/message": message},
    }
    # What else the version carries, as wrangler's `versions secret put` copies it (copyWorkerVersionWithNewSecrets).
    if isinstance(runtime.get("limits"), dict) and runtime["limits"]:
        metadata["limits"] = runtime["limits"]
    if (resources.get("script") or {}).get("placement_mode") == "smart":
        metadata["placement"] = {"mode": "smart"}
    uploaded = await workers_api.upload_version(client, script, metadata=metadata, modules=list(modules.parts))
    new_id = str(uploaded.get("id") or "")
    await workers_api.create_deployment(client, script, new_id, message=message)
    return "version", new_id


def _ledger_tags(script: str, remote_settings: Mapping[str, Any], rotation: Rotation, *, key: str) -> list[str]:
    """The Worker's tags with the secret ledger recording this rotation (checked before any change)."""
    tags = [str(tag) for tag in remote_settings.get("tags") or ()]
    previous = RemoteState.from_settings(remote_settings).ledger
    ledger = rotation.ledger(previous, key_id=key_id_of(key), now=dt.datetime.now(dt.UTC))
    new_tags = [tag for tag in tags if not tag.startswith(LEDGER_TAG_PREFIX)] + [LEDGER_TAG_PREFIX + ledger.tag_value()]
    if len(new_tags) > MAX_SCRIPT_TAGS:
        raise ConfigError(
            f"{script} has {len(tags)} tags, and recording the rotation needs one more (Cloudflare allows "
            f"{MAX_SCRIPT_TAGS}): unrecorded, the next push deploy would send its secret inputs over the rotated "
            "values; nothing was changed",
            hint="Remove a tag of your own from the Worker (dashboard: Settings → Tags), then rotate.",
        )
    return new_tags


async def _record(client: CloudflareClient, script: str, rotation: Rotation, tags: list[str]) -> None:
    """Write the ledger; a failure says the secrets are rotated already, and what a push would then do."""
    try:
        await workers_api.set_script_tags(client, script, tags)
    except CloudflareError as exc:
        exc.message = f"{', '.join(rotation.names)} rotated on {script}, but not recorded: {exc.message}"
        exc.hint = (
            "The new values are in force. Until a rotation is recorded, a push deploy sends the secret inputs it "
            "is given over them: run rotate again (for SESSION_SECRET with mode: graceful, sessions from before "
            "this run then end)."
        )
        raise
