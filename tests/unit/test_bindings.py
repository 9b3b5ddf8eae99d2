"""The binding model: each kind sent, read back and drift-checked by its one definition."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import pytest

from deployer.bindings import (
    KINDS,
    Bindings,
    Wanted,
    check_unique,
    deployed_bindings,
    drifted_kinds,
    kind_of,
    metadata_bindings,
    unbound_references,
    wanted_bindings,
)
from deployer.errors import ConfigError
from deployer.settings import Settings


def wanted(tmp_path: Path, *, has_assets: bool = True, **secrets: str) -> Wanted:
    settings = Settings.load(cli={"app_dir": tmp_path, "vars": {"B": "2", "A": "1"}}, environ={})
    return Wanted(settings=settings, has_assets=has_assets, database_id="db-1", secret_values=secrets)


def test_the_metadata_lists_kinds_in_order_and_names_sorted(tmp_path: Path) -> None:
    sent = metadata_bindings(wanted_bindings(wanted(tmp_path, Z="z", S="s")))
    assert sent == [
        {"type": "d1", "name": "DB", "id": "db-1"},
        {"type": "plain_text", "name": "A", "text": "1"},
        {"type": "plain_text", "name": "B", "text": "2"},
        {"type": "secret_text", "name": "S", "text": "s"},
        {"type": "secret_text", "name": "Z", "text": "z"},
        {"type": "assets", "name": "ASSETS"},
    ]


def test_what_was_sent_reads_back_as_the_same_bindings_without_secret_values(tmp_path: Path) -> None:
    """A settings read shows secrets without their text; everything else round-trips."""
    sent = metadata_bindings(wanted_bindings(wanted(tmp_path, S="s")))
    shown = [{k: v for k, v in entry.items() if not (entry["type"] == "secret_text" and k == "text")} for entry in sent]
    read = deployed_bindings([*shown, {"type": "queue", "name": "OTHER", "queue_name": "x"}])
    assert read == {
        "d1": {"DB": "db-1"},
        "kv": {},
        "r2": {},
        "vars": {"A": "1", "B": "2"},
        "secrets": {"S": ""},
        "assets": {"ASSETS": ""},
    }
    assert drifted_kinds(wanted_bindings(wanted(tmp_path, S="s")), read) == set()
    assert wanted_bindings(wanted(tmp_path)) == {**read, "secrets": {}}


def test_an_app_without_assets_sends_no_assets_binding(tmp_path: Path) -> None:
    want = wanted_bindings(wanted(tmp_path, has_assets=False))
    assert want["assets"] == {}
    assert [entry["type"] for entry in metadata_bindings(want)] == ["d1", "plain_text", "plain_text"]


def test_each_kind_of_drift_counts_as_its_change(tmp_path: Path) -> None:
    want = wanted_bindings(wanted(tmp_path, S="s"))
    deployed = {"d1": {"DB": "db-1"}, "vars": {"A": "1", "B": "2"}, "secrets": {"S": ""}, "assets": {"ASSETS": ""}}
    assert drifted_kinds(want, {**deployed, "d1": {}}) == {"config"}
    assert drifted_kinds(want, {**deployed, "vars": {"A": "1"}}) == {"config"}
    assert drifted_kinds(want, {**deployed, "secrets": {}}) == {"secrets"}
    assert drifted_kinds(want, {**deployed, "assets": {}}) == {"assets"}
    assert drifted_kinds(want, {**deployed, "secrets": {"S": "", "EXTRA": ""}}) == set()  # kept, not ours to drop


def test_every_cloudflare_type_belongs_to_one_kind() -> None:
    types = [type_ for kind in KINDS for type_ in kind.types]
    assert len(types) == len(set(types))
    assert all(kind_of(type_) is not None for type_ in types)
    assert kind_of("queue") is None


def test_each_kind_reads_back_what_the_settings_show() -> None:
    """The D1 id may come as `id` or `database_id`; a missing text reads as ""; odd entries are left out."""
    read = deployed_bindings(
        [
            {"type": "plain_text"},
            "not a binding",
            {"type": "d1", "name": "DB", "database_id": "db-2"},
            {"type": "d1", "name": "OTHER"},
            {"type": "plain_text", "name": "EMPTY"},
            {"type": "secret_key", "name": "KEY"},
        ]
    )
    assert read == {
        "d1": {"DB": "db-2", "OTHER": ""},
        "kv": {},
        "r2": {},
        "vars": {"EMPTY": ""},
        "secrets": {"KEY": ""},
        "assets": {},
    }


def test_each_kind_shows_itself_for_inspect() -> None:
    shown = {kind.key: kind.show("NAME", "v") for kind in KINDS}
    assert shown == {
        "d1": "NAME: d1 (v)",
        "kv": "NAME: kv_namespace (v)",
        "r2": "NAME: r2_bucket (v)",
        "vars": "NAME: plain_text",
        "secrets": "NAME: secret (value hidden)",
        "assets": "NAME: assets",
    }
    assert next(kind for kind in KINDS if kind.key == "d1").show("DB", "") == "DB: d1"


def test_distinct_names_across_kinds_pass_the_uniqueness_check() -> None:
    """Kinds missing from the mapping, or empty, are fine; so is the same value under different names."""
    check_unique({"d1": {"DB": "db-1"}, "vars": {"A": "db-1"}, "assets": {}})
    check_unique({})


@pytest.mark.parametrize(
    ("bindings", "described"),
    [
        pytest.param({"d1": {"DB": "db-1"}, "vars": {"DB": "x"}}, "DB (d1 and plain_text)", id="var-named-like-d1"),
        pytest.param(
            {"vars": {"S": "1", "ASSETS": "2", "OK": "3"}, "secrets": {"S": "s"}, "assets": {"ASSETS": ""}},
            "ASSETS (plain_text and assets); S (plain_text and secret_text)",
            id="two-clashes-sorted-by-name",
        ),
        pytest.param(
            {"secrets": {"X": "s"}, "d1": {"X": "db"}, "vars": {"X": "v"}},
            "X (d1 and plain_text and secret_text)",
            id="three-kinds-in-sending-order",
        ),
    ],
)
def test_a_name_bound_twice_is_refused_with_every_clash(bindings: Bindings, described: str) -> None:
    """Each clashing name is listed once, with the binding types it is used for."""
    with pytest.raises(ConfigError) as caught:
        check_unique(bindings)
    assert type(caught.value) is ConfigError
    assert (caught.value.message, caught.value.hint) == (
        f"A binding name is used twice: {described}",
        "Each name on env must be one binding: rename the var or secret (app.yml vars, secrets, d1.binding).",
    )


WORKER_SOURCE = b"""
export default {
  async fetch(request, env) {
    const a = env.ZETA + env . SPACED + env.WITH_1;
    const b = env["quoted"] + env[ 'Single_2' ] + env.DB;
    const c = env.lowercase + myenv.NOT_ENV + env[name] + \xff;
  },
};
"""


@pytest.mark.parametrize(
    ("bound", "expected"),
    [
        pytest.param((), ["DB", "SPACED", "Single_2", "WITH_1", "ZETA", "quoted"], id="nothing-bound"),
        pytest.param({"DB", "quoted", "UNUSED"}, ["SPACED", "Single_2", "WITH_1", "ZETA"], id="some-bound"),
    ],
)
def test_env_reads_no_binding_carries_are_found_and_sorted(bound: Collection[str], expected: list[str]) -> None:
    """`env.NAME` (upper-case) and `env["name"]` count; lower-case dotted names, other objects and computed keys
    do not; bytes that are not UTF-8 do not stop the scan."""
    assert unbound_references(WORKER_SOURCE, bound) == expected
