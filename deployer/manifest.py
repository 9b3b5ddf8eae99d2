"""The static-assets manifest: which files of the assets directory to upload, with wrangler's hashes.

`build_manifest(public_dir)` walks the directory the way wrangler's `buildAssetManifest` does and returns an
`AssetManifest`: one `AssetFile` per file to upload, plus the raw text of `_headers` and `_redirects` (which
go into the Worker's metadata, not into the assets). Everything that can make a deploy fail because of the
assets is checked here, before any network call (this module does no network I/O):

- the directory must exist;
- a Pages `_worker.js` (file or directory) is refused unless a `.assetsignore` exists, because uploading it
  would publish server code;
- no file may be larger than 25 MiB, and there may be at most `max_files` files (20,000 on the Free plan).

What is uploaded (wrangler `assets.ts`, workers-shared `utils/helpers.ts`):

- every file under the directory, recursively; symlinks are followed (to files and to directories) when they
  resolve inside the app folder, and refused when they lead out of it (`deployer._files`);
- minus `/.assetsignore`, `/_headers` and `/_redirects` at the root, and minus whatever the lines of
  `.assetsignore` match as gitignore patterns (see `deployer._ignore`);
- keyed by `"/" + relative path` with `/` separators on every OS, not URL-encoded (`/boop/file#1.txt`);
- hashed as `blake3(base64(bytes) + extension).hexdigest()[:32]`, where the extension has no dot and keeps
  its case. Cloudflare stores the Content-Type per hash; putting the extension into the hash keeps
  `a.txt` and `a.html` with equal bytes apart, and using wrangler's formula means assets that wrangler
  uploaded before are not uploaded again.

Hashing reads each file once in about 1 MiB chunks, base64-encodes each chunk (chunk sizes are multiples of
3 bytes, so the pieces join into the base64 of the whole file) and feeds one BLAKE3 hasher; no file is held
in memory whole. Files are hashed one after another on purpose: base64 encoding dominates the cost and holds
the GIL, and a thread pool measured about twice as slow on two cores (20,000 files, 200 MB).
"""

from __future__ import annotations

import os
import re
import stat
from binascii import b2a_base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Final

from blake3 import blake3

from deployer._files import contained, read_app_file
from deployer._ignore import IgnoreMatcher
from deployer._mime import content_type, extension_of
from deployer.errors import ManifestError

__all__ = [
    "ASSETS_IGNORE_FILENAME",
    "HASH_CHUNK_SIZE",
    "HEADERS_FILENAME",
    "MAX_ASSET_COUNT",
    "MAX_ASSET_SIZE",
    "REDIRECTS_FILENAME",
    "AssetFile",
    "AssetManifest",
    "asset_hash",
    "build_manifest",
    "hash_file",
]

MAX_ASSET_SIZE: Final = 25 * 1024 * 1024
"""Largest asset file Cloudflare accepts, in bytes (25 MiB)."""
MAX_ASSET_COUNT: Final = 20_000
"""Most asset files per Worker version on the Free plan."""

ASSETS_IGNORE_FILENAME: Final = ".assetsignore"
HEADERS_FILENAME: Final = "_headers"
REDIRECTS_FILENAME: Final = "_redirects"
_WORKER_JS: Final = "_worker.js"
_ALWAYS_IGNORED: Final = (f"/{ASSETS_IGNORE_FILENAME}", f"/{REDIRECTS_FILENAME}", f"/{HEADERS_FILENAME}")

HASH_CHUNK_SIZE: Final = 3 * 349_525
"""Read size while hashing: 1 MiB less one byte, a multiple of 3 so base64 pieces concatenate cleanly."""

_EOF_PROBE_SIZE: Final = 3 * 1024
_O_BINARY: Final[int] = getattr(os, "O_BINARY", 0)
_MIB: Final = 1024 * 1024


def asset_hash(data: bytes, extension: str) -> str:
    """Return wrangler's asset hash of `data` for a file with `extension` (`"txt"` or `".txt"`).

    It is the first 32 hex digits of BLAKE3 over the base64 text of `data` followed by the extension
    without its dot, case kept (`"Content of file-1"`, `"txt"` → `0de3dd5df907418e9730fd2bd747bd5e`).
    """
    hasher = blake3(b2a_base64(data, newline=False))
    hasher.update(extension.removeprefix(".").encode())
    return hasher.hexdigest()[:32]


def _hash_reads(read: Callable[[int], bytes], extension: str, *, first: int, chunk_size: int) -> tuple[str, int]:
    """Hash what successive `read(n)` calls return, the way `asset_hash` hashes the joined bytes.

    The first request is for `first` bytes, later ones for `chunk_size`. After a short read (the usual sign
    of the end) the bytes are held back and a small probe read follows; if it is empty they are encoded in
    one piece. Otherwise the largest multiple of 3 bytes is encoded and fed to the hasher and at most two
    bytes wait for the next read, so the base64 pieces join into the base64 of the whole input.
    """
    hasher = blake3()
    total = 0
    pending = b""
    want = first
    while chunk := read(want):
        total += len(chunk)
        full = len(chunk) == want
        pending += chunk  # no copy while nothing is pending: b"" + chunk is chunk itself
        if full:
            whole = len(pending) - len(pending) % 3
            hasher.update(b2a_base64(memoryview(pending)[:whole], newline=False))
            pending = pending[whole:]
        want = chunk_size if full else _EOF_PROBE_SIZE
    if pending:
        hasher.update(b2a_base64(pending, newline=False))
    hasher.update(extension.removeprefix(".").encode())
    return hasher.hexdigest()[:32], total


def hash_file(path: Path | str, extension: str | None = None, *, size_hint: int | None = None) -> tuple[str, int]:
    """Stream-hash the file at `path`; returns `(hash, size in bytes)`.

    `extension` defaults to the one of `path`'s name as Node's `path.extname` finds it. With `size_hint`
    (the size `stat` reported) a file smaller than one chunk is read with a single exact-size request,
    which is what makes hashing thousands of small files cheap; the result does not depend on the hint.
    """
    name = os.fspath(path)
    ext = extension_of(name.replace(os.sep, "/")) if extension is None else extension
    first = HASH_CHUNK_SIZE if size_hint is None or size_hint >= HASH_CHUNK_SIZE else size_hint + 1
    fd = os.open(name, os.O_RDONLY | _O_BINARY)
    try:
        return _hash_reads(partial(os.read, fd), ext, first=first, chunk_size=HASH_CHUNK_SIZE)
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class AssetFile:
    """One file to upload: its manifest key, where it is on disk, its hash, size and Content-Type."""

    path: str
    """Manifest key: `"/"` + the path relative to the assets directory, `/`-separated, not URL-encoded."""
    source: Path
    hash: str
    size: int
    content_type: str
    """What wrangler would send: the `mime` type (`text/*` with `; charset=utf-8`) or `application/null`."""


@dataclass(frozen=True, slots=True)
class AssetManifest:
    """Every asset of a deploy, sorted by manifest key, plus the raw `_headers` / `_redirects` text."""

    files: tuple[AssetFile, ...]
    headers: str | None = None
    """Text of `_headers` at the root of the assets directory, or None when there is none."""
    redirects: str | None = None
    """Text of `_redirects` at the root of the assets directory, or None when there is none."""

    def as_upload_manifest(self) -> dict[str, dict[str, str | int]]:
        """Return the body's `manifest` for the upload-session call: `{key: {"hash": ..., "size": ...}}`."""
        return {f.path: {"hash": f.hash, "size": f.size} for f in self.files}

    def by_hash(self) -> dict[str, AssetFile]:
        """Map each hash to the first file (by key) that has it, as wrangler picks the file to send."""
        first: dict[str, AssetFile] = {}
        for f in self.files:
            first.setdefault(f.hash, f)
        return first

    @property
    def total_bytes(self) -> int:
        """Sum of the sizes of all files."""
        return sum(f.size for f in self.files)


_Found = tuple[str, Path, int]
"""A file the walk keeps: (relative posix path, path on disk, size as `stat` saw it). A plain tuple,
because the walk makes one per file and this is the hot loop."""


def _read_text(path: Path, boundary: Path) -> str | None:
    """Read a root metafile as UTF-8 (bad bytes become U+FFFD, like Node), or None when it is absent."""
    data = read_app_file(path, boundary, error=ManifestError)
    return None if data is None else data.decode(errors="replace")


def _walk(root: Path, matcher: IgnoreMatcher, boundary: Path) -> Iterator[_Found]:
    """Yield every file under `root` that `matcher` keeps, following symlinks that stay inside `boundary` and
    skipping ignored dirs. Only links need the (costly) resolution: what is under a directory inside
    `boundary` is inside it too."""
    root_stat = root.stat()
    stack = [(root, "", frozenset({(root_stat.st_dev, root_stat.st_ino)}))]
    while stack:
        dir_path, prefix, ancestors = stack.pop()
        with os.scandir(dir_path) as entries:
            for entry in entries:
                rel = prefix + entry.name
                if not rel.isascii():
                    _check_utf8(rel, entry.path)
                if _UNREACHABLE.search(entry.name) and not matcher.matches(rel):
                    _refuse_name(rel, entry.path)
                if entry.is_symlink() and not matcher.matches(rel) and not matcher.matches(rel + "/"):
                    contained(Path(entry.path), boundary, error=ManifestError)
                if entry.is_dir():
                    if matcher.matches(rel + "/"):
                        continue
                    st = entry.stat()
                    key = (st.st_dev, st.st_ino)
                    if key in ancestors:
                        msg = f"The assets directory contains a symlink loop at {entry.path}."
                        hint = f"Remove the link, or add /{rel}/ to {ASSETS_IGNORE_FILENAME}."
                        raise ManifestError(msg, hint=hint, file=Path(entry.path))
                    stack.append((dir_path / entry.name, rel + "/", ancestors | {key}))
                elif not matcher.matches(rel):
                    # `dir / name` parses only the name, so it is cheaper than `Path(entry.path)`.
                    yield rel, dir_path / entry.name, _file_size(entry, rel)


# A backslash becomes "/" when a browser parses an http(s) URL (WHATWG URL standard), and control characters
# cannot be sent in a request line: no request could ever reach an asset whose name holds one. (The issue that
# asked for this check reports the Worker upload refusing such a name; the URL rule is reason enough.)
_UNREACHABLE = re.compile(r"[\\\x00-\x1f\x7f]")


def _refuse_name(rel: str, full_path: str) -> None:
    what = "a backslash" if "\\" in rel else "a control character"
    msg = f"The asset name {rel!r} contains {what}, so no URL can reach it."
    hint = f"Rename it (use '/' folders, not '\\'), or add /{rel} to {ASSETS_IGNORE_FILENAME}."
    raise ManifestError(msg, hint=hint, file=Path(full_path))


def _check_utf8(rel: str, full_path: str) -> None:
    """Refuse a file name that is not valid UTF-8 (Python hands it over with surrogate escapes)."""
    try:
        rel.encode()
    except UnicodeEncodeError:
        msg = f"The asset file name {full_path!r} is not valid UTF-8."
        raise ManifestError(msg, hint="Rename it to a UTF-8 name.", file=Path(full_path)) from None


def _file_size(entry: os.DirEntry[str], rel: str) -> int:
    """Return the size of a kept non-directory entry, following symlinks; refuse anything but a file."""
    try:
        st = entry.stat()
    except FileNotFoundError:
        msg = f"The asset {entry.path} is a symlink to a file that does not exist."
        hint = f"Fix or remove the link, or add /{rel} to {ASSETS_IGNORE_FILENAME}."
        raise ManifestError(msg, hint=hint, file=Path(entry.path)) from None
    if not stat.S_ISREG(st.st_mode):
        msg = f"The asset {entry.path} is not a regular file (it is a socket, FIFO or device)."
        hint = f"Remove it, or add /{rel} to {ASSETS_IGNORE_FILENAME}."
        raise ManifestError(msg, hint=hint, file=Path(entry.path))
    return st.st_size


def _check_worker_js(found: list[_Found], root: Path) -> None:
    """Refuse a Pages `_worker.js` file or directory at the root when there is no `.assetsignore`."""
    for rel, _, _ in found:
        # wrangler tests `startsWith("_worker.js")`, which also catches `_worker.js.map` and the like.
        if rel.startswith(_WORKER_JS):
            kind = "directory" if rel.startswith(_WORKER_JS + "/") else "file"
            name = _WORKER_JS if kind == "directory" else rel
            msg = (
                f"The assets directory {root} contains the Pages {kind} {name}, which would be uploaded as "
                "a public asset and could expose server-side code."
            )
            hint = (
                f'Add a line "{name}" to {root / ASSETS_IGNORE_FILENAME} (an empty {ASSETS_IGNORE_FILENAME} '
                "also lifts this check), or move the server code out of the assets directory."
            )
            raise ManifestError(msg, hint=hint, file=root / name)


def _check_sizes(found: list[_Found], root: Path, max_file_size: int) -> None:
    """Refuse any file larger than `max_file_size`, naming the first (by path) and counting the rest."""
    too_big = [item for item in found if item[2] > max_file_size]
    if not too_big:
        return
    rel, source, size = too_big[0]
    more = f" ({len(too_big) - 1} more files are too large)" if len(too_big) > 1 else ""
    msg = (
        f"The asset {source} is {size / _MIB:.1f} MiB ({size:,} bytes), over the "
        f"{max_file_size / _MIB:g} MiB limit for one asset file{more}."
    )
    hint = f"Shrink or split the file, or add /{rel} to {root / ASSETS_IGNORE_FILENAME}."
    raise ManifestError(msg, hint=hint, file=source)


def _check_count(found: list[_Found], root: Path, max_files: int) -> None:
    """Refuse more than `max_files` files."""
    if len(found) <= max_files:
        return
    msg = (
        f"The assets directory {root} holds {len(found):,} files to upload, over the limit of "
        f"{max_files:,} files per Worker version."
    )
    hint = f"Exclude files with {root / ASSETS_IGNORE_FILENAME} (gitignore patterns, one per line)."
    raise ManifestError(msg, hint=hint)


def _asset_file(found: _Found, root: Path, max_file_size: int) -> AssetFile:
    """Hash one found file into its `AssetFile`; the size limit is checked again on the bytes read."""
    rel, source, size_hint = found
    file_hash, size = hash_file(source, size_hint=size_hint)  # `source` has the name (and extension) of `rel`
    _check_sizes([(rel, source, size)], root, max_file_size)  # again: the file may have grown since the walk
    return AssetFile(path="/" + rel, source=source, hash=file_hash, size=size, content_type=content_type(rel))


def build_manifest(
    public_dir: Path,
    *,
    max_file_size: int = MAX_ASSET_SIZE,
    max_files: int = MAX_ASSET_COUNT,
    boundary: Path | None = None,
) -> AssetManifest:
    """Walk `public_dir` and return the manifest of what to upload, or raise `ManifestError`.

    All checks (directory exists, `_worker.js` guard, file size, file count) run on the directory listing,
    before any file is read. `max_files` is the Free plan's 20,000 (the limit this deployer checks; a Paid
    plan's 100,000 is not offered as a setting yet). A symlink is followed only when it resolves inside
    `boundary` (the app folder; default: `public_dir` itself), see `deployer._files`.
    """
    root = Path(public_dir)
    boundary = Path(boundary) if boundary is not None else root
    if not root.is_dir():
        what = "does not exist" if not root.exists() else "is not a directory"
        msg = f"The assets directory {root} {what}."
        raise ManifestError(msg, hint="Check the assets directory setting, or build the site first.", file=root)

    try:
        ignore_text = _read_text(root / ASSETS_IGNORE_FILENAME, boundary)
        matcher = IgnoreMatcher.from_text(ignore_text or "", base=_ALWAYS_IGNORED)
        found = sorted(_walk(root, matcher, boundary))

        if ignore_text is None:
            _check_worker_js(found, root)
        _check_sizes(found, root, max_file_size)
        _check_count(found, root, max_files)

        return AssetManifest(
            files=tuple([_asset_file(item, root, max_file_size) for item in found]),
            headers=_read_text(root / HEADERS_FILENAME, boundary),
            redirects=_read_text(root / REDIRECTS_FILENAME, boundary),
        )
    except OSError as exc:  # unreadable file or directory: say which, in our own error type
        where = exc.filename if exc.filename is not None else root
        msg = f"Could not read {where}: {exc.strerror or exc}."
        hint = f"Check its permissions, or add it to {root / ASSETS_IGNORE_FILENAME}."
        raise ManifestError(msg, hint=hint, file=Path(where)) from exc
