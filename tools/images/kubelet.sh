#!/usr/bin/env bash
# Builds kubelet (for `make real-pods`) next to the control plane, from the same pinned
# Kubernetes version and the same module requirements tools/controlplane/build.sh resolved
# (its go.mod is copied into a module of kubelet's own, so that build is never touched).
#
# usage: tools/images/kubelet.sh      (prints the kubelet path)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../controlplane/versions.env
source "$root/tools/controlplane/versions.env"
cache=${GOTK_CACHE:-$HOME/.cache/gotk}
bin=$cache/controlplane/$KUBE_VERSION/bin
kube_module=$cache/build/kube-$KUBE_VERSION
work=$cache/build/kubelet-$KUBE_VERSION

if [[ -x $bin/kubelet ]]; then
  echo "$bin/kubelet"
  exit 0
fi
if [[ ! -f $kube_module/go.mod ]]; then
  echo "[kubelet] $kube_module/go.mod is missing: run make controlplane first" >&2
  exit 1
fi
mkdir -p "$work" "$bin"
cp "$kube_module/go.mod" "$kube_module/go.sum" "$work/"
cat >"$work/tools.go" <<'GO'
//go:build tools

// Package tools keeps kubelet's packages required in this module.
package tools

import _ "k8s.io/kubernetes/cmd/kubelet/app"
GO
v=${KUBE_VERSION#v}
major=${v%%.*}; minor=${v#*.}; minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
done
start=$SECONDS
(cd "$work" && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=mod $(go env GOFLAGS)" \
  go build -trimpath -tags selinux,notest -ldflags "$ldflags" -o "$bin/kubelet" \
  k8s.io/kubernetes/cmd/kubelet)
echo "[kubelet] built in $((SECONDS - start))s" >&2
echo "$bin/kubelet"
