"""wrangler.toml / wrangler.json / wrangler.jsonc as settings: what maps, what is refused, what is noted."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.app import load_app
from deployer.errors import ConfigError
from deployer.settings import Settings
from deployer.wrangler_config import read_wrangler_config, strip_jsonc

TOML = """
name = "shop"
main = "src/index.js"
compatibility_date = "2025-02-01"
compatibility_flags = ["nodejs_compat"]
[vars]
MODE = "live"
[assets]
directory = "./dist"
binding = "STATIC"
html_handling = "none"
run_worker_first = true
[[d1_databases]]
binding = "DATA"
database_name = "shop-db"
database_id = "00000000-0000-0000-0000-000000000000"
migrations_dir = "db/migrations"
"""


def load(root: Path) -> Settings:
    return Settings.load(cli={"app_dir": root}, environ={})


def test_a_wrangler_toml_becomes_the_settings(tmp_path: Path) -> None:
    (tmp_path / "wrangler.toml").write_text(TOML)
    (tmp_path / "dist").mkdir()
    settings = load(tmp_path)
    assert (settings.name, settings.main, settings.compatibility_date) == ("shop", "src/index.js", "2025-02-01")
    assert settings.compatibility_flags == ("nodejs_compat",)
    assert settings.vars == {"MODE": "live"}
    assert (settings.assets.html_handling, settings.assets.run_worker_first) == ("none", True)
    assert (settings.d1.name, settings.d1.binding) == ("shop-db", "DATA")
    assert (settings.assets_dir, settings.assets_binding, settings.migrations_dir) == (
        "dist",
        "STATIC",
        "db/migrations",
    )
    assert settings.notes == (
        "d1_databases.database_id is not used: the database is found by its name (database_name), or created, "
        "as on every deploy",
    )


def test_json_and_jsonc_read_the_same_and_json_comes_first(tmp_path: Path) -> None:
    (tmp_path / "wrangler.jsonc").write_text(
        '{\n  // the shop\n  "name": "shop-jsonc", /* inline */ "vars": {"URL": "https://x.example/a//b"},\n}\n'
    )
    assert load(tmp_path).name == "shop-jsonc"
    assert load(tmp_path).vars == {"URL": "https://x.example/a//b"}  # "//" inside a string is not a comment
    (tmp_path / "wrangler.json").write_text('{"name": "shop-json"}')
    assert load(tmp_path).name == "shop-json"


def test_app_yml_wins_when_both_exist(tmp_path: Path) -> None:
    (tmp_path / "wrangler.toml").write_text(TOML)  # (its dist/ is missing: not even read)
    (tmp_path / "app.yml").write_text("name: from-app-yml\n")
    settings = load(tmp_path)
    assert (settings.name, settings.main, settings.vars) == ("from-app-yml", "worker.js", {})


def test_everything_unsupported_is_named_at_once(tmp_path: Path) -> None:
    (tmp_path / "wrangler.toml").write_text(
        'name = "shop"\nworkers_dev = false\nroutes = ["a.example/*"]\n[vars]\nN = 3\n[assets]\nserve_directly = 1\n'
        '[build]\ncommand = "npm run build"\n[[d1_databases]]\nbinding = "DB"\ndatabase_id = "x"\n'
        '[ai]\nbinding = "AI"\n[env.staging]\nname = "shop-staging"\n'
    )
    with pytest.raises(ConfigError) as refused:
        load(tmp_path)
    message = refused.value.message
    for words in (
        "workers_dev = false",
        "routes: this deployer serves the app on workers.dev only",
        "vars.N: only text vars are supported",
        "assets.serve_directly: not supported by this deployer",
        "build: run the build in a workflow step before deploying",
        "d1_databases.database_name: missing; this deployer finds (or creates) the database by its name",
        "ai: the AI binding is not supported",
        "env: one environment per app",
    ):
        assert words in message, message
    assert refused.value.file == tmp_path / "wrangler.toml"


def test_tooling_keys_are_noted_not_refused(tmp_path: Path) -> None:
    (tmp_path / "wrangler.json").write_text('{"name": "shop", "$schema": "x", "observability": {"enabled": true}}')
    assert load(tmp_path).notes == (
        "wrangler.json: $schema is not applied by this deployer",
        "wrangler.json: observability is not applied by this deployer",
    )


@pytest.mark.parametrize("main", ["../worker.js", "/etc/x.js", "src/index.py", "a\\\\b.js"])
def test_a_main_outside_the_folder_or_not_a_module_is_refused(tmp_path: Path, main: str) -> None:
    (tmp_path / "wrangler.json").write_text(f'{{"main": "{main}"}}')
    with pytest.raises(ConfigError, match=r"must be a \.js, \.mjs or \.ts file inside the app folder"):
        load(tmp_path)


def test_a_file_that_does_not_parse_is_named(tmp_path: Path) -> None:
    (tmp_path / "wrangler.toml").write_text('name = "unterminated\n')
    with pytest.raises(ConfigError, match=r"wrangler\.toml does not parse"):
        read_wrangler_config(tmp_path)


def test_jsonc_trailing_commas_and_escaped_quotes() -> None:
    assert strip_jsonc('{"a": "q\\"//x", "b": [1, 2,], /* c */}') == '{"a": "q\\"//x", "b": [1, 2]}'


def test_a_main_in_a_subfolder_is_the_main_module_and_its_imports_resolve_from_there(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "index.js").write_text('import { x } from "./lib.js";\nexport default {};\n')
    (tmp_path / "src" / "lib.js").write_text("export const x = 1;\n")
    (tmp_path / "wrangler.json").write_text('{"name": "shop", "main": "./src/index.js"}')
    settings = load(tmp_path)
    app = load_app(tmp_path, settings.main)
    assert (app.main, [module.name for module in app.modules]) == ("src/index.js", ["src/lib.js"])


@pytest.mark.parametrize(
    ("config", "dropped"),
    [
        ('{"name": "someone-elses-app"}', "name"),
        ('{"d1_databases": [{"binding": "DB", "database_name": "prod-db"}]}', "d1_databases.database_name"),
        ('{"account_id": "0123456789abcdef0123456789abcdef"}', "account_id"),
    ],
)
def test_on_a_workflow_run_a_wrangler_file_does_not_choose_the_worker_database_or_account(
    tmp_path: Path, config: str, dropped: str
) -> None:
    """The fork-preview pattern deploys a pull request's files: their wrangler file's names are left out (the
    workflow's inputs name the app), with a note; nearly every wrangler file has them, so they are not refused."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "wrangler.json").write_text(config)
    environ = {"GITHUB_EVENT_NAME": "workflow_run", "INPUT_NAME": "my-app"}
    settings = Settings.load(cli={"app_dir": app}, environ=environ)
    assert (settings.name, settings.d1.name, settings.account_id) == ("my-app", None, None)
    assert settings.database_name == "my-app-db"
    assert any(f"{dropped} not used on this workflow_run run" in note for note in settings.notes)


def test_a_named_assets_folder_must_exist_and_no_assets_section_means_no_assets(tmp_path: Path) -> None:
    """wrangler fails on a missing assets folder, and publishes nothing without [assets]: public/ is not enough."""
    (tmp_path / "public").mkdir()
    (tmp_path / "wrangler.json").write_text('{"name": "shop", "assets": {"directory": "./dist"}}')
    with pytest.raises(ConfigError, match=r"assets\.directory = './dist': there is no such folder"):
        load(tmp_path)
    (tmp_path / "wrangler.json").write_text('{"name": "shop"}')
    assert load(tmp_path).assets_dir is None
    (tmp_path / "public" / "index.html").write_text("<h1>source, not assets</h1>")
    (tmp_path / "worker.js").write_text("export default {};\n")
    assert load_app(tmp_path, assets_dir=load(tmp_path).assets_dir).manifest is None


def test_keys_that_are_not_wranglers_are_refused_even_beside_assets(tmp_path: Path) -> None:
    (tmp_path / "wrangler.json").write_text('{"assets_dir": "x", "d1": {}, "migrations_dir": "y"}')
    with pytest.raises(ConfigError) as refused:
        load(tmp_path)
    for key in ("assets_dir", "d1", "migrations_dir"):
        assert f"{key}: not supported by this deployer" in refused.value.message


def test_a_deeply_nested_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "wrangler.json").write_text("[" * 100_000)
    with pytest.raises(ConfigError, match="does not parse"):
        read_wrangler_config(tmp_path)
