#!/usr/bin/env bash
# Builds the local Kubernetes control plane (kube-apiserver, kube-controller-manager,
# kube-scheduler, etcd, kwok) and the tools gotk runs (kustomize, helm, sops, an OCI
# registry) from the Go module proxy into ~/.cache/gotk, reusing whatever is already there.
#
# usage: build.sh [controlplane] [tools]    (default: both)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache=${GOTK_CACHE:-$HOME/.cache/gotk}
cp_bin=$cache/controlplane/$KUBE_VERSION/bin
tools_bin=$cache/tools/bin
work=$cache/build

# Keep the machine's own Go settings (proxy, flags) and add ours.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=mod $(go env GOFLAGS)"

log() { printf '[build] %s\n' "$*" >&2; }

# timed NAME CMD... runs CMD unless $NAME already exists, and reports how long it took.
timed() {
  local out=$1; shift
  if [[ -x $out ]]; then log "$(basename "$out"): cached"; return; fi
  local start=$SECONDS
  "$@"
  log "$(basename "$out"): built in $((SECONDS - start))s"
}

kube_module() {
  local dir=$work/kube-$KUBE_VERSION
  mkdir -p "$dir"
  cp "$here/kube/tools.go" "$dir/"
  [[ -f $dir/go.mod ]] && return
  local kube_mod
  kube_mod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  python3 "$here/gen_gomod.py" "$kube_mod" "$KUBE_VERSION" > "$dir/go.mod.new"
  mv "$dir/go.mod.new" "$dir/go.mod"
}

kube_ldflags() {
  local v=${KUBE_VERSION#v} major minor
  major=${v%%.*}; minor=${v#*.}; minor=${minor%%.*}
  local flags="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitCommit=0000000000000000000000000000000000000000 -X $pkg.gitTreeState=archive"
    flags+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  printf '%s' "$flags"
}

build_kube() {
  kube_module
  local ldflags cmd
  ldflags=$(kube_ldflags)
  for cmd in kube-apiserver kube-controller-manager kube-scheduler; do
    timed "$cp_bin/$cmd" bash -c "cd '$work/kube-$KUBE_VERSION' && go build -trimpath -tags selinux,notest -ldflags '$ldflags' -o '$cp_bin/$cmd' k8s.io/kubernetes/cmd/$cmd"
  done
}

build_etcd() {
  local dir=$work/etcd-$ETCD_VERSION
  mkdir -p "$dir"
  cp "$here/etcd/main.go" "$dir/"
  if [[ ! -f $dir/go.mod ]]; then
    (cd "$dir" && go mod init gotk.local/etcd >/dev/null 2>&1 && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null 2>&1)
  fi
  timed "$cp_bin/etcd" bash -c "cd '$dir' && go build -trimpath -ldflags '-s -w' -o '$cp_bin/etcd' ."
}

go_install() {  # go_install BINARY MODULE/PATH@VERSION
  timed "$tools_bin/$1" env GOBIN="$tools_bin" go install -trimpath -ldflags '-s -w' "$2"
}

build_controlplane() {
  mkdir -p "$cp_bin"
  build_etcd
  build_kube
  timed "$cp_bin/kwok" env GOBIN="$cp_bin" go install -trimpath -ldflags '-s -w' "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  log "control plane ready in $cp_bin"
}

build_tools() {
  mkdir -p "$tools_bin"
  go_install kustomize "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  # Flux 2.8 embeds Helm 4; a Helm 3 binary left in a warm cache is replaced.
  if [[ -x $tools_bin/helm ]] && ! "$tools_bin/helm" version --template '{{.Version}}' 2>/dev/null | grep -qx "$HELM_VERSION"; then
    rm -f "$tools_bin/helm"
  fi
  timed "$tools_bin/helm" env GOBIN="$tools_bin" go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
  go_install sops "github.com/getsops/sops/v3/cmd/sops@$SOPS_VERSION"
  go_install registry "github.com/distribution/distribution/v3/cmd/registry@$REGISTRY_VERSION"
  go_install minio "github.com/minio/minio@$MINIO_VERSION"
  log "tools ready in $tools_bin"
}

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(controlplane tools)
total=$SECONDS
for target in "${targets[@]}"; do
  case $target in
    controlplane) build_controlplane ;;
    tools) build_tools ;;
    *) log "unknown target: $target"; exit 2 ;;
  esac
done
log "done in $((SECONDS - total))s"
