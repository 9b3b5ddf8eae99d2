"""How the plan treats the app's SQL files: which apps touch the database, and how a change of a migration or
of the seed is recorded and noticed."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.state import RemoteState
from tests.unit.test_plan import deployed, plan_for, write_shop


@pytest.mark.parametrize(
    ("files", "touches"),
    [
        ({}, False),
        ({"schema.sql": "CREATE TABLE t (x);"}, True),
        ({"seed.sql": "INSERT INTO t VALUES (1);"}, True),
        ({"migrations/0001_a.sql": "CREATE TABLE t (x);"}, True),
    ],
)
def test_a_first_deploy_applies_sql_only_when_the_app_has_some(
    tmp_path: Path, files: dict[str, str], touches: bool
) -> None:
    root = write_shop(tmp_path)
    (root / "schema.sql").unlink()
    for name, text in files.items():
        (root / name).parent.mkdir(exist_ok=True)
        (root / name).write_text(text)
    plan = plan_for(root, RemoteState(exists=False), APP_PASSWORD="pw")
    assert plan.apply_schema is touches


@pytest.mark.parametrize("changed", ["migrations/0001_a.sql", "seed.sql"])
def test_a_new_migration_or_seed_is_a_schema_change_recorded_in_the_schema_tag(tmp_path: Path, changed: str) -> None:
    root = write_shop(tmp_path)
    remote = deployed(root)
    (root / "migrations").mkdir()
    (root / changed).write_text("SELECT 1;")
    plan = plan_for(root, remote)
    assert str(plan.changes) == "schema" and plan.apply_schema and plan.update_tags_only
    assert plan.schema_changed is False  # schema.sql itself is as deployed
    (schema_tag,) = [tag for tag in plan.tags if tag.startswith("ds1-schema-")]
    schema, sql = schema_tag.removeprefix("ds1-schema-").split("-")
    assert len(schema) == 16 and len(sql) == 12
