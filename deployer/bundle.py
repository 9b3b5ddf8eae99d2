"""Bundling the Worker with esbuild, as wrangler does, when it cannot be uploaded as it is written.

A Worker is bundled when its main module is TypeScript (`.ts`, `.mts`, `.tsx`) or JSX, or when it (or a module
it imports) imports what the runtime cannot resolve between uploaded files: an npm package (`import { Hono }
from "hono"`), a relative import without its extension (`./db`), a TypeScript or JSON file. Everything else is
uploaded byte for byte as written (`deployer.modules`).

The build is wrangler 4.86's (`bundleWorker` in its `deployment-bundle/bundle.ts`), run with the esbuild binary
wrangler pins, `ESBUILD_VERSION`:

| option                        | value                                                                        |
|-------------------------------|------------------------------------------------------------------------------|
| format, target                | `esm`, `es2024` (`COMMON_ESBUILD_OPTIONS`)                                   |
| conditions                    | `workerd,worker,browser` (`getBuildConditions`)                              |
| platform, main fields         | `neutral` (the issue's choice; wrangler leaves esbuild's default, `browser`), |
|                               | with the browser platform's main fields `browser,module,main`, so packages  |
|                               | resolve as under wrangler                                                    |
| loaders                       | `.js`, `.mjs`, `.cjs` as `jsx`; text files (`.txt`, `.html`, `.sql`) as text |
|                               | (wrangler's default module rules make them Text modules)                    |
| keep names, define            | on; `process.env.NODE_ENV` = `"production"` (the three spellings wrangler    |
|                               | defines)                                                                     |
| external                      | `cloudflare:*`; with `nodejs_compat`, `node:*` and the bare names of Node's  |
|                               | built-in modules (the runtime provides them; without the flag, importing one |
|                               | is an error that says to add it). GUESS: wrangler polyfills what workerd     |
|                               | lacks (unenv); here an import the runtime lacks fails at the upload.         |

It runs in the app folder (so the bundle names its inputs by their paths there, and two checkouts in different
places build the same bytes), with an empty environment (nothing of the runner's reaches the build), no source
map, and `--tsconfig-raw={}` when the app has no `tsconfig.json` (esbuild would otherwise use one from a
folder above the app).

**The app folder is untrusted input.** esbuild reads what the code imports, and a `tsconfig.json` `paths` entry,
a symlink or a package found in a folder above the app can make it read a file outside the folder. So every
input esbuild reports (its metafile: every module in the bundle) must resolve inside the app folder, or the build
is refused before anything is uploaded, naming the input; an error in a file outside it is named without its
text. Not checked: a `tsconfig.json` that `extends` one outside the folder (esbuild reads its compiler options,
none of its text goes into the bundle). The binary is the deployer's own (`find_esbuild`), never one from the
app's `node_modules`.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import platform
import posixpath
import re
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from deployer._files import read_app_file, resolves_inside
from deployer.errors import ConfigError

__all__ = [
    "BUNDLE_CONDITIONS",
    "ESBUILD_VERSION",
    "TYPESCRIPT_SUFFIXES",
    "Bundle",
    "BundleInput",
    "EsbuildMessage",
    "build_bundle",
    "bundle_module_name",
    "esbuild_arguments",
    "find_esbuild",
    "parse_esbuild_errors",
]

ESBUILD_VERSION = "0.27.3"  # the version wrangler 4.86.0 depends on (package-lock.json pins the same)
BUNDLE_CONDITIONS = ("workerd", "worker", "browser")
TYPESCRIPT_SUFFIXES = (".ts", ".mts", ".tsx", ".jsx")  # main modules that are always bundled
_TEXT_SUFFIXES = (".txt", ".html", ".sql")
# Node's built-in modules (`require("module").builtinModules` of Node 20, without the internal `_` ones).
_NODE_BUILTINS = (
    "assert", "assert/strict", "async_hooks", "buffer", "child_process", "cluster", "console", "constants",
    "crypto", "dgram", "diagnostics_channel", "dns", "dns/promises", "domain", "events", "fs", "fs/promises",
    "http", "http2", "https", "inspector", "inspector/promises", "module", "net", "os", "path", "path/posix",
    "path/win32", "perf_hooks", "process", "punycode", "querystring", "readline", "readline/promises", "repl",
    "stream", "stream/consumers", "stream/promises", "stream/web", "string_decoder", "sys", "timers",
    "timers/promises", "tls", "trace_events", "tty", "url", "util", "util/types", "v8", "vm", "wasi",
    "worker_threads", "zlib",
)  # fmt: skip
_BUILD_TIMEOUT_S = 120
_VERSION_TIMEOUT_S = 10
# `✘ [ERROR] message` (or `X [ERROR]` where the terminal is not UTF-8), then, after a blank line, `file:line:col:`.
_ERROR_HEAD = re.compile(r"^(?:✘|X) \[ERROR\] (?P<text>.+)$")
_UNRESOLVED_PACKAGE = re.compile(r'^Could not resolve "(?P<name>[^./"][^"]*)"')  # a bare name, not a path
_LOCATION = re.compile(r"^ {4}(?P<file>\S.*?):(?P<line>\d+):(?P<column>\d+):$")


@dataclass(frozen=True, slots=True)
class BundleInput:
    """One file esbuild read: its path in the app folder and how many bytes of it are in the bundle."""

    path: str
    bytes_in_bundle: int


@dataclass(frozen=True, slots=True)
class Bundle:
    """The Worker as one ES module built by esbuild."""

    name: str  # the module's name in the upload (the main module's stem + `.js`, as wrangler names it)
    code: bytes
    inputs: tuple[BundleInput, ...]  # in the order esbuild lists them
    reason: str  # why the Worker was bundled, for `plan`
    own_code: bytes  # the app's own sources (not node_modules), for reading which bindings the code uses
    gzip_size: int  # the size compressed, which Cloudflare's plan limits count (wrangler reports the same)

    @property
    def packages(self) -> tuple[str, ...]:
        """The npm packages in the bundle (`hono`, `@scope/name`), sorted."""
        found = set()
        for item in self.inputs:
            parts = item.path.split("/")
            if "node_modules" in parts:
                at = len(parts) - 1 - parts[::-1].index("node_modules")  # the innermost node_modules
                rest = parts[at + 1 :]
                if rest:
                    found.add("/".join(rest[:2]) if rest[0].startswith("@") and len(rest) > 1 else rest[0])
        return tuple(sorted(found))

    def describe(self) -> str:
        """One line for `plan`: that a bundle was built, its size and what is in it."""
        own = [item.path for item in self.inputs if "node_modules/" not in f"/{item.path}"]
        packages = f"; npm packages: {', '.join(self.packages)}" if self.packages else ""
        shown = ", ".join(own[:8]) + (f" and {len(own) - 8} more" if len(own) > 8 else "")
        return (
            f"bundle: built with esbuild {ESBUILD_VERSION} ({self.reason}): {self.name}, {len(self.code):,} bytes "
            f"(gzip: {self.gzip_size:,}), {len(self.inputs)} modules ({shown}{packages})"
        )


@dataclass(frozen=True, slots=True)
class EsbuildMessage:
    """One error esbuild printed, with where it points when it does."""

    text: str
    file: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}: " if self.file else ""
        return where + self.text


def bundle_module_name(main: str) -> str:
    """The bundle's module name: `src/index.ts` → `index.js` (wrangler's `entryNames`, the entry's stem)."""
    stem = posixpath.splitext(posixpath.basename(main))[0]
    return f"{stem}.js"


def esbuild_arguments(
    main: str, *, outfile: Path, metafile: Path, compatibility_flags: Sequence[str], has_tsconfig: bool
) -> list[str]:
    """The esbuild command line after the binary (see the module docstring's table)."""
    arguments = [
        main,
        "--bundle",
        "--format=esm",
        "--target=es2024",
        "--platform=neutral",
        f"--conditions={','.join(BUNDLE_CONDITIONS)}",
        "--main-fields=browser,module,main",
        "--keep-names",
        "--supported:import-source=true",
        *(f"--loader:{suffix}=jsx" for suffix in (".js", ".mjs", ".cjs")),
        *(f"--loader:{suffix}=text" for suffix in _TEXT_SUFFIXES),
        *(
            f"--define:{name}.env.NODE_ENV=" + '"production"'
            for name in ("process", "global.process", "globalThis.process")
        ),
        "--external:cloudflare:*",
        "--external:__STATIC_CONTENT_MANIFEST",
        f"--outfile={outfile}",
        f"--metafile={metafile}",
        "--log-level=error",
        "--log-limit=10",
        "--color=false",
        "--charset=utf8",
    ]
    if _nodejs_compat(compatibility_flags):
        arguments += ["--external:node:*", *(f"--external:{name}" for name in _NODE_BUILTINS)]
    elif "nodejs_als" in compatibility_flags:  # AsyncLocalStorage alone
        arguments.append("--external:node:async_hooks")
    if not has_tsconfig:
        arguments.append("--tsconfig-raw={}")
    return arguments


def build_bundle(
    root: Path,
    main: str,
    *,
    reason: str,
    compatibility_flags: Sequence[str],
    max_bytes: int,
    environ: Mapping[str, str] | None = None,
) -> Bundle:
    """Bundle `main` (a path in `root`) with the deployer's esbuild; `ConfigError` naming the file and line for a
    build error, an input outside the app folder, or a bundle over `max_bytes`."""
    esbuild = find_esbuild(dict(os.environ if environ is None else environ))
    with tempfile.TemporaryDirectory(prefix="deployer-bundle-") as scratch:
        outfile, metafile = Path(scratch) / "bundle.js", Path(scratch) / "meta.json"
        arguments = esbuild_arguments(
            main,
            outfile=outfile,
            metafile=metafile,
            compatibility_flags=compatibility_flags,
            has_tsconfig=(root / "tsconfig.json").is_file(),
        )
        try:
            completed = subprocess.run(
                [str(esbuild), *arguments],
                cwd=root,
                env={},
                capture_output=True,
                timeout=_BUILD_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ConfigError(f"Bundling {root / main} took more than {_BUILD_TIMEOUT_S} s", file=root / main) from None
        if completed.returncode != 0:
            raise _build_error(root, main, completed.stderr.decode("utf-8", errors="replace"), compatibility_flags)
        code = outfile.read_bytes()
        meta = json.loads(metafile.read_text(encoding="utf-8"))
    inputs = _inputs(meta)
    _check_inside(root, main, inputs)
    if len(code) > max_bytes:
        largest = sorted(inputs, key=lambda item: -item.bytes_in_bundle)[:5]
        raise ConfigError(
            f"The bundle of {main} is {len(code):,} bytes; a Worker may be at most {max_bytes:,} bytes. Largest "
            "inputs: " + ", ".join(f"{item.path} ({item.bytes_in_bundle:,} bytes)" for item in largest),
            hint="Import less (a smaller package, or only the parts you use), or move data into static assets or D1.",
            file=root / main,
        )
    own_sources = (read_app_file(root / item.path, root) for item in inputs if "node_modules/" not in f"/{item.path}")
    own = b"\n".join(source for source in own_sources if source is not None)
    return Bundle(
        bundle_module_name(main), code, tuple(inputs), reason, own, len(gzip.compress(code, compresslevel=9, mtime=0))
    )


@functools.cache
def _version_of(path: Path) -> str:
    completed = subprocess.run(
        [str(path), "--version"], env={}, capture_output=True, text=True, timeout=_VERSION_TIMEOUT_S, check=False
    )
    return completed.stdout.strip() if completed.returncode == 0 else ""


def find_esbuild(environ: Mapping[str, str]) -> Path:
    """The esbuild binary this deployer runs, which must be `ESBUILD_VERSION`: `DEPLOYER_ESBUILD` if set, else the
    one in this checkout's `node_modules` (the CLI: `npm ci` installs it), else `/usr/local/bin/esbuild` (the
    action's image, checked by its checksum when the image is built). Never one from the app folder."""
    named = environ.get("DEPLOYER_ESBUILD")
    candidates = [Path(named)] if named else [_checkout_esbuild(), Path("/usr/local/bin/esbuild")]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            version = _version_of(candidate)
            if version == ESBUILD_VERSION:
                return candidate
            raise ConfigError(
                f"esbuild at {candidate} is version {version or '(unknown)'}; this deployer bundles with "
                f"esbuild {ESBUILD_VERSION}, the version wrangler 4.86 uses",
                hint="Run `npm ci` in the deployer's checkout (scripts/bootstrap), or point DEPLOYER_ESBUILD at "
                f"esbuild {ESBUILD_VERSION}.",
            )
    raise ConfigError(
        "This Worker must be bundled, and esbuild is not installed for the deployer "
        f"(looked at {', '.join(str(c) for c in candidates)})",
        hint="Run `npm ci` in the deployer's checkout (scripts/bootstrap does), or use the action's image, which "
        f"carries esbuild {ESBUILD_VERSION}.",
    )


def _checkout_esbuild() -> Path:
    """`node_modules/@esbuild/<os>-<cpu>/bin/esbuild` of the checkout this package runs from."""
    cpu = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower(), "")
    system = platform.system().lower()
    return Path(__file__).resolve().parents[1] / "node_modules" / "@esbuild" / f"{system}-{cpu}" / "bin" / "esbuild"


def parse_esbuild_errors(stderr: str) -> list[EsbuildMessage]:
    """The errors in esbuild's log (`--log-level=error --color=false`), each with its file, line and column."""
    found: list[EsbuildMessage] = []
    lines = stderr.splitlines()
    for index, line in enumerate(lines):
        head = _ERROR_HEAD.match(line)
        if head is None:
            continue
        location = next(
            (m for m in (_LOCATION.match(text) for text in lines[index + 1 : index + 4]) if m is not None), None
        )
        if location is None:
            found.append(EsbuildMessage(head["text"]))
        else:
            found.append(EsbuildMessage(head["text"], location["file"], int(location["line"]), int(location["column"])))
    return found


def _unresolved_name(error: EsbuildMessage) -> str:
    """The specifier of a `Could not resolve "…"` error."""
    return error.text.split('"')[1] if error.text.count('"') >= 2 else ""


def _nodejs_compat(flags: Sequence[str]) -> bool:
    return any(flag.startswith("nodejs_compat") for flag in flags)


def _build_error(root: Path, main: str, stderr: str, compatibility_flags: Sequence[str]) -> ConfigError:
    errors = [_inside_or_hidden(root, error) for error in parse_esbuild_errors(stderr)]
    if not errors:
        return ConfigError(f"esbuild could not bundle {main}: {stderr.strip()[:2000]}", file=root / main)
    first = errors[0]
    unresolved = [e for e in errors if e.text.startswith("Could not resolve")]
    packages = [e for e in unresolved if _UNRESOLVED_PACKAGE.match(e.text)]
    builtins = [
        e for e in unresolved if e.text.startswith('Could not resolve "node:') or _unresolved_name(e) in _NODE_BUILTINS
    ]
    if builtins and not _nodejs_compat(compatibility_flags):
        first = builtins[0]
        module = first.text.split('"')[1]
        return ConfigError(
            f"{first.file}:{first.line} imports {module}, a Node.js module, which the runtime "
            "provides only with Node.js compatibility",
            hint='Add "nodejs_compat" to compatibility_flags (app.yml, or wrangler\'s configuration).',
            file=root / first.file if first.file else root / main,
            line=first.line,
        )
    if packages and not (root / "node_modules").is_dir():
        first = packages[0]
        package = first.text.split('"')[1]
        return ConfigError(
            f"{first.file}:{first.line} imports the npm package {package}"
            f", but the app folder has no node_modules ({root / 'node_modules'} does not exist)",
            hint="Install the app's packages first: run `npm ci` in the app folder (in a workflow, a step before "
            "the deploy; README: TypeScript and npm packages).",
            file=root / first.file if first.file else root / main,
            line=first.line,
        )
    if unresolved:
        hint = (
            "Install the package (`npm ci` after adding it to package.json), or fix the import's path "
            "(relative imports start with ./ or ../)."
        )
    else:
        hint = "Fix the code at the place named above; esbuild strips TypeScript types but does not type-check."
    shown = "\n".join(f"  {error}" for error in errors[:5]) + (
        f"\n  and {len(errors) - 5} more" if len(errors) > 5 else ""
    )
    return ConfigError(
        f"esbuild could not bundle {main}:\n{shown}",
        hint=hint,
        file=root / first.file if first.file else root / main,
        line=first.line,
    )


def _inside_or_hidden(root: Path, error: EsbuildMessage) -> EsbuildMessage:
    """An error in a file outside the app folder is named, but its text (which may quote the file) is not shown."""
    if error.file is None or resolves_inside(root / error.file, root):
        return error
    return EsbuildMessage("a file outside the app folder was read (its content is not shown)", error.file)


def _inputs(meta: Mapping[str, object]) -> list[BundleInput]:
    outputs = meta.get("outputs")
    in_output: dict[str, int] = {}
    if isinstance(outputs, dict):
        for output in outputs.values():
            for path, about in (output.get("inputs") or {}).items():
                in_output[path] = in_output.get(path, 0) + int(about.get("bytesInOutput", 0))
    listed = meta.get("inputs")
    paths = list(listed) if isinstance(listed, dict) else list(in_output)
    return [BundleInput(path, in_output.get(path, 0)) for path in paths]


def _check_inside(root: Path, main: str, inputs: Sequence[BundleInput]) -> None:
    """Every input must be a file inside the app folder (its real path: no symlink out, no `..`)."""
    outside = [
        item.path
        for item in inputs  # esbuild's own inputs (`<runtime>`, `<define:…>`) are no files
        if not item.path.startswith("<") and not resolves_inside(root / item.path, root)
    ]
    if outside:
        raise ConfigError(
            f"Bundling {main} read files outside the app folder: {', '.join(outside[:5])}; nothing was uploaded",
            hint="Keep every module the Worker imports inside the app folder: install npm packages in it "
            "(`npm ci` there, not in a folder above), and no tsconfig paths or symlinks that lead out of it.",
            file=root / main,
        )
