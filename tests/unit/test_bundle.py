"""Bundling with the pinned esbuild: when a Worker is bundled, what the bundle is, and every error a user can
fix, named with its file and line. These run the real esbuild binary from the checkout's node_modules."""

from __future__ import annotations

import base64
import json
import os
import random
import re
import shutil
from pathlib import Path

import pytest

from deployer.app import LocalApp, load_app
from deployer.bundle import ESBUILD_VERSION, build_bundle, find_esbuild, parse_esbuild_errors
from deployer.errors import ConfigError
from deployer.settings import Settings
from deployer.state import local_digests
from devkit.example import REPO

FIXTURE = REPO / "tests" / "fixtures" / "ts-app"


def copy_fixture(to: Path) -> Path:
    shutil.copytree(FIXTURE, to, symlinks=True)
    return to


def load_fixture(root: Path) -> LocalApp:
    """The fixture as its wrangler.jsonc has it: src/index.ts, with nodejs_compat (it imports node:buffer)."""
    return load_app(root, "src/index.ts", compatibility_flags=("nodejs_compat",))


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def fake_package(root: Path, name: str, code: str) -> None:
    write(
        root / "node_modules" / name,
        {"package.json": json.dumps({"name": name, "version": "1.0.0", "main": "index.js"}), "index.js": code},
    )


def test_a_plain_worker_is_uploaded_as_written_not_bundled(tmp_path: Path) -> None:
    code = 'import { hello } from "./lib/hello.js";\nexport default { fetch() { return new Response(hello) } };\n'
    root = write(tmp_path, {"worker.js": code, "lib/hello.js": "export const hello = 'hi';\n"})
    app = load_app(root)
    assert app.bundle is None
    assert (app.main, app.worker_code) == ("worker.js", code.encode())
    assert [module.name for module in app.modules] == ["lib/hello.js"]


def test_the_typescript_fixture_is_bundled_with_its_npm_package_and_relative_imports(tmp_path: Path) -> None:
    root = copy_fixture(tmp_path / "app")
    app = load_fixture(root)
    assert app.bundle is not None
    assert app.main == "index.js" and app.modules == ()
    assert app.bundle.packages == ("hono",)
    paths = [item.path for item in app.bundle.inputs]
    assert {"src/index.ts", "src/renderHtml.ts"} <= set(paths)
    assert any(path.startswith("node_modules/hono/") for path in paths)
    text = app.worker_code.decode()
    assert 'from "node:buffer"' in text  # the runtime's own module stays an import
    assert "interface Comment" not in text  # types are stripped
    assert b"HTTPException" not in app.all_code  # env reads are looked for in the app's own sources only
    assert b"renderHtml" in app.all_code
    assert "bundle: built with esbuild 0.27.3 (src/index.ts is TypeScript or JSX): index.js" in app.bundle.describe()


def test_two_builds_are_byte_identical_wherever_the_folder_is(tmp_path: Path) -> None:
    first = load_fixture(copy_fixture(tmp_path / "one"))
    again = load_fixture(tmp_path / "one")
    elsewhere = load_fixture(copy_fixture(tmp_path / "deeper" / "two"))
    assert first.worker_code == again.worker_code == elsewhere.worker_code
    assert str(tmp_path) not in first.worker_code.decode()
    settings = Settings(name="ts-comments")
    assert local_digests(settings, first).code == local_digests(settings, elsewhere).code
    (tmp_path / "one" / "src" / "renderHtml.ts").write_text(
        (tmp_path / "one" / "src" / "renderHtml.ts").read_text().replace("Comments", "Remarks")
    )
    assert local_digests(settings, load_fixture(tmp_path / "one")).code != local_digests(settings, first).code


@pytest.mark.parametrize(
    ("imports", "reason"),
    [
        ('import { greet } from "greeter";', "worker.js imports the npm package 'greeter'"),
        ('import { greet } from "./lib/greet";', "worker.js imports './lib/greet', which the runtime does not"),
    ],
)
def test_a_javascript_worker_is_bundled_when_it_imports_a_package_or_an_extensionless_path(
    tmp_path: Path, imports: str, reason: str
) -> None:
    root = write(
        tmp_path,
        {
            "worker.js": f"{imports}\nexport default {{ fetch() {{ return new Response(greet()) }} }};\n",
            "lib/greet.js": "export const greet = () => 'hi';\n",
        },
    )
    fake_package(root, "greeter", "exports.greet = () => 'hello';\n")
    app = load_app(root)
    assert app.bundle is not None and app.bundle.reason.startswith(reason)
    assert app.main == "worker.js"


def test_a_missing_node_modules_says_to_run_npm_ci(tmp_path: Path) -> None:
    root = copy_fixture(tmp_path / "app")
    shutil.rmtree(root / "node_modules")
    with pytest.raises(ConfigError) as refused:
        load_fixture(root)
    assert refused.value.message.startswith("src/index.ts:1 imports the npm package hono, but the app folder has no")
    assert "run `npm ci` in the app folder" in (refused.value.hint or "")
    assert (refused.value.file, refused.value.line) == (root / "src/index.ts", 1)


def test_a_typescript_error_names_the_file_and_line(tmp_path: Path) -> None:
    root = write(tmp_path, {"src/index.ts": 'import { x } from "./lib";\nexport default x;\n', "src/lib.ts": ""})
    (root / "src" / "lib.ts").write_text("export const x: number = 1;\nexport const y = (;\n")
    with pytest.raises(ConfigError) as refused:
        load_app(root, "src/index.ts")
    assert "src/lib.ts:2:" in refused.value.message and "Unexpected" in refused.value.message
    assert (refused.value.file, refused.value.line) == (root / "src/lib.ts", 2)


def test_an_import_of_a_file_that_is_not_there_names_the_importing_line(tmp_path: Path) -> None:
    root = write(tmp_path, {"src/index.ts": '// the app\nimport { x } from "./missing";\nexport default x;\n'})
    with pytest.raises(ConfigError) as refused:
        load_app(root, "src/index.ts")
    assert 'src/index.ts:2:18: Could not resolve "./missing"' in refused.value.message
    assert refused.value.line == 2
    assert "fix the import's path" in (refused.value.hint or "")


def test_a_package_not_installed_says_to_install_it(tmp_path: Path) -> None:
    root = copy_fixture(tmp_path / "app")
    source = (root / "src" / "index.ts").read_text()
    (root / "src" / "index.ts").write_text(f'import {{ z }} from "zod";\nconsole.log(z);\n{source}')
    with pytest.raises(ConfigError, match=r'src/index\.ts:1:\d+: Could not resolve "zod"') as refused:
        load_fixture(root)
    assert "Install the package" in (refused.value.hint or "")


def test_a_bundle_over_the_size_limit_names_its_largest_inputs(tmp_path: Path) -> None:
    root = copy_fixture(tmp_path / "app")
    with pytest.raises(ConfigError) as refused:
        build_bundle(root, "src/index.ts", reason="test", compatibility_flags=("nodejs_compat",), max_bytes=10_000)
    assert re.search(
        r"The bundle of src/index\.ts is [\d,]+ bytes; a Worker may be at most 10,000 bytes", str(refused.value)
    )
    assert "node_modules/hono/" in refused.value.message


def test_a_tsconfig_path_that_leads_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("runner secret\n")
    root = write(
        tmp_path / "app",
        {
            "tsconfig.json": json.dumps({"compilerOptions": {"baseUrl": ".", "paths": {"@s/*": ["../*"]}}}),
            "src/index.ts": 'import s from "@s/secret.txt";\nexport default { fetch: () => new Response(s) };\n',
        },
    )
    with pytest.raises(ConfigError, match=r"read files outside the app folder: \.\./secret\.txt; nothing was uploaded"):
        load_app(root, "src/index.ts")


def test_a_tsconfig_above_the_app_folder_is_not_used(tmp_path: Path) -> None:
    """Without a tsconfig.json of its own, the app is built as if there were none (esbuild would look upwards)."""
    (tmp_path / "secret.txt").write_text("runner secret\n")
    (tmp_path / "tsconfig.json").write_text(json.dumps({"compilerOptions": {"paths": {"@s/*": ["./*"]}}}))
    root = write(tmp_path / "app", {"src/index.ts": 'import s from "@s/secret.txt";\nexport default s;\n'})
    (root / "node_modules").mkdir()
    with pytest.raises(ConfigError, match=r'Could not resolve "@s/secret\.txt"'):
        load_app(root, "src/index.ts")


def test_a_symlinked_module_or_a_package_in_a_parent_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside.ts").write_text("export const leaked = 1;\n")
    root = write(tmp_path / "app", {"src/index.ts": 'import { leaked } from "./inside";\nexport default leaked;\n'})
    os.symlink(tmp_path / "outside.ts", root / "src" / "inside.ts")
    with pytest.raises(ConfigError, match=r"outside the app folder: \.\./outside\.ts"):
        load_app(root, "src/index.ts")
    fake_package(tmp_path, "hoisted", "exports.h = 1;\n")  # a monorepo's node_modules above the app
    (root / "src" / "index.ts").write_text('import { h } from "hoisted";\nexport default h;\n')
    with pytest.raises(ConfigError, match=r"outside the app folder: \.\./node_modules/hoisted/index\.js"):
        load_app(root, "src/index.ts")


@pytest.mark.parametrize("specifier", ["buffer", "node:crypto", "fs", "node:fs/promises"])
def test_node_builtins_stay_imports_only_with_nodejs_compat(tmp_path: Path, specifier: str) -> None:
    root = write(tmp_path, {"src/index.ts": f'import * as m from "{specifier}";\nexport default m;\n'})
    with pytest.raises(ConfigError, match=rf"src/index\.ts:1 imports {specifier}, a Node\.js module") as refused:
        load_app(root, "src/index.ts")
    assert 'Add "nodejs_compat" to compatibility_flags' in (refused.value.hint or "")
    app = load_app(root, "src/index.ts", compatibility_flags=("nodejs_compat",))
    assert f'from "{specifier}"' in app.worker_code.decode()


def test_esbuild_errors_are_parsed_with_their_places() -> None:
    stderr = (
        '✘ [ERROR] Could not resolve "hono"\n\n    src/index.ts:1:21:\n      1 │ import { Hono } from "hono";\n'
        '        ╵                      ~~~~~~\n\n  You can mark the path "hono" as external.\n\n'
        "X [ERROR] Unexpected end of file\n\n1 error\n"
    )
    errors = parse_esbuild_errors(stderr)
    assert [(e.text, e.file, e.line, e.column) for e in errors] == [
        ('Could not resolve "hono"', "src/index.ts", 1, 21),
        ("Unexpected end of file", None, None, None),
    ]


def test_another_esbuild_version_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "esbuild"
    fake.write_text("#!/bin/sh\necho 0.19.0\n")
    fake.chmod(0o755)
    with pytest.raises(
        ConfigError, match=r"esbuild at .* is version 0\.19\.0; this deployer bundles with esbuild 0\.27\.3"
    ):
        find_esbuild({"DEPLOYER_ESBUILD": str(fake)})
    with pytest.raises(ConfigError, match="esbuild is not installed for the deployer"):
        find_esbuild({"DEPLOYER_ESBUILD": str(tmp_path / "none")})


def test_the_cli_and_the_image_pin_the_same_esbuild() -> None:
    lock = json.loads((REPO / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/esbuild"]["version"] == ESBUILD_VERSION
    assert f'VERSION = "{ESBUILD_VERSION}"' in (REPO / "scripts" / "fetch_esbuild.py").read_text()
    assert "fetch_esbuild.py /usr/local/bin/esbuild" in (REPO / "Dockerfile").read_text()
    assert find_esbuild({}).is_file()


def test_a_typescript_main_is_a_valid_setting(tmp_path: Path) -> None:
    assert Settings(main="./src/index.ts").main == "src/index.ts"


def test_a_bundle_over_the_free_plans_compressed_limit_is_a_warning(tmp_path: Path) -> None:
    """Cloudflare counts the compressed size; over 3 MiB only the Paid plan takes it, which is not known here."""
    noise = base64.b64encode(random.Random(7).randbytes(3_400_000)).decode()
    root = write(tmp_path, {"src/index.ts": f'export default {{ data: "{noise}" }};\n'})
    app = load_app(root, "src/index.ts")
    assert app.bundle is not None and app.bundle.gzip_size > 3 * 1024 * 1024
    assert any("over the Workers Free plan's limit of 3,145,728" in warning for warning in app.warnings)
    assert f"(gzip: {app.bundle.gzip_size:,})" in app.bundle.describe()
    small = load_fixture(copy_fixture(tmp_path / "small"))
    assert small.warnings == ()
