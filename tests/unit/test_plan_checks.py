"""The planner's checks and edges: bindings worker.js reads, the script tag limit, every field of a plan."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from deployer.app import load_app
from deployer.changes import Changes
from deployer.errors import ConfigError
from deployer.plan import Plan, make_plan
from deployer.secret_ledger import NO_INPUT, SecretLedger, SecretRecord, key_id_of, name_key, value_key
from deployer.state import RemoteState, local_digests, secret_inputs
from tests.unit.test_plan import NOW, TOKEN, deployed, plan_for, settings_for, write_shop


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    return write_shop(tmp_path)


def unbound_warning(name: str) -> str:
    return (
        f"worker.js reads env.{name}, but the Worker will have no binding named {name} (env.{name} is undefined); "
        "declare it in app.yml (vars, secrets, d1.binding) or add the files of public/ for ASSETS"
    )


def reads(app_dir: Path, *names: str) -> None:
    """Make worker.js read `env.NAME` for each name."""
    body = " + ".join(f"env.{name}" for name in names)
    (app_dir / "worker.js").write_text(f"export default {{ fetch(request, env) {{ return new Response({body}) }} }}")


def test_every_binding_sent_or_kept_may_be_read(app_dir: Path) -> None:
    """D1, ASSETS, vars, given, generated and already deployed secrets: worker.js may read them all."""
    (app_dir / "app.yml").write_text("secrets: [APP_PASSWORD, SESSION_SECRET]\nvars: {MODE: live}\n")
    reads(app_dir, "DB", "ASSETS", "MODE", "APP_PASSWORD", "SESSION_SECRET", "OLD_SECRET")
    remote = RemoteState(exists=False, bindings={"secrets": {"OLD_SECRET": ""}})
    assert plan_for(app_dir, remote, APP_PASSWORD="pw").warnings == ()


def test_a_read_of_a_binding_no_one_sends_is_a_warning_naming_it(app_dir: Path) -> None:
    """Without public/ there is no ASSETS; an undeclared name is unbound too. The deploy still goes ahead."""
    for path in (app_dir / "public").iterdir():
        path.unlink()
    (app_dir / "public").rmdir()
    reads(app_dir, "ASSETS", "MISSING", "APP_PASSWORD")
    plan = plan_for(app_dir, RemoteState(exists=False), APP_PASSWORD="pw")
    assert plan.warnings == (unbound_warning("ASSETS"), unbound_warning("MISSING"))
    assert plan.upload_worker


def test_an_empty_public_folder_warns_before_the_unbound_reads(app_dir: Path) -> None:
    """The app's own warnings come first, then one per unbound name, in name order."""
    (app_dir / "public" / "index.html").unlink()
    reads(app_dir, "ZED", "ASSETS")
    warnings = plan_for(app_dir, RemoteState(exists=False), APP_PASSWORD="pw").warnings
    assert len(warnings) == 3
    assert warnings[0].endswith(
        "is empty: the Worker is deployed without static assets and without an assets binding "
        "(env.ASSETS, or wrangler's [assets] binding, is undefined). Add files, or remove the folder."
    )
    assert warnings[1:] == (unbound_warning("ASSETS"), unbound_warning("ZED"))


def test_a_worker_that_lost_its_assets_binding_gets_the_assets_again(app_dir: Path) -> None:
    """The ASSETS binding removed by someone else: an asset change, with a fresh session."""
    remote = deployed(app_dir, APP_PASSWORD="pw")
    lost = dataclasses.replace(remote, bindings={**remote.bindings, "assets": {}})
    plan = plan_for(app_dir, lost, APP_PASSWORD="pw")
    assert plan.changes.kinds == ("assets",)
    assert (plan.upload_assets, plan.keep_assets) == (True, False)


def test_a_first_deploy_plan_field_by_field(app_dir: Path) -> None:
    """Every field of the plan for a new Worker, its warnings and the Worker's own tags included."""
    reads(app_dir, "NOPE")
    remote = RemoteState(exists=False, other_tags=("team-a",))
    plan = plan_for(app_dir, remote, APP_PASSWORD="pw")
    settings = settings_for(app_dir, APP_PASSWORD="pw")
    ledger = SecretLedger(key_id_of(TOKEN)).updated(
        {
            "APP_PASSWORD": SecretRecord(
                name_key("APP_PASSWORD"), value_key("APP_PASSWORD", "pw", key=TOKEN), NOW, "deploy"
            ),
            "SESSION_SECRET": SecretRecord(name_key("SESSION_SECRET"), NO_INPUT, NOW, "generated"),
        }
    )
    local = dataclasses.replace(local_digests(settings, load_app(app_dir)), secrets=ledger)
    assert plan == Plan(
        script="shop",
        changes=Changes.first(),
        find_database=True,
        database_id=None,
        apply_schema=True,
        upload_assets=True,
        keep_assets=False,
        upload_worker=True,
        update_tags_only=False,
        enable_subdomain=True,
        send_secrets=("APP_PASSWORD",),
        generate_secrets=("SESSION_SECRET",),
        tags=("team-a", *local.as_tags()),
        warnings=(unbound_warning("NOPE"),),
    )


def test_a_plan_is_not_forced_unless_asked(app_dir: Path) -> None:
    """`make_plan` without `force`: an unchanged Worker gets nothing."""
    remote = deployed(app_dir, APP_PASSWORD="pw")
    settings = settings_for(app_dir, APP_PASSWORD="pw")
    app = load_app(app_dir)
    inputs = secret_inputs({"APP_PASSWORD": "pw"}, key=TOKEN)
    assert make_plan(settings, app, remote, local=local_digests(settings, app), secrets=inputs).changes.nothing


def test_a_secret_change_describes_the_secret_sent(app_dir: Path) -> None:
    """A new password and nothing else: the Worker upload, keeping the assets, and the one secret sent."""
    plan = plan_for(app_dir, deployed(app_dir, APP_PASSWORD="pw"), APP_PASSWORD="new")
    assert plan.describe() == [
        "shop: update deploy (secrets)",
        "  5. upload the Worker, keeping the deployed assets",
        "  secrets sent: APP_PASSWORD",
    ]


@pytest.mark.parametrize(
    ("own", "password"),
    [
        pytest.param(("a", "b", "c"), "pw", id="three-own-and-five-ours"),
        pytest.param(("a", "b", "c", "d"), None, id="four-own-and-four-ours"),
    ],
)
def test_eight_tags_in_all_are_allowed(app_dir: Path, own: tuple[str, ...], password: str | None) -> None:
    """The limit itself is fine: the Worker's own tags first, then ours (the secret ledger only when a secret was
    sent or generated by this tool, or is recorded already)."""
    (app_dir / "app.yml").write_text("secrets: [SESSION_SECRET]\n")
    remote = deployed(app_dir)
    assert remote.digests is not None
    remote = dataclasses.replace(
        remote, other_tags=own, digests=dataclasses.replace(remote.digests, secrets=None), ledger=None
    )
    (app_dir / "worker.js").write_text("export default {}")
    if password:
        plan = plan_for(app_dir, remote, APP_PASSWORD=password, INPUT_SECRETS="APP_PASSWORD")
    else:
        plan = plan_for(app_dir, remote)
    assert len(plan.tags) == 8
    assert plan.tags[: len(own)] == own


def test_nine_tags_are_refused_with_how_many_to_remove(app_dir: Path) -> None:
    """One over the limit: the message lists the Worker's own tags and the hint says how many must go."""
    remote = dataclasses.replace(deployed(app_dir), other_tags=("a", "b", "c", "d"))
    with pytest.raises(ConfigError) as caught:
        plan_for(app_dir, remote, APP_PASSWORD="new")
    assert caught.value.message == (
        "The Worker has 4 tags of its own (a, b, c, d); Cloudflare allows 8 per script and this deploy records its "
        "state in 5"
    )
    assert caught.value.hint == "Remove at least 1 of them in the dashboard."


def test_a_worker_that_lost_its_generated_secret_gets_a_new_one(app_dir: Path) -> None:
    """SESSION_SECRET deleted by hand, nothing given: it is generated and sent with a Worker upload."""
    remote = deployed(app_dir, APP_PASSWORD="pw")
    lost = dataclasses.replace(remote, bindings={**remote.bindings, "secrets": {"APP_PASSWORD": ""}})
    plan = plan_for(app_dir, lost)
    assert plan.changes.kinds == ("secrets",)
    assert (plan.send_secrets, plan.generate_secrets, plan.upload_worker) == ((), ("SESSION_SECRET",), True)


def test_an_asset_change_describes_the_session_and_the_worker_upload(app_dir: Path) -> None:
    """New asset content: steps 3-5, the Worker taking the new assets (not keeping the deployed ones)."""
    remote = deployed(app_dir, APP_PASSWORD="pw")
    (app_dir / "public" / "index.html").write_text("<h1>shop v2</h1>")
    assert plan_for(app_dir, remote, APP_PASSWORD="pw").describe() == [
        "shop: update deploy (assets)",
        "  3. open an asset upload session",
        "  4. upload the files Cloudflare lacks",
        "  5. upload the Worker",
        "  secrets: deployed values kept",
    ]


def test_a_code_change_plan_field_by_field(app_dir: Path) -> None:
    """An update: the known database, only the Worker upload keeping the assets, the state tags, the warnings."""
    remote = deployed(app_dir, APP_PASSWORD="pw")
    reads(app_dir, "NOPE")
    plan = plan_for(app_dir, remote, APP_PASSWORD="pw")
    settings = settings_for(app_dir, APP_PASSWORD="pw")
    assert remote.digests is not None
    local = dataclasses.replace(local_digests(settings, load_app(app_dir)), secrets=remote.digests.secrets)
    assert plan == Plan(
        script="shop",
        changes=Changes.of({"code"}),
        find_database=False,
        database_id="db-1",
        apply_schema=False,
        schema_changed=False,
        upload_assets=False,
        keep_assets=True,
        upload_worker=True,
        update_tags_only=False,
        enable_subdomain=False,
        send_secrets=(),
        generate_secrets=(),
        tags=tuple(local.as_tags()),
        warnings=(unbound_warning("NOPE"),),
    )


def test_every_declared_secret_without_a_value_is_named_with_where_to_give_it(app_dir: Path) -> None:
    """Two secrets missing on a new Worker: one error naming both, each with its env var and input."""
    (app_dir / "app.yml").write_text("secrets: [APP_PASSWORD, API_KEY, SESSION_SECRET]\n")
    with pytest.raises(ConfigError) as caught:
        plan_for(app_dir, RemoteState(exists=False))
    assert caught.value.message == (
        "Secret APP_PASSWORD (env APP_PASSWORD, input app-password), API_KEY (env API_KEY, input api-key) "
        "has no value and the Worker shop does not have it yet"
    )
    assert caught.value.hint == "Give the value on the first deploy; later deploys keep it until you send a new one."
