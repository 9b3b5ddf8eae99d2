"""How each asset is hashed (wrangler's formula, streamed in chunks) and which extension and type it gets."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from deployer import manifest as manifest_module
from deployer._mime import content_type, extension_of
from deployer.manifest import HASH_CHUNK_SIZE, asset_hash, build_manifest, hash_file

# From wrangler's packages/wrangler/src/__tests__/deploy/assets.test.ts.
WRANGLER_VECTORS = [
    pytest.param(b"Content of file-1", "0de3dd5df907418e9730fd2bd747bd5e", id="file-1"),
    pytest.param(b"Content of file-2", "7574a8cd3094a050388ac9663af1c1d6", id="file-2"),
    pytest.param(b"Content of file-3", "ff5016e92f039aa743a4ff7abb3180fa", id="file-3"),
]


@pytest.mark.parametrize(("data", "expected"), WRANGLER_VECTORS)
def test_asset_hash_matches_wrangler(data: bytes, expected: str) -> None:
    """`asset_hash` reproduces wrangler's test vectors for `.txt` files."""
    assert asset_hash(data, "txt") == expected


@pytest.mark.parametrize(("data", "expected"), WRANGLER_VECTORS)
def test_build_manifest_hash_matches_wrangler(tmp_path: Path, data: bytes, expected: str) -> None:
    """A file in the manifest gets wrangler's hash and its byte size."""
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "file.txt").write_bytes(data)
    manifest = build_manifest(tmp_path / "public")
    assert manifest.as_upload_manifest() == {"/file.txt": {"hash": expected, "size": len(data)}}


@pytest.mark.parametrize(
    ("ext_a", "ext_b", "same"),
    [
        pytest.param(".txt", "txt", True, id="dot-optional"),
        pytest.param("TXT", "txt", False, id="case-kept"),
        pytest.param("html", "txt", False, id="extension-counts"),
    ],
)
def test_asset_hash_extension(ext_a: str, ext_b: str, same: bool) -> None:
    """The extension enters the hash without its dot and with its case, so equal bytes can differ."""
    assert (asset_hash(b"<p>hi</p>", ext_a) == asset_hash(b"<p>hi</p>", ext_b)) is same


@pytest.mark.parametrize(
    "size", [pytest.param(n, id=f"{n}-bytes") for n in (0, 1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 18, 19, 20)]
)
@pytest.mark.parametrize("chunk_size", [pytest.param(6, id="chunk-6"), pytest.param(7, id="chunk-7")])
def test_hashing_in_small_chunks_equals_one_shot(size: int, chunk_size: int) -> None:
    """Streaming in small chunks gives the one-shot hash for sizes around the chunk boundaries."""
    data = os.urandom(size)
    read = io.BytesIO(data).read
    got = manifest_module._hash_reads(read, "js", first=chunk_size, chunk_size=chunk_size)
    assert got == (asset_hash(data, "js"), size)


@pytest.mark.parametrize("limit", [pytest.param(n, id=f"max-{n}") for n in (1, 2, 4, 5)])
def test_hashing_handles_short_reads(limit: int) -> None:
    """Short reads (at most `limit` bytes each) that split base64 groups still give the one-shot hash."""
    data = io.BytesIO(os.urandom(101))
    got = manifest_module._hash_reads(lambda size: data.read(min(size, limit)), "css", first=9, chunk_size=9)
    assert got == (asset_hash(data.getvalue(), "css"), 101)


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(HASH_CHUNK_SIZE - 1, id="chunk-minus-1"),
        pytest.param(HASH_CHUNK_SIZE, id="chunk"),
        pytest.param(HASH_CHUNK_SIZE + 1, id="chunk-plus-1"),
        pytest.param(2 * HASH_CHUNK_SIZE + 2, id="two-chunks-plus-2"),
    ],
)
def test_hash_file_equals_one_shot_around_chunk_size(tmp_path: Path, size: int) -> None:
    """`hash_file` with the real chunk size matches `asset_hash` around the chunk boundaries."""
    data = os.urandom(size)
    target = tmp_path / "blob.wasm"
    target.write_bytes(data)
    assert hash_file(target) == (asset_hash(data, "wasm"), size)


@pytest.mark.parametrize("hint", [pytest.param(0, id="too-small"), pytest.param(10_000, id="too-large")])
def test_hash_file_ignores_a_wrong_size_hint(tmp_path: Path, hint: int) -> None:
    """A stale size hint changes how the file is read, never the result."""
    data = os.urandom(3001)
    target = tmp_path / "a.bin"
    target.write_bytes(data)
    assert hash_file(target, "bin", size_hint=hint) == (asset_hash(data, "bin"), 3001)


@pytest.mark.parametrize(
    ("name", "extension", "hashed_as"),
    [
        pytest.param("page.html", None, "html", id="from-the-name"),
        pytest.param("page.html", "txt", "txt", id="given"),
        pytest.param("page.html", ".txt", "txt", id="given-with-dot"),
        pytest.param("archive.tar.GZ", None, "GZ", id="last-extension-case-kept"),
        pytest.param("dir.v2/LICENSE", None, "", id="none"),
        pytest.param(".htaccess", None, "", id="leading-dot-is-no-extension"),
    ],
)
def test_hash_file_hashes_with_the_extension_given_or_of_the_name(
    tmp_path: Path, name: str, extension: str | None, hashed_as: str
) -> None:
    target = tmp_path / name
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(b"<p>hi</p>")
    assert hash_file(target, extension) == (asset_hash(b"<p>hi</p>", hashed_as), 9)


def read_requests(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the size of every `os.read` request from now on (the reads still happen)."""
    sizes: list[int] = []
    real_read = os.read

    def recording_read(fd: int, size: int) -> bytes:
        sizes.append(size)
        return real_read(fd, size)

    monkeypatch.setattr(os, "read", recording_read)
    return sizes


PROBE = 3 * 1024


@pytest.mark.parametrize(
    ("size", "hint", "requests"),
    [
        pytest.param(10, 10, [11, PROBE], id="small-with-hint"),
        pytest.param(0, 0, [1], id="empty-with-hint"),
        pytest.param(10, None, [HASH_CHUNK_SIZE, PROBE], id="small-without-hint"),
        pytest.param(HASH_CHUNK_SIZE - 1, HASH_CHUNK_SIZE - 1, [HASH_CHUNK_SIZE, PROBE], id="chunk-minus-1"),
        pytest.param(HASH_CHUNK_SIZE, HASH_CHUNK_SIZE, [HASH_CHUNK_SIZE, HASH_CHUNK_SIZE], id="one-chunk"),
        pytest.param(2 * HASH_CHUNK_SIZE + 2, None, [HASH_CHUNK_SIZE] * 3 + [PROBE], id="two-chunks-plus-2"),
    ],
)
def test_hash_file_reads_in_as_few_requests_as_the_size_allows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int, hint: int | None, requests: list[int]
) -> None:
    """A file under one chunk whose size is known is read with one request a byte larger than the file (the
    short read marks the end), then a small probe confirms it; bigger or unknown files are read chunk by chunk."""
    target = tmp_path / "a.bin"
    target.write_bytes(os.urandom(size))
    seen = read_requests(monkeypatch)
    hash_file(target, size_hint=hint)
    assert seen == requests


def test_build_manifest_passes_the_walked_size_as_the_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of small assets cost one exact-size read each (plus the end probe), not a 1 MiB request."""
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "a.txt").write_bytes(b"0123456789")
    seen = read_requests(monkeypatch)
    build_manifest(tmp_path / "public")
    assert seen == [11, PROBE]


# name -> type, checked against npm mime@4.0.7 plus wrangler's charset rule.
CONTENT_TYPES = """
index.html text/html; charset=utf-8
INDEX.HTM text/html; charset=utf-8
style.css text/css; charset=utf-8
app.js text/javascript; charset=utf-8
app.cjs application/node
data.json application/json
app.js.map application/json
notes.txt text/plain; charset=utf-8
logo.svg image/svg+xml
a.png image/png
favicon.ico image/vnd.microsoft.icon
f.woff2 font/woff2
m.wasm application/wasm
README.md text/markdown; charset=utf-8
site.webmanifest application/manifest+json
a.unknownext application/null
LICENSE application/null
.htaccess application/null
dir.v2/file application/null
"""


@pytest.mark.parametrize(
    ("name", "expected"),
    [pytest.param(*line.split(" ", 1), id=line.split(" ")[0]) for line in CONTENT_TYPES.strip().splitlines()],
)
def test_content_type(name: str, expected: str) -> None:
    """Content types follow npm `mime`, with a utf-8 charset on text types and `application/null` otherwise."""
    assert content_type(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("a.txt", "txt", id="simple"),
        pytest.param("a.tar.gz", "gz", id="last-only"),
        pytest.param("A.TXT", "TXT", id="case-kept"),
        pytest.param(".htaccess", "", id="leading-dot"),
        pytest.param("..a", "a", id="two-leading-dots"),
        pytest.param("a.", "", id="trailing-dot"),
        pytest.param("noext", "", id="none"),
        pytest.param("x.y/z", "", id="dot-in-parent"),
    ],
)
def test_extension_of_matches_node_extname(name: str, expected: str) -> None:
    """The hashed extension is what Node's `path.extname` returns, without the dot."""
    assert extension_of(name) == expected
