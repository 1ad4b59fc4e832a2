#!/usr/bin/env bash
# `make demo-down`: stops the operator and simulator `make demo` started (by their recorded pids)
# and the control plane if the demo started it.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=process.sh
. "$here/process.sh"
DEMO_DIR=${BTO_DEMO_DIR:-${TMPDIR:-/tmp}/bitbucket-token-operator-demo}
for name in operator simulator; do
  stop_recorded "$DEMO_DIR/$name.pid" "the $name"
done
if [ -z "${BTO_DEMO_KEEP_CLUSTER:-}" ] && [ -f "$DEMO_DIR/started-cluster" ]; then
  bash "$here/cluster-down.sh"
  rm -f "$DEMO_DIR/started-cluster"
fi
