#!/usr/bin/env bash
# Builds gotk's four images (source-controller, kustomize-controller, helm-controller,
# web-ui) with podman from the repository's Dockerfile, tagged $GOTK_IMAGE_PREFIX/<service>:
# $GOTK_IMAGE_TAG (default localhost/gotk/<service>:dev).
#
# The Go tools come from the one pinned recipe, tools/controlplane/build.sh, whose binaries
# are copied into the build context (.gotk/images/tools/). An image is rebuilt only when its
# inputs changed: the digest of the Dockerfile, the context and the base image is stored with
# the id of the image it built in .gotk/images/<service>.inputs, and an image whose id and
# inputs both match is kept as it is. (Not an image label: buildah's layer cache hands back
# an earlier image, label and all, when only --label differs.)
#
# usage: tools/images/build.sh [SERVICE...]     (default: all four)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tools/images
cd "$root"
# shellcheck source=versions.env
source "$here/versions.env"
podman=("$here/podman.sh")
prefix=${GOTK_IMAGE_PREFIX:-localhost/gotk}
tag=${GOTK_IMAGE_TAG:-dev}
tools_bin=${GOTK_CACHE:-$HOME/.cache/gotk}/tools/bin
context_tools=$root/.gotk/images/tools
ca_bundle=${GOTK_BUILD_CA:-/etc/ssl/certs/ca-certificates.crt}
log() { printf '[images] %s\n' "$*" >&2; }

services=("$@")
[[ ${#services[@]} -gt 0 ]] || services=(source-controller kustomize-controller helm-controller web-ui)

# The tools each image takes from the pinned build (the Dockerfile's COPY lines).
mkdir -p "$context_tools"
for tool in helm kustomize sops; do
  if [[ ! -x $tools_bin/$tool ]]; then
    log "$tools_bin/$tool is missing: run tools/controlplane/build.sh tools (make tools)"
    exit 1
  fi
  cmp -s "$tools_bin/$tool" "$context_tools/$tool" || install -m 0755 "$tools_bin/$tool" "$context_tools/$tool"
done

"$here/base-image.sh"

# What the build reads, as the .dockerignore lets it through: the files git knows or would
# add under the context's directories, the tools, the Dockerfile and the base image's id.
inputs() {
  "${podman[@]}" image inspect --format '{{.Id}}' "$BASE_IMAGE"
  sha256sum Dockerfile .dockerignore
  git ls-files -z --cached --others --exclude-standard -- pyproject.toml uv.lock libs services tools/images/healthcheck.py \
    | xargs -0 sha256sum
  sha256sum "$context_tools"/*
}
digest=$(inputs | sha256sum | cut -c1-16)

# Docker's format keeps the HEALTHCHECK (OCI's has no field for it).
build_args=(--format docker --network host --layers --pull=never)
# A TLS-intercepting proxy's CA reaches pip and uv as a build secret, never a layer.
[[ -s $ca_bundle ]] && build_args+=(--secret "id=build-ca,src=$ca_bundle")

for service in "${services[@]}"; do
  image=$prefix/$service:$tag
  stamp=$root/.gotk/images/$service.inputs
  id=$("${podman[@]}" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
  if [[ -n $id && -f $stamp && $(<"$stamp") == "$digest $image $id" ]]; then
    log "$image: up to date ($digest)"
    continue
  fi
  start=$SECONDS
  log "$image: building (inputs $digest)"
  "${podman[@]}" build "${build_args[@]}" --target "$service" --tag "$image" --file Dockerfile . \
    >"$root/.gotk/images/build-$service.log" 2>&1 || {
    tail -n 40 "$root/.gotk/images/build-$service.log" >&2
    log "$image: build failed (log: .gotk/images/build-$service.log)"
    exit 1
  }
  id=$("${podman[@]}" image inspect --format '{{.Id}}' "$image")
  printf '%s %s %s\n' "$digest" "$image" "$id" >"$stamp"
  log "$image: built in $((SECONDS - start))s"
done

for service in "${services[@]}"; do
  "${podman[@]}" image inspect --format "{{.Size}}" "$prefix/$service:$tag" \
    | awk -v name="$prefix/$service:$tag" '{ printf "[images] %s: %.0f MB\n", name, $1 / 1e6 }' >&2
done
