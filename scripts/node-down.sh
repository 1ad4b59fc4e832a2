#!/usr/bin/env bash
# Stops the node node-up.sh started and leaves nothing of it on the machine: processes (by
# recorded pid, and shims by this node's socket), mounts, cgroups, network namespaces, the bridge,
# iptables rules, the kubelet's log links, its data and state folders, and the kernel settings the
# kubelet and the bridge plugin changed. Run it while the API server is still up (cluster-down.sh
# does), so that the kubelet can take its pods down first. Safe to run twice or after a failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"
# shellcheck source=node-env.sh
. "$here/node-env.sh"
# shellcheck source=process.sh
. "$here/process.sh"
log() { printf '[node-down %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
running() { local p; p=$(cat "$NODE_STATE/$1.pid" 2>/dev/null) && kill -0 "$p" 2>/dev/null; }
ctr() { "$BIN_DIR/ctr" --address "$NODE_SOCK" -n k8s.io "$@"; }
[ -d "$NODE_STATE" ] || [ -d "$NODE_ROOT" ] || [ -d "$NODE_RUN" ] || exit 0

# 1. the kubelet takes its pods down (CNI DEL, volume unmounts); the scheduler first, so that
#    nothing new lands meanwhile
stop_recorded "$NODE_STATE/kube-scheduler.pid" kube-scheduler
if running kubelet && [ -f "$STATE_DIR/kubeconfig" ]; then
  k=("$BIN_DIR/kubectl" --kubeconfig "$STATE_DIR/kubeconfig" --request-timeout 5s)
  "${k[@]}" delete pods -A --all --grace-period=1 --wait=false >/dev/null 2>&1
  for _ in $(seq 1 60); do
    [ -z "$(ctr tasks ls -q 2>/dev/null)" ] && break
    sleep 0.5
  done
fi
stop_recorded "$NODE_STATE/kubelet.pid" kubelet

# 2. whatever containers are left: kill their tasks (a shim outlives containerd), then containerd
if running containerd; then
  for t in $(ctr tasks ls -q 2>/dev/null); do ctr tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
  for _ in $(seq 1 20); do
    [ -z "$(ctr tasks ls 2>/dev/null | awk 'NR>1 && $3!="STOPPED"')" ] && break; sleep 0.2
  done
  for t in $(ctr tasks ls -q 2>/dev/null); do ctr tasks rm -f "$t" >/dev/null 2>&1; done
fi
stop_recorded "$NODE_STATE/containerd.pid" containerd
for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $NODE_SOCK( |$)" 2>/dev/null); do
  kill -9 "$p" 2>/dev/null && log "killed a leftover shim ($p)"
done

# 3. mounts under this node's folders (overlay root filesystems, shm, Secret tmpfs, netns,
#    the kubelet's bind mount of its own root), deepest first
for _ in 1 2 3; do
  mounts=$(awk -v a="$NODE_ROOT" -v b="$NODE_RUN" 'index($5, a)==1 || index($5, b)==1 {print $5}' /proc/self/mountinfo | sort -r)
  [ -z "$mounts" ] && break
  for m in $mounts; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
done

# 4. cgroups the kubelet created under this node's cgroup, deepest first
for h in /sys/fs/cgroup/*/"$NODE_CGROUP" /sys/fs/cgroup/"$NODE_CGROUP"; do
  [ -d "$h" ] && find "$h" -depth -type d -exec rmdir {} + 2>/dev/null
done
left=$(ls -d /sys/fs/cgroup/*/"$NODE_CGROUP" /sys/fs/cgroup/"$NODE_CGROUP" 2>/dev/null)
[ -n "$left" ] && log "cgroups left: $left"

# 5. network: this node's rules, bridge, CNI state
bash "$here/node-net-down.sh"

# 6. what the kubelet writes machine-wide. Its log links in the fixed /var/log/containers point
#    into this node's pod-logs folder (a stale link makes the next kubelet look for containers that
#    are gone). Its iptables chains (KUBE-FIREWALL from INPUT/OUTPUT, KUBE-KUBELET-CANARY,
#    KUBE-IPTABLES-HINT) and kernel settings are shared by every kubelet on the machine: only
#    removed / restored when no other kubelet runs.
for l in /var/log/containers/*.log; do
  [ -L "$l" ] && case $(readlink "$l") in "$NODE_ROOT"/*) rm -f "$l" ;; esac
done
rmdir /var/log/containers 2>/dev/null
if ! pgrep -x kubelet >/dev/null; then
  for ipt in iptables ip6tables; do
    while "$ipt" -w -D INPUT -j KUBE-FIREWALL 2>/dev/null; do :; done
    while "$ipt" -w -D OUTPUT -j KUBE-FIREWALL 2>/dev/null; do :; done
    for tc in filter:KUBE-FIREWALL filter:KUBE-KUBELET-CANARY nat:KUBE-KUBELET-CANARY \
              mangle:KUBE-KUBELET-CANARY mangle:KUBE-IPTABLES-HINT; do
      "$ipt" -w -t "${tc%%:*}" -F "${tc#*:}" 2>/dev/null && "$ipt" -w -t "${tc%%:*}" -X "${tc#*:}" 2>/dev/null
    done
  done
  if [ -f "$NODE_STATE/sysctl.orig" ]; then
    while read -r key _ value; do sysctl -qw "$key=$value"; done < "$NODE_STATE/sysctl.orig"
  fi
fi

# 7. folders
rm -rf "$NODE_ROOT" "$NODE_RUN" "$NODE_STATE"
# the shims' sockets live in the fixed /run/containerd/s (named after this node's socket)
rmdir /run/containerd/s /run/containerd 2>/dev/null
log "node $NODE_NAME down"
true
