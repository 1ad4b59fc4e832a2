#!/usr/bin/env bash
# Undoes node-net-up.sh: the rules commented $NODE_TAG (v4 and v6), the bridge, the CNI config
# and IPAM state, and what CNI cached about this node's pods.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"
# shellcheck source=node-env.sh
. "$here/node-env.sh"
for ipt in iptables ip6tables; do
  for t in filter nat mangle; do
    "$ipt" -w -t "$t" -S 2>/dev/null | grep -- "--comment $NODE_TAG\b" | sed 's/^-A /-D /' |
      while read -r r; do eval "$ipt -w -t $t $r"; done
  done
done
ip link show "$NODE_BRIDGE" >/dev/null 2>&1 && ip link del "$NODE_BRIDGE"
rm -rf "$NODE_STATE/cni" "$NODE_ROOT/cni-ipam"
# libcni caches each attachment in /var/lib/cni/results/<network>-<container>-<ifname>
rm -f /var/lib/cni/results/"$NODE_TAG"-* 2>/dev/null
rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null
true
