#!/usr/bin/env bash
# Exits 0 when the control plane recorded in the state folder is running and ready.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"
for name in etcd kube-apiserver kube-controller-manager; do
  pid=$(cat "$STATE_DIR/$name.pid" 2>/dev/null) || { echo "$name: not started"; exit 1; }
  kill -0 "$pid" 2>/dev/null || { echo "$name: not running"; exit 1; }
done
"$BIN_DIR/kubectl" --kubeconfig "$STATE_DIR/kubeconfig" get --raw /readyz >/dev/null
echo "control plane ready (state in $STATE_DIR)"
