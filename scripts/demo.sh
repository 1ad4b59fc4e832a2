#!/usr/bin/env bash
# `make demo`: the whole system on this machine. Installs and starts the test control plane, the
# Bitbucket simulator (API and git over HTTPS with its own CA) and the operator, applies the
# BitbucketTokens of examples/tokens/, shows what they rendered, clones through a Secret with the
# real git CLI, then revokes a token in the simulator and shows the operator notice it.
# `make demo-down` stops everything it started.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"
DEMO_DIR=${BTO_DEMO_DIR:-${TMPDIR:-/tmp}/bitbucket-token-operator-demo}
NS=demo
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
fail() { echo "demo: $*" >&2; exit 1; }
# Waits up to $1 seconds for the command in the remaining arguments to succeed.
wait_for() {
  local seconds=$1; shift
  for _ in $(seq 1 $((seconds * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  return 1
}

if [ -f "$DEMO_DIR/operator.pid" ] || [ -f "$DEMO_DIR/simulator.pid" ]; then
  step "Stopping the previous demo's operator and simulator"
  BTO_DEMO_KEEP_CLUSTER=1 bash "$here/demo-down.sh"
fi
mkdir -p "$DEMO_DIR"

step "Installing the control-plane binaries, kubectl and helm (skipped when cached)"
bash "$here/install-tools.sh" | tail -n 3

step "Starting the control plane (etcd, kube-apiserver, kube-controller-manager)"
if bash "$here/cluster-status.sh" >/dev/null 2>&1; then
  echo "reusing the control plane in $STATE_DIR"
else
  bash "$here/cluster-up.sh" >/dev/null
  touch "$DEMO_DIR/started-cluster"
fi
# shellcheck disable=SC1091
. "$STATE_DIR/env"
export KUBECONFIG=$BTO_KUBECONFIG
kubectl() { "$BIN_DIR/kubectl" "$@"; }

step "Building the operator and the Bitbucket simulator"
(cd "$root" && cargo build --locked --quiet -p bitbucket-token-operator -p bitbucket-simulator --bins)
target_dir=$(cd "$root" && cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target_dir/debug"

step "Starting the Bitbucket simulator (Cloud and Data Center, HTTPS with its own CA)"
rm -rf "$DEMO_DIR/simulator"
"$bin/bitbucket-simulator" --fixture "$root/tests/simulator/fixtures/demo.yaml" \
  --state-dir "$DEMO_DIR/simulator" >"$DEMO_DIR/simulator.log" 2>&1 &
echo $! >"$DEMO_DIR/simulator.pid"
wait_for 30 test -s "$DEMO_DIR/simulator/urls.env" || fail "the simulator did not start: $(cat "$DEMO_DIR/simulator.log")"
# shellcheck disable=SC1091
. "$DEMO_DIR/simulator/urls.env"
CA=$DEMO_DIR/simulator/ca.pem
ORIGIN=${DC_BASE_URL%/bitbucket}
SIM_HOST=${ORIGIN#https://}
echo "Cloud API $CLOUD_API_URL, Data Center $DC_BASE_URL, git at $ORIGIN"

step "Installing the BitbucketToken CRD"
kubectl apply --server-side -f "$root/crds/bitbucket-token-operator.io_bitbuckettokens.yaml" >/dev/null
kubectl wait --for=condition=Established crd/bitbuckettokens.bitbucket-token-operator.io --timeout=30s >/dev/null

step "Starting the operator (log: $DEMO_DIR/operator.log)"
"$bin/bitbucket-token-operator" run --kubeconfig "$KUBECONFIG" \
  --cloud-api-url "$CLOUD_API_URL" --cloud-git-url "$ORIGIN" \
  --allowed-dc-host "$SIM_HOST" --extra-ca-file "$CA" \
  --namespaces "$NS" --metrics-addr 127.0.0.1:0 --log-format text \
  >"$DEMO_DIR/operator.log" 2>&1 &
echo $! >"$DEMO_DIR/operator.pid"
wait_for 30 grep -q 'caches synced' "$DEMO_DIR/operator.log" || fail "the operator did not start: $(cat "$DEMO_DIR/operator.log")"
METRICS=$(sed -n 's/.*serving \/metrics.*addr=\([^ ]*\).*/\1/p' "$DEMO_DIR/operator.log" | head -1)

step "Storing the demo tokens in Secrets and applying examples/tokens/ in namespace $NS"
# A fresh namespace each time (the namespace controller empties an old one first).
kubectl delete namespace "$NS" --ignore-not-found --wait=true --timeout=60s >/dev/null
kubectl create namespace "$NS" >/dev/null
# The simulator's fake tokens, by the Secret each example reads (never printed, never in argv).
secret_of() { awk -v want="$1" '$1 == "-" && $2 == "name:" {name = $3} $1 == "secret:" && name == want {print $2; exit}' \
  "$root/tests/simulator/fixtures/demo.yaml"; }
for pair in api-ci-token=cloud-repo-token platform-flux-token=cloud-project-token \
  acme-argocd-token=cloud-workspace-token jdoe-api-token=cloud-api-token \
  jdoe-legacy-token=cloud-app-password deploy-ci-token=dc-repo-token; do
  printf %s "$(secret_of "${pair#*=}")" |
    kubectl -n "$NS" create secret generic "${pair%%=*}" --from-file=token=/dev/stdin \
      --dry-run=client -o yaml | kubectl apply -f - >/dev/null
done
for file in "$root"/examples/tokens/*.yaml; do
  sed "s#https://bitbucket.example.com/bitbucket#$DC_BASE_URL#" "$file" | kubectl -n "$NS" apply -f -
done
kubectl -n "$NS" wait --for=condition=Ready bbt --all --timeout=90s >/dev/null ||
  echo "(not everything is Ready yet; see the table)"

step "kubectl get bbt"
kubectl -n "$NS" get bbt

step "The .gitconfig rendered into Secret api-ci-git (token masked)"
kubectl -n "$NS" get secret api-ci-git -o jsonpath='{.data.\.gitconfig}' | base64 -d |
  sed -E 's/(Bearer |Basic )[^"]+/\1********/'

step "git clone through that Secret, laid out as a pod mounts it"
work=$DEMO_DIR/git
rm -rf "$work" && mkdir -p "$work/mount" "$work/home"
kubectl -n "$NS" get secret api-ci-git -o jsonpath='{.data.\.gitconfig}' | base64 -d >"$work/mount/.gitconfig"
run_git() {
  env -i PATH="$PATH" HOME="$work/home" GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 \
    GIT_CONFIG_GLOBAL="$work/mount/.gitconfig" GIT_SSL_CAINFO="$CA" git "$@"
}
echo "\$ GIT_CONFIG_GLOBAL=<mount>/.gitconfig git clone $ORIGIN/acme/api.git"
run_git clone --quiet "$ORIGIN/acme/api.git" "$work/api"
run_git -C "$work/api" log --oneline -1

if [ -n "$METRICS" ]; then
  step "What Prometheus would scrape (http://$METRICS/metrics)"
  curl -s "http://$METRICS/metrics" | grep -E '^bitbucket_token_(valid|expiration_timestamp_seconds)\{' || true
fi

step "Revoking cloud-repo-token in the simulator, then asking for a re-check"
curl -sf --cacert "$CA" -X POST "$ORIGIN/_sim/tokens/cloud-repo-token/revoke" >/dev/null
kubectl -n "$NS" annotate bbt api-ci bitbucket-token-operator.io/revalidate="$(date +%s)" --overwrite >/dev/null
kubectl -n "$NS" wait --for=condition=TokenValid=false bbt/api-ci --timeout=60s >/dev/null
kubectl -n "$NS" get bbt api-ci
echo
echo "TokenValid: $(kubectl -n "$NS" get bbt api-ci -o jsonpath='{.status.conditions[?(@.type=="TokenValid")].message}')"
kubectl -n "$NS" events --for bitbuckettoken/api-ci 2>/dev/null | tail -n 3 || true
echo "The Secret api-ci-git is kept (a revoked token is reported, never blanked):"
kubectl -n "$NS" get secret api-ci-git
if run_git -C "$work/api" fetch --quiet 2>"$work/fetch.err"; then
  echo "(git fetch still worked?)"
else
  echo "git fetch now fails as Bitbucket refuses the token: $(head -n 1 "$work/fetch.err")"
fi

cat <<MSG

Look around:
  export KUBECONFIG=$KUBECONFIG PATH=$BIN_DIR:\$PATH
  kubectl -n $NS get bbt                       # all samples; -o yaml for status
  kubectl -n $NS describe bbt deploy-ci        # conditions, events (Data Center token)
  kubectl -n $NS get secrets                   # the rendered *-git Secrets
  curl -s http://$METRICS/metrics | grep ^bitbucket_
  tail -f $DEMO_DIR/operator.log
  curl -s --cacert $CA -X POST $ORIGIN/_sim/tokens/cloud-repo-token/restore   # un-revoke
Stop everything with: make demo-down
MSG
