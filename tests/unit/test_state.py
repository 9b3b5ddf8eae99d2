"""The deploy state's digests: stable across releases, and each moved only by the input it covers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from deployer.app import load_app
from deployer.settings import Settings
from deployer.state import Digests, local_digests

KEY = "api-token"
FULL_APP_YML = (
    "compatibility_date: 2025-01-01\ncompatibility_flags: [nodejs_compat]\n"
    "vars: {MODE: 'prod – café'}\nsecrets: [APP_PASSWORD]\n"
)


def write_app(tmp_path: Path) -> Path:
    """An app with every input: worker.js, an asset with _headers and _redirects, a schema, flags, a var."""
    root = tmp_path / "shop"
    (root / "public").mkdir(parents=True)
    (root / "worker.js").write_text("export default {}")
    (root / "public" / "index.html").write_text("<h1>shop</h1>")
    (root / "public" / "_headers").write_text("/*\n  X-Frame-Options: DENY\n")
    (root / "public" / "_redirects").write_text("/old /new 301\n")
    (root / "schema.sql").write_text("CREATE TABLE t (id INTEGER);")
    (root / "app.yml").write_text(FULL_APP_YML)
    return root


def digests_of(root: Path) -> Digests:
    settings = Settings.load(cli={"app_dir": root}, environ={"CLOUDFLARE_API_TOKEN": KEY})
    return local_digests(settings, load_app(root))


def test_the_digests_of_an_app_are_the_same_in_every_release(tmp_path: Path) -> None:
    """Digests recorded by an earlier release must match: a change of how they are computed redeploys every app.

    Non-ASCII text (a var) is hashed as UTF-8, keys in sorted order. (Secrets are in the ledger, whose HMACs
    are pinned in test_secret_ledger.py.)
    """
    root = write_app(tmp_path)
    assert digests_of(root) == Digests(
        code="9aeb8d59b4d483ca",
        assets="c9f80ce491612c42",
        assets_count=1,
        config="3286316640c532ca",
        schema="3a87be158f3115dd",
        secrets=None,
    )
    shutil.rmtree(root / "public")
    (root / "schema.sql").unlink()
    (root / "app.yml").write_text("compatibility_date: 2025-01-01\n")
    assert digests_of(root) == Digests(
        code="9aeb8d59b4d483ca",
        assets="ced785adb0403b25",
        assets_count=0,
        config="eeed3bf766cf24d7",
        schema="e3b0c44298fc1c14",  # the digest of no bytes: no schema is an empty one
        secrets=None,
    )


def edit(root: Path, relative: str, text: str) -> None:
    (root / relative).write_text(text)


def with_app_yml(extra: str) -> str:
    return FULL_APP_YML + extra


@pytest.mark.parametrize(
    ("path", "text", "moved"),
    [
        pytest.param("worker.js", "export default { fetch() {} }", {"code"}, id="worker"),
        pytest.param("public/index.html", "<h1>shop v2</h1>", {"assets"}, id="asset-content"),
        pytest.param("public/about.html", "<p>about</p>", {"assets", "assets_count"}, id="asset-added"),
        pytest.param("public/_headers", "/*\n  X-Frame-Options: SAMEORIGIN\n", {"assets"}, id="headers"),
        pytest.param("public/_redirects", "/old /newer 302\n", {"assets"}, id="redirects"),
        pytest.param("app.yml", with_app_yml("assets: {html_handling: none}\n"), {"assets"}, id="asset-config"),
        pytest.param("app.yml", FULL_APP_YML.replace("café", "cafe"), {"config"}, id="var"),
        pytest.param("app.yml", FULL_APP_YML.replace("2025-01-01", "2025-02-01"), {"config"}, id="date"),
        pytest.param("app.yml", FULL_APP_YML.replace("[nodejs_compat]", "[]"), {"config"}, id="flags"),
        pytest.param("app.yml", with_app_yml("d1: {name: other-db}\n"), {"config"}, id="database-name"),
        pytest.param("app.yml", with_app_yml("d1: {binding: DATA}\n"), {"config"}, id="database-binding"),
        pytest.param("schema.sql", "CREATE TABLE t (id INTEGER, name TEXT);", {"schema"}, id="schema"),
    ],
)
def test_each_input_moves_only_its_own_digest(tmp_path: Path, path: str, text: str, moved: set[str]) -> None:
    """A change of one input changes the digests that cover it and no other (so only that step runs)."""
    root = write_app(tmp_path)
    before = digests_of(root)
    edit(root, path, text)
    after = digests_of(root)
    fields = ("code", "assets", "assets_count", "config", "schema", "secrets")
    assert {name for name in fields if getattr(before, name) != getattr(after, name)} == moved


def test_seed_and_migrations_share_the_schema_tag_and_an_app_without_them_keeps_its_old_tag(tmp_path: Path) -> None:
    """seed.sql and migrations/ ride in the schema tag after a `-` (12 hex), within 40 characters; an app with
    neither writes the tag as releases before migrations did, so upgrading redeploys nothing."""
    root = write_app(tmp_path)
    plain = digests_of(root)
    assert plain.migrations == ""
    assert f"ds1-schema-{plain.schema}" in plain.as_tags()
    edit(root, "seed.sql", "INSERT INTO t VALUES (1);")
    seeded = digests_of(root)
    (root / "migrations").mkdir()
    edit(root, "migrations/0001_a.sql", "ALTER TABLE t ADD COLUMN a INT;")
    migrated = digests_of(root)
    assert len({seeded.migrations, migrated.migrations}) == 2
    assert all(len(d.migrations) == 12 and d.schema == plain.schema for d in (seeded, migrated))
    tag = f"ds1-schema-{migrated.schema}-{migrated.migrations}"
    assert tag in migrated.as_tags() and len(tag) <= 40
    assert Digests.from_tags(migrated.as_tags()) == migrated
    assert Digests.from_tags(plain.as_tags()) == plain


def test_the_sql_digest_of_an_app_is_the_same_in_every_release(tmp_path: Path) -> None:
    """seed.sql and each migration (name and text) move the digest; its values are pinned like the others'."""
    root = write_app(tmp_path)
    edit(root, "seed.sql", "INSERT INTO t VALUES (1);")
    assert digests_of(root).migrations == "75db515634b5"
    (root / "migrations").mkdir()
    edit(root, "migrations/0001_a.sql", "ALTER TABLE t ADD COLUMN a INT;")
    assert digests_of(root).migrations == "ed01080a6b4d"
    (root / "seed.sql").unlink()
    assert digests_of(root).migrations == "d3d9b53d2971"
