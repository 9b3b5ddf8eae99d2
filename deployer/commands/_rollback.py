"""Going back to an earlier version of the Worker: after a deploy whose checks failed, and for `rollback`.

A rollback is a deployment of an existing version at 100% (`POST …/deployments`), with a `workers/message`
that starts with `ROLLBACK_MESSAGE`: Cloudflare then serves that version's code, assets, bindings and secrets
again. D1 is never rolled back: its rows stay as they are (a deploy that migrated says how to restore them
from the Time Travel bookmark it took first).

The state tags are script settings, not versioned: after going back they are rewritten to describe the live
version, so the next deploy plans against what is live. After a failed deploy the tags from before it are known
and restored, except the schema tag, which keeps describing the database as it is now.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from deployer.cloudflare import CloudflareClient
from deployer.cloudflare import workers as workers_api
from deployer.cloudflare.client import none_if_missing
from deployer.commands._database import Applied
from deployer.commands._verify import CheckResult, Verification, describe_results
from deployer.errors import CloudflareError, RolledBackError, VerifyError
from deployer.state import STATE_TAG_PREFIX

if TYPE_CHECKING:
    from deployer.commands.plan import Prepared

__all__ = [
    "ROLLBACK_MESSAGE",
    "LiveVersion",
    "RollbackPlan",
    "checked_or_rolled_back",
    "live_version",
    "restored_tags",
    "short",
    "version_label",
]

ROLLBACK_MESSAGE = "cf-stateful-deployer rollback"
_SCHEMA_TAG = f"{STATE_TAG_PREFIX}schema-"


def short(version_id: str) -> str:
    """The first 8 characters of a version id, as Cloudflare's preview URLs use them."""
    return version_id[:8]


@dataclass(frozen=True, slots=True)
class LiveVersion:
    """The version serving all of a Worker's traffic, and the deployment that made it live."""

    version_id: str
    message: str  # the deployment's `workers/message` ("" when none)


async def live_version(client: CloudflareClient, script: str) -> LiveVersion | None:
    """The version at 100% of the newest deployment (None: no Worker, no deployment, or a split one)."""
    deployment = await none_if_missing(workers_api.latest_deployment(client, script))
    shares = [entry for entry in (deployment or {}).get("versions") or () if isinstance(entry, dict)]
    if len(shares) != 1 or not shares[0].get("version_id"):
        return None
    annotations = (deployment or {}).get("annotations") or {}
    return LiveVersion(str(shares[0]["version_id"]), str(annotations.get("workers/message") or ""))


def restored_tags(before: Sequence[str], planned: Sequence[str]) -> list[str]:
    """The tags from `before` the deploy, with the schema tag of this deploy (D1 keeps what it applied)."""
    schema = [tag for tag in planned if tag.startswith(_SCHEMA_TAG)]
    kept = [tag for tag in before if not tag.startswith(_SCHEMA_TAG)]
    return kept + (schema or [tag for tag in before if tag.startswith(_SCHEMA_TAG)])


async def version_label(client: CloudflareClient, script: str, version_id: str) -> str:
    """`version N (abcd1234)`, or the short id alone when the number cannot be read."""
    version: Mapping[str, Any] | None = await none_if_missing(workers_api.get_version(client, script, version_id))
    number = (version or {}).get("number")
    return f"version {number} ({short(version_id)})" if number else f"version {short(version_id)}"


@dataclass(frozen=True, slots=True)
class RollbackPlan:
    """What a deploy knows to roll back with: the version live before it (None: none was at 100%, or it could
    not be read) and what the new version changed that the user must hear about."""

    wanted: bool  # rollback-on-failure is on and a new version was uploaded over an existing Worker
    previous: LiveVersion | None = None
    secrets_sent: tuple[str, ...] = ()


async def checked_or_rolled_back(
    client: CloudflareClient,
    prepared: Prepared,
    verification: Verification,
    rollback: RollbackPlan,
    *,
    applied: Applied,
) -> tuple[CheckResult, ...]:
    """Check the app just deployed; when it fails (a check, a 5xx, no answer) and the version before is known,
    roll back (see the module docstring) and raise `RolledBackError`."""
    try:
        return tuple(await verification.run(prepared.url))
    except VerifyError as failure:
        if rollback.previous is None:
            if rollback.wanted:
                failure.hint = "\n".join(
                    filter(
                        None,
                        [
                            failure.hint,
                            "Not rolled back: no single version was live at 100% before this deploy (a gradual "
                            "deployment); go back with python -m deployer rollback --to VERSION.",
                        ],
                    )
                )
            raise
        raise await _roll_back(client, prepared, verification, rollback, failure, _data_note(applied)) from None


def _data_note(applied: Applied) -> str:
    """What a rollback does not undo: the migrations this deploy applied, and how to restore the rows."""
    if not applied.migrations or not applied.restore:
        return ""
    return (
        f"D1 was not rolled back: this deploy applied {', '.join(applied.migrations)} after taking the bookmark "
        f"{applied.bookmark}. {applied.restore}"
    )


async def _roll_back(
    client: CloudflareClient,
    prepared: Prepared,
    verification: Verification,
    rollback: RollbackPlan,
    failure: VerifyError,
    data_note: str,
) -> VerifyError:
    """Restore the state tags, deploy the version before again, check it, and return the error that fails the
    run: it says what failed, that it was rolled back (or that going back failed), to which version, about the
    secrets that went back with it, and about D1."""
    assert rollback.previous is not None
    script, previous = prepared.plan.script, rollback.previous
    failed = [r for r in failure.results if isinstance(r, CheckResult)]
    what = describe_results(failed) if failed else f"  {failure.message}"
    try:
        # The tags first: if going back then fails, they still say "not this version", so the next deploy
        # uploads again instead of reading "nothing changed".
        await workers_api.set_script_tags(client, script, restored_tags(prepared.remote.tags, prepared.plan.tags))
        await workers_api.create_deployment(
            client,
            script,
            previous.version_id,
            message=f"{ROLLBACK_MESSAGE} to {short(previous.version_id)}: the new version failed its checks",
            force=True,  # this deploy's own secret changes go back with it
        )
    except CloudflareError as exc:
        error = VerifyError(
            f"The new version of {script} failed its checks, and going back to version {short(previous.version_id)} "
            f"failed too ({exc.message}): the new version is still live.\n{what}",
            hint=f"Go back by hand: python -m deployer rollback --to {previous.version_id} (or fix and deploy).",
        )
        error.results = tuple(failed)
        return error
    label = await version_label(client, script, previous.version_id)
    default_checks = Verification(verification.gated, (), verification.password)  # the old one's checks may differ
    try:
        after = f"{label} passes the default checks again:\n{describe_results(await default_checks.run(prepared.url))}"
    except VerifyError as exc:
        again = [r for r in exc.results if isinstance(r, CheckResult)]
        after = f"{label} fails the default checks too:\n{describe_results(again) or exc.message}"
    secrets = (
        f"\nThe secrets this deploy sent ({', '.join(rollback.secrets_sent)}) have their values from before it again."
        if rollback.secrets_sent
        else ""
    )
    error = RolledBackError(
        f"The new version of {script} failed its checks, so it was rolled back to {label}, the version live "
        f"before this run:\n{what}\nAfter the rollback, {after}{secrets}",
        hint="\n".join(
            filter(
                None,
                [
                    "Fix the Worker and deploy again (its logs: wrangler tail); the failed version stays among the "
                    "Worker's versions (python -m deployer inspect).",
                    data_note,
                ],
            )
        ),
    )
    error.results = tuple(failed)
    error.rolled_back_to = previous.version_id
    error.rolled_back_label = label
    return error
