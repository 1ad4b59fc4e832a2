#!/usr/bin/env bash
# The node's pod network: a bridge with the node's gateway address, Debian's bridge + host-local
# CNI plugins, guard rules, and the kubernetes Service address (10.0.0.1:443) routed to the API
# server on 127.0.0.1 by one DNAT rule (no kube-proxy: its chains are machine-wide and would be
# shared by two instances). Pods reach each other and this machine, nothing else:
#   FORWARD              nothing from the bridge to another device, nor the other way (v4 and v6)
#   mangle POSTROUTING   no packet for the pod or Service range leaves by a device other than the
#                        bridge (POSTROUTING sees the device a packet really leaves by, after NAT)
# Every rule carries the comment $NODE_TAG; node-net-down.sh deletes exactly those.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"
# shellcheck source=node-env.sh
. "$here/node-env.sh"
api_port=$(cat "$NODE_STATE/api-port")
tag=(-m comment --comment "$NODE_TAG")
rule() { # iptables binary, table, chain, rule...: appended once
  local ipt=$1 table=$2 chain=$3; shift 3
  "$ipt" -w -t "$table" -C "$chain" "$@" "${tag[@]}" 2>/dev/null || "$ipt" -w -t "$table" -I "$chain" 1 "$@" "${tag[@]}"
}

if ip -4 route show to match "$NODE_GATEWAY" | grep -v "dev $NODE_BRIDGE" | grep -q "$NODE_POD_CIDR"; then
  echo "$NODE_POD_CIDR is already routed elsewhere: set BTO_NODE_SUBNET to another number (1-254)" >&2; exit 1
fi

# 1. guards before any pod can send a packet
for ipt in iptables ip6tables; do
  rule "$ipt" filter FORWARD -i "$NODE_BRIDGE" ! -o "$NODE_BRIDGE" -j DROP
  rule "$ipt" filter FORWARD -o "$NODE_BRIDGE" ! -i "$NODE_BRIDGE" -j DROP
done
# (not for the gateway, a local address: the API server reaches the kubelet there, over lo)
rule iptables mangle POSTROUTING -d "$NODE_POD_CIDR" ! -o "$NODE_BRIDGE" -m addrtype ! --dst-type LOCAL -j DROP
rule iptables mangle POSTROUTING -d "$NODE_SERVICE_CIDR" ! -o lo -j DROP

# 2. the bridge, up before the first pod, so that the kubelet can serve on its address
ip link show "$NODE_BRIDGE" >/dev/null 2>&1 || ip link add "$NODE_BRIDGE" type bridge
ip link set "$NODE_BRIDGE" up
ip -4 addr show dev "$NODE_BRIDGE" | grep -q "inet $NODE_GATEWAY/" || ip addr add "$NODE_GATEWAY/24" dev "$NODE_BRIDGE"
# DNAT to 127.0.0.1 needs route_localnet on the device the packet came in by
sysctl -qw "net.ipv4.conf.$NODE_BRIDGE.route_localnet=1"

# 3. in-cluster API access from pods: 10.0.0.1:443 -> 127.0.0.1:<apiserver port>
rule iptables nat PREROUTING -i "$NODE_BRIDGE" -d "$NODE_API_SERVICE_IP" -p tcp --dport 443 \
  -j DNAT --to-destination "127.0.0.1:$api_port"

# 4. the CNI configuration containerd reads
mkdir -p "$NODE_STATE/cni" "$NODE_ROOT/cni-ipam"
cat > "$NODE_STATE/cni/10-$NODE_TAG.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "$NODE_TAG",
  "plugins": [{
    "type": "bridge", "bridge": "$NODE_BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
    "ipam": {
      "type": "host-local", "dataDir": "$NODE_ROOT/cni-ipam",
      "ranges": [[{"subnet": "$NODE_POD_CIDR", "gateway": "$NODE_GATEWAY"}]],
      "routes": [{"dst": "0.0.0.0/0"}]
    }
  }]
}
JSON
echo "[node-net-up] pods $NODE_POD_CIDR on $NODE_BRIDGE, $NODE_API_SERVICE_IP:443 -> 127.0.0.1:$api_port" >&2
