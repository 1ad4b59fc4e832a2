#!/usr/bin/env bash
# Stops exactly the processes cluster-up.sh started (by their recorded pids) and removes the state;
# the node first (node-down.sh), while the API server can still take its pods down.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"
# shellcheck source=process.sh
. "$here/process.sh"
bash "$here/node-down.sh"
[ -d "$STATE_DIR" ] || { echo "no control plane state in $STATE_DIR"; exit 0; }
for name in kube-controller-manager kube-apiserver etcd; do
  stop_recorded "$STATE_DIR/$name.pid" "$name"
done
data=$(cat "$STATE_DIR/etcd-data-dir" 2>/dev/null) && [ -n "$data" ] && rm -rf "$data"
rm -rf "$STATE_DIR"
