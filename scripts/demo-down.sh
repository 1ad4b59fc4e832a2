#!/usr/bin/env bash
# `make demo-down`: stops the operator and simulator `make demo` started (by their recorded pids)
# and the control plane if the demo started it.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
DEMO_DIR=${BTO_DEMO_DIR:-${TMPDIR:-/tmp}/bitbucket-token-operator-demo}
for name in operator simulator; do
  pid=$(cat "$DEMO_DIR/$name.pid" 2>/dev/null) || continue
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    echo "stopped the $name (pid $pid)"
  fi
  rm -f "$DEMO_DIR/$name.pid"
done
if [ -z "${BTO_DEMO_KEEP_CLUSTER:-}" ] && [ -f "$DEMO_DIR/started-cluster" ]; then
  bash "$here/cluster-down.sh"
  rm -f "$DEMO_DIR/started-cluster"
fi
