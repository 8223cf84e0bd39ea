#!/usr/bin/env bash
# Makes the base image the Dockerfile's FROM lines name when no registry can serve it: a
# Debian bookworm minbase made with mmdebstrap from Debian's own packages, tagged under the
# official image's name, so the same Dockerfile builds unchanged where a registry is
# reachable. Does nothing when an image of that name is already present.
#
# usage: tools/images/base-image.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
podman=("$here/podman.sh")
log() { printf '[images] %s\n' "$*" >&2; }

if "${podman[@]}" image exists "$BASE_IMAGE"; then
  log "$BASE_IMAGE: present"
  exit 0
fi
# A registry that answers is used; one that does not answer within a minute is not waited for.
if timeout 60 "${podman[@]}" pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
  log "$BASE_IMAGE: pulled"
  exit 0
fi

start=$SECONDS
log "$BASE_IMAGE: no registry serves it; making a stand-in with mmdebstrap (Debian $DEBIAN_SUITE minbase)"
build_log=$(cd "$here/../.." && pwd)/.gotk/images/base-image.log
mkdir -p "$(dirname "$build_log")"
tarball=$(mktemp --suffix=.tar)
trap 'rm -f "$tarball"' EXIT
# The same apt sources as the official image (the suite, its updates and security) and the
# same slimming: dpkg leaves out docs, man pages and translations, now and in later installs.
slim=()
for dir in doc man info locale groff lintian linda; do
  slim+=(--dpkgopt="path-exclude=/usr/share/$dir/*")
done
slim+=(--dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-include=/usr/share/locale/locale.alias')
# The official image's docker-clean: no .deb files or package caches left in a layer.
clean='rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true'
docker_clean="DPkg::Post-Invoke { \"$clean\"; }; APT::Update::Post-Invoke { \"$clean\"; };
Dir::Cache::pkgcache \"\"; Dir::Cache::srcpkgcache \"\";"
# /usr is merged by mmdebstrap's hook, as in the official image, rather than by the usrmerge
# package, which would pull in the full perl (~50 MB).
mmdebstrap --quiet --variant=minbase --format=tar "${slim[@]}" \
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --aptopt='Acquire::Retries "3"' \
  --aptopt='APT::Install-Recommends "false"' \
  --aptopt='Acquire::Languages "none"' \
  --aptopt="$docker_clean" \
  "$DEBIAN_SUITE" "$tarball" \
  "deb http://deb.debian.org/debian $DEBIAN_SUITE main" \
  "deb http://deb.debian.org/debian $DEBIAN_SUITE-updates main" \
  "deb http://deb.debian.org/debian-security $DEBIAN_SUITE-security main" \
  >"$build_log" 2>&1 || { tail -n 30 "$build_log" >&2; log "mmdebstrap failed (log: $build_log)"; exit 1; }
"${podman[@]}" import --quiet \
  --change 'CMD ["bash"]' \
  --change 'LABEL org.gotk.stand-in=mmdebstrap' \
  "$tarball" "$BASE_IMAGE" >/dev/null
log "$BASE_IMAGE: stand-in made in $((SECONDS - start))s"
