"""Tests for deployer.manifest: which files of the assets directory a deploy uploads, under which keys, plus the
routing files. How files are hashed is in test_manifest_hashing.py, what is refused in test_manifest_refusals.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.app import LocalApp
from deployer.errors import ManifestError
from deployer.manifest import (
    MAX_ASSET_SIZE,
    AssetFile,
    AssetManifest,
    asset_hash,
    build_manifest,
)
from deployer.settings import Settings
from deployer.state import local_digests


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


def test_routing_files_are_read_as_utf8_with_bad_bytes_replaced(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 become U+FFFD, as Node reads them, instead of failing the deploy."""
    root = make_tree(tmp_path / "public", {"_headers": b"/*\n  X-Name: caf\xe9\n", "_redirects": b"/\xff /b 301\n"})
    manifest = build_manifest(root)
    assert (manifest.headers, manifest.redirects) == ("/*\n  X-Name: caf\ufffd\n", "/\ufffd /b 301\n")


def test_nested_headers_file_is_an_ordinary_asset(tmp_path: Path) -> None:
    """Only the root `_headers` is special; one in a subdirectory is uploaded."""
    root = make_tree(tmp_path / "public", {"sub/_headers": "x"})
    manifest = build_manifest(root)
    assert (keys(manifest), manifest.headers) == (["/sub/_headers"], None)


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


def make_sparse(path: Path, size: int) -> None:
    """Create a sparse file of `size` bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.truncate(size)


def test_file_of_exactly_25_mib_is_accepted(tmp_path: Path) -> None:
    """A file of exactly 25 MiB is within the limit."""
    make_sparse(tmp_path / "public" / "big.bin", MAX_ASSET_SIZE)
    (only,) = build_manifest(tmp_path / "public").files
    assert only.size == MAX_ASSET_SIZE


def test_file_count_at_the_limit_is_accepted(tmp_path: Path) -> None:
    """Exactly `max_files` files are accepted, and ignored files do not count."""
    root = make_tree(tmp_path / "public", {"a.txt": "a", "b.txt": "b", "c.log": "c", ".assetsignore": "*.log"})
    assert len(build_manifest(root, max_files=2).files) == 2


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
    ("ignore", "link", "target_is_directory"),
    [
        pytest.param("leak.txt\n", "leak.txt", False, id="file-link-by-name"),
        pytest.param("keys/\n", "keys", True, id="directory-link-by-directory-pattern"),
    ],
)
def test_an_ignored_symlink_out_of_the_app_folder_is_never_followed(
    tmp_path: Path, ignore: str, link: str, target_is_directory: bool
) -> None:
    """A link that `.assetsignore` leaves out is not resolved, so where it leads does not matter."""
    outside = make_tree(tmp_path / "home", {"secret.txt": "token"})
    root = make_tree(tmp_path / "app" / "public", {"a.txt": "a", ".assetsignore": ignore})
    target = outside if target_is_directory else outside / "secret.txt"
    (root / link).symlink_to(target, target_is_directory=target_is_directory)
    assert keys(build_manifest(root, boundary=tmp_path / "app")) == ["/a.txt"]


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
    return local_digests(settings, app).assets


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
