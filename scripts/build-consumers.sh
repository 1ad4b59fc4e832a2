#!/usr/bin/env bash
# Builds, into the tools cache, small test programs that run the consumers' own code against the
# rendered Secrets (see tests/integration/consumers.rs), and fetches a git older than 2.31:
#   tekton-gitcreds  github.com/tektoncd/pipeline/pkg/credentials/gitcreds (creds-init)
#   flux-gogit       github.com/fluxcd/pkg/git + gogit (source-controller's git client)
#   argocd-repo      github.com/argoproj/argo-cd/v3 util/db + util/git (repo-server's reading
#                    of repository Secrets and its git client)
#   git-2.30/        Debian bullseye's git package, unpacked (not installed)
# Each main package lives in scripts/consumers/<name>/; it is copied into a throwaway module in
# the cache that requires the pinned release through the Go module proxy. A program is rebuilt
# when its pinned version or its main.go changes. Called by install-tools.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"

mkdir -p "$BIN_DIR" "$TOOLS_DIR/src"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
log() { printf '[build-consumers %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# Usage: build_consumer <name> <module> <version> [extra go.mod lines]
build_consumer() {
  local name=$1 module=$2 version=$3 extra=${4:-}
  local main="$here/consumers/$name/main.go" stamp="$BIN_DIR/$name.stamp" want
  want="$module@v$version $(printf '%s' "$extra" | cat "$main" - | sha256sum | cut -d' ' -f1)"
  if [ -x "$BIN_DIR/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    log "$name ($module v$version) already built"; return
  fi
  command -v go >/dev/null || { echo "go is required to build $name" >&2; exit 1; }
  local src="$TOOLS_DIR/src/consumer-$name" started=$SECONDS
  rm -rf "$src"; mkdir -p "$src"; cp "$main" "$src/main.go"; cd "$src"
  # The programs decode Secrets with k8s.io/api at the control plane's version.
  printf 'module local/%s\ngo 1.25\nrequire (\n\t%s v%s\n\tk8s.io/api v%s\n)\n' \
    "$name" "$module" "$version" "$K8S_STAGING_VERSION" > go.mod
  [ -z "$extra" ] || printf '%s\n' "$extra" >> go.mod
  log "building $name from $module v$version"
  go mod tidy >/dev/null
  go build -trimpath -ldflags "-s -w" -o "$BIN_DIR/$name" .
  echo "$want" > "$stamp"
  log "built $name in $((SECONDS - started)) s"
}

# git from Debian bullseye, fetched with apt into a private state directory and unpacked with
# dpkg-deb (nothing is installed). Run it with GIT_EXEC_PATH=<dir>/usr/lib/git-core.
fetch_old_git() {
  local dir="$BIN_DIR/git-2.30" want="git=$OLD_GIT_DEBIAN_VERSION"
  if [ -x "$dir/usr/bin/git" ] && [ "$(cat "$dir.stamp" 2>/dev/null)" = "$want" ]; then
    log "old git ($OLD_GIT_DEBIAN_VERSION) already present"; return
  fi
  local apt; apt=$(mktemp -d)
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/etc/preferences.d" "$apt/etc/sources.list.d"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-bullseye-stable.gpg] http://deb.debian.org/debian bullseye main" \
    > "$apt/etc/sources.list"
  local opts=(-o "Dir::Etc=$apt/etc" -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
    -o "Dir::Etc::SourceParts=$apt/etc/sources.list.d" -o "APT::Sandbox::User=root")
  log "fetching git $OLD_GIT_DEBIAN_VERSION (Debian bullseye)"
  apt-get "${opts[@]}" -qq update
  (cd "$apt" && apt-get "${opts[@]}" -qq download "$want")
  rm -rf "$dir"; mkdir -p "$dir"
  dpkg-deb -x "$apt"/git_*.deb "$dir"
  rm -rf "$apt"
  echo "$want" > "$dir.stamp"
  log "old git: $(GIT_EXEC_PATH="$dir/usr/lib/git-core" "$dir/usr/bin/git" --version)"
}

# Argo CD's go.mod pins the Kubernetes staging modules with replace directives (ignored for a
# dependency, so they are copied) and points its gitops-engine submodule at ./gitops-engine, a
# version the proxy does not serve: use the pinned pseudo-version the proxy has.
argocd_replaces() {
  local gomod
  gomod=$(go mod download -json "github.com/argoproj/argo-cd/v3@v$ARGOCD_VERSION" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  sed -n '/^replace (/,/^)/p' "$gomod"
  echo "replace github.com/argoproj/argo-cd/gitops-engine => github.com/argoproj/argo-cd/gitops-engine $ARGOCD_GITOPS_ENGINE_VERSION"
}

fetch_old_git
build_consumer tekton-gitcreds github.com/tektoncd/pipeline "$TEKTON_PIPELINE_VERSION"
build_consumer flux-gogit github.com/fluxcd/pkg/git/gogit "$FLUX_GOGIT_VERSION"
build_consumer argocd-repo github.com/argoproj/argo-cd/v3 "$ARGOCD_VERSION" "$(argocd_replaces)"
