"""Reading the app folder, which is untrusted input (on a fork's preview it is someone else's files).

Every file the deployer reads from it — `worker.js`, `schema.sql`, `app.yml`, each asset — must resolve inside
the app folder after every symlink is followed, and must be a regular file. A link to `/proc/self/environ`,
`/etc/passwd` or `~/.ssh/…` would otherwise publish what the runner can read; a device or a FIFO could hang the
deploy. Links that stay inside the folder keep working (a shared file linked into `public/`, say).

Failures are `ConfigError`s naming the link and where it leads, raised before any API call.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from deployer.errors import ConfigError

__all__ = ["contained", "read_app_file", "resolves_inside"]


def contained(path: Path, boundary: Path, *, error: type[ConfigError] = ConfigError) -> Path:
    """`path` with every symlink resolved; an `error` when that leads outside `boundary` (the app folder)."""
    real = Path(os.path.realpath(path))
    if not _within(real, Path(os.path.realpath(boundary))):
        raise error(
            f"{path} leads outside the app folder {boundary}: it resolves to {real}",
            hint=(
                "The deployer reads only files inside the app folder. Copy the file into the folder instead of "
                "linking to it, or remove the link (an asset can also be left out with public/.assetsignore)."
            ),
            file=path,
        )
    return real


def resolves_inside(path: Path, boundary: Path) -> bool:
    """Whether `path`, every symlink resolved, is `boundary` or inside it (what `contained` requires)."""
    return _within(Path(os.path.realpath(path)), Path(os.path.realpath(boundary)))


def _within(real: Path, root: Path) -> bool:
    return real == root or real.is_relative_to(root)


def read_app_file(path: Path, boundary: Path, *, error: type[ConfigError] = ConfigError) -> bytes | None:
    """The bytes of the regular file `path` inside `boundary`; None when nothing is there. Failures are `error`s
    (a `ConfigError`, or a subclass such as the manifest's)."""
    if not os.path.lexists(path):
        return None
    real = contained(path, boundary, error=error)
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        raise error(
            f"{path} is a symlink to {real}, which does not exist",
            hint="Fix or remove the link.",
            file=path,
        ) from None
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file (a device, FIFO or socket)"
        raise error(f"{path} is {kind}", hint=f"{path.name} must be a file.", file=path)
    try:
        return real.read_bytes()
    except OSError as exc:
        raise error(
            f"Cannot read {path}: {exc.strerror or exc}",
            hint="Check that the file is readable by the user running the deployer.",
            file=path,
        ) from None
