"""Tests for deployer.manifest (and deployer._mime): building the static-assets manifest like wrangler."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from deployer import manifest as manifest_module
from deployer._mime import content_type, extension_of
from deployer.app import LocalApp
from deployer.errors import ManifestError
from deployer.manifest import (
    HASH_CHUNK_SIZE,
    MAX_ASSET_SIZE,
    AssetFile,
    AssetManifest,
    asset_hash,
    build_manifest,
    hash_file,
)
from deployer.settings import Settings
from deployer.state import local_digests

# From wrangler's packages/wrangler/src/__tests__/deploy/assets.test.ts.
WRANGLER_VECTORS = [
    pytest.param(b"Content of file-1", "0de3dd5df907418e9730fd2bd747bd5e", id="file-1"),
    pytest.param(b"Content of file-2", "7574a8cd3094a050388ac9663af1c1d6", id="file-2"),
    pytest.param(b"Content of file-3", "ff5016e92f039aa743a4ff7abb3180fa", id="file-3"),
]


def make_tree(root: Path, files: dict[str, bytes | str]) -> Path:
    """Create `files` (relative posix path -> content) under `root` and return `root`."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        target = root.joinpath(*rel.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
    return root


def keys(manifest: AssetManifest) -> list[str]:
    """The manifest keys in order."""
    return [f.path for f in manifest.files]


@pytest.mark.parametrize(("data", "expected"), WRANGLER_VECTORS)
def test_asset_hash_matches_wrangler(data: bytes, expected: str) -> None:
    """`asset_hash` reproduces wrangler's test vectors for `.txt` files."""
    assert asset_hash(data, "txt") == expected


@pytest.mark.parametrize(("data", "expected"), WRANGLER_VECTORS)
def test_build_manifest_hash_matches_wrangler(tmp_path: Path, data: bytes, expected: str) -> None:
    """A file in the manifest gets wrangler's hash and its byte size."""
    manifest = build_manifest(make_tree(tmp_path / "public", {"file.txt": data}))
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
    ("names", "expected"),
    [
        pytest.param(["index.html", "b/c/d.txt", "a.css"], ["/a.css", "/b/c/d.txt", "/index.html"], id="nested"),
        pytest.param(["béëp/boo^p.txt", "boop/file#1.txt"], ["/boop/file#1.txt", "/béëp/boo^p.txt"], id="unicode"),
    ],
)
def test_keys(tmp_path: Path, names: list[str], expected: list[str]) -> None:
    """Keys are "/" + the relative posix path, sorted, not URL-encoded (as in wrangler's test manifest)."""
    root = make_tree(tmp_path / "public", dict.fromkeys(names, "x"))
    assert keys(build_manifest(root)) == expected


def test_asset_file_fields(tmp_path: Path) -> None:
    """Each `AssetFile` carries key, source path, hash, size and content type."""
    root = make_tree(tmp_path / "public", {"docs/file-1.txt": "Content of file-1"})
    (only,) = build_manifest(root).files
    assert only == AssetFile(
        path="/docs/file-1.txt",
        source=root / "docs" / "file-1.txt",
        hash="0de3dd5df907418e9730fd2bd747bd5e",
        size=17,
        content_type="text/plain; charset=utf-8",
    )


def test_by_hash_keeps_first_file_per_hash(tmp_path: Path) -> None:
    """`by_hash` maps a hash shared by several files to the first of them by key."""
    root = make_tree(tmp_path / "public", {"b/same.txt": "same", "a/same.txt": "same", "same.html": "same"})
    by_hash = build_manifest(root).by_hash()
    assert {f.path for f in by_hash.values()} == {"/a/same.txt", "/same.html"}


def test_total_bytes_sums_sizes(tmp_path: Path) -> None:
    """`total_bytes` is the sum of all file sizes."""
    root = make_tree(tmp_path / "public", {"a.txt": b"12345", "b/c.txt": b"678"})
    assert build_manifest(root).total_bytes == 8


def test_empty_directory_gives_empty_manifest(tmp_path: Path) -> None:
    """A directory with no files gives no assets and no routing files."""
    (tmp_path / "public" / "empty-sub").mkdir(parents=True)
    assert build_manifest(tmp_path / "public") == AssetManifest(files=(), headers=None, redirects=None)


@pytest.mark.parametrize(
    ("ignore_text", "expected"),
    [
        pytest.param("", ["/app.js", "/app.js.map", "/drafts/a.md", "/src/drafts/b.md"], id="empty-file"),
        pytest.param("*.map\n", ["/app.js", "/drafts/a.md", "/src/drafts/b.md"], id="glob"),
        pytest.param("drafts/\n", ["/app.js", "/app.js.map"], id="directory-any-depth"),
        pytest.param("/drafts/\n", ["/app.js", "/app.js.map", "/src/drafts/b.md"], id="directory-anchored"),
        pytest.param("*\n!app.js\n", ["/app.js"], id="negation-re-includes"),
        pytest.param("# comment\n\n*.MAP\r\n", ["/app.js", "/drafts/a.md", "/src/drafts/b.md"], id="crlf-case"),
    ],
)
def test_assetsignore_patterns(tmp_path: Path, ignore_text: str, expected: list[str]) -> None:
    """`.assetsignore` lines exclude files as gitignore patterns, and `.assetsignore` itself is never uploaded."""
    files = {"app.js": "a", "app.js.map": "m", "drafts/a.md": "d", "src/drafts/b.md": "b"}
    root = make_tree(tmp_path / "public", {**files, ".assetsignore": ignore_text})
    assert keys(build_manifest(root)) == expected


def test_headers_and_redirects_are_captured_not_uploaded(tmp_path: Path) -> None:
    """Root `_headers` and `_redirects` are left out of the files and kept as raw text (CRLF included)."""
    headers = "/*\r\n  X-Frame-Options: DENY\r\n"
    redirects = "/old /new 301\n"
    root = make_tree(tmp_path / "public", {"_headers": headers, "_redirects": redirects, "index.html": "i"})
    manifest = build_manifest(root)
    assert (keys(manifest), manifest.headers, manifest.redirects) == (["/index.html"], headers, redirects)


def test_nested_headers_file_is_an_ordinary_asset(tmp_path: Path) -> None:
    """Only the root `_headers` is special; one in a subdirectory is uploaded."""
    root = make_tree(tmp_path / "public", {"sub/_headers": "x"})
    manifest = build_manifest(root)
    assert (keys(manifest), manifest.headers) == (["/sub/_headers"], None)


def test_routing_file_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    """A `_redirects` directory cannot be read as routing rules and is reported."""
    root = make_tree(tmp_path / "public", {"_redirects/x": "x"})
    with pytest.raises(ManifestError, match="_redirects is a directory"):
        build_manifest(root)


@pytest.mark.parametrize(
    ("files", "kind"),
    [
        pytest.param({"_worker.js": "export default {}"}, "file", id="file"),
        pytest.param({"_worker.js/index.js": "export default {}"}, "directory", id="directory"),
    ],
)
def test_worker_js_is_refused_without_assetsignore(tmp_path: Path, files: dict[str, str], kind: str) -> None:
    """A Pages `_worker.js` file or directory stops the build, naming it and the fix."""
    root = make_tree(tmp_path / "public", {"index.html": "i", **files})
    with pytest.raises(ManifestError, match=f"Pages {kind} _worker.js") as caught:
        build_manifest(root)
    assert caught.value.file == root / "_worker.js"
    assert caught.value.hint is not None
    assert ".assetsignore" in caught.value.hint
    assert "move the server code out" in caught.value.hint


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param({".assetsignore": "_worker.js\n", "a.txt": "a"}, ["/a.txt"], id="listed-in-assetsignore"),
        pytest.param({".assetsignore": ""}, ["/_worker.js"], id="empty-assetsignore"),
        pytest.param({"lib/_worker.js": "w", ".assetsignore": "/_worker.js"}, ["/lib/_worker.js"], id="anchored"),
    ],
)
def test_worker_js_guard_lifted(tmp_path: Path, files: dict[str, str], expected: list[str]) -> None:
    """Any `.assetsignore` lifts the `_worker.js` guard; its patterns alone decide what is uploaded."""
    root = make_tree(tmp_path / "public", {"_worker.js": "w", **files})
    assert keys(build_manifest(root)) == expected


def test_nested_worker_js_is_not_guarded(tmp_path: Path) -> None:
    """Only `_worker.js` at the root is guarded."""
    root = make_tree(tmp_path / "public", {"lib/_worker.js": "w"})
    assert keys(build_manifest(root)) == ["/lib/_worker.js"]


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


def make_sparse(path: Path, size: int) -> None:
    """Create a sparse file of `size` bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.truncate(size)


def test_file_over_25_mib_is_refused(tmp_path: Path) -> None:
    """A file one byte over 25 MiB stops the build with its name, size and the limit."""
    big = tmp_path / "public" / "video" / "big.mp4"
    make_sparse(big, MAX_ASSET_SIZE + 1)
    with pytest.raises(ManifestError) as caught:
        build_manifest(tmp_path / "public")
    message = str(caught.value)
    assert str(big) in message
    assert "26,214,401 bytes" in message
    assert "25 MiB limit" in message
    assert caught.value.file == big


def test_file_of_exactly_25_mib_is_accepted(tmp_path: Path) -> None:
    """A file of exactly 25 MiB is within the limit."""
    make_sparse(tmp_path / "public" / "big.bin", MAX_ASSET_SIZE)
    (only,) = build_manifest(tmp_path / "public").files
    assert only.size == MAX_ASSET_SIZE


def test_limit_checks_run_before_any_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The size check fails the build before any file is hashed."""
    make_tree(tmp_path / "public", {"a.txt": "a"})
    make_sparse(tmp_path / "public" / "z.bin", MAX_ASSET_SIZE + 1)

    def no_hashing(*args: object, **kwargs: object) -> tuple[str, int]:
        raise AssertionError("a file was read before the checks finished")

    monkeypatch.setattr(manifest_module, "hash_file", no_hashing)
    with pytest.raises(ManifestError, match="over the 25 MiB limit"):
        build_manifest(tmp_path / "public")


def test_too_many_files_are_refused(tmp_path: Path) -> None:
    """More files than `max_files` stops the build with the count and the limit."""
    root = make_tree(tmp_path / "public", {"a.txt": "a", "b.txt": "b", "c/d.txt": "d"})
    with pytest.raises(ManifestError, match=r"holds 3 files .* limit of 2 files"):
        build_manifest(root, max_files=2)


def test_file_count_at_the_limit_is_accepted(tmp_path: Path) -> None:
    """Exactly `max_files` files are accepted, and ignored files do not count."""
    root = make_tree(tmp_path / "public", {"a.txt": "a", "b.txt": "b", "c.log": "c", ".assetsignore": "*.log"})
    assert len(build_manifest(root, max_files=2).files) == 2


@pytest.mark.parametrize("kind", [pytest.param("missing", id="missing"), pytest.param("file", id="file")])
def test_public_dir_must_be_a_directory(tmp_path: Path, kind: str) -> None:
    """A missing assets directory, or a file in its place, is reported by name."""
    public = tmp_path / "public"
    if kind == "file":
        public.write_text("not a dir")
    with pytest.raises(ManifestError, match=r"The assets directory .*public") as caught:
        build_manifest(public)
    assert caught.value.file == public


def test_manifest_error_carries_the_common_fields() -> None:
    """`ManifestError` carries message, hint, file and line like the project's ConfigError."""
    error = ManifestError("bad", hint="fix it", file=Path("x"), line=3)
    assert (error.message, error.hint, error.file, error.line) == ("bad", "fix it", Path("x"), 3)


def test_symlinks_inside_the_app_folder_are_followed(tmp_path: Path) -> None:
    """Symlinks to files and directories elsewhere in the app folder are followed, with the target's contents."""
    shared = make_tree(tmp_path / "app" / "shared", {"o.txt": "outside!"})
    root = make_tree(tmp_path / "app" / "public", {"a.txt": "a"})
    (root / "link.txt").symlink_to(shared / "o.txt")
    (root / "linkdir").symlink_to(Path("..") / "shared", target_is_directory=True)
    manifest = build_manifest(root, boundary=tmp_path / "app")
    assert manifest.as_upload_manifest() == {
        "/a.txt": {"hash": asset_hash(b"a", "txt"), "size": 1},
        "/link.txt": {"hash": asset_hash(b"outside!", "txt"), "size": 8},
        "/linkdir/o.txt": {"hash": asset_hash(b"outside!", "txt"), "size": 8},
    }


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("/proc/self/environ", id="the-deployers-environment"),
        pytest.param("/etc/passwd", id="a-system-file"),
        pytest.param("../../secret.txt", id="a-file-beside-the-app"),
    ],
)
def test_a_symlink_out_of_the_app_folder_is_refused(tmp_path: Path, target: str) -> None:
    """A link that resolves outside the app folder would publish what the runner can read: refused, named."""
    (tmp_path / "secret.txt").write_text("token")
    root = make_tree(tmp_path / "app" / "public", {"a.txt": "a"})
    (root / "leak.txt").symlink_to(target)
    with pytest.raises(ManifestError, match=r"leak\.txt leads outside the app folder") as caught:
        build_manifest(root, boundary=tmp_path / "app")
    assert caught.value.file == root / "leak.txt"


def test_a_directory_symlink_out_of_the_app_folder_is_refused(tmp_path: Path) -> None:
    make_tree(tmp_path / "home" / ".ssh", {"id_ed25519": "private key"})
    root = make_tree(tmp_path / "app" / "public", {"a.txt": "a"})
    (root / "keys").symlink_to(tmp_path / "home" / ".ssh", target_is_directory=True)
    with pytest.raises(ManifestError, match="keys leads outside the app folder"):
        build_manifest(root, boundary=tmp_path / "app")


def broken_link(root: Path) -> None:
    """Add a symlink to nothing."""
    (root / "gone.txt").symlink_to(root / "nowhere")


def link_loop(root: Path) -> None:
    """Add a directory symlink pointing back at the root."""
    (root / "sub").mkdir()
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)


def fifo(root: Path) -> None:
    """Add a named pipe."""
    os.mkfifo(root / "pipe")


def non_utf8_name(root: Path) -> None:
    """Add a file whose name is not valid UTF-8."""
    os.close(os.open(os.fsencode(root) + b"/bad-\xff.txt", os.O_CREAT | os.O_WRONLY))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(broken_link, r"gone\.txt is a symlink to a file that does not exist", id="broken-symlink"),
        pytest.param(link_loop, "symlink loop", id="symlink-loop"),
        pytest.param(fifo, "not a regular file", id="fifo"),
        pytest.param(non_utf8_name, "not valid UTF-8", id="non-utf8-name"),
    ],
)
def test_unusable_entries_are_reported(tmp_path: Path, make: Callable[[Path], None], message: str) -> None:
    """An entry that cannot become an asset stops the build with a message naming the problem."""
    root = make_tree(tmp_path / "public", {"a.txt": "a"})
    make(root)
    with pytest.raises(ManifestError, match=message):
        build_manifest(root)


def test_ignored_broken_symlink_is_skipped(tmp_path: Path) -> None:
    """An ignored broken symlink is never looked at."""
    root = make_tree(tmp_path / "public", {".assetsignore": "gone.txt", "a.txt": "a"})
    (root / "gone.txt").symlink_to(tmp_path / "nowhere")
    assert keys(build_manifest(root)) == ["/a.txt"]


SITE: dict[str, bytes | str] = {"index.html": "<h1>hi</h1>", "css/app.css": "body{}", "_headers": "/*\n  A: b\n"}


def assets_digest(public: Path) -> str:
    """The assets digest a deploy records (`deployer.state`) for an app whose `public/` is `public`."""
    app = LocalApp(root=public.parent, worker_code=b"", manifest=build_manifest(public))
    settings = Settings.load(cli={"app_dir": public.parent}, environ={})
    return local_digests(settings, app, secret_values={}, key="").assets


def test_digest_is_stable_across_runs_and_locations(tmp_path: Path) -> None:
    """The same files give the same digest, on every run and wherever the directory is."""
    first = assets_digest(make_tree(tmp_path / "one" / "public", SITE))
    again = assets_digest(tmp_path / "one" / "public")
    elsewhere = assets_digest(make_tree(tmp_path / "two" / "public", SITE))
    assert first == again == elsewhere
    assert len(first) == 16


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"index.html": "<h1>hI</h1>"}, id="one-byte-changed"),
        pytest.param({"css/app.css": None, "css/app.css2": "body{}"}, id="file-renamed"),
        pytest.param({"_headers": "/*\n  A: c\n"}, id="headers-changed"),
        pytest.param({"_redirects": "/a /b\n"}, id="redirects-added"),
    ],
)
def test_digest_changes_with_content(tmp_path: Path, change: dict[str, str | None]) -> None:
    """Changing a byte, a name or the routing files changes the digest."""
    before = assets_digest(make_tree(tmp_path / "one" / "public", SITE))
    changed: dict[str, bytes | str] = {k: v for k, v in {**SITE, **change}.items() if v is not None}
    assert assets_digest(make_tree(tmp_path / "two" / "public", changed)) != before


def test_unreadable_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An OSError while reading becomes a `ManifestError` naming the file."""
    root = make_tree(tmp_path / "public", {"secret.txt": "s"})

    def denied(path: Path, *args: object, **kwargs: object) -> tuple[str, int]:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(manifest_module, "hash_file", denied)
    with pytest.raises(ManifestError, match=r"Could not read .*secret\.txt: Permission denied") as caught:
        build_manifest(root)
    assert caught.value.file == root / "secret.txt"


@pytest.mark.parametrize("name", ["a\\b.txt", "tab\there.txt", "bell\x07.txt"])
def test_a_name_no_url_can_reach_is_refused(tmp_path: Path, name: str) -> None:
    """A backslash (browsers read it as '/') or a control character: named, before any upload."""
    root = make_tree(tmp_path / "public", {"ok.txt": "ok"})
    (root / name).write_text("x")
    with pytest.raises(ManifestError, match="so no URL can reach it") as caught:
        build_manifest(root)
    assert caught.value.file == root / name
