"""Planning a secret rotation: what `rotate` writes, decided from the request and the deployed bindings, no I/O.

| secret            | mode                 | what is written                                                      |
|-------------------|----------------------|----------------------------------------------------------------------|
| `SESSION_SECRET`  | graceful (default)   | a generated key; the old one becomes `SESSION_SECRET_PREVIOUS`, so    |
|                   |                      | sessions signed with it stay valid until the next rotation           |
| `SESSION_SECRET`  | revoke               | a generated key, and no `SESSION_SECRET_PREVIOUS`: every session ends |
| any other secret  | (none)               | the value given for it (an empty one is refused)                     |

The write is one list of bindings (`bindings()`): every binding the Worker has is kept as
`{"type": "inherit", "name": …}` (inherited from `version_id` when given: the deployed version, for the
fallback that uploads a new version), the rotated ones are sent with their new values, and the old session
key moves with `{"type": "inherit", "name": "SESSION_SECRET_PREVIOUS", "old_name": "SESSION_SECRET"}` (the
official SDK's `WorkersBindingKindInherit`: `old_name` renames, `version_id` picks the version).

Refused before any change (`ConfigError`): a name bound as something other than a secret (Cloudflare's
10053), a secret the Worker does not have, an empty value, a value given for the generated key, a `mode`
without SESSION_SECRET to apply to, and `SESSION_SECRET_PREVIOUS` itself (it is managed here).

The ledger (`deployer.secret_ledger`) records each written secret as changed by `rotate`, keeping the HMAC of
the input a deploy last sent, so the next push does not send that input over the new value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from deployer.errors import ConfigError
from deployer.secret_ledger import NO_INPUT, SecretLedger, SecretRecord, name_key

__all__ = ["MODES", "PREVIOUS_SESSION_SECRET", "SESSION_SECRET", "Mode", "Rotation", "parse_mode", "plan_rotation"]

Mode = Literal["graceful", "revoke"]
MODES: tuple[Mode, ...] = ("graceful", "revoke")
SESSION_SECRET = "SESSION_SECRET"
PREVIOUS_SESSION_SECRET = "SESSION_SECRET_PREVIOUS"
_SECRET_TYPES = frozenset({"secret_text", "secret_key"})


@dataclass(frozen=True, slots=True)
class Rotation:
    """One rotation: the secrets written (their values are the caller's), and what happens to the old key."""

    script: str
    names: tuple[str, ...]  # the secrets that get new values, in the order asked
    generated: tuple[str, ...]  # of those, the ones whose value is generated (SESSION_SECRET)
    mode: Mode | None  # SESSION_SECRET's mode (None: not rotated)
    kept: tuple[str, ...] = ()  # every other binding of the Worker, inherited as it is
    had_previous: bool = False  # the Worker has a SESSION_SECRET_PREVIOUS now

    @property
    def keeps_previous_key(self) -> bool:
        """Sessions signed with the key in force before this rotation stay valid."""
        return self.mode == "graceful"

    def bindings(self, values: Mapping[str, str], *, version_id: str | None = None) -> list[dict[str, Any]]:
        """The Worker's bindings after the rotation, as the settings PATCH or a version upload sends them."""
        source = {"version_id": version_id} if version_id else {}
        bindings: list[dict[str, Any]] = [{"type": "inherit", "name": name, **source} for name in self.kept]
        if self.keeps_previous_key:
            bindings.append({"type": "inherit", "name": PREVIOUS_SESSION_SECRET, "old_name": SESSION_SECRET, **source})
        bindings += [{"type": "secret_text", "name": name, "text": values[name]} for name in self.names]
        return bindings

    def ledger(self, previous: SecretLedger | None, *, key_id: str, now: dt.datetime) -> SecretLedger:
        """The secret ledger after the rotation: each written secret changed by `rotate`, keeping the HMAC of
        the input a deploy last sent (under the same token), so a push with that input sends nothing."""
        comparable = previous is not None and previous.key_id == key_id
        changes: dict[str, SecretRecord | None] = {}
        for name in self.names:
            record = previous.record(name) if previous is not None else None
            value = record.value if record is not None and comparable else NO_INPUT
            changes[name] = SecretRecord(name_key(name), value, now, "rotate")
        if self.mode == "graceful":
            changes[PREVIOUS_SESSION_SECRET] = SecretRecord(name_key(PREVIOUS_SESSION_SECRET), NO_INPUT, now, "rotate")
        elif self.mode == "revoke":
            changes[PREVIOUS_SESSION_SECRET] = None
        return (previous or SecretLedger(key_id)).updated(changes, key_id=key_id)

    def describe(self) -> list[str]:
        lines = [f"{self.script}: rotate {', '.join(self.names)}"]
        for name in self.names:
            if name == SESSION_SECRET and self.mode == "graceful":
                lines.append(f"  {name}: a new key; the old one stays valid as {PREVIOUS_SESSION_SECRET}")
            elif name == SESSION_SECRET:
                what = " (and the previous one)" if self.had_previous else ""
                lines.append(f"  {name}: a new key; the old one{what} is revoked: every session ends")
            else:
                lines.append(f"  {name}: the value given for it")
        return lines


def parse_mode(text: str, *, source: str) -> Mode | None:
    """A mode as a user writes it (any case; empty: None, the default); `ConfigError` naming `source` else."""
    mode = text.strip().lower()
    if not mode:
        return None
    for known in MODES:
        if mode == known:
            return known
    raise ConfigError(
        f"{source} must be one of {', '.join(MODES)}, not {text.strip()!r}",
        hint="graceful: sessions signed with the old key stay valid until the next rotation; revoke: every session "
        "ends (after a leak).",
    )


def plan_rotation(
    script: str,
    names: Sequence[str],
    *,
    mode: Mode | None,
    deployed: Sequence[Mapping[str, Any]] | None,
    given: Mapping[str, str],
    declared_vars: Sequence[str] = (),
) -> Rotation:
    """Decide the rotation of `names` (default: `SESSION_SECRET`) on the Worker whose bindings are `deployed`
    (None: no such Worker), with the new values `given` for the secrets that are not generated."""
    names = tuple(dict.fromkeys(names or (SESSION_SECRET,)))
    if deployed is None:
        raise ConfigError(
            f"There is no Worker named {script} to rotate secrets of",
            hint="Deploy the app first (command: deploy); rotate changes the secrets of a deployed Worker.",
        )
    types = {str(binding.get("name")): str(binding.get("type")) for binding in deployed}
    for name in names:
        _check_name(script, name, types, declared_vars)
    if mode is not None and SESSION_SECRET not in names:
        raise ConfigError(
            f"mode: {mode} applies to SESSION_SECRET only, not to {', '.join(names)}",
            hint="Leave the mode out (their new values come from their inputs), or add SESSION_SECRET to the "
            "secrets to rotate (after a leak: SESSION_SECRET with mode: revoke, and APP_PASSWORD, in one run).",
        )
    for name in names:
        _check_value(name, given.get(name))
    rotate_session = SESSION_SECRET in names
    chosen: Mode | None = (mode or "graceful") if rotate_session else None
    written = {*names, PREVIOUS_SESSION_SECRET} if rotate_session else set(names)
    return Rotation(
        script=script,
        names=names,
        generated=(SESSION_SECRET,) if rotate_session else (),
        mode=chosen,
        kept=tuple(name for name in types if name not in written),
        had_previous=PREVIOUS_SESSION_SECRET in types,
    )


def _check_name(script: str, name: str, types: Mapping[str, str], declared_vars: Sequence[str]) -> None:
    if name == PREVIOUS_SESSION_SECRET:
        raise ConfigError(
            f"{PREVIOUS_SESSION_SECRET} is not rotated on its own: it holds the session key before the last rotation",
            hint="Rotate SESSION_SECRET (mode: graceful keeps the old key there, mode: revoke removes it).",
        )
    kind = types.get(name)
    if name in declared_vars or (kind is not None and kind not in _SECRET_TYPES):
        described = f"a {kind} binding" if kind else "a var in app.yml"
        raise ConfigError(
            f"{name} is {described} of the Worker {script}, not a secret: Cloudflare refuses a secret with the name "
            "of another binding (code 10053)",
            hint=f"Rename the var or the secret so that each name is one binding, deploy, then rotate {name}.",
        )
    if kind is None:
        raise ConfigError(
            f"The Worker {script} has no secret named {name}; rotate only changes secrets it already has",
            hint=f"Declare {name} (app.yml secrets) and deploy it with its first value; rotate it afterwards.",
        )


def _check_value(name: str, value: str | None) -> None:
    if name == SESSION_SECRET:
        if value:
            raise ConfigError(
                "A value was given for SESSION_SECRET, but rotate generates the new session key itself",
                hint="Leave out the session-secret input (and the SESSION_SECRET variable) in the rotate run.",
            )
        return
    if not value:
        source = "input app-password (env APP_PASSWORD)" if name == "APP_PASSWORD" else f"env {name}"
        raise ConfigError(
            f"No new value for {name}: rotating it needs one (from {source}), and an empty value is refused",
            hint=f"Pass the new {name} from a repository or environment secret; it is masked and never printed.",
        )
