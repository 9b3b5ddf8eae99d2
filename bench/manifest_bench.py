"""Building the asset manifest of 20,000 files (200 MB) against a bare read-and-hash loop.

The bare loop is the least any manifest builder must do: `os.walk`, read each file whole, and hash it as
wrangler does (BLAKE3 of the base64 text followed by the extension, 32 hex digits). `build_manifest` does that
plus the checks (`.assetsignore`, `_worker.js` guard, size and count limits, UTF-8 names), MIME types and the
sorted `AssetFile` records. Both run in this process on the same files with a warm page cache (one untimed
pass each first), alternating, and must agree on every hash.
"""

from __future__ import annotations

import os
import statistics
import time
from binascii import b2a_base64
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from blake3 import blake3

from bench.apps import generate_files

__all__ = ["ManifestResult", "bare_loop", "run_manifest_bench"]


@dataclass(frozen=True, slots=True)
class ManifestResult:
    files: int
    total_bytes: int
    manifest_seconds: list[float]
    bare_seconds: list[float]

    @property
    def ratio(self) -> float:
        """Median manifest time over median bare-loop time."""
        return statistics.median(self.manifest_seconds) / statistics.median(self.bare_seconds)


def bare_loop(root: Path) -> dict[str, str]:
    """Hash every file under `root` the way wrangler does, with nothing else: `{"/relative/path": hash}`."""
    hashes: dict[str, str] = {}
    prefix = len(str(root))
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, "rb") as file:
                data = file.read()
            dot = name.rfind(".")
            extension = name[dot + 1 :] if dot > 0 else ""
            digest = blake3(b2a_base64(data, newline=False) + extension.encode()).hexdigest()[:32]
            hashes[path[prefix:].replace(os.sep, "/")] = digest
    return hashes


def _manifest_hashes(root: Path) -> dict[str, str]:
    from deployer.manifest import build_manifest

    return {file.path: file.hash for file in build_manifest(root).files}


def _timed(function: Callable[[Path], dict[str, str]], root: Path) -> tuple[float, dict[str, str]]:
    started = time.perf_counter()
    hashes = function(root)
    return time.perf_counter() - started, hashes


def run_manifest_bench(
    work: Path, *, files: int = 20_000, total_bytes: int = 200_000_000, runs: int = 5
) -> ManifestResult:
    """Generate the files under `work`, warm the cache, then time both `runs` times (alternating)."""
    root = work / "manifest-files"
    generate_files(root, count=files, total_bytes=total_bytes, seed=20_000)
    _, reference = _timed(bare_loop, root)  # warm-up passes: page cache, imports, allocator
    _, built = _timed(_manifest_hashes, root)
    if built != reference:
        msg = "build_manifest and the bare loop disagree on the hashes"
        raise AssertionError(msg)
    manifest_seconds: list[float] = []
    bare_seconds: list[float] = []
    for repetition in range(runs):
        order = [(_manifest_hashes, manifest_seconds), (bare_loop, bare_seconds)]
        for function, into in order if repetition % 2 == 0 else reversed(order):
            seconds, _ = _timed(function, root)
            into.append(seconds)
    return ManifestResult(files, total_bytes, manifest_seconds, bare_seconds)
