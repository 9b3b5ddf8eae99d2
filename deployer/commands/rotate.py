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

import datetime as dt
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from deployer._concurrency import both
from deployer.cloudflare import CloudflareClient
from deployer.cloudflare import workers as workers_api
from deployer.commands._base import CommandResult, Options
from deployer.commands._session_checks import SessionProbe, expect
from deployer.commands._verify import CheckResult, verify_url
from deployer.errors import ConfigError, VerifyError, VersionNotDeployedError
from deployer.plan import MAX_SCRIPT_TAGS
from deployer.rotation import SESSION_SECRET, Rotation, plan_rotation
from deployer.secret_ledger import key_id_of
from deployer.settings import Settings
from deployer.state import STATE_TAG_PREFIX, RemoteState

__all__ = ["RotateResult", "run"]

_LEDGER_TAG = f"{STATE_TAG_PREFIX}secrets-"
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
        remote_settings, subdomain = await both(
            workers_api.script_settings(client, script), workers_api.account_subdomain(client)
        )
    given = {name: value.get_secret_value() for name, value in settings.secret_values().items()}
    for value in given.values():
        hooks.mask(value)
    deployed = _bindings(remote_settings)
    rotation = plan_rotation(
        script,
        options.rotate,
        mode=options.rotate_mode,
        deployed=deployed,
        given=given,
        declared_vars=tuple(settings.vars),
    )
    values = {name: given[name] for name in rotation.names if name not in rotation.generated}
    for name in rotation.generated:
        values[name] = secrets.token_urlsafe(48)
        hooks.mask(values[name])
    url = workers_api.workers_dev_url(settings.api_base_url, script, subdomain)
    gated = "APP_PASSWORD" in {binding["name"] for binding in deployed or ()}
    password = given.get("APP_PASSWORD") if "APP_PASSWORD" not in rotation.names else None
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0), trust_env=False) as http:
        probe = SessionProbe(url, http)
        before = await _session_before(probe, url, password) if gated and rotation.mode else None
        with hooks.group(f"Rotate {', '.join(rotation.names)}"):
            via, version_id = await _write(client, rotation, values, warn=hooks.warn)
            await _record(client, script, remote_settings or {}, rotation, key=token, warn=hooks.warn)
        with hooks.group("Check the live app"):
            checks = await _checks(probe, rotation, values, before, password if gated else None)
    result = RotateResult(
        command="rotate",
        status="rotated",
        script_name=script,
        url=url,
        text="\n".join([*rotation.describe(), *(_line(check) for check in checks)]),
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
            "live app failed:\n" + "\n".join(_line(check) for check in checks),
            hint="The new values are in force. If the app's Worker does not read SESSION_SECRET_PREVIOUS, sessions "
            "end at each rotation: use the example app's session code, or mode: revoke.",
        )
    return result


def _bindings(remote_settings: Mapping[str, Any] | None) -> list[dict[str, Any]] | None:
    if remote_settings is None:
        return None
    found = remote_settings.get("bindings") or []
    return [binding for binding in found if isinstance(binding, dict) and isinstance(binding.get("name"), str)]


def _line(check: CheckResult) -> str:
    return f"  {'ok ' if check.ok else 'FAIL'} {check.name}: {check.seen}"


async def _session_before(probe: SessionProbe, url: str, password: str | None) -> str | None:
    """A session cookie from before the rotation (None: no password given, or it was not accepted)."""
    if not password:
        return None
    await verify_url(url, patience=_PATIENCE, http=probe.http)
    cookie, _ = await probe.sign_in(password)
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
    if len(shares) != 1:
        raise ConfigError(
            f"{script} is in a gradual deployment ({len(shares)} versions share its traffic); a rotation would end it",
            hint="Finish the rollout first (wrangler versions deploy VERSION@100%), then rotate.",
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
    metadata = {
        "main_module": modules.main_module,
        "compatibility_date": runtime.get("compatibility_date"),
        "compatibility_flags": runtime.get("compatibility_flags") or [],
        "bindings": rotation.bindings(values, version_id=deployed_id),
        "keep_assets": True,
        "annotations": {"workers/message": message},
    }
    uploaded = await workers_api.upload_version(client, script, metadata=metadata, modules=list(modules.parts))
    new_id = str(uploaded.get("id") or "")
    await workers_api.create_deployment(client, script, new_id, message=message)
    return "version", new_id


async def _record(
    client: CloudflareClient,
    script: str,
    remote_settings: Mapping[str, Any],
    rotation: Rotation,
    *,
    key: str,
    warn: Callable[[str], None],
) -> None:
    """Write the secret ledger with this rotation in it; every other tag stays as it is."""
    tags = [str(tag) for tag in remote_settings.get("tags") or ()]
    previous = RemoteState.from_settings(remote_settings).ledger
    ledger = rotation.ledger(previous, key_id=key_id_of(key), now=dt.datetime.now(dt.UTC))
    new_tags = [tag for tag in tags if not tag.startswith(_LEDGER_TAG)] + [_LEDGER_TAG + ledger.tag_value()]
    if len(new_tags) > MAX_SCRIPT_TAGS:
        warn(
            f"{script} has {len(tags)} tags, so the rotation is not recorded (Cloudflare allows {MAX_SCRIPT_TAGS}): "
            "the next push deploy sends the secret inputs it is given, undoing this rotation; remove a tag of your "
            "own in the dashboard"
        )
        return
    await workers_api.set_script_tags(client, script, new_tags)


async def _checks(
    probe: SessionProbe,
    rotation: Rotation,
    values: Mapping[str, str],
    before: str | None,
    password: str | None,
) -> list[CheckResult]:
    """The checks of the live app that this rotation calls for (see the module docstring)."""
    checks: list[CheckResult] = []
    if rotation.mode and before is not None:
        old_cookie = before

        async def old_session_works() -> tuple[bool, str]:
            status, seen = await probe.api_status(old_cookie)
            return status == 200, seen

        async def old_session_refused() -> tuple[bool, str]:
            return await probe.home(old_cookie)

        if rotation.keeps_previous_key:
            name, probe_old = "a session from before the rotation still works", old_session_works
        else:
            name, probe_old = "a session from before the rotation is sent to the login page", old_session_refused
        checks.append(await expect(name, probe_old, patience=_PATIENCE))
    new_password = values.get("APP_PASSWORD") or password
    if new_password:

        async def signs_in() -> tuple[bool, str]:
            cookie, seen = await probe.sign_in(new_password)
            if cookie is None:
                return False, seen
            status, seen = await probe.api_status(cookie)
            return status == 200, seen

        what = "the new password signs in" if "APP_PASSWORD" in rotation.names else "a new sign-in works"
        checks.append(await expect(what, signs_in, patience=_PATIENCE))
    if "APP_PASSWORD" in rotation.names:

        async def wrong_refused() -> tuple[bool, str]:
            cookie, seen = await probe.sign_in(secrets.token_urlsafe(16))
            return cookie is None, seen

        checks.append(await expect("a wrong password is refused", wrong_refused, patience=_PATIENCE))
    if rotation.mode and SESSION_SECRET in rotation.names and before is None:
        checks.append(CheckResult("sessions: not checked (no app-password given to sign in)", True, "not checked"))
    return checks
