"""The local app: what is in the app folder, read and checked before any API call.

An app folder holds:

```
worker.js     the Worker, an ES module (required); local modules it imports by relative path go with it
              (`deployer.modules`). A TypeScript main module, or one importing npm packages (from the app's
              own node_modules/, installed by `npm ci`), is bundled with esbuild first (`deployer.bundle`)
public/       static assets served through the ASSETS binding (optional)
schema.sql    the D1 schema of a new database, its baseline (optional)
seed.sql      the first rows of a new database (optional)
migrations/   every schema change after the baseline: NNNN_name.sql, wrangler's naming (optional)
app.yml       deploy settings (optional, read by Settings)
```

How the SQL files are applied, and when they are not: `deployer.database`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from deployer._files import contained, read_app_file
from deployer.bindings import ASSETS_BINDING
from deployer.bundle import TYPESCRIPT_SUFFIXES, Bundle, build_bundle
from deployer.errors import ConfigError
from deployer.manifest import AssetManifest, build_manifest
from deployer.migrations import MIGRATIONS_DIR, Migration, SqlFile, load_migrations, load_sql_file
from deployer.modules import Module, NeedsBundler, load_modules

__all__ = ["MAIN_MODULE", "MAX_WORKER_SIZE", "LocalApp", "load_app"]

MAIN_MODULE = "worker.js"
# Workers' script size limit on the Paid plan (10 MB after compression); an uncompressed module above it is
# certainly refused, so it is caught here instead of after the database and the assets were touched.
MAX_WORKER_SIZE = 10 * 1024 * 1024
# The Workers Free plan's limit, after compression (Cloudflare's limits page: "Worker size 3 MB"; wrangler 4.86
# colours its "Total Upload … gzip" report against 3 MiB). A bundle over it is a warning: the plan is not known here.
FREE_PLAN_WORKER_SIZE = 3 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class LocalApp:
    """The app folder's contents, validated."""

    root: Path
    worker_code: bytes  # the main module as uploaded: the file as written, or the bundle
    manifest: AssetManifest | None  # None: the app has no public/ folder
    modules: tuple[Module, ...] = ()  # the local modules worker.js imports (worker.js itself is not one)
    main: str = MAIN_MODULE  # the main module's name in the upload: worker.js, wrangler's `main`, or the bundle's
    bundle: Bundle | None = None  # how the Worker was bundled (None: uploaded as written)
    schema: SqlFile | None = None  # None: no schema.sql, or one holding only whitespace
    seed: SqlFile | None = None
    migrations: tuple[Migration, ...] = ()
    warnings: tuple[str, ...] = ()  # what a user should know but that does not stop the deploy

    @property
    def all_code(self) -> bytes:
        """worker.js and every module it imports, one after the other (for reading what the code uses); for a
        bundle, the app's own sources (a package's code does not read this app's bindings)."""
        if self.bundle is not None:
            return self.bundle.own_code
        return b"\n".join([self.worker_code, *(module.code for module in self.modules)])

    @property
    def schema_sql(self) -> str | None:
        return self.schema.sql if self.schema else None

    @property
    def schema_path(self) -> Path | None:
        return self.schema.path if self.schema else None


def load_app(
    root: Path,
    main: str = MAIN_MODULE,
    *,
    assets_dir: str | None = "public",
    migrations_dir: str = MIGRATIONS_DIR,
    compatibility_flags: Sequence[str] = (),
) -> LocalApp:
    """Read and check `root` (whose Worker's main module is `main`, a checked relative path); raise
    `ConfigError` naming the input and the fix. A Worker that needs it is bundled (`deployer.bundle`, which
    respects `nodejs_compat` among `compatibility_flags`).

    Every file is read through `deployer._files`: it must resolve inside `root` and be a regular file.
    """
    if not root.is_dir():
        raise ConfigError(
            f"App folder {root} does not exist",
            hint="Pass the folder that holds worker.js (CLI argument APP_DIR, input app-dir).",
        )
    worker = root / main
    code = read_app_file(worker, root)
    if code is None:
        raise ConfigError(
            f"{worker} is missing: an app folder needs its Worker as an ES module named {main}",
            hint="Expected layout: worker.js, public/ (static assets), schema.sql (D1 schema), app.yml (optional).",
            file=worker,
        )
    bundle = None
    reason = f"{main} is TypeScript or JSX" if main.endswith(TYPESCRIPT_SUFFIXES) else None
    try:
        modules = (
            load_modules(root, main, max_bytes=MAX_WORKER_SIZE) if not reason and len(code) <= MAX_WORKER_SIZE else ()
        )
    except NeedsBundler as signal:
        modules, reason = (), signal.reason
    if reason is not None:
        bundle = build_bundle(
            root, main, reason=reason, compatibility_flags=compatibility_flags, max_bytes=MAX_WORKER_SIZE
        )
        code = bundle.code
    size = len(code) + sum(len(module.code) for module in modules)
    if size > MAX_WORKER_SIZE:
        what = f"{worker} is" if not modules else f"{worker} and the {len(modules)} modules it imports are"
        raise ConfigError(
            f"{what} {size:,} bytes; a Worker may be at most {MAX_WORKER_SIZE:,} bytes",
            hint="Move large data into public/ (static assets) or D1.",
            file=worker,
        )
    warnings: list[str] = []
    if bundle is not None and bundle.gzip_size > FREE_PLAN_WORKER_SIZE:
        warnings.append(
            f"The bundle is {bundle.gzip_size:,} bytes compressed: over the Workers Free plan's limit of "
            f"{FREE_PLAN_WORKER_SIZE:,} (Cloudflare refuses the upload on that plan; the Paid plan takes 10 MB)"
        )
    public = root / (assets_dir or "public")
    manifest = None
    if assets_dir is not None and os.path.lexists(public):
        contained(public, root)
        if public.is_dir():
            manifest = build_manifest(public, boundary=root)
    if manifest is not None and not manifest.files and manifest.headers is None and manifest.redirects is None:
        manifest = None  # an empty public/ is the same as none: no assets binding, no upload session
        warnings.append(
            f"{public} is empty: the Worker is deployed without static assets and without an assets binding "
            f"(env.{ASSETS_BINDING}, or wrangler's [assets] binding, is undefined). Add files, or remove the folder."
        )

    return LocalApp(
        root=root,
        worker_code=code,
        manifest=manifest,
        modules=modules,
        main=bundle.name if bundle else main,
        bundle=bundle,
        schema=load_sql_file(root / "schema.sql", root),
        seed=load_sql_file(root / "seed.sql", root),
        migrations=load_migrations(root, migrations_dir),
        warnings=tuple(warnings),
    )
