"""Planning a rotation: the binding list it writes, the ledger it leaves, and what it refuses."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from deployer.errors import ConfigError
from deployer.rotation import parse_mode, plan_rotation
from deployer.secret_ledger import NO_INPUT, SecretLedger, SecretRecord, key_id_of, name_key, value_key
from deployer.state import RemoteState
from tests.unit.test_plan import NOW, TOKEN, deployed, plan_for, write_shop

DEPLOYED = [
    {"name": "DB", "type": "d1", "id": "db-1"},
    {"name": "ASSETS", "type": "assets"},
    {"name": "MODE", "type": "plain_text", "text": "live"},
    {"name": "APP_PASSWORD", "type": "secret_text"},
    {"name": "SESSION_SECRET", "type": "secret_text"},
]
WITH_PREVIOUS = [*DEPLOYED, {"name": "SESSION_SECRET_PREVIOUS", "type": "secret_text"}]


def test_a_graceful_rotation_keeps_every_binding_and_moves_the_old_key() -> None:
    rotation = plan_rotation("shop", (), mode=None, deployed=WITH_PREVIOUS, given={})
    assert (rotation.names, rotation.generated, rotation.mode) == (("SESSION_SECRET",), ("SESSION_SECRET",), "graceful")
    assert rotation.bindings({"SESSION_SECRET": "k2"}) == [
        {"type": "inherit", "name": "DB"},
        {"type": "inherit", "name": "ASSETS"},
        {"type": "inherit", "name": "MODE"},
        {"type": "inherit", "name": "APP_PASSWORD"},
        {"type": "inherit", "name": "SESSION_SECRET_PREVIOUS", "old_name": "SESSION_SECRET"},
        {"type": "secret_text", "name": "SESSION_SECRET", "text": "k2"},
    ]


def test_a_revoke_drops_the_previous_key_and_says_so() -> None:
    rotation = plan_rotation("shop", ("SESSION_SECRET",), mode="revoke", deployed=WITH_PREVIOUS, given={})
    names = [binding["name"] for binding in rotation.bindings({"SESSION_SECRET": "k3"})]
    assert names == ["DB", "ASSETS", "MODE", "APP_PASSWORD", "SESSION_SECRET"]
    assert rotation.describe()[1] == (
        "  SESSION_SECRET: a new key; the old one (and the previous one) is revoked: every session ends"
    )


def test_the_version_path_inherits_from_the_deployed_version() -> None:
    """Every kept binding, and the moved key, name the version they come from."""
    rotation = plan_rotation("shop", ("APP_PASSWORD",), mode=None, deployed=DEPLOYED, given={"APP_PASSWORD": "n"})
    bindings = rotation.bindings({"APP_PASSWORD": "n"}, version_id="v-1")
    assert all(b.get("version_id") == "v-1" for b in bindings if b["type"] == "inherit")
    assert bindings[-1] == {"type": "secret_text", "name": "APP_PASSWORD", "text": "n"}
    assert rotation.mode is None and rotation.generated == ()


def test_the_ledger_keeps_the_deployed_input_and_marks_rotate() -> None:
    """So a push with the same input sends nothing over the rotated value; the previous key is recorded too."""
    then = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    hashed = value_key("APP_PASSWORD", "pw", key=TOKEN)
    previous = SecretLedger(key_id_of(TOKEN), (SecretRecord(name_key("APP_PASSWORD"), hashed, then, "deploy"),))
    rotation = plan_rotation("shop", ("APP_PASSWORD",), mode=None, deployed=DEPLOYED, given={"APP_PASSWORD": "n"})
    after = rotation.ledger(previous, key_id=key_id_of(TOKEN), now=NOW)
    assert after.record("APP_PASSWORD") == SecretRecord(name_key("APP_PASSWORD"), hashed, NOW, "rotate")
    under_another_token = rotation.ledger(previous, key_id=key_id_of("other"), now=NOW).record("APP_PASSWORD")
    assert under_another_token is not None and under_another_token.value == NO_INPUT
    graceful = plan_rotation("shop", (), mode=None, deployed=DEPLOYED, given={}).ledger(None, key_id="abcd", now=NOW)
    assert {r.name_key for r in graceful.records} == {name_key("SESSION_SECRET"), name_key("SESSION_SECRET_PREVIOUS")}
    revoked = plan_rotation("shop", (), mode="revoke", deployed=WITH_PREVIOUS, given={}).ledger(
        graceful, key_id="abcd", now=NOW
    )
    assert revoked.record("SESSION_SECRET_PREVIOUS") is None


def test_a_push_with_force_keeps_a_rotated_value(tmp_path: Path) -> None:
    """--force re-sends what a deploy sent (a repair), not an input over a value rotate wrote since."""
    app_dir = write_shop(tmp_path)
    remote = deployed(app_dir, APP_PASSWORD="pw")
    rotation = plan_rotation("shop", ("APP_PASSWORD",), mode=None, deployed=DEPLOYED, given={"APP_PASSWORD": "n"})
    rotated = dataclasses.replace(remote, ledger=rotation.ledger(remote.ledger, key_id=key_id_of(TOKEN), now=NOW))
    assert plan_for(app_dir, rotated, force=True, APP_PASSWORD="pw").send_secrets == ()
    assert plan_for(app_dir, remote, force=True, APP_PASSWORD="pw").send_secrets == ("APP_PASSWORD",)
    assert plan_for(app_dir, rotated, force=True, APP_PASSWORD="changed").send_secrets == ("APP_PASSWORD",)


def test_no_worker_is_refused() -> None:
    with pytest.raises(ConfigError, match="no Worker named shop"):
        plan_rotation("shop", (), mode=None, deployed=None, given={})


@pytest.mark.parametrize(("text", "mode"), [("", None), ("Graceful", "graceful"), (" revoke ", "revoke")])
def test_modes_are_read_in_any_case(text: str, mode: str | None) -> None:
    assert parse_mode(text, source="input mode") == mode


def test_an_unknown_mode_names_its_source() -> None:
    with pytest.raises(ConfigError, match="--mode must be one of graceful, revoke, not 'soft'"):
        parse_mode("soft", source="--mode")


def test_remote_state_reads_the_ledger_on_its_own() -> None:
    """A Worker whose other state tags are missing (another tool deployed it) still keeps its rotation record."""
    ledger = SecretLedger("abcd", (SecretRecord(name_key("APP_PASSWORD"), NO_INPUT, NOW, "rotate"),))
    remote = RemoteState.from_settings({"tags": ["team-a", f"ds1-secrets-{ledger.tag_value()}"]})
    assert remote.digests is None
    assert remote.ledger == ledger
