"""Naming a version for `rollback --to`, and the tags a rollback leaves."""

from __future__ import annotations

import pytest

from deployer.commands._rollback import restored_tags
from deployer.commands.rollback import pick_version
from deployer.errors import ConfigError

VERSIONS = [
    {"id": "12345678-aaaa-4bbb-8ccc-000000000003", "number": 3},
    {"id": "abcdef01-aaaa-4bbb-8ccc-000000000002", "number": 2},
    {"id": "abcdef99-aaaa-4bbb-8ccc-000000000001", "number": 1},
]


@pytest.mark.parametrize(
    ("wanted", "found"),
    [
        ("2", "abcdef01-aaaa-4bbb-8ccc-000000000002"),
        ("abcdef01", "abcdef01-aaaa-4bbb-8ccc-000000000002"),
        ("ABCDEF99", "abcdef99-aaaa-4bbb-8ccc-000000000001"),
        ("12345678", "12345678-aaaa-4bbb-8ccc-000000000003"),  # all digits: no such number, so an id prefix
        ("abcdef99-aaaa-4bbb-8ccc-000000000001", "abcdef99-aaaa-4bbb-8ccc-000000000001"),
    ],
)
def test_a_version_is_named_by_number_id_or_prefix(wanted: str, found: str) -> None:
    assert pick_version(wanted, VERSIONS) == found


@pytest.mark.parametrize("wanted", ["abcdef", "abcdef0", "4", "abcdef0x", ""])
def test_a_short_unknown_or_ambiguous_name_is_refused(wanted: str) -> None:
    with pytest.raises(ConfigError, match="No single version"):
        pick_version(wanted, VERSIONS)


def test_a_prefix_shared_by_two_versions_is_refused() -> None:
    twins = [{"id": "abcdef01-0000", "number": 1}, {"id": "abcdef01-1111", "number": 2}]
    with pytest.raises(ConfigError, match=r"\(2 match\)"):
        pick_version("abcdef01", twins)


def test_restored_tags_keep_the_schema_tag_of_the_deploy() -> None:
    """D1 is not rolled back: the database keeps what the deploy applied, so its tag stays the new one."""
    before = ["team", "ds1-code-a", "ds1-schema-old", "ds1-secrets-k-x"]
    planned = ["team", "ds1-code-b", "ds1-schema-new", "ds1-secrets-k-y"]
    assert restored_tags(before, planned) == ["team", "ds1-code-a", "ds1-secrets-k-x", "ds1-schema-new"]
    assert restored_tags(before, ["team"]) == ["team", "ds1-code-a", "ds1-secrets-k-x", "ds1-schema-old"]
