#!/usr/bin/env bash
# Stops exactly the processes cluster-up.sh started (by their recorded pids) and removes the state.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"
[ -d "$STATE_DIR" ] || { echo "no control plane state in $STATE_DIR"; exit 0; }
for name in kube-controller-manager kube-apiserver etcd; do
  pid=$(cat "$STATE_DIR/$name.pid" 2>/dev/null) || continue
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    echo "stopped $name (pid $pid)"
  fi
  rm -f "$STATE_DIR/$name.pid"
done
data=$(cat "$STATE_DIR/etcd-data-dir" 2>/dev/null) && [ -n "$data" ] && rm -rf "$data"
rm -rf "$STATE_DIR"
