#!/usr/bin/env bash
# Client certificates and kubeconfigs for the kubelet (system:node:<name>, group system:nodes)
# and kube-scheduler (system:kube-scheduler), signed by the control plane's CA. The test control
# plane authorizes by RBAC alone (no Node authorizer), so the bootstrap ClusterRole system:node is
# bound to the group system:nodes, as clusters did before the Node authorizer.
# Usage: node-pki.sh <api server URL>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"
# shellcheck source=node-env.sh
. "$here/node-env.sh"
api=$1 ca=$STATE_DIR/pki/ca.crt dir=$NODE_STATE/pki
mkdir -p "$dir"
printf 'extendedKeyUsage=clientAuth\n' > "$dir/client.ext"

issue() { # name, subject: key + certificate + kubeconfig
  local name=$1 subject=$2
  openssl req -newkey rsa:2048 -nodes -keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "$subject" >/dev/null 2>&1
  openssl x509 -req -in "$dir/$name.csr" -CA "$ca" -CAkey "$STATE_DIR/pki/ca.key" -CAcreateserial \
    -out "$dir/$name.crt" -days 30 -extfile "$dir/client.ext" >/dev/null 2>&1
  cat > "$NODE_STATE/$name.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: bto-test
  cluster: {server: "$api", certificate-authority: "$ca"}
users:
- name: $name
  user: {client-certificate: "$dir/$name.crt", client-key: "$dir/$name.key"}
contexts:
- name: bto-test
  context: {cluster: bto-test, user: $name}
current-context: bto-test
KC
}
issue kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
issue scheduler "/CN=system:kube-scheduler"
"$BIN_DIR/kubectl" --kubeconfig "$STATE_DIR/kubeconfig" apply -f - >/dev/null <<'YAML'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "bto-node:system:nodes"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:node"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "system:nodes"}
YAML
