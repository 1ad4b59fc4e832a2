#!/usr/bin/env bash
# Proves that node-down.sh left nothing of the node on the machine (with-cluster.sh runs it after
# cluster-down.sh, so every `make test` checks it).
#   node-leftovers.sh snapshot <file>   record the kernel settings the node changes, before it starts
#   node-leftovers.sh check [<file>]    exit 1 listing whatever is left: processes, mounts, cgroups,
#                                       the bridge, iptables rules, the kubelet's chains (when no other
#                                       kubelet runs), log links, CNI cache, folders, kernel settings
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"
# shellcheck source=node-env.sh
. "$here/node-env.sh"
SYSCTLS="vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward"

check() {
  local baseline=${1:-} left=()
  pgrep -af "$NODE_ROOT|$NODE_RUN|$NODE_STATE" | grep -v "node-leftovers" >/dev/null && left+=("processes: $(pgrep -af "$NODE_ROOT|$NODE_RUN|$NODE_STATE" | grep -v node-leftovers | cut -c1-120)")
  grep -E "$NODE_ROOT|$NODE_RUN" /proc/self/mountinfo >/dev/null && left+=("mounts")
  ls -d /sys/fs/cgroup/*/"$NODE_CGROUP" /sys/fs/cgroup/"$NODE_CGROUP" >/dev/null 2>&1 && left+=("cgroups")
  ip link show "$NODE_BRIDGE" >/dev/null 2>&1 && left+=("bridge $NODE_BRIDGE")
  { iptables-save; ip6tables-save; } 2>/dev/null | grep -q -- "$NODE_TAG" && left+=("iptables rules tagged $NODE_TAG")
  if ! pgrep -x kubelet >/dev/null; then
    { iptables-save; ip6tables-save; } 2>/dev/null | grep -qE 'KUBE-(FIREWALL|KUBELET-CANARY|IPTABLES-HINT)' && left+=("the kubelet's iptables chains")
  fi
  for l in /var/log/containers/*.log; do
    [ -L "$l" ] && case $(readlink "$l") in "$NODE_ROOT"/*) left+=("log link $l") ;; esac
  done
  ls /var/lib/cni/results/"$NODE_TAG"-* >/dev/null 2>&1 && left+=("CNI cache")
  for d in "$NODE_ROOT" "$NODE_RUN" "$NODE_STATE"; do [ -e "$d" ] && left+=("folder $d"); done
  [ -d /run/containerd/runc ] && ! pgrep -x containerd >/dev/null && left+=("/run/containerd/runc")
  if [ -n "$baseline" ] && [ -f "$baseline" ] && ! pgrep -x kubelet >/dev/null; then
    # shellcheck disable=SC2086
    diff <(sysctl $SYSCTLS 2>/dev/null) "$baseline" >/dev/null || left+=("kernel settings: $(diff <(sysctl $SYSCTLS 2>/dev/null) "$baseline" | grep '^<' | tr '\n' ' ')")
  fi
  if [ ${#left[@]} -gt 0 ]; then
    printf '[node-leftovers] left behind by node %s:\n' "$NODE_NAME" >&2; printf '  %s\n' "${left[@]}" >&2; return 1
  fi
  echo "[node-leftovers] nothing of node $NODE_NAME is left" >&2
}

case ${1:-} in
  # shellcheck disable=SC2086
  snapshot) sysctl $SYSCTLS > "$2" 2>/dev/null ;;
  check) check "${2:-}" ;;
  *) echo "usage: $0 snapshot <file> | check [<file>]" >&2; exit 2 ;;
esac
