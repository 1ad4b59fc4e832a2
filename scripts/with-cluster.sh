#!/usr/bin/env bash
# Runs a command with a control plane (and its node) available: starts one if none is running and
# stops it again when the command ends (also when it fails or is interrupted), then checks that the
# node left nothing on the machine (node-leftovers.sh; a leftover fails the run). Reuses a running
# one and leaves it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"
started_here=false
if ! bash "$here/cluster-status.sh" >/dev/null 2>&1; then
  started_here=true
  baseline=$(mktemp)
  bash "$here/node-leftovers.sh" snapshot "$baseline"
  trap 'status=$?; bash "$here/cluster-down.sh"; bash "$here/node-leftovers.sh" check "$baseline" || status=1; rm -f "$baseline"; exit $status' EXIT
  bash "$here/cluster-up.sh" >/dev/null
fi
# shellcheck disable=SC1091
. "$STATE_DIR/env"
$started_here || echo "[with-cluster] reusing the running control plane in $STATE_DIR" >&2
"$@"
