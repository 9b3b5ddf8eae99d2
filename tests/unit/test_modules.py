"""A Worker split into local modules: which imports are followed, how they are named, and what is refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deployer.app import load_app
from deployer.errors import ConfigError
from deployer.modules import Module, imported_specifiers, load_modules
from deployer.settings import Settings
from deployer.state import local_digests


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_static_export_from_side_effect_and_literal_dynamic_imports_are_found() -> None:
    code = b"""import { a,
  b as c } from "./one.js";
import * as ns from './two.mjs';
import "./side.js";
export { d } from "./three.js";
export * from "../up.js";
import { env } from "cloudflare:workers";
const later = await import("./lazy.js");
export default { fetch() { return new Response("import x from './not-a-statement.js'") } };
// import y from "./commented.js"
"""
    assert imported_specifiers(code) == [
        "./one.js",
        "./two.mjs",
        "./side.js",
        "./three.js",
        "../up.js",
        "cloudflare:workers",
        "./lazy.js",
    ]


def test_modules_are_named_by_their_path_in_the_app_folder(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "worker.js": 'import { items } from "./lib/items.js";\nimport { env } from "cloudflare:workers";\n',
            "lib/items.js": 'export { hash } from "../shared/hash.mjs";\nimport "./items.js";\n',
            "shared/hash.mjs": "export const hash = 1;\n",
        },
    )
    assert load_modules(root, "worker.js", max_bytes=10_000) == (
        Module("lib/items.js", (root / "lib/items.js").read_bytes()),
        Module("shared/hash.mjs", (root / "shared/hash.mjs").read_bytes()),
    )


@pytest.mark.parametrize(
    ("specifier", "words"),
    [
        ("https://esm.sh/hono", "a Worker cannot import a URL"),
        ("../outside.js", "leads outside the app folder"),
        ("./lib/../../outside.js", "leads outside the app folder"),
        ("./missing.js", "missing.js is not in the app folder"),
    ],
)
def test_an_import_that_no_bundle_could_resolve_is_refused_by_name(tmp_path: Path, specifier: str, words: str) -> None:
    root = write(tmp_path / "app", {"worker.js": f'import x from "{specifier}";\n'})
    with pytest.raises(ConfigError, match=words) as refused:
        load_app(root)
    assert f"worker.js imports {specifier!r}" in refused.value.message


def test_a_module_linked_from_outside_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.js").write_text("export const token = 'x';\n")
    root = write(tmp_path / "app", {"worker.js": 'import { token } from "./lib.js";\n'})
    os.symlink(tmp_path / "secret.js", root / "lib.js")
    with pytest.raises(ConfigError, match="leads outside the app folder"):
        load_app(root)


def test_the_code_digest_covers_the_modules_and_is_unchanged_without_them(tmp_path: Path) -> None:
    root = write(tmp_path / "app", {"worker.js": 'import { a } from "./a.js";\n', "a.js": "export const a = 1;\n"})
    settings = Settings.load(cli={"app_dir": root}, environ={})
    before = local_digests(settings, load_app(root)).code
    (root / "a.js").write_text("export const a = 2;\n")
    assert local_digests(settings, load_app(root)).code != before
    alone = write(tmp_path / "alone", {"worker.js": "export default {};\n"})
    settings_alone = Settings.load(cli={"app_dir": alone}, environ={})
    assert local_digests(settings_alone, load_app(alone)).code == "450f0af4f4c1ecc4"  # as every release recorded


def test_the_import_scanner_takes_linear_time_on_a_hostile_file() -> None:
    """Hundreds of thousands of unfinished import lines (a fork's worker.js) are scanned in well under a second
    each time; a quadratic pattern took hours on 5 MB."""
    for body in (b"import x\n" * 200_000, b"export {\n" * 200_000, b"import {" + b"a," * 1_000_000):
        assert imported_specifiers(body) == []


def test_modules_are_read_only_until_the_size_limit(tmp_path: Path) -> None:
    root = write(tmp_path / "app", {"worker.js": 'import "./a.js";\n', "a.js": "x" * 200})
    with pytest.raises(ConfigError, match=r"worker\.js and the modules it imports are over 100 bytes \(at a\.js\)"):
        load_modules(root, "worker.js", max_bytes=100)
