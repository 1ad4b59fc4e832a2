#!/usr/bin/env bash
# Starts etcd, kube-apiserver and kube-controller-manager on free loopback ports with generated
# certificates, waits for /readyz, writes a kubeconfig and an env file into the state folder, then
# starts one real node (node-up.sh: containerd, kubelet, kube-scheduler, a pod network).
# Reuses a control plane that is already running from the same state folder.
#   BTO_STATE_DIR   where certificates, data, logs, pids and the kubeconfig go
#   BTO_APISERVER_EXTRA_ARGS  extra kube-apiserver flags (the benchmark adds an audit log)
#   BTO_NODE=0      control plane only (no pod ever runs; no root needed)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"
log() { printf '[cluster-up %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

for b in etcd kube-apiserver kube-controller-manager kubectl; do
  [ -x "$BIN_DIR/$b" ] || { echo "missing $BIN_DIR/$b: run scripts/install-tools.sh (make tools)" >&2; exit 1; }
done

kubeconfig="$STATE_DIR/kubeconfig"
if [ -f "$STATE_DIR/env" ] && bash "$here/cluster-status.sh" >/dev/null 2>&1; then
  log "control plane already running (state in $STATE_DIR)"
  if [ "${BTO_NODE:-1}" != 0 ] && [ ! -f "$STATE_DIR/node/env" ]; then
    bash "$here/node-up.sh" && cat "$STATE_DIR/node/env" >> "$STATE_DIR/env"
  fi
  cat "$STATE_DIR/env"
  exit 0
fi
# A stale state folder from a crashed run: stop what is left and start afresh.
[ -d "$STATE_DIR" ] && bash "$here/cluster-down.sh" >/dev/null 2>&1 || true
started=$(date +%s)
mkdir -p "$STATE_DIR"/{pki,logs}
pki="$STATE_DIR/pki"
# etcd's data lives on tmpfs when there is one: faster, and nothing to clean up on disk.
data_root=/dev/shm; [ -d "$data_root" ] && [ -w "$data_root" ] || data_root="$STATE_DIR"
etcd_data=$(mktemp -d "$data_root/bto-etcd.XXXXXX")
echo "$etcd_data" > "$STATE_DIR/etcd-data-dir"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
etcd_port=$(free_port); etcd_peer_port=$(free_port); api_port=$(free_port)

log "generating certificates"
(
  cd "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 \
    -subj "/CN=bitbucket-token-operator-test-ca" >/dev/null 2>&1
  cat > serving.ext <<EXT
subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes.default.svc
extendedKeyUsage=serverAuth
EXT
  openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj "/CN=kube-apiserver" >/dev/null 2>&1
  openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt -days 30 -extfile serving.ext >/dev/null 2>&1
  printf 'extendedKeyUsage=clientAuth\n' > client.ext
  openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=admin" >/dev/null 2>&1
  openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out admin.crt -days 30 -extfile client.ext >/dev/null 2>&1
  openssl genrsa -out sa.key 2048 >/dev/null 2>&1
  openssl rsa -in sa.key -pubout -out sa.pub >/dev/null 2>&1
)

start() { # name, then the command; records the pid
  local name=$1; shift
  nohup "$@" > "$STATE_DIR/logs/$name.log" 2>&1 &
  echo $! > "$STATE_DIR/$name.pid"
}

log "starting etcd on 127.0.0.1:$etcd_port"
start etcd "$BIN_DIR/etcd" --name bto-test --data-dir "$etcd_data" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster "bto-test=http://127.0.0.1:$etcd_peer_port" --unsafe-no-fsync --log-level warn

# Kubernetes 1.37 refuses a loopback --advertise-address for the endpoint reconciler (the
# `kubernetes` Service's Endpoints); nothing here reads them: the node routes the Service
# address to the API server with its own DNAT rule (scripts/node-net-up.sh).
log "starting kube-apiserver on https://127.0.0.1:$api_port"
start kube-apiserver "$BIN_DIR/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$etcd_port" --bind-address 127.0.0.1 --secure-port "$api_port" \
  --advertise-address 127.0.0.1 --endpoint-reconciler-type none \
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --client-ca-file "$pki/ca.crt" --authorization-mode RBAC \
  --service-account-issuer "https://127.0.0.1:$api_port" --service-account-key-file "$pki/sa.pub" \
  --service-account-signing-key-file "$pki/sa.key" --service-cluster-ip-range 10.0.0.0/24 \
  --allow-privileged=true --profiling=false \
  --kubelet-client-certificate "$pki/admin.crt" --kubelet-client-key "$pki/admin.key" \
  --kubelet-preferred-address-types InternalIP \
  --enable-priority-and-fairness=false --v=1 ${BTO_APISERVER_EXTRA_ARGS:-}

cat > "$kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: bto-test
  cluster: {server: "https://127.0.0.1:$api_port", certificate-authority: "$pki/ca.crt"}
users:
- name: admin
  user: {client-certificate: "$pki/admin.crt", client-key: "$pki/admin.key"}
contexts:
- name: bto-test
  context: {cluster: bto-test, user: admin, namespace: default}
current-context: bto-test
KC

log "waiting for /readyz"
deadline=$(( $(date +%s) + 120 ))
until curl -fsS --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "https://127.0.0.1:$api_port/readyz" >/dev/null 2>&1; do
  for name in etcd kube-apiserver; do
    if ! kill -0 "$(cat "$STATE_DIR/$name.pid")" 2>/dev/null; then
      echo "$name exited; last lines of its log:" >&2; tail -20 "$STATE_DIR/logs/$name.log" >&2; exit 1
    fi
  done
  [ "$(date +%s)" -lt "$deadline" ] || { echo "kube-apiserver not ready after 120s" >&2; tail -20 "$STATE_DIR/logs/kube-apiserver.log" >&2; exit 1; }
  sleep 0.5
done

# Besides garbage collection, namespaces and ClusterRole aggregation, what a node and its pods
# need: node-lifecycle (removes the not-ready taint every new Node gets, else nothing is
# scheduled), taint eviction, Deployments, ReplicaSets, Jobs, default ServiceAccounts and the
# kube-root-ca.crt ConfigMap (pods' ServiceAccount token volume), EndpointSlices and Endpoints (the
# API server's service proxy reads Endpoints), pod GC.
controllers=garbage-collector-controller,namespace-controller,clusterrole-aggregation-controller
controllers=$controllers,node-lifecycle-controller,taint-eviction-controller,deployment-controller
controllers=$controllers,replicaset-controller,job-controller,serviceaccount-controller
controllers=$controllers,root-ca-certificate-publisher-controller,endpointslice-controller,endpoints-controller
controllers=$controllers,pod-garbage-collector-controller
log "starting kube-controller-manager"
start kube-controller-manager "$BIN_DIR/kube-controller-manager" --kubeconfig "$kubeconfig" \
  --leader-elect=false --secure-port 0 --use-service-account-credentials=false \
  --controllers "$controllers" --root-ca-file "$pki/ca.crt" --node-monitor-grace-period 40s \
  --concurrent-gc-syncs 5 --v=1

cat > "$STATE_DIR/env" <<ENV
export KUBECONFIG="$kubeconfig"
export BTO_KUBECONFIG="$kubeconfig"
export BTO_BIN_DIR="$BIN_DIR"
export BTO_STATE_DIR="$STATE_DIR"
export PATH="$BIN_DIR:\$PATH"
ENV
log "control plane ready in $(( $(date +%s) - started ))s; kubeconfig: $kubeconfig"
if [ "${BTO_NODE:-1}" != 0 ]; then
  # a node that does not come up leaves nothing behind, nor the control plane
  bash "$here/node-up.sh" || { log "the node did not start; stopping everything"; bash "$here/cluster-down.sh" >&2; exit 1; }
  cat "$STATE_DIR/node/env" >> "$STATE_DIR/env"
fi
log "use it with: source $STATE_DIR/env && kubectl get ns"
cat "$STATE_DIR/env"
