#!/usr/bin/env bash
# `make demo`: the whole system on this machine. Installs and starts the test control plane with
# its real node, the Bitbucket simulator (API and git over HTTPS with its own CA, on the node's
# bridge address so that pods reach it) and the operator as a pod installed with Helm from the
# image built from the release binary; applies the BitbucketTokens of examples/tokens/, shows what
# they rendered, runs a Job that clones through a rendered Secret with the real git CLI, then
# revokes a token in the simulator and shows the operator notice it and git fail.
# `make demo-down` stops everything it started.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"
DEMO_DIR=${BTO_DEMO_DIR:-${TMPDIR:-/tmp}/bitbucket-token-operator-demo}
NS=demo
OP_NS=bto-system
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
fail() { echo "demo: $*" >&2; exit 1; }
# Waits up to $1 seconds for the command in the remaining arguments to succeed.
wait_for() {
  local seconds=$1; shift
  for _ in $(seq 1 $((seconds * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  return 1
}

if [ -f "$DEMO_DIR/simulator.pid" ]; then
  step "Stopping the previous demo's operator and simulator"
  BTO_DEMO_KEEP_CLUSTER=1 bash "$here/demo-down.sh"
fi
mkdir -p "$DEMO_DIR"

step "Installing the control-plane and node binaries, kubectl and helm (skipped when cached)"
bash "$here/install-node-packages.sh"
bash "$here/install-tools.sh" | tail -n 3

step "Starting the control plane and its node (containerd, kubelet, kube-scheduler, pod network)"
if bash "$here/cluster-status.sh" >/dev/null 2>&1; then
  echo "reusing the control plane in $STATE_DIR"
  bash "$here/cluster-up.sh" >/dev/null   # starts the node if it is not running
else
  bash "$here/cluster-up.sh" >/dev/null
  touch "$DEMO_DIR/started-cluster"
fi
# shellcheck disable=SC1091
. "$STATE_DIR/env"
export KUBECONFIG=$BTO_KUBECONFIG
kubectl() { "$BIN_DIR/kubectl" "$@"; }

kubectl get nodes -o wide

step "Building the operator (release) and the Bitbucket simulator; the operator image, without Docker"
(cd "$root" && cargo build --locked --quiet --release -p bitbucket-token-operator --bin bitbucket-token-operator)
(cd "$root" && cargo build --locked --quiet -p bitbucket-simulator --bins)
target_dir=$(cd "$root" && cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target_dir/debug"
bash "$here/node-images.sh" operator "$target_dir/release/bitbucket-token-operator" dev

step "Starting the Bitbucket simulator on the node's bridge address $BTO_NODE_GATEWAY"
rm -rf "$DEMO_DIR/simulator"
"$bin/bitbucket-simulator" --fixture "$root/tests/simulator/fixtures/demo.yaml" \
  --listen-address "$BTO_NODE_GATEWAY" \
  --state-dir "$DEMO_DIR/simulator" >"$DEMO_DIR/simulator.log" 2>&1 &
echo $! >"$DEMO_DIR/simulator.pid"
wait_for 30 test -s "$DEMO_DIR/simulator/urls.env" || fail "the simulator did not start: $(cat "$DEMO_DIR/simulator.log")"
# shellcheck disable=SC1091
. "$DEMO_DIR/simulator/urls.env"
CA=$DEMO_DIR/simulator/ca.pem
ORIGIN=${DC_BASE_URL%/bitbucket}
SIM_HOST=${ORIGIN#https://}
echo "Cloud API $CLOUD_API_URL, Data Center $DC_BASE_URL, git at $ORIGIN"

step "Namespace $NS with the simulator's CA (for the operator and for git in pods)"
# A fresh namespace each time (the namespace controller empties an old one first).
kubectl delete namespace "$NS" --ignore-not-found --wait=true --timeout=60s >/dev/null
kubectl create namespace "$NS" >/dev/null
kubectl create namespace "$OP_NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
for ns in "$NS" "$OP_NS"; do
  kubectl -n "$ns" create configmap bitbucket-ca --from-file=ca.crt="$CA" --dry-run=client -o yaml |
    kubectl apply -f - >/dev/null
done

step "helm install the operator from charts/ (image bto.local/bitbucket-token-operator:dev)"
cat >"$DEMO_DIR/values.yaml" <<VALUES
image: {repository: bto.local/bitbucket-token-operator, tag: dev, pullPolicy: Never}
watchNamespaces: [$NS]
allowedDataCenterHosts: ["$SIM_HOST"]
extraCABundle: {kind: ConfigMap, name: bitbucket-ca, key: ca.crt}
extraArgs: ["--cloud-api-url=$CLOUD_API_URL", "--cloud-git-url=$ORIGIN"]
logFormat: text
VALUES
"$BIN_DIR/helm" uninstall bto -n "$OP_NS" --wait >/dev/null 2>&1 || true
# A CRD left by the tests on a reused cluster: let this release adopt it, as Helm requires.
crd=crd/bitbuckettokens.bitbucket-token-operator.io
if kubectl get "$crd" >/dev/null 2>&1; then
  kubectl label "$crd" app.kubernetes.io/managed-by=Helm --overwrite >/dev/null
  kubectl annotate "$crd" meta.helm.sh/release-name=bto meta.helm.sh/release-namespace="$OP_NS" --overwrite >/dev/null
fi
"$BIN_DIR/helm" install bto "$root/charts/bitbucket-token-operator" -n "$OP_NS" -f "$DEMO_DIR/values.yaml" --wait --timeout 120s
kubectl -n "$OP_NS" get pods -o wide
DEPLOY=bto-bitbucket-token-operator
METRICS_PATH=/api/v1/namespaces/$OP_NS/services/$DEPLOY-metrics:8080/proxy/metrics

step "Storing the demo tokens in Secrets and applying examples/tokens/ in namespace $NS"
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

# clone_job <name>: a Job (user 1000) that mounts api-ci-git at the token's mountPath and clones
clone_job() {
  kubectl -n "$NS" delete job "$1" --ignore-not-found --wait=true >/dev/null
  kubectl -n "$NS" apply -f - >/dev/null <<JOB
apiVersion: batch/v1
kind: Job
metadata: {name: $1}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      securityContext: {runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, runAsNonRoot: true}
      containers:
      - name: git
        image: $BTO_NODE_GIT_IMAGE
        imagePullPolicy: Never
        command: [bash, -c, 'git clone -q $ORIGIN/acme/api.git /tmp/api && git -C /tmp/api log --oneline -1']
        env:
        - {name: HOME, value: /tmp}
        - {name: GIT_CONFIG_GLOBAL, value: /etc/bitbucket-git/.gitconfig}
        - {name: GIT_SSL_CAINFO, value: /etc/bitbucket-ca/ca.crt}
        volumeMounts:
        - {name: creds, mountPath: /etc/bitbucket-git, readOnly: true}
        - {name: ca, mountPath: /etc/bitbucket-ca, readOnly: true}
      volumes:
      - {name: creds, secret: {secretName: api-ci-git, defaultMode: 0440}}
      - {name: ca, configMap: {name: bitbucket-ca}}
JOB
  kubectl -n "$NS" wait --for=condition=Complete "job/$1" --timeout=60s >/dev/null 2>&1 ||
    kubectl -n "$NS" wait --for=condition=Failed "job/$1" --timeout=5s >/dev/null 2>&1 || true
  kubectl -n "$NS" logs "job/$1"
}

step "A Job on the node clones through that Secret (mounted at /etc/bitbucket-git, GIT_CONFIG_GLOBAL)"
clone_job clone-api
kubectl -n "$NS" get job clone-api

step "What Prometheus would scrape (the operator pod's /metrics through the API server)"
kubectl get --raw "$METRICS_PATH" | grep -E '^bitbucket_token_(valid|expiration_timestamp_seconds)\{' || true

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
echo "The same Job again: git now fails as Bitbucket refuses the token:"
clone_job clone-api-revoked

cat <<MSG

Look around:
  export KUBECONFIG=$KUBECONFIG PATH=$BIN_DIR:\$PATH
  kubectl -n $NS get bbt                       # all samples; -o yaml for status
  kubectl -n $NS describe bbt deploy-ci        # conditions, events (Data Center token)
  kubectl -n $NS get secrets                   # the rendered *-git Secrets
  kubectl get --raw $METRICS_PATH | grep ^bitbucket_
  kubectl -n $OP_NS logs deploy/$DEPLOY -f
  curl -s --cacert $CA -X POST $ORIGIN/_sim/tokens/cloud-repo-token/restore   # un-revoke
Stop everything with: make demo-down
MSG
