"""The binding model: each kind sent, read back and drift-checked by its one definition."""

from __future__ import annotations

from pathlib import Path

from deployer.bindings import (
    KINDS,
    Wanted,
    deployed_bindings,
    drifted_kinds,
    kind_of,
    metadata_bindings,
    wanted_bindings,
)
from deployer.settings import Settings


def wanted(tmp_path: Path, **secrets: str) -> Wanted:
    settings = Settings.load(cli={"app_dir": tmp_path, "vars": {"B": "2", "A": "1"}}, environ={})
    return Wanted(settings=settings, has_assets=True, database_id="db-1", secret_values=secrets)


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
    read = deployed_bindings([*shown, {"type": "kv_namespace", "name": "OTHER", "namespace_id": "x"}])
    assert read == {"d1": {"DB": "db-1"}, "vars": {"A": "1", "B": "2"}, "secrets": {"S": ""}, "assets": {"ASSETS": ""}}
    assert drifted_kinds(wanted_bindings(wanted(tmp_path, S="s")), read) == set()


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
    assert kind_of("kv_namespace") is None


def test_each_kind_reads_back_what_the_settings_show() -> None:
    """The D1 id may come as `id` or `database_id`; a missing text reads as ""; odd entries are left out."""
    read = deployed_bindings(
        [
            {"type": "d1", "name": "DB", "database_id": "db-2"},
            {"type": "d1", "name": "OTHER"},
            {"type": "plain_text", "name": "EMPTY"},
            {"type": "secret_key", "name": "KEY"},
            {"type": "plain_text"},
            "not a binding",
        ]
    )
    assert read == {"d1": {"DB": "db-2", "OTHER": ""}, "vars": {"EMPTY": ""}, "secrets": {"KEY": ""}, "assets": {}}


def test_each_kind_shows_itself_for_inspect() -> None:
    shown = {kind.key: kind.show("NAME", "v") for kind in KINDS}
    assert shown == {
        "d1": "NAME: d1 (v)",
        "vars": "NAME: plain_text",
        "secrets": "NAME: secret (value hidden)",
        "assets": "NAME: assets",
    }
    assert next(kind for kind in KINDS if kind.key == "d1").show("DB", "") == "DB: d1"
