# The real node's names and paths; sourced (after versions.sh) by the node-*.sh scripts.
# Everything is derived from the control plane's state folder, so that two instances on one
# machine (CI's default folder, a developer's BTO_STATE_DIR) never share a path, cgroup, bridge,
# address range or iptables rule:
#   NODE_ID        6 hex digits of sha256(STATE_DIR)
#   NODE_NAME      the Node object's name, bto-node-<id>
#   NODE_ROOT      /var/lib/bto-node-<id>: containerd root, kubelet root, pod logs, CNI IPAM
#   NODE_RUN       /run/bto-node-<id>: containerd state and sockets (pod network namespaces too)
#   NODE_STATE     $STATE_DIR/node: pids, logs, certificates, generated configs
#   NODE_CGROUP    bto-node-<id>, created in every cgroup v1 hierarchy (or under cgroup v2's root)
#   NODE_BRIDGE    btobr<id>; NODE_POD_CIDR 10.200.<n>.0/24 with the bridge at NODE_GATEWAY .1
#   NODE_TAG       comment on every iptables rule the node scripts add
# BTO_NODE_SUBNET (1-254) picks <n> by hand when the derived one is taken.
NODE_ID=$(printf '%s' "$STATE_DIR" | sha256sum | cut -c1-6)
NODE_NAME=bto-node-$NODE_ID
NODE_ROOT=/var/lib/bto-node-$NODE_ID
NODE_RUN=/run/bto-node-$NODE_ID
NODE_STATE=$STATE_DIR/node
NODE_CGROUP=bto-node-$NODE_ID
NODE_BRIDGE=btobr$NODE_ID
NODE_SUBNET=${BTO_NODE_SUBNET:-$(( 16#$NODE_ID % 254 + 1 ))}
NODE_POD_CIDR=10.200.$NODE_SUBNET.0/24
NODE_GATEWAY=10.200.$NODE_SUBNET.1
NODE_TAG=bto-node-$NODE_ID
# The control plane's Service range (cluster-up.sh) and the kubernetes Service's address.
NODE_SERVICE_CIDR=10.0.0.0/24
NODE_API_SERVICE_IP=10.0.0.1
NODE_SOCK=$NODE_RUN/containerd/containerd.sock
# Images the node knows without a registry (scripts/node-images.sh builds them).
NODE_PAUSE_IMAGE=bto.local/pause:3.10
NODE_GIT_IMAGE=bto.local/git:$GIT_IMAGE_SUITE
NODE_OPERATOR_IMAGE_REPO=bto.local/bitbucket-token-operator
IMAGES_DIR="$CACHE_ROOT/images"
# Debian's runc and CNI plugins (install-node-packages.sh)
RUNC_BIN=/usr/sbin/runc
CNI_BIN_DIR=/usr/lib/cni
