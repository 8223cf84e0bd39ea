#!/usr/bin/env bash
# `make demo`: gotk reconciling an app from Git on a local Kubernetes control plane.
#
# Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (one fake
# node), the source- and kustomize-controllers, and a Git server with a small app; then
# shows the app reconciled and rolled out, a commit applied, and a hand edit reverted.
# Everything lives under $GOTK_DEMO_DIR (default .gotk/demo), logs in its logs/ directory.
#
# usage: tools/demo.sh          run the demo and clean up (KEEP=1: leave it all running)
#        tools/demo.sh down     stop whatever a demo left running
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DEMO=$(realpath -m "${GOTK_DEMO_DIR:-$ROOT/.gotk/demo}")
LOGS=$DEMO/logs
PIDS=$DEMO/pids
WORK=$DEMO/work
PY=$ROOT/.venv/bin/python
KUBE=("$PY" "$ROOT/tools/demo_kube.py")
START=$SECONDS

# Timeouts (seconds) for each wait; generous next to the usual times on a busy 2-core box.
CONTROL_PLANE_TIMEOUT=${CONTROL_PLANE_TIMEOUT:-180}
CONTROLLER_TIMEOUT=60
SOURCE_TIMEOUT=60
APPLY_TIMEOUT=150

# --- output

step() { printf '\n==> [%3ds] %s\n' $((SECONDS - START)) "$*"; }
say() { printf '    %s\n' "$*"; }

die() {
  printf '\nDEMO FAILED after %ds: %s\n' $((SECONDS - START)) "$*" >&2
  printf 'The logs are under %s:\n' "$DEMO" >&2
  local log
  for log in "$LOGS"/*.log "$DEMO"/envtest/serve.log "$DEMO"/envtest/cluster/logs/*.log; do
    [[ -f $log ]] && printf '  %s\n' "$log" >&2
  done
  for log in "$DEMO"/envtest/serve.log "$LOGS"/source-controller.log \
    "$LOGS"/kustomize-controller.log "$LOGS"/helm-controller.log; do
    [[ -s $log ]] || continue
    printf -- '--- last lines of %s\n' "$log" >&2
    tail -n 8 "$log" >&2
  done
  exit 1
}

# --- processes

# Every process the demo starts names $DEMO/envtest/ (the control plane, and the
# controllers by their kubeconfig) or $DEMO/git (the Git server) in its command line, which
# is how a straggler from an interrupted run is recognised.
cmdline_of() {  # cmdline_of PID: its arguments joined by spaces (empty if it is gone)
  local parts=()
  { mapfile -d '' -t parts <"/proc/$1/cmdline"; } 2>/dev/null || true
  printf '%s' "${parts[*]}"
}

leftovers() {
  local dir cmdline
  for dir in /proc/[0-9]*; do
    [[ ${dir#/proc/} == "$$" ]] && continue
    cmdline=$(cmdline_of "${dir#/proc/}")
    if [[ $cmdline == *"$DEMO/envtest/"* || $cmdline == *"$DEMO/git "* ]]; then
      printf '%s %s\n' "${dir#/proc/}" "$cmdline"
    fi
  done
  return 0
}

start_bg() {  # start_bg NAME COMMAND...: run in the background, log and record its pid
  local name=$1; shift
  "$@" </dev/null >"$LOGS/$name.log" 2>&1 &
  echo $! >"$PIDS/$name"
}

stop_pid() {  # stop_pid NAME: SIGTERM, then SIGKILL after 15 s
  local file=$PIDS/$1 pid
  [[ -f $file ]] || return 0
  pid=$(<"$file")
  rm -f "$file"
  # A pid from a run long gone may belong to someone else by now.
  [[ $(cmdline_of "$pid") == *"$DEMO/"* ]] || return 0
  if kill -TERM "$pid" 2>/dev/null; then
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

down() {
  stop_pid helm-controller
  stop_pid kustomize-controller
  stop_pid source-controller
  stop_pid git-server
  if [[ -d $DEMO/envtest ]]; then
    "$PY" -m gotk_envtest down --dir "$DEMO/envtest" >/dev/null 2>&1 || true
  fi
  # A control plane interrupted before it was ready has no pid file for `down` to find.
  local pids
  pids=$(leftovers | cut -d' ' -f1)
  [[ -n $pids ]] || return 0
  # shellcheck disable=SC2086  # one pid per word
  kill -TERM $pids 2>/dev/null || true
  for _ in $(seq 100); do [[ -z $(leftovers) ]] && return 0; sleep 0.1; done
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
}

CLEANED=0
cleanup() {
  local code=$?
  [[ $CLEANED == 1 ]] && return
  CLEANED=1
  trap - EXIT INT TERM
  if [[ ${KEEP:-0} == 1 && $code == 0 ]]; then
    step "KEEP=1: leaving everything running"
    say "export KUBECONFIG=$KUBECONFIG"
    if [[ -n ${GOTK_DEMO_DIR:-} ]]; then
      say "stop it with: GOTK_DEMO_DIR=$DEMO tools/demo.sh down"
    else
      say "stop it with: tools/demo.sh down"
    fi
    return
  fi
  step "cleaning up"
  down
  local left
  left=$(leftovers)
  if [[ -n $left ]]; then
    printf 'processes left behind:\n%s\n' "$left" >&2
    exit 1
  fi
  say "stopped the controllers, the Git server and the control plane; no process left behind"
  [[ $code == 0 ]] && printf '\ndemo finished in %ds\n' $((SECONDS - START))
  exit "$code"
}

git_plain() {  # git independent of the user's configuration
  GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 \
    GIT_AUTHOR_NAME="gotk demo" GIT_AUTHOR_EMAIL="demo@gotk.invalid" \
    GIT_COMMITTER_NAME="gotk demo" GIT_COMMITTER_EMAIL="demo@gotk.invalid" \
    git "$@"
}
git_() { git_plain -C "$WORK" "$@"; }  # git in the demo's work tree

kube() { "${KUBE[@]}" "$@"; }

# --- the demo

if [[ ! -x $PY ]]; then
  uv sync --frozen --quiet
fi
if [[ ${1:-} == down ]]; then
  down
  exit 0
fi

step "preparing $DEMO"
if [[ -n $(leftovers) ]]; then
  say "stopping what an earlier demo left running there"
  down
fi
rm -rf "$LOGS" "$PIDS" "$WORK" "$DEMO/git" "$DEMO/storage" "$DEMO/envtest" "$DEMO/git-url" \
  "$DEMO/envtest.env"
mkdir -p "$LOGS" "$PIDS" "$DEMO/git"
trap cleanup EXIT
trap 'exit 130' INT TERM

step "creating a Git repository with the app: Namespace, ConfigMap, Deployment, Service, overlay"
git_plain init --quiet --bare "$DEMO/git/podinfo.git"
git_plain -C "$DEMO/git/podinfo.git" symbolic-ref HEAD refs/heads/master
git_plain init --quiet "$WORK"
git_ symbolic-ref HEAD refs/heads/master
cp -R tools/demo/app/. "$WORK/"
git_ add --all
git_ commit --quiet -m "podinfo: base and the demo overlay"
git_ push --quiet "$DEMO/git/podinfo.git" master
FIRST=$(git_ rev-parse HEAD)
(cd "$WORK" && find . -path ./.git -prune -o -type f -print | sort | sed 's|^\./|      |')
say "committed ${FIRST:0:12}"
start_bg git-server "$PY" tools/demo_git_server.py "$DEMO/git" "$DEMO/git-url"

step "starting the control plane (profile full: etcd, kube-apiserver, kube-controller-manager,"
say "kube-scheduler, kwok with one fake node)"
timeout "$CONTROL_PLANE_TIMEOUT" "$PY" -m gotk_envtest up --profile full \
  --dir "$DEMO/envtest" --crds config/crds >"$DEMO/envtest.env" 2>"$LOGS/envtest-up.log" ||
  die "the control plane did not start within ${CONTROL_PLANE_TIMEOUT}s (see $LOGS/envtest-up.log)"
# shellcheck source=/dev/null
source "$DEMO/envtest.env"
export KUBECONFIG
say "API server $(awk '/server:/ {print $2}' "$KUBECONFIG"), KUBECONFIG=$KUBECONFIG"

for _ in $(seq 100); do [[ -s $DEMO/git-url ]] && break; sleep 0.1; done
[[ -s $DEMO/git-url ]] || die "the Git server did not start (see $LOGS/git-server.log)"
GIT_URL=$(<"$DEMO/git-url")
say "Git server at $GIT_URL/podinfo.git"
kube get nodes

step "starting source-controller, kustomize-controller and helm-controller"
read -r STORAGE SC_METRICS SC_HEALTH KC_METRICS KC_HEALTH HC_METRICS HC_HEALTH < <("$PY" -c '
import socket
socks = [socket.socket() for _ in range(7)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
start_bg source-controller "$PY" -m source_controller --kubeconfig "$KUBECONFIG" \
  --storage-path "$DEMO/storage" --storage-addr "127.0.0.1:$STORAGE" \
  --storage-adv-addr "127.0.0.1:$STORAGE" --metrics-addr "127.0.0.1:$SC_METRICS" \
  --health-addr "127.0.0.1:$SC_HEALTH" --log-level info
start_bg kustomize-controller "$PY" -m kustomize_controller --kubeconfig "$KUBECONFIG" \
  --metrics-addr "127.0.0.1:$KC_METRICS" --health-addr "127.0.0.1:$KC_HEALTH" --log-level info
start_bg helm-controller "$PY" -m helm_controller --kubeconfig "$KUBECONFIG" \
  --metrics-addr "127.0.0.1:$HC_METRICS" --health-addr "127.0.0.1:$HC_HEALTH" --log-level info
kube wait-http "http://127.0.0.1:$SC_HEALTH/readyz" --pid "$(<"$PIDS/source-controller")" \
  --timeout "$CONTROLLER_TIMEOUT" || die "source-controller did not become ready"
kube wait-http "http://127.0.0.1:$KC_HEALTH/readyz" --pid "$(<"$PIDS/kustomize-controller")" \
  --timeout "$CONTROLLER_TIMEOUT" || die "kustomize-controller did not become ready"
kube wait-http "http://127.0.0.1:$HC_HEALTH/readyz" --pid "$(<"$PIDS/helm-controller")" \
  --timeout "$CONTROLLER_TIMEOUT" || die "helm-controller did not become ready"
say "all three ready (artifacts served from 127.0.0.1:$STORAGE)"

step "applying GitRepository/podinfo, Kustomization/podinfo (wait: true) and HelmRelease/hello"
kube apply tools/demo/flux.yaml --var "GIT_URL=$GIT_URL" || die "applying tools/demo/flux.yaml failed"
kube wait gitrepository/podinfo -n flux-system --revision "$FIRST" --timeout "$SOURCE_TIMEOUT" ||
  die "GitRepository/podinfo did not fetch ${FIRST:0:12}"
kube wait kustomization/podinfo -n flux-system --revision "$FIRST" --timeout "$APPLY_TIMEOUT" ||
  die "Kustomization/podinfo did not apply ${FIRST:0:12}"
kube wait deployment/podinfo -n demo --replicas 2 --timeout 30 ||
  die "deployment/podinfo did not roll out"
echo
kube get gitrepositories,kustomizations -n flux-system
kube get deployments,pods,configmaps,services -n demo -l app.kubernetes.io/part-of=gotk-demo
say "OK: the app is reconciled and deployment/podinfo rolled out on the fake node"

step "HelmRelease/hello: the chart in charts/hello of the same repository, released with Helm 4"
kube wait helmrelease/hello -n flux-system --timeout "$APPLY_TIMEOUT" ||
  die "HelmRelease/hello was not released"
kube get helmreleases -n flux-system
kube get configmaps -n demo -l app.kubernetes.io/part-of=gotk-demo
HELM=$("$PY" -c 'from gotk_runtime.tools import find_tool; print(find_tool("helm"))')
"$HELM" list -n demo | sed 's/^/    /'
say "OK: helm itself lists the release gotk made (Secret sh.helm.release.v1.demo-hello.v1)"

step "committing a change: a new greeting (a new ConfigMap, so a rollout) and 3 replicas"
sed -i -e 's/PODINFO_UI_MESSAGE=hello from gotk/PODINFO_UI_MESSAGE=hello again, from commit 2/' \
  -e 's/count: 2/count: 3/' "$WORK/overlays/demo/kustomization.yaml"
git_ --no-pager diff --no-color -U0 | sed -n 's/^\([-+] \)/      \1/p'
git_ commit --quiet -am "podinfo: new greeting, 3 replicas"
git_ push --quiet "$DEMO/git/podinfo.git" master
SECOND=$(git_ rev-parse HEAD)
say "pushed ${SECOND:0:12}; asking source-controller to fetch now rather than at its 1m interval"
kube reconcile gitrepository/podinfo -n flux-system --revision "$SECOND" \
  --timeout "$SOURCE_TIMEOUT" || die "GitRepository/podinfo did not fetch ${SECOND:0:12}"
kube wait kustomization/podinfo -n flux-system --revision "$SECOND" --timeout "$APPLY_TIMEOUT" ||
  die "Kustomization/podinfo did not apply ${SECOND:0:12}"
kube wait deployment/podinfo -n demo --replicas 3 --timeout 30 ||
  die "deployment/podinfo did not roll out the change"
echo
kube get kustomizations -n flux-system
kube get deployments,pods,configmaps -n demo -l app.kubernetes.io/part-of=gotk-demo
say "OK: the change is applied (new ConfigMap rolled out to 3 replicas, the old one pruned)"

step "drift: scaling deployment/podinfo to 1 replica by hand (as \`kubectl edit\` would)"
kube edit deployment/podinfo -n demo '{"spec":{"replicas":1}}' || die "editing deployment/podinfo failed"
kube wait deployment/podinfo -n demo --replicas 1 --timeout 30 ||
  die "deployment/podinfo did not scale down"
kube get deployments -n demo
say "asking kustomize-controller to reconcile now rather than at its 5m interval"
kube reconcile kustomization/podinfo -n flux-system --timeout "$APPLY_TIMEOUT" ||
  die "Kustomization/podinfo did not reconcile"
kube wait deployment/podinfo -n demo --replicas 3 --timeout 30 ||
  die "deployment/podinfo was not restored to 3 replicas"
echo
kube get deployments,pods -n demo -l app.kubernetes.io/part-of=gotk-demo
say "OK: the drift is reverted (3 replicas, as Git says)"

cleanup
