"""What `build_manifest` refuses, and the exact message, hint and file a user is shown for each refusal."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from deployer import manifest as manifest_module
from deployer.errors import ManifestError
from deployer.manifest import MAX_ASSET_SIZE, build_manifest

MIB = 1024 * 1024


def make_tree(root: Path, files: dict[str, str]) -> Path:
    """Create `files` (relative posix path -> text) under `root` and return `root`."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        target = root.joinpath(*rel.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    return root


def make_sparse(path: Path, size: int) -> None:
    """Create a sparse file of `size` bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.truncate(size)


def refusal(public: Path, **kwargs: object) -> tuple[str, str | None, Path | None]:
    """The (message, hint, file) of the `ManifestError` that building `public` raises."""
    with pytest.raises(ManifestError) as caught:
        build_manifest(public, **kwargs)  # type: ignore[arg-type]
    assert type(caught.value) is ManifestError
    return caught.value.message, caught.value.hint, caught.value.file


@pytest.mark.parametrize(("kind", "what"), [("missing", "does not exist"), ("file", "is not a directory")])
def test_the_assets_directory_must_be_a_directory(tmp_path: Path, kind: str, what: str) -> None:
    public = tmp_path / "public"
    if kind == "file":
        public.write_text("not a dir")
    assert refusal(public) == (
        f"The assets directory {public} {what}.",
        "Check the assets directory setting, or build the site first.",
        public,
    )


@pytest.mark.parametrize(
    ("files", "kind", "name"),
    [
        pytest.param({"_worker.js": "export default {}"}, "file", "_worker.js", id="file"),
        pytest.param({"_worker.js/index.js": "export default {}"}, "directory", "_worker.js", id="directory"),
        pytest.param({"_worker.js.map": "{}"}, "file", "_worker.js.map", id="same-prefix-as-wrangler"),
    ],
)
def test_a_pages_worker_is_refused_without_assetsignore(
    tmp_path: Path, files: dict[str, str], kind: str, name: str
) -> None:
    """A root `_worker.js` (or a name starting so, as wrangler checks) would publish server code."""
    root = make_tree(tmp_path / "public", {"index.html": "i", **files})
    assert refusal(root) == (
        f"The assets directory {root} contains the Pages {kind} {name}, which would be uploaded as a public asset "
        "and could expose server-side code.",
        f'Add a line "{name}" to {root}/.assetsignore (an empty .assetsignore also lifts this check), '
        "or move the server code out of the assets directory.",
        root / name,
    )


@pytest.mark.parametrize(
    ("sizes", "more"),
    [
        pytest.param({"video/big.mp4": MAX_ASSET_SIZE + 1}, "", id="one"),
        pytest.param(
            {"video/big.mp4": MAX_ASSET_SIZE + 1, "z.bin": 30 * MIB}, " (1 more files are too large)", id="two"
        ),
        pytest.param(
            {"video/big.mp4": MAX_ASSET_SIZE + 1, "y.bin": 26 * MIB, "z.bin": 30 * MIB, "ok.bin": MAX_ASSET_SIZE},
            " (2 more files are too large)",
            id="three",
        ),
    ],
)
def test_a_file_over_25_mib_is_refused_by_name_size_and_limit(tmp_path: Path, sizes: dict[str, int], more: str) -> None:
    """The first file by path is named, with its size in MiB and bytes; the others are counted."""
    root = tmp_path / "public"
    for rel, size in sizes.items():
        make_sparse(root / rel, size)
    big = root / "video" / "big.mp4"
    assert refusal(root) == (
        f"The asset {big} is 25.0 MiB (26,214,401 bytes), over the 25 MiB limit for one asset file{more}.",
        f"Shrink or split the file, or add /video/big.mp4 to {root}/.assetsignore.",
        big,
    )


def test_the_size_limit_can_be_lowered(tmp_path: Path) -> None:
    """A smaller `max_file_size` is the limit the message names; a file at it passes, one byte more does not."""
    root = tmp_path / "public"
    make_sparse(root / "a.bin", 3 * MIB // 2)
    make_sparse(root / "b.bin", 3 * MIB // 2 + 1)
    assert refusal(root, max_file_size=3 * MIB // 2) == (
        f"The asset {root}/b.bin is 1.5 MiB (1,572,865 bytes), over the 1.5 MiB limit for one asset file.",
        f"Shrink or split the file, or add /b.bin to {root}/.assetsignore.",
        root / "b.bin",
    )


def test_a_file_that_grows_after_the_walk_is_refused_when_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The limit is checked again on the bytes actually read: the walk saw 1.5 MiB (the limit), but something
    appended 10 bytes before the file was read."""
    root = tmp_path / "public"
    log = root / "log" / "app.log"
    make_sparse(log, 3 * MIB // 2)
    real_read = os.read
    appended: list[int] = []

    def read_after_an_append(fd: int, size: int) -> bytes:
        if not appended:
            with log.open("ab") as f:
                appended.append(f.write(b"0123456789"))
        return real_read(fd, size)

    monkeypatch.setattr(os, "read", read_after_an_append)
    assert refusal(root, max_file_size=3 * MIB // 2) == (
        f"The asset {log} is 1.5 MiB (1,572,874 bytes), over the 1.5 MiB limit for one asset file.",
        f"Shrink or split the file, or add /log/app.log to {root}/.assetsignore.",
        log,
    )


@pytest.mark.parametrize(
    ("count", "limit", "shown"),
    [(3, 2, "3 files to upload, over the limit of 2"), (1001, 1000, "1,001 files to upload, over the limit of 1,000")],
)
def test_too_many_files_are_refused_with_the_count_and_the_limit(
    tmp_path: Path, count: int, limit: int, shown: str
) -> None:
    root = make_tree(tmp_path / "public", {f"d{i % 3}/f{i}.txt": "x" for i in range(count)})
    assert refusal(root, max_files=limit) == (
        f"The assets directory {root} holds {shown} files per Worker version.",
        f"Exclude files with {root}/.assetsignore (gitignore patterns, one per line).",
        None,
    )


@pytest.mark.parametrize(
    ("name", "what"),
    [
        pytest.param("a\\b.txt", "a backslash", id="backslash"),
        pytest.param("tab\there.txt", "a control character", id="tab"),
        pytest.param("bell\x07.txt", "a control character", id="bell"),
        pytest.param("del\x7f.txt", "a control character", id="delete"),
        pytest.param("both\\\x01.txt", "a backslash", id="backslash-and-control"),
    ],
)
def test_a_name_no_url_can_reach_is_refused(tmp_path: Path, name: str, what: str) -> None:
    """A backslash (browsers read it as '/') or a control character in a name: refused, with the way out."""
    root = make_tree(tmp_path / "public", {"ok.txt": "ok", f"sub/{name}": "x"})
    assert refusal(root) == (
        f"The asset name {'sub/' + name!r} contains {what}, so no URL can reach it.",
        f"Rename it (use '/' folders, not '\\'), or add /sub/{name} to .assetsignore.",
        root / "sub" / name,
    )


def test_an_ignored_name_no_url_can_reach_is_left_out(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "public", {"ok.txt": "ok", "bell\x07.txt": "x", ".assetsignore": "bell*\n"})
    assert [f.path for f in build_manifest(root).files] == ["/ok.txt"]


def test_a_name_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "public", {"a.txt": "a"})
    os.close(os.open(os.fsencode(root) + b"/bad-\xff.txt", os.O_CREAT | os.O_WRONLY))
    full = f"{root}/bad-\udcff.txt"
    assert refusal(root) == (
        f"The asset file name {full!r} is not valid UTF-8.",
        "Rename it to a UTF-8 name.",
        Path(full),
    )


def test_a_broken_symlink_is_refused(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "public", {"a.txt": "a"})
    (root / "img").mkdir()
    (root / "img" / "gone.png").symlink_to(root / "nowhere.png")
    assert refusal(root) == (
        f"The asset {root}/img/gone.png is a symlink to a file that does not exist.",
        "Fix or remove the link, or add /img/gone.png to .assetsignore.",
        root / "img" / "gone.png",
    )


def test_a_fifo_is_refused(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "public", {"a.txt": "a"})
    os.mkfifo(root / "pipe")
    assert refusal(root) == (
        f"The asset {root}/pipe is not a regular file (it is a socket, FIFO or device).",
        "Remove it, or add /pipe to .assetsignore.",
        root / "pipe",
    )


def test_a_symlink_loop_is_refused(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "public", {"a.txt": "a"})
    (root / "sub").mkdir()
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)
    assert refusal(root) == (
        f"The assets directory contains a symlink loop at {root}/sub/loop.",
        "Remove the link, or add /sub/loop/ to .assetsignore.",
        root / "sub" / "loop",
    )


def test_a_symlink_out_of_the_app_folder_is_a_manifest_error(tmp_path: Path) -> None:
    """The containment check of `deployer._files` reports through this module's error type."""
    (tmp_path / "secret.txt").write_text("token")
    root = make_tree(tmp_path / "app" / "public", {"a.txt": "a"})
    (root / "leak.txt").symlink_to(tmp_path / "secret.txt")
    message, _, file = refusal(root, boundary=tmp_path / "app")
    assert (message, file) == (
        f"{root}/leak.txt leads outside the app folder {tmp_path}/app: it resolves to {tmp_path}/secret.txt",
        root / "leak.txt",
    )


@pytest.mark.parametrize("name", ["_headers", "_redirects", ".assetsignore"])
def test_a_root_metafile_that_is_a_directory_is_refused(tmp_path: Path, name: str) -> None:
    root = make_tree(tmp_path / "public", {f"{name}/x": "x"})
    assert refusal(root) == (f"{root}/{name} is a directory", f"{name} must be a file.", root / name)


def test_an_unreadable_entry_is_reported_by_name(tmp_path: Path) -> None:
    """An OSError on an entry (here a link to itself) names the entry, in the manifest's error type."""
    root = make_tree(tmp_path / "public", {"a.txt": "a"})
    (root / "self.txt").symlink_to("self.txt")
    assert refusal(root) == (
        f"Could not read {root}/self.txt: Too many levels of symbolic links.",
        f"Check its permissions, or add it to {root}/.assetsignore.",
        root / "self.txt",
    )


def test_a_read_error_without_a_file_name_names_the_assets_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failing read (a disk error: the OSError carries no file name) is reported against the directory."""
    root = make_tree(tmp_path / "public", {"a.txt": "a"})

    def failing_read(fd: int, size: int) -> bytes:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "read", failing_read)
    assert refusal(root) == (
        f"Could not read {root}: Input/output error.",
        f"Check its permissions, or add it to {root}/.assetsignore.",
        root,
    )


def test_limit_checks_run_before_any_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The size check fails the build before any file is hashed."""
    make_tree(tmp_path / "public", {"a.txt": "a"})
    make_sparse(tmp_path / "public" / "z.bin", MAX_ASSET_SIZE + 1)

    def no_hashing(*args: object, **kwargs: object) -> tuple[str, int]:
        raise AssertionError("a file was read before the checks finished")

    monkeypatch.setattr(manifest_module, "hash_file", no_hashing)
    with pytest.raises(ManifestError, match="over the 25 MiB limit"):
        build_manifest(tmp_path / "public")


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
