#!/usr/bin/env bash
# `make demo-down`: uninstalls the operator's Helm release, stops the simulator `make demo` started
# (by its recorded pid) and the control plane and node if the demo started them.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=process.sh
. "$here/process.sh"
DEMO_DIR=${BTO_DEMO_DIR:-${TMPDIR:-/tmp}/bitbucket-token-operator-demo}
# shellcheck source=versions.sh
. "$here/versions.sh"
if bash "$here/cluster-status.sh" >/dev/null 2>&1; then
  "$BIN_DIR/helm" --kubeconfig "$STATE_DIR/kubeconfig" uninstall bto -n bto-system --wait >/dev/null 2>&1 &&
    echo "uninstalled the operator (helm release bto in bto-system)"
fi
stop_recorded "$DEMO_DIR/simulator.pid" "the simulator"
if [ -z "${BTO_DEMO_KEEP_CLUSTER:-}" ] && [ -f "$DEMO_DIR/started-cluster" ]; then
  bash "$here/cluster-down.sh"
  rm -f "$DEMO_DIR/started-cluster"
fi
