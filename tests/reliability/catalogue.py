"""The catalogue of bad inputs: what a user can get wrong, and the message each gets.

Each entry changes a fresh copy of the example app (or the command line, or the environment) in one way; the
deploy must exit 1 with a message naming the input (`message`) and a fix (`fix`), and make no change to the
account (for `after_writes` entries: say what it changed). `test_catalogue.py` runs every entry against cfemu,
and docs/RELIABILITY.md shows the table this module prints (`python -m tests.reliability.catalogue`); a test
keeps the two equal.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

Make = Callable[[Path], Path]


@dataclass(frozen=True)
class BadInput:
    what: str  # the input, as a user would describe it
    message: str  # part of the message that names the input
    fix: str  # part of the message that says how to fix it
    make: Make = lambda app: app
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)  # "{token}" stands for the API token in use
    after_writes: bool = False  # found only by Cloudflare, after earlier steps wrote something


def _write(relative: str, content: str | bytes) -> Make:
    def make(app: Path) -> Path:
        target = app / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.is_file():
            target.unlink()
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
        return app

    return make


def _both(*makes: Make) -> Make:
    """Every change of `makes`, in order."""

    def make(app: Path) -> Path:
        for step in makes:
            app = step(app)
        return app

    return make


def yml(extra: str) -> Make:
    """Append `extra` to the app's app.yml (a later key wins over an earlier one)."""

    def make(app: Path) -> Path:
        with (app / "app.yml").open("a", encoding="utf-8") as yml:
            yml.write("\n" + extra + "\n")
        return app

    return make


def link(relative: str, target: str) -> Make:
    """Replace `relative` in the app by a symlink to `target`."""

    def make(app: Path) -> Path:
        path = app / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or path.is_file():
            path.unlink()
        path.symlink_to(target)
        return app

    return make


def _remove(relative: str) -> Make:
    def make(app: Path) -> Path:
        path = app / relative
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
        return app

    return make


def _directory_instead(relative: str) -> Make:
    def make(app: Path) -> Path:
        (app / relative).unlink()
        (app / relative).mkdir()
        return app

    return make


def _sized(relative: str, size: int) -> Make:
    def make(app: Path) -> Path:
        with (app / relative).open("wb") as file:
            file.truncate(size)  # sparse: big, and quick to make
        return app

    return make


def _fifo(app: Path) -> Path:
    os.mkfifo(app / "public" / "pipe.txt")
    return app


def _missing_folder(app: Path) -> Path:
    return app.parent / "no-such-folder"


def _odd_folder_name(app: Path) -> Path:
    (app / "app.yml").write_text((app / "app.yml").read_text().replace("name: items-app\n", ""))
    return app.rename(app.parent / "My_App")


def _no_worker_name(app: Path) -> Path:
    return yml("name: Bad_Name")(app)


CATALOGUE: list[BadInput] = [
    # the app folder and its files
    BadInput(
        "the app folder does not exist", "does not exist", "Pass the folder that holds worker.js", _missing_folder
    ),
    BadInput("no worker.js", "worker.js is missing", "Expected layout", _remove("worker.js")),
    BadInput("worker.js is a folder", "worker.js is a directory", "must be a file", _directory_instead("worker.js")),
    BadInput(
        "worker.js over 10 MiB", "a Worker may be at most", "Move large data", _sized("worker.js", 10 * 2**20 + 1)
    ),
    BadInput(
        "worker.js links outside the app folder",
        "worker.js leads outside the app folder",
        "Copy the file into the folder",
        link("worker.js", "/etc/hostname"),
    ),
    BadInput(
        "an asset links to the deployer's environment",
        "env.txt leads outside the app folder",
        "Copy the file into the folder",
        link("public/env.txt", "/proc/self/environ"),
    ),
    BadInput(
        "an asset folder links outside",
        "keys leads outside the app folder",
        "Copy the file into the folder",
        link("public/keys", "/etc"),
    ),
    BadInput("a FIFO in public/", "pipe.txt is not a regular file", "Remove it", _fifo),
    BadInput(
        "an asset over 25 MiB",
        "over the 25 MiB limit",
        "Shrink or split the file",
        _sized("public/app.js", 25 * 2**20 + 1),
    ),
    BadInput(
        "an asset name with a backslash",
        "contains a backslash, so no URL can reach it",
        "Rename it",
        _write("public/a\\b.txt", "x"),
    ),
    BadInput(
        "an asset name with a control character",
        "contains a control character",
        "Rename it",
        _write("public/tab\there.txt", "x"),
    ),
    BadInput(
        "a Pages _worker.js in public/",
        "contains the Pages file _worker.js",
        ".assetsignore",
        _write("public/_worker.js", "export default {}"),
    ),
    BadInput(
        "_redirects is a folder", "_redirects is a directory", "must be a file", _write("public/_redirects/x", "x")
    ),
    BadInput(
        "a broken symlink in public/",
        "is a symlink to a file that does not exist",
        "Fix or remove the link",
        link("public/gone.txt", "missing.txt"),
    ),
    BadInput(
        "schema.sql is not UTF-8",
        "schema.sql is not UTF-8 text",
        "Save schema.sql as UTF-8",
        _write("schema.sql", b"CREATE TABLE t (x TEXT DEFAULT '\xff');"),
    ),
    BadInput(
        "schema.sql links outside the app folder",
        "schema.sql leads outside the app folder",
        "Copy the file into the folder",
        link("schema.sql", "/etc/hostname"),
    ),
    BadInput(
        "a migration file is not named NNNN_name.sql",
        "add_done.sql: a migration's file name is its number",
        "Rename the file",
        _write("migrations/add_done.sql", "ALTER TABLE items ADD COLUMN done INTEGER;"),
    ),
    BadInput(
        "a migration opens its own transaction",
        "D1 runs each SQL file as one transaction and refuses transaction statements",
        "Remove them",
        _write("migrations/0001_add_done.sql", "SAVEPOINT a;\nALTER TABLE items ADD COLUMN done INTEGER;\n"),
    ),
    BadInput(
        "a migration file links outside the app folder",
        "0001_steal.sql leads outside the app folder",
        "Copy the file into the folder",
        link("migrations/0001_steal.sql", "/etc/hostname"),
    ),
    BadInput(
        "schema.sql has an SQL error",
        "schema.sql line 1 failed on D1 database items-app-db",
        "Fix the SQL in schema.sql",
        _write("schema.sql", "CREATE TABLE broken (\n"),
        after_writes=True,
    ),
    # app.yml
    BadInput(
        "app.yml is not valid YAML",
        "app.yml is not valid YAML",
        "Fix the YAML syntax",
        _write("app.yml", "name: [unclosed\n"),
    ),
    BadInput("app.yml is a list", "must be a mapping of settings", "Known keys", _write("app.yml", "- name\n")),
    BadInput(
        "app.yml has a misspelt key", "nmae: not a setting of this deployer", "Known keys", yml("nmae: items-app")
    ),
    BadInput(
        "app.yml is not UTF-8",
        "app.yml is not UTF-8 text",
        "Save app.yml as UTF-8",
        _write("app.yml", b"name: caf\xe9\n"),
    ),
    BadInput(
        "app.yml links outside the app folder",
        "app.yml leads outside the app folder",
        "Copy the file into the folder",
        link("app.yml", "/etc/hostname"),
    ),
    BadInput(
        "a Worker name with capitals and '_'",
        "'Bad_Name' is not a valid Worker name",
        "Fix the values named",
        _no_worker_name,
    ),
    BadInput(
        "--name with a space", "'my app' is not a valid Worker name", "Fix the values named", args=("--name", "my app")
    ),
    BadInput(
        "a folder name that is not a Worker name",
        "which is not a valid Worker name (it would become 'my-app')",
        "Set the name explicitly",
        _odd_folder_name,
    ),
    BadInput(
        "a compatibility date that is not a date",
        "'2025-13-01' is not a date in the form YYYY-MM-DD",
        "Fix the values named",
        yml("compatibility_date: '2025-13-01'"),
    ),
    BadInput(
        "a compatibility date in the future",
        "2999-01-01 is in the future",
        "Fix the values named",
        yml("compatibility_date: '2999-01-01'"),
    ),
    BadInput(
        "an unknown html_handling",
        "assets.html_handling (from app.yml key assets.html_handling)",
        "Fix the values named",
        yml("assets: {html_handling: sometimes}"),
    ),
    BadInput(
        "a run_worker_first rule without '/'",
        "rules must start with '/' or '!/': api/*",
        "Fix the values named",
        yml("assets: {run_worker_first: ['api/*']}"),
    ),
    BadInput(
        "a D1 name with a space",
        "d1.name (from app.yml key d1.name): use letters, digits",
        "Fix the values named",
        yml("d1: {name: 'my db'}"),
    ),
    BadInput(
        "a D1 binding that is not an identifier",
        "a binding name is a JavaScript identifier",
        "Fix the values named",
        yml("d1: {binding: my-db}"),
    ),
    # vars and secrets
    BadInput(
        "--var with a bad name",
        "vars (from --var): variable names must be identifiers: bad-name",
        "Fix the values named",
        args=("--var", "bad-name=1"),
    ),
    BadInput(
        "--var without '='", "--var 'GREETING' has no '='", "Write it as --var NAME=value", args=("--var", "GREETING")
    ),
    BadInput(
        "the vars input with a line without '='",
        "INPUT_VARS line 2 has no '='",
        "one NAME=value per line",
        env={"INPUT_VARS": "A=1\nB"},
    ),
    BadInput(
        "a var and a secret with one name",
        "APP_PASSWORD is declared both as a var and as a secret",
        "Fix the values named",
        yml("vars: {APP_PASSWORD: x}"),
    ),
    BadInput(
        "a var named like the D1 binding",
        "A binding name is used twice: DB (d1 and plain_text)",
        "Each name on env must be one binding",
        args=("--var", "DB=x"),
    ),
    BadInput(
        "a var named ASSETS",
        "ASSETS (plain_text and assets)",
        "Each name on env must be one binding",
        args=("--var", "ASSETS=x"),
    ),
    BadInput(
        "a secret named after the API token",
        "CLOUDFLARE_API_TOKEN names the deployer's or the runner's own",
        "give the secret another name",
        yml("secrets: [CLOUDFLARE_API_TOKEN]"),
    ),
    BadInput(
        "a secret name that is not an identifier",
        "secret names must be identifiers: api-key",
        "Fix the values named",
        yml("secrets: [api-key]"),
    ),
    BadInput(
        "a secret whose value is the API token",
        "The value given for the secret API_KEY is this run's",
        "Give the secret its own value",
        yml("secrets: [APP_PASSWORD, SESSION_SECRET, API_KEY]"),
        env={"API_KEY": "{token}"},
    ),
    BadInput(
        "app.yml declaring secrets on a workflow_run",
        "this is a workflow_run run",
        "Name the secrets in the action's secrets input",
        env={"GITHUB_EVENT_NAME": "workflow_run"},
    ),
    BadInput(
        "no APP_PASSWORD on a first deploy",
        "Secret APP_PASSWORD (env APP_PASSWORD, input app-password) has no",
        "Give the value on the first deploy",
        env={"APP_PASSWORD": ""},
    ),
    # credentials and the API
    BadInput(
        "no API token",
        "Missing CLOUDFLARE_API_TOKEN (input api-token)",
        "Create an API token",
        env={"CLOUDFLARE_API_TOKEN": ""},
    ),
    BadInput(
        "no account id", "Missing CLOUDFLARE_ACCOUNT_ID", "Create an API token", env={"CLOUDFLARE_ACCOUNT_ID": ""}
    ),
    BadInput(
        "an account id of the wrong shape",
        "an account id is 32 hexadecimal characters",
        "Fix the values named",
        env={"CLOUDFLARE_ACCOUNT_ID": "my-account"},
    ),
    BadInput(
        "a token pasted with a line break",
        "the API token must be printable ASCII",
        "Fix the values named",
        env={"CLOUDFLARE_API_TOKEN": "abc\ndef"},
    ),
    BadInput(
        "a token Cloudflare does not know",
        "Cloudflare rejected the API token",
        "the token must be active",
        env={"CLOUDFLARE_API_TOKEN": "not-the-right-token"},
    ),
    BadInput(
        "a TypeScript main module that does not parse",
        "src/index.ts:2:",
        "Fix the code at the place named above",
        _both(
            _write("src/index.ts", "export default {\n  fetch() { return new Response( }\n};\n"),
            yml("main: src/index.ts"),
        ),
    ),
    BadInput(
        "an npm package imported with no node_modules installed",
        "imports the npm package hono, but the app folder has no node_modules",
        "run `npm ci` in the app folder",
        _write("worker.js", 'import { Hono } from "hono";\nexport default new Hono();\n'),
    ),
    BadInput(
        "a tsconfig.json path that leads out of the app folder",
        "read files outside the app folder: ../outside.ts",
        "Keep every module the Worker imports inside the app folder",
        _both(
            _write("../outside.ts", "export const leaked = 1;\n"),
            _write("tsconfig.json", '{"compilerOptions": {"baseUrl": ".", "paths": {"@up/*": ["../*"]}}}'),
            _write(
                "src/index.ts",
                'import { leaked } from "@up/outside";\nexport default { leaked };\n',
            ),
            yml("main: src/index.ts"),
        ),
    ),
    BadInput(
        "a Node.js module imported without nodejs_compat",
        "imports node:crypto, a Node.js module",
        'Add "nodejs_compat" to compatibility_flags',
        _both(
            _write("src/index.ts", 'import { webcrypto } from "node:crypto";\nexport default { webcrypto };\n'),
            yml("main: src/index.ts"),
        ),
    ),
    BadInput(
        "a cron expression Cloudflare refuses (weekday 0)",
        "uses 0, but Cloudflare numbers weekdays 1-7 from Sunday",
        "Fix the values named",
        yml('triggers:\n  crons: ["0 22 * * 0"]'),
    ),
    BadInput(
        "an R2 bucket name R2 refuses",
        "'Items_Files' is not a valid R2 bucket name",
        "Fix the values named",
        yml("r2:\n  FILES: Items_Files"),
    ),
    BadInput(
        "a KV namespace id the account does not have",
        "(binding CACHE) does not exist in this account",
        "Fix the id",
        yml("kv:\n  CACHE: {id: " + "ab" * 16 + "}"),
    ),
    BadInput(
        "an app.yml key for what the deployer does not do (routes)",
        "routes: this deployer serves the app on workers.dev only",
        "Known keys",
        yml("routes: [example.com/*]"),
    ),
    BadInput(
        "an API base URL without http(s)",
        "must be an http(s) URL",
        "Fix the values named",
        env={"CLOUDFLARE_API_BASE_URL": "api.cloudflare.com/client/v4"},
    ),
]


def markdown_table() -> str:
    """The catalogue as docs/RELIABILITY.md shows it."""
    rows = ["| # | bad input | the message names it | and says |", "|---:|---|---|---|"]
    for number, entry in enumerate(CATALOGUE, start=1):
        cells = [entry.what, entry.message, entry.fix]
        escaped = [cell.replace("|", "\\|").replace("\n", " ") for cell in cells]
        rows.append(f"| {number} | {escaped[0]} | `{escaped[1]}` | {escaped[2]} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
