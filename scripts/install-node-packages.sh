#!/usr/bin/env bash
# Installs, from Debian through apt, what the real node needs besides the binaries that
# install-tools.sh builds: runc, the CNI plugins (/usr/lib/cni), iptables, conntrack, and for the
# images umoci, debootstrap and gcc + libc6-dev (the static pause binary), and tmux (the terminal
# tests/integration/kubectl_bbt.rs shows `kubectl bbt status` in). Needs root. Skips everything when all of it
# is already there.
set -euo pipefail
need=()
for pair in runc:/usr/sbin/runc containernetworking-plugins:/usr/lib/cni/bridge iptables:/usr/sbin/iptables \
    conntrack:/usr/sbin/conntrack umoci:/usr/bin/umoci debootstrap:/usr/sbin/debootstrap \
    gcc:/usr/bin/gcc libc6-dev:/usr/lib/x86_64-linux-gnu/libc.a tmux:/usr/bin/tmux; do
  [ -e "${pair#*:}" ] || need+=("${pair%%:*}")
done
[ ${#need[@]} -eq 0 ] && { echo "[install-node-packages] all present"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "root is needed to apt-get install ${need[*]}" >&2; exit 1; }
echo "[install-node-packages] apt-get install ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
