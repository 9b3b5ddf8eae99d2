"""What a deploy changes, as the one typed value the outputs, summaries and plans read."""

from __future__ import annotations

from deployer.changes import ALL_KINDS, Changes


def test_a_first_deploy_changes_everything_and_says_first_deploy() -> None:
    first = Changes.first()
    assert (first.reason, first.kinds, str(first), first.nothing) == ("first", ALL_KINDS, "first-deploy", False)


def test_a_forced_deploy_lists_every_kind() -> None:
    forced = Changes.forced()
    assert (forced.reason, forced.kinds) == ("forced", ALL_KINDS)
    assert str(forced) == "code,assets,config,schema,secrets,triggers"


def test_an_update_keeps_the_kinds_in_their_order_and_nothing_is_nothing() -> None:
    update = Changes.of({"schema", "code"})
    assert (update.reason, update.kinds, str(update)) == ("update", ("code", "schema"), "code,schema")
    assert "code" in update and "assets" not in update
    nothing = Changes.of(set())
    assert (nothing.reason, nothing.kinds, str(nothing), nothing.nothing) == ("nothing", (), "nothing", True)
