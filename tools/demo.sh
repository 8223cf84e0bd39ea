#!/usr/bin/env bash
# `make demo`: a local control plane, source-controller and kustomize-controller, a Git
# repository served over HTTP, and a GitRepository + Kustomization reconciled from it.
# Everything lives under .gotk/demo; KEEP=1 leaves it running (stop with `tools/demo.sh down`).
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=.gotk/demo
PY="uv run --quiet python"

down() {
  for name in kustomize-controller source-controller git-server; do
    if [[ -f $DEMO/$name.pid ]]; then
      kill "$(cat "$DEMO/$name.pid")" 2>/dev/null || true
      rm -f "$DEMO/$name.pid"
    fi
  done
  $PY -m gotk_envtest down --dir "$DEMO/envtest" >/dev/null || true
}

if [[ ${1:-} == down ]]; then down; exit 0; fi
mkdir -p "$DEMO"
[[ ${KEEP:-0} == 1 ]] || trap down EXIT

echo "==> starting the control plane (etcd + kube-apiserver)"
eval "$($PY -m gotk_envtest up --dir "$DEMO/envtest" --crds config/crds)"
export KUBECONFIG

echo "==> serving a demo Git repository over HTTP"
rm -f "$DEMO/git/url"
$PY tools/demo_git_server.py "$DEMO/git" >"$DEMO/git-server.log" 2>&1 &
echo $! >"$DEMO/git-server.pid"
for _ in $(seq 100); do [[ -f $DEMO/git/url ]] && break; sleep 0.2; done
URL=$(cat "$DEMO/git/url")

echo "==> starting source-controller and kustomize-controller"
$PY -m source_controller --kubeconfig "$KUBECONFIG" --storage-path "$DEMO/storage" \
  --storage-addr 127.0.0.1:9790 --storage-adv-addr 127.0.0.1:9790 \
  --metrics-addr 127.0.0.1:9780 --health-addr 127.0.0.1:9781 --log-level info \
  >"$DEMO/source-controller.log" 2>&1 &
echo $! >"$DEMO/source-controller.pid"
$PY -m kustomize_controller --kubeconfig "$KUBECONFIG" \
  --metrics-addr 127.0.0.1:9782 --health-addr 127.0.0.1:9783 --log-level info \
  >"$DEMO/kustomize-controller.log" 2>&1 &
echo $! >"$DEMO/kustomize-controller.pid"

echo "==> creating GitRepository/flux-system/demo and Kustomization/flux-system/demo"
kubectl create namespace flux-system --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl apply -f - <<YAML
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: demo, namespace: flux-system}
spec: {url: "$URL", interval: 1m, ref: {branch: master}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: demo, namespace: flux-system}
spec:
  interval: 5m
  prune: true
  path: ./deploy
  sourceRef: {kind: GitRepository, name: demo}
  postBuild: {substitute: {cluster_name: gotk-demo}}
YAML

kubectl -n flux-system wait --for=condition=Ready gitrepository/demo --timeout=120s
kubectl -n flux-system wait --for=condition=Ready kustomization/demo --timeout=120s
echo
kubectl get gitrepositories,kustomizations -A
echo
kubectl -n demo get configmap/settings resourcequota/demo-quota
kubectl -n demo get configmap settings -o jsonpath='{.data}{"\n"}'
