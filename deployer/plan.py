"""Planning: what a deploy must do, decided from the local app and the remote state, with no I/O.

| remote state                          | plan                                                             |
|---------------------------------------|------------------------------------------------------------------|
| no Worker, no state tags, or `--force` | everything: D1 find-or-create, schema, assets, Worker, workers.dev |
| every digest equal                    | nothing (no upload, no session)                                  |
| code / config / secrets differ        | Worker upload with `keep_assets: true`, no upload session         |
| assets differ                         | upload session (Cloudflare asks only for new files) + Worker      |
| SQL files differ (schema, seed, migrations) | the database is read and what it lacks applied (`deployer.database`); |
|                                       | with no other change, only the state tags updated                |
| cron triggers differ                  | the schedules read and set after the Worker (no new version for them) |

Secrets: each value given for this deploy is sent only when its input differs from the one a deploy last sent
(compared by HMAC; a value `rotate` wrote since is kept: `deployer.secret_ledger`); secrets not sent are kept
(`keep_bindings`). A declared secret the Worker lacks is generated when it may be (`SESSION_SECRET`), else the
plan fails before anything is changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, replace

from deployer.app import LocalApp
from deployer.bindings import Wanted, check_unique, drifted_kinds, unbound_references, wanted_bindings
from deployer.changes import ChangeKind, Changes
from deployer.errors import ConfigError
from deployer.secret_ledger import Decision, to_send
from deployer.settings import Settings
from deployer.state import Digests, RemoteState, SecretInputs
from deployer.steps import Step

__all__ = ["GENERATED_SECRETS", "MAX_SCRIPT_TAGS", "Plan", "make_plan", "owned_by"]

GENERATED_SECRETS = frozenset({"SESSION_SECRET"})  # secrets the deployer may invent when the Worker has none
# Bound only after a graceful rotation (`deployer.rotation`): a Worker may read it and find it unset.
OPTIONAL_SECRETS = frozenset({"SESSION_SECRET_PREVIOUS"})
MAX_SCRIPT_TAGS = 8  # "a maximum of eight tags per script" (Cloudflare's Workers for Platforms limits)


@dataclass(frozen=True, slots=True)
class Plan:
    """The steps one deploy will take; `describe()` prints it."""

    script: str
    changes: Changes
    find_database: bool
    database_id: str | None  # the database bound now (None: unknown, step 1 finds or creates it)
    apply_schema: bool  # step 2: read what the database holds and apply the SQL files it lacks
    upload_assets: bool
    keep_assets: bool  # upload the Worker with `keep_assets: true`
    upload_worker: bool
    update_tags_only: bool  # only the schema changed: record the new state without a new version
    enable_subdomain: bool
    send_secrets: tuple[str, ...]  # names whose given values are sent with the Worker
    generate_secrets: tuple[str, ...]  # names whose values are generated and sent
    tags: tuple[str, ...]  # the script tags to write: the new state plus tags that are not ours
    warnings: tuple[str, ...] = ()  # what the user should know; the deploy goes ahead
    kept_rotated: tuple[str, ...] = ()  # given secrets not sent: `rotate` changed them since (secret_ledger)
    schema_changed: bool | None = None  # schema.sql differs from the deployed one (None: not known, or --force)
    crons: tuple[str, ...] | None = None  # the cron triggers to set after step 5 (None: leave them as they are)
    upload_tags: tuple[str, ...] | None = None  # the state to record until the cron triggers are set
    find_storage: bool = False  # look up (before any write) and create (step 5) the KV namespaces and R2 buckets
    bundle: str | None = None  # how the Worker was bundled (`deployer.bundle.Bundle.describe`), None: as written

    @property
    def side_by_side(self) -> bool:
        """Steps 1-2 (the database) and 3-4 (the assets) both run, at the same time."""
        return (self.find_database or self.apply_schema) and self.upload_assets

    @property
    def write_tags(self) -> bool:
        """Step 5 writes the state tags alone: no new version, or the cron triggers were set after the upload."""
        return self.update_tags_only or (
            self.upload_tags is not None and self.upload_worker and not self.enable_subdomain
        )

    @property
    def steps(self) -> tuple[Step, ...]:
        """The steps this plan takes, in step order."""
        wanted = {
            Step.DATABASE: self.find_database,
            Step.SCHEMA: self.apply_schema,
            Step.ASSET_SESSION: self.upload_assets,
            Step.ASSET_UPLOAD: self.upload_assets,
            Step.STORAGE: self.find_storage,
            Step.WORKER: self.upload_worker,
            Step.SCHEDULES: self.crons is not None,
            Step.WORKER_TAGS: self.write_tags,
            Step.SUBDOMAIN: self.enable_subdomain,
            Step.RECORD_STATE: self.enable_subdomain,
        }
        return tuple(step for step, wanted_step in wanted.items() if wanted_step)

    def describe(self) -> list[str]:
        """The plan as lines a person reads before deploying."""
        if self.changes.nothing and self.update_tags_only:
            return [f"{self.script}: nothing to deploy; the record of its secrets on the Worker is brought up to date."]
        if self.changes.nothing:
            return [f"{self.script}: nothing changed; no request beyond the state read will be made."]
        lines = [f"{self.script}: {self.changes.reason} deploy ({self.changes})"]
        for step in self.steps:
            title = step.title
            if step is Step.WORKER and self.keep_assets:
                title += ", keeping the deployed assets"
            beside = f" (beside {step.beside})" if step.beside and self.side_by_side else ""
            lines.append(f"  {step.number}. {title}{beside}")
        if self.bundle is not None:
            lines.append(f"  {self.bundle}")
        if self.send_secrets or self.generate_secrets:
            names = [*self.send_secrets, *(f"{n} (generated)" for n in self.generate_secrets)]
            lines.append(f"  secrets sent: {', '.join(names)}")
        else:
            lines.append("  secrets: deployed values kept")
        return lines


def make_plan(
    settings: Settings,
    app: LocalApp,
    remote: RemoteState,
    *,
    local: Digests,
    secrets: SecretInputs,
    force: bool = False,
    now: dt.datetime | None = None,
) -> Plan:
    """Decide what to do; raises `ConfigError` when a declared secret has no value anywhere or a binding name
    is used twice, and warns when worker.js reads a binding the Worker will not have."""
    given_secrets = secrets.values.keys()
    generate = _secrets_to_generate(settings, given_secrets, remote)
    warnings = _check_bindings(settings, app, remote, secrets={*settings.secrets, *given_secrets, *generate})
    previous = remote.digests
    decision = to_send(
        secrets.values,
        generate,
        remote.ledger,
        current=secrets.key_id,
        lost=[name for name in given_secrets if name not in remote.secret_names],
        bound=remote.secret_names,
        now=now or dt.datetime.now(dt.UTC),
    )
    if decision.adopted:
        warnings = (*warnings, *(_kept_rotated(name, decision) for name in decision.adopted))
    if not remote.exists or force or previous is None:
        # --force re-sends what a deploy last sent (a repair), never over a value `rotate` wrote since.
        resent = {name for name in given_secrets if name not in decision.adopted and _sent_by_deploy(name, decision)}
        crons = _crons_to_set(settings, remote)
        recorded = previous.triggers if previous is not None else remote.recorded_triggers
        return Plan(
            script=settings.script_name,
            changes=Changes.first() if not remote.exists else Changes.forced(),
            find_database=True,
            find_storage=bool(settings.kv or settings.r2),
            crons=crons,
            # The state recorded at step 6 carries the triggers as they were until the schedules are set.
            upload_tags=_tags(remote, replace(local, triggers=recorded), decision) if crons is not None else None,
            database_id=None,
            apply_schema=_has_sql(app),
            upload_assets=app.manifest is not None,
            keep_assets=False,
            upload_worker=True,
            update_tags_only=False,
            enable_subdomain=True,
            send_secrets=tuple(sorted({*decision.send, *resent})),
            generate_secrets=generate,
            tags=_tags(remote, local, decision),
            warnings=warnings,
            kept_rotated=decision.adopted,
            bundle=app.bundle.describe() if app.bundle else None,
        )

    # What the settings read shows, compared with what this deploy binds: a change made by someone else.
    wanted = Wanted(
        settings=settings,
        has_assets=app.manifest is not None,
        secret_values=dict.fromkeys(given_secrets, ""),
    )
    drift = drifted_kinds(wanted_bindings(wanted), remote.bindings)
    if _compatibility_drifted(settings, remote):
        drift.add("config")
    # A given secret is re-sent when its input differs from the one last sent, or when the Worker lost it.
    secrets_changed = bool(decision.send)
    changed: set[ChangeKind] = drift  # a "secrets" drift means a lost secret, which `decision` sends
    differs: dict[ChangeKind, bool] = {
        "code": local.code != previous.code,
        "assets": local.assets != previous.assets,
        "config": local.config != previous.config,
        "schema": local.schema != previous.schema or local.migrations != previous.migrations,
        "secrets": secrets_changed or bool(generate),
        "triggers": local.triggers != previous.triggers,
    }
    changed |= {kind for kind, differ in differs.items() if differ}
    changes = Changes.of(changed)
    upload_assets = "assets" in changes and app.manifest is not None
    upload_worker = bool(changed & {"code", "assets", "config", "secrets"})
    database_id = remote.database_id(settings.d1.binding)
    set_crons = "triggers" in changes
    tags = _tags(remote, local, decision)
    return Plan(
        script=settings.script_name,
        changes=changes,
        find_database=database_id is None or "config" in changes,
        find_storage=bool(settings.kv or settings.r2) and ("config" in changes or _storage_unknown(settings, remote)),
        crons=(settings.triggers.crons or ()) if set_crons else None,
        # With new schedules to set, the upload records the triggers as they were; the tags are written again
        # once the schedules are set, so a failure in between leaves them to be set by the next deploy.
        upload_tags=_tags(remote, replace(local, triggers=previous.triggers), decision) if set_crons else None,
        database_id=database_id,
        apply_schema="schema" in changes and _has_sql(app),
        upload_assets=upload_assets,
        keep_assets=upload_worker and app.manifest is not None and not upload_assets,
        upload_worker=upload_worker,
        update_tags_only=("schema" in changes or set_crons or _ledger_changed(remote, decision)) and not upload_worker,
        enable_subdomain=False,
        send_secrets=decision.send,
        generate_secrets=generate,
        tags=tags,
        warnings=warnings,
        kept_rotated=decision.adopted,
        schema_changed=local.schema != previous.schema,
        bundle=app.bundle.describe() if app.bundle else None,
    )


def _crons_to_set(settings: Settings, remote: RemoteState) -> tuple[str, ...] | None:
    """On a first or full deploy: the crons the app declares (an empty list removes them); with none declared,
    the ones a deploy of ours recorded are removed, and any others are left alone (as wrangler does when
    `triggers` is absent). None: the schedules are not touched."""
    declared = settings.triggers.crons
    if declared is not None:
        return declared if declared or remote.exists else None
    recorded = remote.digests.triggers if remote.digests is not None else remote.recorded_triggers
    return () if recorded else None


def _storage_unknown(settings: Settings, remote: RemoteState) -> bool:
    """A KV binding found by title whose id the deployed Worker does not show (so it must be looked up)."""
    deployed = remote.bindings.get("kv") or {}
    return any(not deployed.get(binding) for binding in settings.kv_titles())


def _has_sql(app: LocalApp) -> bool:
    return app.schema is not None or app.seed is not None or bool(app.migrations)


def _check_bindings(settings: Settings, app: LocalApp, remote: RemoteState, *, secrets: set[str]) -> tuple[str, ...]:
    """Refuse a binding name used twice or a bucket name R2 refuses; warn about `env.NAME` reads that no binding
    (sent or kept) carries."""
    settings.check_storage_names()
    bound = wanted_bindings(
        Wanted(settings=settings, has_assets=app.manifest is not None, secret_values=dict.fromkeys(secrets, ""))
    )
    check_unique(bound)
    names = {name for kind in bound.values() for name in kind} | remote.secret_names | OPTIONAL_SECRETS
    missing = unbound_references(app.all_code, names)
    found = [
        f"worker.js reads env.{name}, but the Worker will have no binding named {name} (env.{name} is undefined); "
        "declare it in app.yml (vars, secrets, d1.binding) or add the files of public/ for ASSETS"
        for name in missing
    ]
    return (*app.warnings, *found)


def _compatibility_drifted(settings: Settings, remote: RemoteState) -> bool:
    """Did someone change the Worker's compatibility date or flags since our last deploy?

    The state tags are script settings that survive such changes, so what the settings read shows is compared
    with what this deploy wants (the bindings are compared by `deployer.bindings`). A code change by another
    tool is not visible in the settings; `--force` redeploys everything.
    """
    if remote.compatibility_date is not None and remote.compatibility_date != settings.compatibility_date:
        return True
    return remote.compatibility_flags is not None and remote.compatibility_flags != settings.compatibility_flags


def _secrets_to_generate(settings: Settings, given: Collection[str], remote: RemoteState) -> tuple[str, ...]:
    absent = [name for name in settings.secrets if name not in given and name not in remote.secret_names]
    missing = [name for name in absent if name not in GENERATED_SECRETS]
    if missing:
        described = ", ".join(f"{name} (env {name}, input {name.lower().replace('_', '-')})" for name in missing)
        raise ConfigError(
            f"Secret {described} has no value and the Worker {settings.script_name} does not have it yet",
            hint="Give the value on the first deploy; later deploys keep it until you send a new one.",
        )
    return tuple(name for name in absent if name in GENERATED_SECRETS)


def owned_by(remote: RemoteState, tag: str, *, script: str) -> RemoteState:
    """`remote` with `tag` among the tags every upload keeps (a preview's, `deployer.previews`); `ConfigError`
    when a Worker exists without it: it is someone else's, and nothing is done to it."""
    if tag in remote.other_tags:
        return remote
    if remote.exists:
        raise ConfigError(
            f"A Worker named {script} exists but was not deployed as this preview (it lacks the tag "
            f"{tag}); it is left alone",
            hint="Rename the app (name: in app.yml) or delete that Worker if it is a leftover of yours.",
        )
    return replace(remote, other_tags=(*remote.other_tags, tag))


def _ledger_changed(remote: RemoteState, decision: Decision) -> bool:
    """The secret ledger after this deploy is not the deployed one (an input adopted, a record dropped)."""
    before = remote.ledger.tag_value() if remote.ledger is not None and remote.ledger.records else None
    after = decision.ledger.tag_value() if decision.ledger.records else None
    return before != after


def _sent_by_deploy(name: str, decision: Decision) -> bool:
    record = decision.ledger.record(name)
    return record is None or record.by == "deploy"


def _kept_rotated(name: str, decision: Decision) -> str:
    record = decision.ledger.record(name)
    when = record.changed_at.strftime("%Y-%m-%d %H:%M UTC") if record else "earlier"
    return (
        f"{name} was changed by rotate on {when}, and this run's input for it was never compared with the input "
        "before that rotation (a new API "
        "token, or no earlier record): the deployed value is kept and the input is not sent; from now on, a "
        "change of that input is sent"
    )


def _tags(remote: RemoteState, local: Digests, decision: Decision) -> tuple[str, ...]:
    """The new state tags, with the secret ledger after this deploy.

    Cloudflare allows `MAX_SCRIPT_TAGS` tags per script; the Worker's own tags are kept, so they must leave room.
    """
    digests = Digests(
        code=local.code,
        assets=local.assets,
        assets_count=local.assets_count,
        config=local.config,
        schema=local.schema,
        secrets=decision.ledger,
        migrations=local.migrations,
        triggers=local.triggers,
    )
    ours = digests.as_tags()
    if len(remote.other_tags) + len(ours) > MAX_SCRIPT_TAGS:
        raise ConfigError(
            f"The Worker has {len(remote.other_tags)} tags of its own ({', '.join(remote.other_tags)}); Cloudflare "
            f"allows {MAX_SCRIPT_TAGS} per script and this deploy records its state in {len(ours)}",
            hint=f"Remove at least {len(remote.other_tags) + len(ours) - MAX_SCRIPT_TAGS} of them in the dashboard.",
        )
    return (*remote.other_tags, *ours)
