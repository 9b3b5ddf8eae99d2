#!/usr/bin/env bash
# The container test's machinery: a Docker engine on this machine that needs no image registry.
#
#   setup_docker.sh prepare   install docker.io and debootstrap (apt) and build the stand-in base image's root
#                             file system; idempotent, cached under the state dir (the slow part, ~2 min once)
#   setup_docker.sh start     start a private dockerd (its socket, data and pid file under the state dir) unless it
#                             runs already, and load the stand-in as `python:3.12-slim` unless it is loaded;
#                             prints `DOCKER_HOST=unix://…` and `STARTED=1` (or 0: it was running) as its last lines
#   setup_docker.sh stop      stop the dockerd that `start` started (by its pid file) and wait for it to exit
#
# DEPLOYER_DOCKER=system (GitHub's runners, which have Docker and reach Docker Hub): every command does nothing,
# and the tests use the machine's own engine and the real base image.
#
# Why a stand-in: this machine reaches PyPI and Debian's mirror but no image registry, so `FROM python:3.12-slim`
# cannot be pulled. `prepare` builds Debian bookworm (minbase) with python3 and pip; `start` imports it and adds a
# layer that makes it behave like the official image where the unchanged Dockerfile relies on it: `python`,
# `python3` and `pip` in /usr/local/bin, no EXTERNALLY-MANAGED marker (pip installs into the system Python), PATH
# with /usr/local/bin first. Two differences on purpose: its Python is Debian's 3.11, not 3.12; and it trusts the
# certificate authorities this machine trusts (its /etc/ssl/certs bundle, and pip told to use it), because the
# network here reaches PyPI through them. The legacy builder does not pull a tag that exists locally, so the
# Dockerfile builds as written. The engine runs with no bridge and no iptables rules: build and run use the host
# network.
#
# State dir: $DEPLOYER_DOCKER_STATE (default /var/tmp/deployer-docker), outside the work tree so that a fresh
# clone (CI) finds the cache. Needs root, as the rest of this machine's setup does.
set -euo pipefail

state=${DEPLOYER_DOCKER_STATE:-/var/tmp/deployer-docker}
base_tag=python:3.12-slim
standin_version=2                      # bump when the stand-in layer below changes
rootfs_tar=$state/debootstrap-bookworm-python3.tar
sock=$state/docker.sock
pidfile=$state/dockerd.pid
log=$state/dockerd.log

mirror() {
  # The Debian mirror this machine's apt uses (deb822 or one-line format).
  local uri
  uri=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)
  if [ -z "$uri" ]; then
    uri=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}' | grep -v security | head -n1 || true)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

install_tools() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup_docker: apt-get install ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

build_rootfs() {
  [ -s "$rootfs_tar" ] && return 0
  local root=$state/rootfs.build
  rm -rf "$root"
  echo "setup_docker: debootstrap bookworm (minbase + python3, pip) from $(mirror)" >&2
  debootstrap --variant=minbase --include=python3,python3-pip,ca-certificates bookworm "$root" "$(mirror)" \
    >"$state/debootstrap.log" 2>&1 || { tail -n 30 "$state/debootstrap.log" >&2; exit 1; }
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
  tar -C "$root" -cf "$rootfs_tar.tmp" .
  mv "$rootfs_tar.tmp" "$rootfs_tar"
  rm -rf "$root"
}

docker_cli() {
  DOCKER_HOST=unix://$sock docker "$@"
}

running() {
  [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

start() {
  local started=0
  if ! running; then
    started=1
    mkdir -p "$state/data" "$state/exec"
    local driver=overlay2
    # overlay2 needs a kernel and a backing file system that allow it; vfs always works (full copy per layer).
    if ! grep -qw overlay /proc/filesystems; then driver=vfs; fi
    for attempt in "$driver" vfs; do
      dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver="$attempt" \
        --data-root="$state/data" --exec-root="$state/exec" -H "unix://$sock" -p "$pidfile" \
        >"$log" 2>&1 &
      local pid=$! ok=
      for _ in $(seq 1 100); do
        if docker_cli version >/dev/null 2>&1; then ok=1; break; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      if [ -n "$ok" ]; then echo "$pid" >"$pidfile"; break; fi
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      echo "setup_docker: dockerd with $attempt failed; log:" >&2
      tail -n 5 "$log" >&2
    done
    running || { echo "setup_docker: dockerd did not start" >&2; exit 1; }
  fi
  local have
  have=$(docker_cli image inspect -f '{{ index .Config.Labels "deployer.standin" }}' "$base_tag" 2>/dev/null || true)
  if [ "$have" != "$standin_version" ]; then
    build_rootfs
    docker_cli import "$rootfs_tar" deployer-standin-debootstrap:bookworm >/dev/null
    local context=$state/standin.context
    rm -rf "$context"
    mkdir -p "$context"
    cp /etc/ssl/certs/ca-certificates.crt "$context/ca-certificates.crt"
    cat >"$context/Dockerfile" <<'DOCKERFILE'
FROM deployer-standin-debootstrap:bookworm
ARG STANDIN_VERSION
LABEL deployer.standin=$STANDIN_VERSION
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN ln -sf /usr/bin/python3 /usr/local/bin/python3 && ln -sf /usr/bin/python3 /usr/local/bin/python \
 && printf '#!/bin/sh\nexec /usr/bin/python3 -m pip "$@"\n' >/usr/local/bin/pip && chmod 755 /usr/local/bin/pip \
 && rm -f /usr/lib/python3*/EXTERNALLY-MANAGED \
 && printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >/etc/pip.conf
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
CMD ["python3"]
DOCKERFILE
    docker_cli build --network=none -q --build-arg STANDIN_VERSION="$standin_version" -t "$base_tag" "$context" >/dev/null
    rm -rf "$context"
  fi
  echo "DOCKER_HOST=unix://$sock"
  echo "STARTED=$started"
}

stop() {
  if running; then
    local pid
    pid=$(cat "$pidfile")
    kill "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
  fi
  rm -f "$pidfile"
}

if [ "${DEPLOYER_DOCKER:-}" = system ]; then
  exit 0
fi
mkdir -p "$state"
case "${1:-}" in
  prepare) install_tools; build_rootfs ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 prepare|start|stop" >&2; exit 2 ;;
esac
