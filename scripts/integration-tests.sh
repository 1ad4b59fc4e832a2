#!/usr/bin/env bash
# Runs the integration test binary (tests/integration/main.rs) once per module, one module after
# another, each module's tests in parallel: some modules install cluster-wide objects (the chart,
# the node's pods) that the others must not see. Builds the binary once first. Every module runs
# even when an earlier one failed; the exit status is 1 when any failed, and the failed modules are
# listed at the end. Extra arguments go to cargo (e.g. --release). Needs a control plane
# (scripts/with-cluster.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cargo=${CARGO:-cargo}
main_rs="$root/tests/integration/main.rs"
# The test modules are the plain `mod name;` lines of main.rs (support is not one).
mapfile -t modules < <(sed -n 's/^mod \([a-z0-9_]*\);$/\1/p' "$main_rs" | grep -vx support)
[ "${#modules[@]}" -gt 0 ] || { echo "error: no test modules found in $main_rs" >&2; exit 1; }
# Build once and run that very binary for every module: an edit during the run cannot rebuild it
# (nor the operator binary it starts) between two modules.
binary=$("$cargo" test --locked "$@" --test integration --no-run --message-format=json \
  | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "integration" and m.get("executable"):
        print(m["executable"])')
[ -x "$binary" ] || { echo "error: cargo built no integration test binary" >&2; exit 1; }
cd "$root"
failed=()
for module in "${modules[@]}"; do
  echo "[integration-tests] $module" >&2
  "$binary" "$module::" || failed+=("$module")
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "[integration-tests] failed: ${failed[*]}" >&2
  exit 1
fi
