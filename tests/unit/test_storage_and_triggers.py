"""KV namespaces, R2 buckets and cron triggers: how they are configured (app.yml and wrangler's file), bound,
recorded in the state and planned. A cron change alone sets the schedules and writes the tags, no new version."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.app import load_app
from deployer.bindings import KVBinding, R2Binding, Wanted, metadata_bindings, wanted_bindings
from deployer.errors import ConfigError
from deployer.plan import Plan, make_plan
from deployer.previews import preview_names, preview_storage_name
from deployer.settings import Settings
from deployer.state import Digests, RemoteState, local_digests, secret_inputs
from deployer.steps import Step

TOKEN = "api-token"
KV_ID = "0f" * 16


def app_folder(tmp_path: Path, app_yml: str) -> Path:
    root = tmp_path / "shelf"
    root.mkdir(exist_ok=True)
    (root / "worker.js").write_text("export default { fetch() { return new Response('v1') } }")
    (root / "app.yml").write_text(app_yml)
    return root


def load(root: Path) -> Settings:
    return Settings.load(cli={"app_dir": root}, environ={})


def plan_for(root: Path, remote: RemoteState) -> Plan:
    settings = load(root)
    app = load_app(root)
    return make_plan(settings, app, remote, local=local_digests(settings, app), secrets=secret_inputs({}, key=TOKEN))


def deployed(root: Path, *, kv_ids: dict[str, str] | None = None) -> RemoteState:
    """The remote state after a successful deploy of `root` (KV bound to `kv_ids`)."""
    first = plan_for(root, RemoteState(exists=False))
    settings = load(root)
    bound = wanted_bindings(Wanted(settings=settings, has_assets=False, database_id="db-1", kv_ids=kv_ids or {}))
    return RemoteState(exists=True, digests=Digests.from_tags(first.tags), bindings=bound)


def test_app_yml_names_namespaces_and_buckets_or_takes_wranglers_default_names(tmp_path: Path) -> None:
    root = app_folder(tmp_path, "kv:\n  CACHE: shelf-cache\n  SESSIONS:\nr2:\n  FILES: shelf-files\n  USER_UPLOADS:\n")
    settings = load(root)
    assert settings.kv_titles() == {"CACHE": "shelf-cache", "SESSIONS": "shelf-sessions"}
    assert settings.r2_buckets() == {"FILES": "shelf-files", "USER_UPLOADS": "shelf-user-uploads"}


def test_a_namespace_given_by_id_is_bound_as_given(tmp_path: Path) -> None:
    root = app_folder(tmp_path, f"kv:\n  CACHE: {{id: '{KV_ID}'}}\n")
    settings = load(root)
    assert settings.kv_titles() == {}
    bound = wanted_bindings(Wanted(settings=settings, has_assets=False))
    assert bound["kv"] == {"CACHE": KV_ID}


@pytest.mark.parametrize(
    ("app_yml", "words"),
    [
        ("r2:\n  FILES: Shelf_Files\n", "'Shelf_Files' is not a valid R2 bucket name"),
        ("r2:\n  FILES: ab\n", "is not a valid R2 bucket name"),
        ("kv:\n  CACHE: {id: nope}\n", "a KV namespace id is 32 hexadecimal characters"),
        (f"kv:\n  CACHE: {{id: '{KV_ID}', title: x}}\n", "give the namespace's title or its id, not both"),
        ("kv:\n  cache-1: x\n", "binding names must be identifiers: cache-1"),
        ("triggers:\n  crons: ['*/5 * * *']\n", "has 4 fields; a cron expression has five"),
        ("triggers:\n  crons: ['*/5 * * * * *']\n", "has 6 fields"),
        ("triggers:\n  crons: ['0 0 * * MON;rm']\n", "the day of week field 'MON;rm' is not a value, range"),
        ("triggers:\n  crons: ['0 22 * * 0']\n", "uses 0, but Cloudflare numbers weekdays 1-7 from Sunday"),
        ("triggers:\n  crons: ['60 * * * *']\n", "the minute field '60' has '60', which is not in 0-59"),
        ("triggers:\n  crons: ['*/0 * * * *']\n", "has the step 0, which is not 1-59"),
        ("triggers:\n  crons: ['0 0 L-31 * *']\n", "counts back more than 30 days"),
        ("triggers:\n  crons: ['0 0 * * 2#6']\n", "occurrence outside 1-5"),
        ("triggers:\n  crons: ['0 0 * * *', '0 0 * * *']\n", "a cron expression is listed twice"),
        ("triggers:\n  schedule: ['0 0 * * *']\n", "triggers.schedule"),
    ],
)
def test_bad_storage_and_cron_settings_name_the_key(tmp_path: Path, app_yml: str, words: str) -> None:
    with pytest.raises(ConfigError, match="invalid") as refused:
        load(app_folder(tmp_path, app_yml))
    assert words in refused.value.message


def test_a_binding_name_used_by_two_kinds_is_refused(tmp_path: Path) -> None:
    root = app_folder(tmp_path, "kv:\n  DB: shelf-cache\n")
    with pytest.raises(ConfigError, match=r"DB \(d1 and kv_namespace\)"):
        plan_for(root, RemoteState(exists=False))


def test_the_upload_binds_the_namespace_id_and_the_bucket_name(tmp_path: Path) -> None:
    settings = load(app_folder(tmp_path, "kv:\n  CACHE: shelf-cache\nr2:\n  FILES: shelf-files\n"))
    sent = metadata_bindings(
        wanted_bindings(Wanted(settings=settings, has_assets=False, database_id="db-1", kv_ids={"CACHE": KV_ID}))
    )
    assert sent == [
        {"type": "d1", "name": "DB", "id": "db-1"},
        {"type": "kv_namespace", "name": "CACHE", "namespace_id": KV_ID},
        {"type": "r2_bucket", "name": "FILES", "bucket_name": "shelf-files"},
    ]


def test_a_first_deploy_finds_the_storage_and_sets_the_crons(tmp_path: Path) -> None:
    root = app_folder(tmp_path, "kv:\n  CACHE:\ntriggers:\n  crons: ['*/30 * * * *']\n")
    plan = plan_for(root, RemoteState(exists=False))
    assert plan.find_storage and plan.crons == ("*/30 * * * *",)
    assert plan.steps.index(Step.DATABASE) < plan.steps.index(Step.STORAGE) == plan.steps.index(Step.WORKER) - 1
    assert Step.SCHEDULES in plan.steps


def test_an_app_without_storage_or_crons_keeps_the_plan_and_the_tags_it_had(tmp_path: Path) -> None:
    root = app_folder(tmp_path, "name: shelf\n")
    plan = plan_for(root, RemoteState(exists=False))
    assert (plan.find_storage, plan.crons) == (False, None)
    assert not any(tag.startswith("ds1-config-") and tag.count("-") > 2 for tag in plan.tags)


def test_nothing_changed_reads_no_schedules_and_finds_no_storage(tmp_path: Path) -> None:
    root = app_folder(tmp_path, "kv:\n  CACHE:\nr2:\n  FILES:\ntriggers:\n  crons: ['*/30 * * * *']\n")
    plan = plan_for(root, deployed(root, kv_ids={"CACHE": KV_ID}))
    assert plan.changes.nothing
    assert (plan.find_storage, plan.crons, plan.steps) == (False, None, ())


def test_a_cron_change_alone_sets_the_schedules_and_writes_the_tags_without_a_new_version(tmp_path: Path) -> None:
    root = app_folder(tmp_path, "triggers:\n  crons: ['*/30 * * * *']\n")
    remote = deployed(root)
    (root / "app.yml").write_text("triggers:\n  crons: ['0 * * * *', '*/30 * * * *']\n")
    plan = plan_for(root, remote)
    assert plan.changes.kinds == ("triggers",)
    assert (plan.upload_worker, plan.update_tags_only, plan.crons) == (False, True, ("0 * * * *", "*/30 * * * *"))
    assert plan.steps == (Step.SCHEDULES, Step.WORKER_TAGS)
    assert Digests.from_tags(plan.tags) != remote.digests
    (root / "app.yml").write_text("name: shelf\n")  # removed: the schedules are emptied
    assert plan_for(root, remote).crons == ()


def test_a_cron_change_with_new_code_records_the_triggers_only_after_they_are_set(tmp_path: Path) -> None:
    root = app_folder(tmp_path, "triggers:\n  crons: ['*/30 * * * *']\n")
    remote = deployed(root)
    (root / "worker.js").write_text("export default { fetch() { return new Response('v2') } }")
    (root / "app.yml").write_text("triggers:\n  crons: ['0 * * * *']\n")
    plan = plan_for(root, remote)
    assert plan.changes.kinds == ("code", "triggers")
    assert plan.upload_tags is not None and plan.upload_tags != plan.tags
    uploaded, final = Digests.from_tags(plan.upload_tags), Digests.from_tags(plan.tags)
    assert uploaded is not None and final is not None and remote.digests is not None
    assert (uploaded.code, uploaded.triggers) == (final.code, remote.digests.triggers)
    assert plan.steps == (Step.WORKER, Step.SCHEDULES, Step.WORKER_TAGS)


def test_a_new_title_or_bucket_is_a_config_change_that_finds_the_storage_again(tmp_path: Path) -> None:
    root = app_folder(tmp_path, "kv:\n  CACHE: one\nr2:\n  FILES: files-one\n")
    remote = deployed(root, kv_ids={"CACHE": KV_ID})
    (root / "app.yml").write_text("kv:\n  CACHE: two\nr2:\n  FILES: files-one\n")
    plan = plan_for(root, remote)
    assert (plan.changes.kinds, plan.find_storage) == (("config",), True)
    (root / "app.yml").write_text("kv:\n  CACHE: one\nr2:\n  FILES: files-two\n")
    assert plan_for(root, remote).find_storage


def test_a_worker_that_lost_its_kv_binding_is_redeployed_with_it(tmp_path: Path) -> None:
    root = app_folder(tmp_path, "kv:\n  CACHE: one\n")
    remote = deployed(root, kv_ids={"CACHE": KV_ID})
    lost = RemoteState(exists=True, digests=remote.digests, bindings={**remote.bindings, "kv": {}})
    plan = plan_for(root, lost)
    assert "config" in plan.changes and plan.find_storage and plan.upload_worker


def test_kinds_read_back_from_the_settings() -> None:
    assert KVBinding().decode({"type": "kv_namespace", "name": "C", "namespace_id": KV_ID}) == KV_ID
    assert R2Binding().decode({"type": "r2_bucket", "name": "F", "bucket_name": "b"}) == "b"
    assert KVBinding().drifted({"C": ""}, {"C": KV_ID}) is False  # an id found by title is not known beforehand
    assert KVBinding().drifted({"C": KV_ID}, {"C": "f" * 32}) is True


def test_previews_get_their_own_storage_named_after_their_worker() -> None:
    """Named after the preview's Worker and the binding: two apps whose names and bindings run together
    (`shop` + `API_FILES`, `shop-api` + `FILES`) still get two buckets."""
    shop, shop_api = preview_names("shop", "shop-db", 7).script, preview_names("shop-api", "shop-api-db", 7).script
    assert preview_storage_name(shop, "API_FILES", bucket=True) == "shop-pr-7-api-files"
    assert preview_storage_name(shop_api, "FILES", bucket=True) == "shop-api-pr-7-files"
    assert preview_storage_name("items-app-pr-12", "CACHE", bucket=False) == "items-app-pr-12-cache"
    long = preview_storage_name(preview_names("b" * 63, "db", 3).script, "FILES", bucket=True)
    assert len(long) <= 63 and long.endswith("-files")


def test_wrangler_storage_and_triggers_become_the_same_settings(tmp_path: Path) -> None:
    (tmp_path / "wrangler.json").write_text(
        '{"name": "shelf", "kv_namespaces": [{"binding": "CACHE", "id": "'
        + KV_ID
        + '", "preview_id": "x"}, {"binding": "SESSIONS"}],'
        ' "r2_buckets": [{"binding": "FILES", "bucket_name": "shelf-files"}, {"binding": "RAW"}],'
        ' "triggers": {"crons": ["*/30 * * * *"]}}'
    )
    settings = load(tmp_path)
    assert settings.kv["CACHE"].id == KV_ID
    assert settings.kv_titles() == {"SESSIONS": "shelf-sessions"}  # wrangler's provisioned name
    assert settings.r2_buckets() == {"FILES": "shelf-files", "RAW": "shelf-raw"}
    assert settings.triggers.crons == ("*/30 * * * *",)
    assert "kv_namespaces.preview_id is for wrangler dev and is not used (binding CACHE)" in settings.notes


def test_wrangler_storage_keys_this_deployer_does_not_take_are_named(tmp_path: Path) -> None:
    (tmp_path / "wrangler.json").write_text(
        '{"name": "shelf", "r2_buckets": [{"binding": "F", "jurisdiction": "eu"}], "triggers": {"x": 1},'
        ' "durable_objects": {"bindings": []}, "ai": {"binding": "AI"},'
        ' "kv_namespaces": [{"binding": "K"}, {"binding": "K"}]}'
    )
    with pytest.raises(ConfigError) as refused:
        load(tmp_path)
    for words in (
        "r2_buckets.jurisdiction: not supported by this deployer (binding F)",
        "triggers.x: not supported by this deployer (only crons)",
        "durable_objects: Durable Objects are not supported",
        "ai: the AI binding is not supported",
        "kv_namespaces: the binding K is listed twice",
    ):
        assert words in refused.value.message


def test_unsupported_app_yml_keys_are_listed_with_what_to_do(tmp_path: Path) -> None:
    root = app_folder(tmp_path, "kv_namespaces: []\nroutes: []\nai: {binding: AI}\nnmae: x\n")
    with pytest.raises(ConfigError) as refused:
        load(root)
    message = refused.value.message
    assert "has settings this deployer does not support (nothing was deployed)" in message
    for words in (
        "kv_namespaces: write kv: {BINDING: namespace title} in app.yml",
        "routes: this deployer serves the app on workers.dev only",
        "ai: the AI binding is not supported",
        "nmae: not a setting of this deployer (a typo?)",
    ):
        assert words in message
    assert refused.value.line == 1


CRONS = [
    "*/30 * * * *", "0 0 * * *", "0 9-17/2 * * MON-FRI", "15 10 L * *", "0 0 LW * *", "0 0 L-3 * *",
    "0 0 L-3W * *", "0 0 15W * *", "0 0 * * 6L", "0 0 * * FRI#3", "0 0 * * L", "0 22 * * 7", "0 0 1 jan,jul *",
    "59 23 31 12 7", "0 22-2 * * *", "1,2,3 * * * *", "*/15,40 * * * *", "0 22 * * 0", "60 * * * *",
    "* 24 * * *", "0 0 0 * *", "0 0 * 13 *", "*/0 * * * *", "*/60 * * * *", "0 0 L-31 * *", "0 0 * * 2#6",
    "0 0 * * MON;rm", "* * * *", "* * * * * *", "1-*/2 * * * *", "0 0 32W * *", "0 0 * * 8L",
    "0 0 L-1 * *", "0 0 L-30 * *", "0 0 L-0 * *", "0 0 * * 1#1", "0 0 * * 1#5", "0 0 * * 1#0", "*/1 * * * *",
    "*/59 * * * *", "0 */23 * * *", "0 */24 * * *", "1,* * * * *", "0 0 * * 0,1", "0 0 * * SUN#2",
    "*,1 * * * *", "*-5 * * * *", "1,*-5 * * * *", "1,*/5 * * * *",
]  # fmt: skip


@pytest.mark.parametrize("expression", CRONS)
def test_the_deployer_refuses_exactly_the_crons_cloudflares_grammar_refuses(expression: str) -> None:
    """The deployer's check before any request agrees with cfemu's parser (saffron's grammar) on each case."""
    from cfemu.cron import CronSyntaxError, parse_cron
    from deployer.cron import cron_problem

    try:
        parse_cron(expression)
        emulator_accepts = True
    except CronSyntaxError:
        emulator_accepts = False
    assert (cron_problem(expression) is None) == emulator_accepts, cron_problem(expression)


def test_a_forced_deploy_leaves_cron_triggers_the_app_never_declared(tmp_path: Path) -> None:
    """Crons set elsewhere (the dashboard, wrangler) survive --force or a Worker without our state, as with
    wrangler; crons our deploy recorded are removed when the app drops them, forced or not."""
    root = app_folder(tmp_path, "name: shelf\n")
    remote = deployed(root)
    settings, app = load(root), load_app(root)
    forced = make_plan(
        settings, app, remote, local=local_digests(settings, app), secrets=secret_inputs({}, key=TOKEN), force=True
    )
    assert forced.crons is None
    assert plan_for(root, RemoteState(exists=True)).crons is None  # a Worker deployed by another tool
    (root / "app.yml").write_text("triggers:\n  crons: ['*/30 * * * *']\n")
    with_crons = deployed(root)
    (root / "app.yml").write_text("name: shelf\n")
    forced_after = make_plan(
        settings, app, with_crons, local=local_digests(settings, app), secrets=secret_inputs({}, key=TOKEN), force=True
    )
    assert forced_after.crons == ()


@pytest.mark.parametrize("binding", ["FILES_", "A" * 60])
def test_a_bucket_name_made_from_the_names_that_r2_refuses_is_caught_before_any_request(
    tmp_path: Path, binding: str
) -> None:
    root = app_folder(tmp_path, f"r2:\n  {binding}:\n")
    with pytest.raises(ConfigError, match=f"The R2 bucket of binding {binding} would be named") as refused:
        plan_for(root, RemoteState(exists=False))
    assert f"r2: {{{binding}: <bucket name>}}" in (refused.value.hint or "")


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("0 0 * 13 *", "'0 0 * 13 *': the month field '13' has '13', which is not in 1-12 or JAN-DEC"),
        ("0 0 * * 8", "'0 0 * * 8': the day of week field '8' has '8', which is not in 1-7 or SUN-SAT"),
        ("0 24 * * *", "'0 24 * * *': the hour field '24' has '24', which is not in 0-23"),
        (
            "0 0 * * 0,1",
            "the day of week field '0,1' uses 0, but Cloudflare numbers weekdays 1-7 from Sunday "
            "(1 = SUN; or write SUN-SAT)",
        ),
        ("0 0 * * 8L", "the day of week field '8L' names no day of week (1-7 or SUN-SAT)"),
        ("0 0 L-0 * *", "counts back more than 30 days from the last"),
        ("0 0 * * 1#0", "asks for a weekday's occurrence outside 1-5"),
        ("*,1 * * * *", "the minute field '*,1' uses * inside a range or list"),
        ("*-5 * * * *", "the minute field '*-5' uses * inside a range or list"),
        ("*/60 * * * *", "the minute field '*/60' has the step 60, which is not 1-59"),
        ("0 0 0 * *", "the day of month field '0' has '0', which is not in 1-31"),
        ("0 0 */31 * *", "the day of month field '*/31' has the step 31, which is not 1-30"),
    ],
)
def test_a_refused_cron_says_which_field_and_why(expression: str, problem: str) -> None:
    from deployer.cron import cron_problem

    assert (cron_problem(expression) or "").endswith(problem)


@pytest.mark.parametrize("expression", ["0 0 L-1 * *", "0 0 L-30W * *", "0 0 * * 7#5", "*/59 */23 * */11 */6"])
def test_the_edges_of_each_range_are_accepted(expression: str) -> None:
    from deployer.cron import cron_problem

    assert cron_problem(expression) is None


def test_an_explicit_empty_list_removes_crons_and_a_kept_config_tag_still_counts(tmp_path: Path) -> None:
    """`crons: []` says "none" (as with wrangler): a full deploy of an existing Worker empties its schedules.
    With no complete state, the config tag alone (`rollback` keeps it) still tells which crons we set."""
    root = app_folder(tmp_path, "triggers:\n  crons: []\n")
    assert plan_for(root, RemoteState(exists=False)).crons is None  # a new Worker has none to remove
    assert plan_for(root, RemoteState(exists=True)).crons == ()
    (root / "app.yml").write_text("triggers:\n  crons: ['*/30 * * * *']\n")
    recorded = [tag for tag in plan_for(root, RemoteState(exists=False)).tags if tag.startswith("ds1-config-")]
    (root / "app.yml").write_text("name: shelf\n")
    after_rollback = RemoteState(exists=True, tags=tuple(recorded))
    assert after_rollback.digests is None and after_rollback.recorded_triggers
    plan = plan_for(root, after_rollback)
    assert plan.crons == ()
    assert plan.upload_tags is not None and plan.upload_tags != plan.tags  # recorded as it was until set
