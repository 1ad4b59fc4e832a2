#!/usr/bin/env bash
# Writes the plain manifests in deploy/ from the chart with its default values:
#   <out>/crds.yaml                     the BitbucketToken CRD
#   <out>/bitbucket-token-operator.yaml  the namespace and everything else
# Usage: scripts/manifests.sh [out-dir]   (default: deploy)
# Rendered for the tested Kubernetes version (the chart's kubeVersion refuses helm's built-in default).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"
out=${1:-$root/deploy}
helm=${HELM:-$BIN_DIR/helm4}
[ -x "$helm" ] || { echo "error: $helm not found: run 'make tools'" >&2; exit 1; }
namespace=bitbucket-token-operator
chart="$root/charts/bitbucket-token-operator"
mkdir -p "$out"
header="# Generated from charts/bitbucket-token-operator by 'make manifests'. Do not edit."
{
  echo "$header"
  "$helm" template "$namespace" "$chart" --namespace "$namespace" --kube-version "$K8S_VERSION" \
    --show-only templates/crds/bitbucket-token-operator.io_bitbuckettokens.yaml
} > "$out/crds.yaml.tmp"
{
  echo "$header"
  echo "# Apply deploy/crds.yaml first, then this file (both with kubectl apply --server-side)."
  echo "---"
  echo "apiVersion: v1"
  echo "kind: Namespace"
  echo "metadata:"
  echo "  name: $namespace"
  "$helm" template "$namespace" "$chart" --namespace "$namespace" --kube-version "$K8S_VERSION" \
    --set crds.enabled=false
} > "$out/bitbucket-token-operator.yaml.tmp"
mv "$out/crds.yaml.tmp" "$out/crds.yaml"
mv "$out/bitbucket-token-operator.yaml.tmp" "$out/bitbucket-token-operator.yaml"
