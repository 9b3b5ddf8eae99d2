"""The Worker's modules: `worker.js` and the local ES modules it imports by relative path, with no build step.

```js
import { listItems } from "./lib/items.js";      // uploaded as the module "lib/items.js"
export { hash } from "../shared/hash.mjs";        // from lib/items.js: the module "shared/hash.mjs"
const { render } = await import("./views.js");    // a dynamic import with a literal path counts too
import { env } from "cloudflare:workers";         // the runtime's own modules (cloudflare:, node:) are left alone
import { Hono } from "hono";                      // an npm package: the Worker is bundled (`deployer.bundle`)
```

Each module is named by its path relative to the app folder (`/`-separated), which is how the Workers runtime
resolves a relative import between uploaded modules. Imports are found by reading the source (static `import`
and `export … from` at the start of a line, and `import("…")` with a quoted literal), which is enough for modules
written by hand; not followed: an import built at run time, a second import on the same line, an `import()` of a
template literal (Cloudflare then refuses the upload, naming the module); an npm import inside a comment makes
the Worker bundled (esbuild then drops the comment).

What the runtime cannot resolve between uploaded files (a bare package name, a path without its extension, a
TypeScript, JSX or JSON file) raises `NeedsBundler`: the app is then bundled by `deployer.bundle`.

The app folder is untrusted input: a relative import must stay inside it, name a `.js` or `.mjs` file exactly
(or the Worker is bundled), and is read through `deployer._files` (no symlink out of the folder). Every
failure is a `ConfigError` naming the importing file and the import.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from deployer._files import read_app_file
from deployer.errors import ConfigError

__all__ = ["BUILTIN_PREFIXES", "MAX_MODULES", "Module", "NeedsBundler", "imported_specifiers", "load_modules"]

MAX_MODULES = (
    100  # a hand-written Worker split into files; more suggests a bundle (GUESS: Cloudflare's limit is higher)
)
BUILTIN_PREFIXES = ("cloudflare:", "node:")
_EXTENSIONS = (".js", ".mjs")
# One clause between the keyword and `from` (a default name, `* as name`, or `{ … }`), so that the pattern runs in
# linear time on any file (a looser `[…]*?from` scanned to the end of the file from every import line).
_STATIC = re.compile(
    r"""^[ \t]*(?:import|export)\b\s*"""
    r"""(?:(?:[\w$]+\s*,\s*)?(?:\*\s*(?:as\s+[\w$]+\s*)?|\{[^{}"']*\}\s*|[\w$]+\s+)from\s*)?["']([^"'\n]+)["']""",
    re.MULTILINE,
)
_DYNAMIC = re.compile(r"""\bimport\s*\(\s*["']([^"'\n]+)["']\s*\)""")


class NeedsBundler(Exception):
    """The Worker imports what only a bundler resolves; `reason` says what, for `plan`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Module:
    """One module: its name (path relative to the app folder) and its bytes."""

    name: str
    code: bytes


def imported_specifiers(code: bytes) -> list[str]:
    """The module specifiers `code` imports (static and literal dynamic imports), in order, without repeats."""
    text = code.decode("utf-8", errors="replace")
    found = [m.group(1) for m in _STATIC.finditer(text)] + [m.group(1) for m in _DYNAMIC.finditer(text)]
    return list(dict.fromkeys(found))


def load_modules(root: Path, main: str, *, max_bytes: int) -> tuple[Module, ...]:
    """The modules `main` (already read) imports, directly or not, in the order they are found; `main` itself is
    not among them. `ConfigError` for an import that leaves the folder, names no file, or names a package, and
    as soon as the modules read add up to more than `max_bytes`."""
    main_code = read_app_file(root / main, root)
    assert main_code is not None, "the main module is read before its imports"
    total = len(main_code)
    seen: dict[str, bytes] = {main: main_code}
    queue = [main]
    while queue:
        importer = queue.pop(0)
        for specifier in imported_specifiers(seen[importer]):
            name = _resolve(importer, specifier)
            if name is None or name in seen:
                continue
            code = read_app_file(root / name, root)
            total += len(code or b"")
            if total > max_bytes:
                raise ConfigError(
                    f"{main} and the modules it imports are over {max_bytes:,} bytes (at {name})",
                    hint="Move large data into public/ (static assets) or D1.",
                    file=root / main,
                )
            if code is None:
                raise ConfigError(
                    f"{importer} imports {specifier!r}, but {name} is not in the app folder",
                    hint="Import the file by its exact name, extension included (./lib/items.js).",
                    file=root / importer,
                )
            seen[name] = code
            queue.append(name)
            if len(seen) > MAX_MODULES:
                raise ConfigError(
                    f"{main} imports more than {MAX_MODULES} modules",
                    hint="Bundle the Worker into fewer files (esbuild), or fewer modules.",
                    file=root / main,
                )
    return tuple(Module(name, code) for name, code in seen.items() if name != main)


def _resolve(importer: str, specifier: str) -> str | None:
    """The module name `specifier` (imported by the module `importer`) stands for; None for the runtime's own."""
    if specifier.startswith(BUILTIN_PREFIXES):
        return None
    if "://" in specifier:
        raise ConfigError(
            f"{importer} imports {specifier!r}: a Worker cannot import a URL",
            hint="Install the package with npm and import it by name, or copy the module into the app folder.",
        )
    if not specifier.startswith(("./", "../")):
        raise NeedsBundler(f"{importer} imports the npm package {specifier!r}")
    name = posixpath.normpath(posixpath.join(posixpath.dirname(importer), specifier))
    if name.startswith("../") or name == ".." or posixpath.isabs(name):
        raise ConfigError(
            f"{importer} imports {specifier!r}, which leads outside the app folder",
            hint="Keep every module of the Worker inside the app folder.",
        )
    if not name.endswith(_EXTENSIONS):
        raise NeedsBundler(f"{importer} imports {specifier!r}, which the runtime does not resolve by itself")
    return name
