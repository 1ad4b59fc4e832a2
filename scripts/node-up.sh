#!/usr/bin/env bash
# Starts one real node next to a running control plane (cluster-up.sh calls it): the pod network
# (node-net-up.sh), containerd v2 with the locally built images, the kubelet and kube-scheduler.
# Names and paths come from node-env.sh; node-down.sh undoes all of it. Needs root (mounts,
# cgroups, iptables, network namespaces). Waits until the Node is Ready.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"
# shellcheck source=node-env.sh
. "$here/node-env.sh"
log() { printf '[node-up %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
started=$(date +%s.%N)
elapsed() { python3 -c "import sys,time; print(f'{time.time()-float(sys.argv[1]):.1f}s')" "$started"; }
kubectl() { "$BIN_DIR/kubectl" --kubeconfig "$STATE_DIR/kubeconfig" "$@"; }
running() { local p; p=$(cat "$NODE_STATE/$1.pid" 2>/dev/null) && kill -0 "$p" 2>/dev/null; }
start() { # name, command...: a background process whose pid is recorded
  local name=$1; shift
  nohup "$@" > "$NODE_STATE/logs/$name.log" 2>&1 &
  echo $! > "$NODE_STATE/$name.pid"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

[ "$(id -u)" = 0 ] || { echo "node-up.sh needs root (mounts, cgroups, iptables)" >&2; exit 1; }
for b in kubelet kube-scheduler containerd containerd-shim-runc-v2 ctr; do
  [ -x "$BIN_DIR/$b" ] || { echo "missing $BIN_DIR/$b: run scripts/install-tools.sh" >&2; exit 1; }
done
bash "$here/install-node-packages.sh" >/dev/null
mkdir -p "$NODE_STATE/logs" "$NODE_STATE/pki" "$NODE_ROOT" "$NODE_RUN/containerd"
api=$(grep -o 'https://127.0.0.1:[0-9]*' "$STATE_DIR/kubeconfig" | head -1)
echo "${api##*:}" > "$NODE_STATE/api-port"

# 1. kernel settings the kubelet and the bridge plugin change, to put back on the way down
[ -f "$NODE_STATE/sysctl.orig" ] || sysctl vm.overcommit_memory vm.panic_on_oom kernel.panic \
  kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward \
  > "$NODE_STATE/sysctl.orig"

# 2. the pod network first: containerd reads the CNI config at start, so the node is Ready at once
bash "$here/node-net-up.sh"

# 3. identities signed by the control plane's CA: the kubelet (group system:nodes) and the scheduler
bash "$here/node-pki.sh" "$api"

# 4. a cgroup for everything the kubelet starts, in every v1 hierarchy (cpuset needs cpus/mems)
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  mkdir -p "/sys/fs/cgroup/$NODE_CGROUP"
else
  for h in /sys/fs/cgroup/*/; do
    [ "$h" = /sys/fs/cgroup/unified/ ] || mkdir -p "$h$NODE_CGROUP"
  done
  for f in cpus mems; do
    cat "/sys/fs/cgroup/cpuset/cpuset.$f" > "/sys/fs/cgroup/cpuset/$NODE_CGROUP/cpuset.$f"
  done
fi

# 5. containerd (its shim must be first on PATH) and the images
if ! running containerd; then
  bash "$here/node-config.sh" containerd > "$NODE_STATE/containerd.toml"
  PATH="$BIN_DIR:$PATH" start containerd "$BIN_DIR/containerd" --config "$NODE_STATE/containerd.toml"
  for _ in $(seq 1 100); do
    "$BIN_DIR/ctr" --address "$NODE_SOCK" version >/dev/null 2>&1 && break
    running containerd || { tail -20 "$NODE_STATE/logs/containerd.log" >&2; exit 1; }
    sleep 0.1
  done
  log "containerd up ($(elapsed))"
fi
bash "$here/node-images.sh" base
bash "$here/node-images.sh" import pause git
log "images imported ($(elapsed))"

# 6. the kubelet: it serves on the bridge address, which is the Node's InternalIP, so the API
#    server reaches it (logs, exec) without any name resolution
if ! running kubelet; then
  printf 'nameserver 127.0.0.1\n' > "$NODE_STATE/resolv.conf"   # pods never see the machine's resolver
  bash "$here/node-config.sh" kubelet "$(free_port)" "$(free_port)" > "$NODE_STATE/kubelet.yaml"
  start kubelet "$BIN_DIR/kubelet" --config "$NODE_STATE/kubelet.yaml" \
    --kubeconfig "$NODE_STATE/kubelet.kubeconfig" --root-dir "$NODE_ROOT/kubelet" \
    --cert-dir "$NODE_STATE/pki/kubelet-serving" --hostname-override "$NODE_NAME" \
    --node-ip "$NODE_GATEWAY" --v=1
fi

# 7. kube-scheduler (the workload controllers run in cluster-up.sh's kube-controller-manager)
if ! running kube-scheduler; then
  sk=$NODE_STATE/scheduler.kubeconfig
  start kube-scheduler "$BIN_DIR/kube-scheduler" --kubeconfig "$sk" --authentication-kubeconfig "$sk" \
    --authorization-kubeconfig "$sk" --leader-elect=false --bind-address 127.0.0.1 \
    --secure-port "$(free_port)" --v=1
fi

# 8. Ready: registered, not-ready taint removed by the node-lifecycle controller
deadline=$(( $(date +%s) + 120 ))
until [ "$(kubectl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; do
  for p in containerd kubelet kube-scheduler; do
    running "$p" || { log "$p exited:"; tail -30 "$NODE_STATE/logs/$p.log" >&2; exit 1; }
  done
  [ "$(date +%s)" -lt "$deadline" ] || { log "node not Ready after 120s"; tail -30 "$NODE_STATE/logs/kubelet.log" >&2; exit 1; }
  sleep 0.3
done
cat > "$NODE_STATE/env" <<ENV
export BTO_NODE_NAME=$NODE_NAME
export BTO_NODE_GATEWAY=$NODE_GATEWAY
export BTO_NODE_POD_CIDR=$NODE_POD_CIDR
export BTO_NODE_CONTAINERD=$NODE_SOCK
export BTO_NODE_GIT_IMAGE=$NODE_GIT_IMAGE
export BTO_NODE_OPERATOR_IMAGE_REPO=$NODE_OPERATOR_IMAGE_REPO
ENV
log "node $NODE_NAME Ready in $(elapsed) (pods $NODE_POD_CIDR on $NODE_BRIDGE)"
