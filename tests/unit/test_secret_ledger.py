"""The secret ledger: a push sends a secret only when its input changed, and never undoes a rotation."""

from __future__ import annotations

import datetime as dt

import pytest

from deployer.secret_ledger import (
    NO_INPUT,
    ChangedBy,
    Decision,
    SecretLedger,
    SecretRecord,
    key_id_of,
    name_key,
    to_send,
    value_key,
)

TOKEN = "api-token"
THEN = dt.datetime(2026, 11, 1, 3, 17, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def record(name: str, value: str | None, by: ChangedBy, *, key: str = TOKEN, at: dt.datetime = THEN) -> SecretRecord:
    """`name`'s entry; `value` is the input a deploy sent (None: none, as after a generation or a rotation)."""
    hashed = NO_INPUT if value is None else value_key(name, value, key=key)
    return SecretRecord(name_key(name), hashed, at, by)


def ledger(*records: SecretRecord, key: str = TOKEN) -> SecretLedger:
    return SecretLedger(key_id_of(key), records)


def decide(
    given: dict[str, str],
    previous: SecretLedger | None,
    *,
    key: str = TOKEN,
    lost: tuple[str, ...] = (),
    bound: tuple[str, ...] = ("APP_PASSWORD", "API_KEY", "SESSION_SECRET"),
) -> Decision:
    """A deploy given `given` (name → input) over the Worker's `bound` secrets and its `previous` ledger."""
    hashed = {name: value_key(name, value, key=key) for name, value in given.items()}
    return to_send(hashed, (), previous, current=key_id_of(key), lost=lost, bound=bound, now=NOW)


def test_the_hmacs_are_the_same_in_every_release() -> None:
    """Pinned: a change of how they are computed would re-send every app's secrets once."""
    assert name_key("APP_PASSWORD") == "dd7f"
    assert value_key("APP_PASSWORD", "pässwörd", key=TOKEN) == "06735a4b"
    assert value_key("APP_PASSWORD", "pässwörd", key="another-token") != "06735a4b"
    assert value_key("API_KEY", "pässwörd", key=TOKEN) != "06735a4b"
    assert key_id_of(TOKEN) == "95ec"


def test_a_ledger_round_trips_through_its_tag_in_minutes() -> None:
    """Each entry is 19 characters of [0-9a-z]; the time keeps minutes; the order of records does not matter."""
    one = ledger(record("APP_PASSWORD", "pw", "deploy"), record("SESSION_SECRET", None, "rotate", at=NOW))
    value = one.tag_value()
    assert len(value) == 4 + 2 * 20
    assert value.replace("-", "").isalnum() and value == value.lower()
    back = SecretLedger.parse(value)
    assert back is not None
    assert back.tag_value() == value
    assert back.record("SESSION_SECRET") == record("SESSION_SECRET", None, "rotate", at=NOW)
    assert SecretLedger(one.key_id, tuple(reversed(one.records))).tag_value() == value


@pytest.mark.parametrize("value", ["bc1805fca7821734", "", "zzzz", "3a0e-short", "3a0e-" + "x" * 19])
def test_anything_else_is_no_ledger(value: str) -> None:
    """The single digest of earlier releases, or a damaged tag: no ledger, so every given secret is sent once."""
    assert SecretLedger.parse(value) is None


def test_with_no_ledger_every_given_secret_is_sent() -> None:
    assert decide({"APP_PASSWORD": "pw", "API_KEY": "k"}, None).send == ("API_KEY", "APP_PASSWORD")


def test_an_unchanged_input_is_not_sent_and_a_changed_one_is() -> None:
    """Per secret: a new API_KEY goes alone; the unchanged password stays as deployed."""
    previous = ledger(record("APP_PASSWORD", "pw", "deploy"), record("API_KEY", "k1", "deploy"))
    decision = decide({"APP_PASSWORD": "pw", "API_KEY": "k2"}, previous)
    assert decision.send == ("API_KEY",)
    assert decision.ledger.record("API_KEY") == record("API_KEY", "k2", "deploy", at=NOW)
    assert decision.ledger.record("APP_PASSWORD") == previous.record("APP_PASSWORD")


def test_a_rotated_value_survives_a_push_with_the_old_input() -> None:
    """`rotate` keeps the HMAC of the input last deployed: the same input again is not sent over the rotation."""
    previous = ledger(record("APP_PASSWORD", "old", "rotate"))
    decision = decide({"APP_PASSWORD": "old"}, previous)
    assert decision.send == ()
    assert decision.adopted == ()
    assert decision.ledger.record("APP_PASSWORD") == previous.record("APP_PASSWORD")


def test_a_new_input_after_a_rotation_is_sent() -> None:
    """The user changed the repository's value since: that is a new intent, and it wins."""
    decision = decide({"APP_PASSWORD": "newer"}, ledger(record("APP_PASSWORD", "old", "rotate")))
    assert decision.send == ("APP_PASSWORD",)
    assert decision.ledger.record("APP_PASSWORD") == record("APP_PASSWORD", "newer", "deploy", at=NOW)


def test_a_rotation_without_a_known_input_is_kept_and_the_input_adopted() -> None:
    """Rotated where no deploy had sent an input: the rotated value stays; this input becomes the baseline."""
    decision = decide({"SESSION_SECRET": "given"}, ledger(record("SESSION_SECRET", None, "rotate")))
    assert decision.send == ()
    assert decision.adopted == ("SESSION_SECRET",)
    assert decision.ledger.record("SESSION_SECRET") == record("SESSION_SECRET", "given", "rotate")


def test_a_new_token_resends_deployed_inputs_once_but_keeps_rotated_values() -> None:
    """Under another token no HMAC compares: what a deploy sent is sent again, what `rotate` wrote is kept."""
    previous = ledger(record("APP_PASSWORD", "pw", "deploy"), record("API_KEY", "k", "rotate"), key="old-token")
    decision = decide({"APP_PASSWORD": "pw", "API_KEY": "k"}, previous, key="new-token")
    assert decision.send == ("APP_PASSWORD",)
    assert decision.adopted == ("API_KEY",)
    assert decision.ledger.key_id == key_id_of("new-token")
    again = decide({"APP_PASSWORD": "pw", "API_KEY": "k"}, decision.ledger, key="new-token")
    assert (again.send, again.adopted) == ((), ())


def test_records_left_under_an_old_token_compare_with_nothing() -> None:
    """A secret not given in the run that changed the token keeps its record, but its HMAC is cleared."""
    previous = ledger(record("APP_PASSWORD", "pw", "deploy"), record("API_KEY", "k", "deploy"), key="old-token")
    after = decide({"APP_PASSWORD": "pw"}, previous, key="new-token").ledger
    kept = after.record("API_KEY")
    assert kept is not None and kept.value == NO_INPUT
    assert decide({"API_KEY": "k"}, after, key="new-token").send == ("API_KEY",)


def test_a_lost_secret_is_sent_whatever_the_ledger_says() -> None:
    previous = ledger(record("APP_PASSWORD", "pw", "rotate"))
    assert decide({"APP_PASSWORD": "pw"}, previous, lost=("APP_PASSWORD",)).send == ("APP_PASSWORD",)


def test_generated_secrets_are_recorded_and_gone_ones_dropped() -> None:
    """A generated SESSION_SECRET gets a "generated" record; a secret the Worker no longer has leaves the ledger."""
    previous = ledger(record("OLD", "x", "deploy"))
    decision = to_send({}, ("SESSION_SECRET",), previous, current=key_id_of(TOKEN), lost=(), bound=(), now=NOW)
    assert decision.ledger.records == (record("SESSION_SECRET", None, "generated", at=NOW),)


def test_a_first_input_over_a_generated_key_is_sent() -> None:
    """A generated SESSION_SECRET protects no rotation: the value the user now gives replaces it."""
    previous = ledger(record("SESSION_SECRET", None, "generated"))
    decision = decide({"SESSION_SECRET": "chosen"}, previous)
    assert decision.send == ("SESSION_SECRET",)
    assert decide({"SESSION_SECRET": "chosen"}, decision.ledger).send == ()
