# The GitHub Action's image: the deployer on python:3.12-slim, dependencies from the lock, and the pinned esbuild.
#
# Container-action rules (docs "Dockerfile support for GitHub Actions"): no USER (the runner mounts the
# workspace for root), no WORKDIR (the runner sets --workdir /github/workspace), exec-form ENTRYPOINT with an
# absolute path. Only wheels are installed, so no compiler or build backend is ever needed or left behind.
FROM python:3.12-slim

LABEL org.opencontainers.image.title="cf-stateful-deployer" \
      org.opencontainers.image.description="Deploy a Cloudflare Worker + static assets + D1 app from GitHub Actions" \
      org.opencontainers.image.licenses="MIT"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

COPY requirements/runtime.txt /app/requirements/runtime.txt
RUN python -m pip install --no-cache-dir --no-deps --only-binary=:all: --requirement /app/requirements/runtime.txt

# esbuild, for Workers written in TypeScript or importing npm packages (deployer/bundle.py): the version wrangler
# 4.86 uses, from the npm registry, refused unless its tarball has the SHA-256 written in the script.
COPY scripts/fetch_esbuild.py /tmp/fetch_esbuild.py
RUN python /tmp/fetch_esbuild.py /usr/local/bin/esbuild && rm /tmp/fetch_esbuild.py && /usr/local/bin/esbuild --version

# The package and the thin entrypoint, compiled once here (the runtime never writes bytecode).
COPY deployer /app/deployer
COPY entrypoint.py /app/entrypoint.py
RUN python -m compileall -q /app

ENTRYPOINT ["/usr/local/bin/python", "/app/entrypoint.py"]
