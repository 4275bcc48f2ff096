#!/usr/bin/env bash
# `make image`: build the seq2func image with podman, without any registry, and tag it as the
# container the docker/podman/singularity profiles use (localhost/seq2func/seq2func:<version>).
#  1. podman, runc and debootstrap from Debian when missing (as root);
#  2. a Debian bookworm base made by debootstrap and imported (localhost/seq2func-base:bookworm),
#     once: it is reused while it exists;
#  3. `podman build` of containers/seq2func/Dockerfile on that base; podman's layer cache makes a
#     rebuild with nothing changed take seconds.
# The podman settings this machine needs (runc, cgroupfs, file events, explicit ulimits) are in
# conf/podman/containers.conf, exported as CONTAINERS_CONF.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[image] %s\n' "$*" >&2; }
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)
TAG=${SEQ2FUNC_IMAGE:-localhost/seq2func/seq2func:$VERSION}
BASE=localhost/seq2func-base:bookworm
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/conf/podman/containers.conf}

have() { PATH="$PATH:/usr/sbin:/sbin" command -v "$1" >/dev/null 2>&1; }
missing=()
for t in podman runc debootstrap; do have "$t" || missing+=("$t"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing ${missing[*]}"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        podman runc debootstrap; } </dev/null >/tmp/seq2func-image-apt.log 2>&1 \
      || { cat /tmp/seq2func-image-apt.log >&2; log "ERROR: apt-get install podman runc debootstrap failed"; exit 1; }
  else
    log "ERROR: ${missing[*]} not found (install podman, runc and debootstrap)"; exit 1
  fi
fi

t0=$(date +%s)
if ! podman image exists "$BASE"; then
  # the Debian mirror apt already uses on this machine
  mirror=$({ grep -rhoE '^(URIs:|deb) +https?://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null || true; } \
           | awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  root=$(mktemp -d /tmp/seq2func-base.XXXXXX)
  log "debootstrap bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >/tmp/seq2func-debootstrap.log 2>&1 \
    || { tail -20 /tmp/seq2func-debootstrap.log >&2; rm -rf "$root"; log "ERROR: debootstrap failed"; exit 1; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  # as the public debian:bookworm images: the release, its updates and security updates
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s-security bookworm-security main\n' \
    "$mirror" "$mirror" "${mirror%/}" >"$root/etc/apt/sources.list"
  tar -C "$root" -c . | podman import --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
  rm -rf "$root"
  log "base $BASE imported ($(( $(date +%s) - t0 )) s)"
fi

ca_args=()
for ca in /etc/ssl/certs/ca-certificates.crt; do
  [ -f "$ca" ] && ca_args=(-v "$ca:/host-ca.crt:ro" --build-arg HOST_CA=/host-ca.crt)
done
t1=$(date +%s)
log "building $TAG"
podman build --format docker --layers -f containers/seq2func/Dockerfile --build-arg "BASE_IMAGE=$BASE" "${ca_args[@]}" \
  -t "$TAG" . >/tmp/seq2func-image-build.log 2>&1 \
  || { tail -30 /tmp/seq2func-image-build.log >&2; log "ERROR: podman build failed (log: /tmp/seq2func-image-build.log)"; exit 1; }
size=$(podman image inspect "$TAG" --format '{{.Size}}')
log "built $TAG in $(( $(date +%s) - t1 )) s, $(( size / 1000000 )) MB"
echo "$TAG"
