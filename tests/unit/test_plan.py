"""The planner: what a deploy does, decided from the local app and the deployed state alone."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from deployer.app import LocalApp, load_app
from deployer.errors import ConfigError
from deployer.plan import Plan, make_plan, owned_by
from deployer.secret_ledger import NO_INPUT, SecretRecord, name_key
from deployer.settings import Settings
from deployer.state import STATE_TAG_PREFIX, Digests, RemoteState, local_digests, secret_inputs

TOKEN = "api-token"
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)  # when the planned deploys run (in the secret ledger)


def write_shop(tmp_path: Path) -> Path:
    """The app these tests deploy: worker.js, one asset, a schema, two declared secrets."""
    root = tmp_path / "shop"
    (root / "public").mkdir(parents=True)
    (root / "worker.js").write_text("export default { fetch() { return new Response('v1') } }")
    (root / "public" / "index.html").write_text("<h1>shop</h1>")
    (root / "schema.sql").write_text("CREATE TABLE IF NOT EXISTS t (id INTEGER);")
    (root / "app.yml").write_text("secrets: [APP_PASSWORD, SESSION_SECRET]\n")
    return root


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    return write_shop(tmp_path)


def settings_for(app_dir: Path, **environ: str) -> Settings:
    return Settings.load(cli={"app_dir": app_dir}, environ={"CLOUDFLARE_API_TOKEN": TOKEN, **environ})


def plan_for(app_dir: Path, remote: RemoteState, *, force: bool = False, **environ: str) -> Plan:
    settings = settings_for(app_dir, **environ)
    app = load_app(app_dir)
    given = {k: v.get_secret_value() for k, v in settings.secret_values().items()}
    local = local_digests(settings, app)
    return make_plan(settings, app, remote, local=local, secrets=secret_inputs(given, key=TOKEN), force=force, now=NOW)


def deployed(app_dir: Path, **environ: str) -> RemoteState:
    """The remote state right after a successful deploy of `app_dir` with `environ`."""
    first = plan_for(app_dir, RemoteState(exists=False), APP_PASSWORD=environ.get("APP_PASSWORD", "pw"))
    digests = Digests.from_tags(first.tags)
    return RemoteState(
        exists=True,
        digests=digests,
        ledger=digests.secrets if digests else None,
        other_tags=tuple(t for t in first.tags if not t.startswith(STATE_TAG_PREFIX)),
        bindings={
            "d1": {"DB": "db-1"},
            "vars": {},
            "secrets": {"APP_PASSWORD": "", "SESSION_SECRET": ""},
            "assets": {"ASSETS": ""},
        },
    )


def test_a_new_worker_gets_all_six_steps(app_dir: Path) -> None:
    """No Worker yet: D1, schema, assets, Worker and workers.dev, with SESSION_SECRET generated."""
    plan = plan_for(app_dir, RemoteState(exists=False), APP_PASSWORD="pw")
    assert plan.changes.reason == "first"
    assert str(plan.changes) == "first-deploy"
    assert (plan.find_database, plan.apply_schema, plan.upload_assets, plan.upload_worker) == (True, True, True, True)
    assert plan.enable_subdomain
    assert not plan.keep_assets
    assert plan.send_secrets == ("APP_PASSWORD",)
    assert plan.generate_secrets == ("SESSION_SECRET",)


def test_nothing_changed_means_nothing_to_do(app_dir: Path) -> None:
    """Same code, assets, config, schema and secrets: no step at all."""
    plan = plan_for(app_dir, deployed(app_dir, APP_PASSWORD="pw"), APP_PASSWORD="pw")
    assert plan.changes.nothing
    assert str(plan.changes) == "nothing"
    assert not any(
        [
            plan.find_database,
            plan.apply_schema,
            plan.upload_assets,
            plan.upload_worker,
            plan.update_tags_only,
            plan.enable_subdomain,
        ]
    )
    assert plan.database_id == "db-1"


def test_a_code_change_keeps_the_assets(app_dir: Path) -> None:
    """Only worker.js changed: upload the Worker with keep_assets, no session, no D1 lookup."""
    remote = deployed(app_dir)
    (app_dir / "worker.js").write_text("export default { fetch() { return new Response('v2') } }")
    plan = plan_for(app_dir, remote)
    assert plan.changes.kinds == ("code",)
    assert plan.upload_worker
    assert plan.keep_assets
    assert not plan.upload_assets
    assert not plan.find_database
    assert not plan.send_secrets


def test_an_asset_change_opens_a_session(app_dir: Path) -> None:
    """A changed file: upload session plus a Worker upload with the new completion token."""
    remote = deployed(app_dir)
    (app_dir / "public" / "index.html").write_text("<h1>shop v2</h1>")
    plan = plan_for(app_dir, remote)
    assert plan.changes.kinds == ("assets",)
    assert plan.upload_assets
    assert not plan.keep_assets


def test_a_config_change_looks_the_database_up_again(app_dir: Path) -> None:
    """A new D1 name is a config change: find-or-create by name, then upload the Worker."""
    remote = deployed(app_dir)
    (app_dir / "app.yml").write_text("secrets: [APP_PASSWORD, SESSION_SECRET]\nd1: {name: other-db}\n")
    plan = plan_for(app_dir, remote)
    assert plan.changes.kinds == ("config",)
    assert plan.find_database
    assert plan.keep_assets


def test_a_schema_only_change_records_state_without_a_new_version(app_dir: Path) -> None:
    """schema.sql changed alone: apply it and update the tags, no Worker upload."""
    remote = deployed(app_dir)
    (app_dir / "schema.sql").write_text("CREATE TABLE IF NOT EXISTS t (id INTEGER, name TEXT);")
    plan = plan_for(app_dir, remote)
    assert plan.changes.kinds == ("schema",)
    assert plan.apply_schema
    assert plan.update_tags_only
    assert not plan.upload_worker


@pytest.mark.parametrize(
    ("password", "expected"),
    [pytest.param("pw", (), id="same-value-not-resent"), pytest.param("new", ("secrets",), id="new-value-sent")],
)
def test_given_secrets_are_sent_only_when_their_value_changed(
    app_dir: Path, password: str, expected: tuple[str, ...]
) -> None:
    """A secret given on every run is compared by HMAC and re-sent only when it differs."""
    plan = plan_for(app_dir, deployed(app_dir, APP_PASSWORD="pw"), APP_PASSWORD=password)
    assert plan.changes.kinds == expected
    assert plan.send_secrets == (("APP_PASSWORD",) if expected else ())


def test_secrets_not_given_are_kept_and_their_digest_carried(app_dir: Path) -> None:
    """No secret values this time: nothing to send, and the recorded secret digest stays."""
    remote = deployed(app_dir, APP_PASSWORD="pw")
    (app_dir / "worker.js").write_text("export default {}")
    plan = plan_for(app_dir, remote)
    assert plan.send_secrets == ()
    new = Digests.from_tags(plan.tags)
    assert remote.digests is not None
    assert new is not None
    assert new.secrets == remote.digests.secrets is not None
    assert new.code != remote.digests.code


def test_a_declared_secret_without_any_value_stops_the_plan(app_dir: Path) -> None:
    """APP_PASSWORD neither given nor deployed: a ConfigError naming the env var and the input."""
    with pytest.raises(ConfigError, match=r"APP_PASSWORD \(env APP_PASSWORD, input app-password\)"):
        plan_for(app_dir, RemoteState(exists=False))


def test_force_redeploys_everything(app_dir: Path) -> None:
    """--force plans every step even when nothing changed."""
    plan = plan_for(app_dir, deployed(app_dir), force=True)
    assert plan.changes.reason == "forced"
    assert plan.upload_assets
    assert plan.enable_subdomain


def test_a_worker_without_our_state_tags_is_redeployed_fully(app_dir: Path) -> None:
    """A Worker last deployed by another tool has no digests: plan a full deploy."""
    remote = RemoteState(exists=True, other_tags=("team-a",), bindings={"secrets": {"APP_PASSWORD": ""}})
    plan = plan_for(app_dir, remote)
    assert plan.changes.reason == "forced"
    assert plan.tags[0] == "team-a"


def test_state_tags_round_trip_and_stay_short(app_dir: Path) -> None:
    """Digests survive being written as tags and read back; each tag is short and plain."""
    plan = plan_for(app_dir, RemoteState(exists=False), APP_PASSWORD="pw")
    digests = Digests.from_tags(plan.tags)
    assert digests is not None
    assert digests.assets_count == 1
    assert Digests.from_tags(digests.as_tags()) == digests
    for tag in plan.tags:
        # The secret ledger grows by 19 characters a secret (two here); every other tag stays within 40.
        assert len(tag) <= (12 + 4 + 2 * 20 if tag.startswith("ds1-secrets-") else 40)
        assert all(ch.isalnum() or ch == "-" for ch in tag)


def test_the_secret_digest_depends_on_the_token(app_dir: Path) -> None:
    """The HMAC key is the API token: the same password under another token digests differently."""
    one = secret_inputs({"APP_PASSWORD": "pw"}, key="token-1")
    two = secret_inputs({"APP_PASSWORD": "pw"}, key="token-2")
    assert one.values != two.values
    assert one.key_id != two.key_id
    settings = settings_for(app_dir, APP_PASSWORD="pw")
    app: LocalApp = load_app(app_dir)
    assert local_digests(settings, app).secrets is None  # the values are compared by the ledger, not here


def test_a_secret_the_worker_lost_is_sent_again(app_dir: Path) -> None:
    """The same password as last time, but the Worker no longer has it (deleted by hand): it is re-sent."""
    remote = deployed(app_dir, APP_PASSWORD="pw")
    lost = dataclasses.replace(remote, bindings={**remote.bindings, "secrets": {"SESSION_SECRET": ""}})
    plan = plan_for(app_dir, lost, APP_PASSWORD="pw")
    assert plan.changes.kinds == ("secrets",)
    assert plan.send_secrets == ("APP_PASSWORD",)


@pytest.mark.parametrize(
    "drift",
    [
        pytest.param({"bindings": {"vars": {"MODE": "dashboard-edit"}}}, id="a-var-added-elsewhere"),
        pytest.param({"compatibility_date": "2024-01-01"}, id="compatibility-date-changed"),
        pytest.param({"compatibility_flags": ("nodejs_compat",)}, id="flags-changed"),
        pytest.param({"bindings": {"d1": {}}}, id="d1-binding-gone"),
    ],
)
def test_settings_changed_by_another_tool_are_redeployed(app_dir: Path, drift: dict[str, object]) -> None:
    """What the settings read shows differs from what we deploy: a config change, whatever the tags say."""
    remote = deployed(app_dir)
    in_sync: dict[str, object] = {"compatibility_date": "2025-01-01", "compatibility_flags": ()}
    assert plan_for(app_dir, dataclasses.replace(remote, **in_sync)).changes.nothing  # type: ignore[arg-type]
    if "bindings" in drift:
        drift = {"bindings": {**remote.bindings, **drift["bindings"]}}  # type: ignore[dict-item]
    remote = dataclasses.replace(remote, **{**in_sync, **drift})  # type: ignore[arg-type]
    plan = plan_for(app_dir, remote)
    assert plan.changes.kinds == ("config",)
    assert plan.upload_worker


def test_the_workers_own_tags_must_leave_room_for_the_state(app_dir: Path) -> None:
    """Eight tags per script: a Worker with four of its own cannot take our five, and the error says so."""
    remote = dataclasses.replace(deployed(app_dir), other_tags=("a", "b", "c", "d"))
    (app_dir / "worker.js").write_text("export default {}")
    with pytest.raises(ConfigError, match="has 4 tags of its own"):
        plan_for(app_dir, remote, APP_PASSWORD="pw")


def test_an_asset_config_change_is_sent_with_a_fresh_session(app_dir: Path) -> None:
    """html_handling changed: a session (nothing to upload) and the Worker with the new config, not keep_assets."""
    remote = deployed(app_dir)
    (app_dir / "app.yml").write_text("secrets: [APP_PASSWORD, SESSION_SECRET]\nassets: {html_handling: none}\n")
    plan = plan_for(app_dir, remote)
    assert plan.changes.kinds == ("assets",)
    assert plan.upload_assets
    assert not plan.keep_assets


def test_the_plan_reads_as_the_steps_it_takes(app_dir: Path) -> None:
    """`describe()` word for word: a first deploy (steps 1-4 side by side), a code change, nothing."""
    first = plan_for(app_dir, RemoteState(exists=False), APP_PASSWORD="pw")
    assert first.describe() == [
        "shop: first deploy (first-deploy)",
        "  1. find or create the D1 database (beside 3-4)",
        "  2. apply what the database lacks: schema.sql, migrations, seed.sql (beside 3-4)",
        "  3. open an asset upload session (beside 1-2)",
        "  4. upload the files Cloudflare lacks (beside 1-2)",
        "  5. upload the Worker",
        "  6. enable the workers.dev URL",
        "  6. record the deployed state on the Worker, now that it is complete",
        "  secrets sent: APP_PASSWORD, SESSION_SECRET (generated)",
    ]
    remote = deployed(app_dir, APP_PASSWORD="pw")
    (app_dir / "worker.js").write_text("export default { fetch() { return new Response('v2') } }")
    assert plan_for(app_dir, remote, APP_PASSWORD="pw").describe() == [
        "shop: update deploy (code)",
        "  5. upload the Worker, keeping the deployed assets",
        "  secrets: deployed values kept",
    ]
    (app_dir / "worker.js").write_text("export default { fetch() { return new Response('v1') } }")
    assert plan_for(app_dir, remote, APP_PASSWORD="pw").describe() == [
        "shop: nothing changed; no request beyond the state read will be made."
    ]


def test_the_settings_read_becomes_the_remote_state() -> None:
    """Tags split into ours and the Worker's own, bindings by kind, compatibility as deployed."""
    settings = {
        "tags": ["team-a", "ds1-code-aaaa", "ds1-assets-bbbb-12", "ds1-config-cccc", "ds1-schema-dddd"],
        "bindings": [{"type": "d1", "name": "DB", "id": "db-1"}, {"type": "secret_text", "name": "APP_PASSWORD"}],
        "compatibility_date": "2025-01-01",
        "compatibility_flags": ["nodejs_compat"],
    }
    remote = RemoteState.from_settings(settings)
    assert remote.exists and remote.other_tags == ("team-a",)
    assert remote.digests == Digests(
        code="aaaa", assets="bbbb", assets_count=12, config="cccc", schema="dddd", secrets=None
    )
    assert remote.database_id("DB") == "db-1" and remote.database_id("OTHER") is None
    assert remote.secret_names == frozenset({"APP_PASSWORD"}) and not remote.has_assets
    assert (remote.compatibility_date, remote.compatibility_flags) == ("2025-01-01", ("nodejs_compat",))
    bare = RemoteState.from_settings({"tags": ["ds1-code-aaaa"], "compatibility_flags": "not-a-list"})
    assert bare.digests is None  # incomplete state: a full deploy
    assert bare.compatibility_flags is None and bare.compatibility_date is None
    assert Digests.from_tags(["ds1-code-a", "ds1-assets-b", "ds1-config-c", "ds1-schema-d"]).assets_count == 0  # type: ignore[union-attr]


def test_a_preview_owns_its_worker_by_a_tag_that_every_upload_keeps() -> None:
    """`owned_by`: a new Worker gets the tag; one that has it keeps it; one without it is someone else's."""
    tag = "dspv-0123456789-7"
    new = owned_by(RemoteState(exists=False), tag, script="app-pr-7")
    assert new.other_tags == (tag,)
    mine = RemoteState(exists=True, other_tags=("team-x", tag))
    assert owned_by(mine, tag, script="app-pr-7") is mine
    with pytest.raises(ConfigError) as caught:
        owned_by(RemoteState(exists=True, other_tags=("team-x",)), tag, script="app-pr-7")
    assert caught.value.message == (
        f"A Worker named app-pr-7 exists but was not deployed as this preview (it lacks the tag {tag}); it is left "
        "alone"
    )
    assert caught.value.hint == "Rename the app (name: in app.yml) or delete that Worker if it is a leftover of yours."


def test_an_adopted_input_is_recorded_even_when_nothing_else_changed(app_dir: Path) -> None:
    """A rotation the ledger has no input for (a new token since, or an older tag): the first push keeps the
    rotated value and records this input, with a tags-only write; the next push compares against it."""
    remote = deployed(app_dir, APP_PASSWORD="pw")
    assert remote.ledger is not None
    rotated = remote.ledger.updated({"APP_PASSWORD": SecretRecord(name_key("APP_PASSWORD"), NO_INPUT, NOW, "rotate")})
    remote = dataclasses.replace(remote, ledger=rotated)
    first = plan_for(app_dir, remote, APP_PASSWORD="pw")
    assert (first.changes.nothing, first.send_secrets, first.kept_rotated) == (True, (), ("APP_PASSWORD",))
    assert first.update_tags_only
    assert first.describe() == [
        "shop: nothing to deploy; the record of its secrets on the Worker is brought up to date."
    ]
    recorded = dataclasses.replace(remote, ledger=Digests.from_tags(first.tags).secrets)  # type: ignore[union-attr]
    again = plan_for(app_dir, recorded, APP_PASSWORD="pw")
    assert (again.changes.nothing, again.update_tags_only, again.kept_rotated) == (True, False, ())
    changed = plan_for(app_dir, recorded, APP_PASSWORD="changed")
    assert changed.send_secrets == ("APP_PASSWORD",)
