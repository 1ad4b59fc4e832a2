#!/usr/bin/env bash
# Prints the node's generated configuration files (node-up.sh writes them into $NODE_STATE).
#   node-config.sh containerd                          containerd v2 config (format version 3)
#   node-config.sh kubelet <port> <healthz port>       KubeletConfiguration
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"
# shellcheck source=node-env.sh
. "$here/node-env.sh"

containerd_config() {
  cat <<TOML
version = 3
root = "$NODE_ROOT/containerd"
state = "$NODE_RUN/containerd"
# NRI listens on a fixed machine-wide socket and /opt/containerd is machine-wide: not wanted here.
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.internal.v1.opt",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$NODE_SOCK"
[ttrpc]
  address = "$NODE_SOCK.ttrpc"

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    # built by node-images.sh and imported; never pulled
    sandbox = "$NODE_PAUSE_IMAGE"

[plugins.'io.containerd.cri.v1.runtime']
  enable_selinux = false
  disable_apparmor = true
  # This machine lacks CAP_SYS_RESOURCE: nothing may lower its oom_score_adj, and runc fails
  # every sandbox ("can't get final child's PID from pipe") when asked for the default -998.
  restrict_oom_score_adj = true
  # pod network namespaces under this node's state folder, not the machine-wide /run/netns
  netns_mounts_under_state_dir = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "$RUNC_BIN"
        # runc's state, by default in the machine-wide /run/containerd/runc
        Root = "$NODE_RUN/runc"
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["$CNI_BIN_DIR"]
    conf_dir = "$NODE_STATE/cni"
TOML
}

kubelet_config() {
  local port=$1 healthz=$2
  cat <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# kubelet 1.35+ refuses a cgroup v1 host unless told otherwise
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /$NODE_CGROUP
containerRuntimeEndpoint: unix://$NODE_SOCK
imageServiceEndpoint: unix://$NODE_SOCK
address: $NODE_GATEWAY
port: $port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $healthz
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $STATE_DIR/pki/ca.crt}
authorization: {mode: Webhook}
# no CAP_SYS_RESOURCE: the default -999 cannot be applied
oomScoreAdj: 0
resolvConf: $NODE_STATE/resolv.conf
podLogsDir: $NODE_ROOT/pod-logs
failSwapOn: false
serializeImagePulls: false
# a Secret volume is refreshed at the latest after this (plus the Secret cache's TTL)
syncFrequency: 10s
nodeStatusReportFrequency: 1m
# a shared 2-core machine with a busy disk: no eviction, no image garbage collection
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
YAML
}

case ${1:-} in
  containerd) containerd_config ;;
  kubelet) kubelet_config "$2" "$3" ;;
  *) echo "usage: $0 containerd | kubelet <port> <healthz port>" >&2; exit 2 ;;
esac
