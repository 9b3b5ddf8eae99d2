"""Fetch the esbuild binary the deployer bundles with into the action's image, refusing any other bytes.

Run by the Dockerfile (`python fetch_esbuild.py DEST`): downloads `@esbuild/linux-<cpu>` at `VERSION` from the
npm registry, checks the tarball's SHA-256 against the one written here (taken from the registry's tarball for
this version, the same bytes `npm ci` installs for the CLI through package-lock.json), and writes its
`package/bin/esbuild` to DEST. Any mismatch, or a CPU without a checksum here, fails the image build. Standard
library only: the image has no curl.
"""

from __future__ import annotations

import hashlib
import io
import platform
import sys
import tarfile
import urllib.request
from pathlib import Path

VERSION = "0.27.3"  # deployer.bundle.ESBUILD_VERSION (a test compares them)
SHA256 = {
    "x64": "066e20cdb882994160e18524a552b97e03648eb9aa0c7cdf5680a6493be65ab2",
    "arm64": "04f0bfb132b8b0800c23b22caa9ad7a7adf41e2434c027fc8571318b9904712f",
}
REGISTRY = "https://registry.npmjs.org"


def main(destination: Path) -> None:
    cpu = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower())
    if cpu is None:
        sys.exit(f"fetch_esbuild: no esbuild checksum for the CPU {platform.machine()}")
    url = f"{REGISTRY}/@esbuild/linux-{cpu}/-/linux-{cpu}-{VERSION}.tgz"
    with urllib.request.urlopen(url, timeout=120) as response:
        tarball = response.read()
    digest = hashlib.sha256(tarball).hexdigest()
    if digest != SHA256[cpu]:
        sys.exit(f"fetch_esbuild: {url} has SHA-256 {digest}, expected {SHA256[cpu]}: refusing it")
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        member = archive.extractfile("package/bin/esbuild")
        if member is None:
            sys.exit(f"fetch_esbuild: {url} holds no package/bin/esbuild")
        destination.write_bytes(member.read())
    destination.chmod(0o755)
    print(f"fetch_esbuild: esbuild {VERSION} ({cpu}, tarball sha256 {digest}) -> {destination}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
