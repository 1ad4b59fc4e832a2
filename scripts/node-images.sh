#!/usr/bin/env bash
# Container images without a registry or Docker: root filesystems packed as one-layer OCI images
# with umoci, written as OCI-layout tars and imported into the node's containerd.
#   node-images.sh base                   pause and git images into $IMAGES_DIR (skipped when there)
#   node-images.sh operator <binary> <tag> [<layout dir>]
#                                         the operator image from a release binary, laid out as the
#                                         Dockerfile's (distroless cc, user 65532); imported when the
#                                         node runs; the OCI layout is kept in <layout dir> if given
#   node-images.sh import <name>...       imports $IMAGES_DIR/<name>.tar as bto.local/<name>
# Images: bto.local/pause:3.10 (static pause.c from the k8s.io/kubernetes module, user 65535),
# bto.local/git:<suite> (debootstrap minbase Debian + git + ca-certificates).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"
# shellcheck source=node-env.sh
. "$here/node-env.sh"
log() { printf '[node-images %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
arch=$(dpkg --print-architecture)
mkdir -p "$IMAGES_DIR"

# pack <layout> <tag> <rootfs> <umoci config args...>: a one-layer image in an OCI layout whose
# index names it <tag> (ctr import --base-name joins the two).
pack() {
  local layout=$1 tag=$2 rootfs=$3 bundle; shift 3
  bundle=$(mktemp -d)
  rm -rf "$layout"
  umoci init --layout "$layout"
  umoci new --image "$layout:$tag"
  umoci unpack --image "$layout:$tag" "$bundle/b" >/dev/null
  cp -a "$rootfs/." "$bundle/b/rootfs/"
  umoci repack --image "$layout:$tag" "$bundle/b"
  umoci config --image "$layout:$tag" --os linux --architecture "$arch" "$@"
  umoci gc --layout "$layout"
  rm -rf "$bundle"
}

# to_tar <layout> <tar>: written under a temporary name, so that a stopped build leaves no half tar
to_tar() { tar -C "$1" -cf "$2.tmp" . && mv "$2.tmp" "$2"; }

pause_image() {
  [ -f "$IMAGES_DIR/pause.tar" ] && return
  local work src
  work=$(mktemp -d)
  src=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  mkdir -p "$work/rootfs"
  gcc -Os -Wall -Werror -static -DVERSION="v3.10-bto" -o "$work/rootfs/pause" "$src/build/pause/linux/pause.c"
  strip "$work/rootfs/pause"
  pack "$work/oci" 3.10 "$work/rootfs" --config.entrypoint /pause --config.user 65535:65535
  to_tar "$work/oci" "$IMAGES_DIR/pause.tar"
  rm -rf "$work"
  log "built $IMAGES_DIR/pause.tar"
}

git_image() {
  local tar=$IMAGES_DIR/git-$GIT_IMAGE_SUITE.tar work
  [ -f "$tar" ] && return
  work=$(mktemp -d)
  log "debootstrap $GIT_IMAGE_SUITE minbase + git (downloads ~40 MB from deb.debian.org)"
  debootstrap --variant=minbase --include=git,ca-certificates "$GIT_IMAGE_SUITE" "$work/rootfs" \
    http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  for m in proc sys dev/pts; do
    mountpoint -q "$work/rootfs/$m" && umount "$work/rootfs/$m"
  done
  rm -rf "$work/rootfs"/var/cache/apt/archives/*.deb "$work/rootfs"/var/lib/apt/lists/*
  pack "$work/oci" "$GIT_IMAGE_SUITE" "$work/rootfs" --config.cmd /bin/bash \
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  to_tar "$work/oci" "$tar"
  rm -rf "$work"
  log "built $tar ($(du -sh "$tar" | cut -f1))"
}

# The operator's root filesystem: what gcr.io/distroless/cc-debian13:nonroot gives a Rust binary
# (glibc and libgcc_s, the CA bundle, passwd/group with nonroot 65532, /tmp, /home/nonroot) and
# the binary at the Dockerfile's path. Config as the Dockerfile declares it.
operator_image() {
  local binary=$1 tag=$2 keep=${3:-} work r version
  work=$(mktemp -d); r=$work/rootfs
  mkdir -p "$r/usr/local/bin" "$r/etc/ssl/certs" "$r/tmp" "$r/home/nonroot"
  install -m 0755 "$binary" "$r/usr/local/bin/bitbucket-token-operator"
  for lib in $(ldd "$binary" | grep -o '/[^ ]*\.so[^ ]*'); do
    mkdir -p "$r$(dirname "$lib")"; cp -L "$lib" "$r$lib"
  done
  cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$r/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' > "$r/etc/group"
  chmod 1777 "$r/tmp"; chown 65532:65532 "$r/home/nonroot"; chmod 0700 "$r/home/nonroot"
  version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$here/../Cargo.toml" | head -1)
  pack "$work/oci" "$tag" "$r" --config.user 65532:65532 \
    --config.entrypoint /usr/local/bin/bitbucket-token-operator --config.cmd run \
    --config.exposedports 8080/tcp \
    --config.label org.opencontainers.image.title=bitbucket-token-operator \
    --config.label "org.opencontainers.image.description=Validates Bitbucket tokens and renders git-credential Secrets" \
    --config.label org.opencontainers.image.licenses=Apache-2.0 \
    --config.label org.opencontainers.image.source=https://github.com/bitbucket-token-operator/bitbucket-token-operator \
    --config.label "org.opencontainers.image.version=$version"
  to_tar "$work/oci" "$work/operator.tar"
  if [ -S "$NODE_SOCK" ]; then
    "$BIN_DIR/ctr" --address "$NODE_SOCK" -n k8s.io images import --base-name "$NODE_OPERATOR_IMAGE_REPO" \
      "$work/operator.tar" >/dev/null
    log "imported $NODE_OPERATOR_IMAGE_REPO:$tag"
  fi
  if [ -n "$keep" ]; then rm -rf "$keep"; mkdir -p "$(dirname "$keep")"; mv "$work/oci" "$keep"; fi
  rm -rf "$work"
}

import() { # names of tars in $IMAGES_DIR; the index's ref name is the tag
  local name tar
  for name in "$@"; do
    case $name in git) tar=$IMAGES_DIR/git-$GIT_IMAGE_SUITE.tar ;; *) tar=$IMAGES_DIR/$name.tar ;; esac
    "$BIN_DIR/ctr" --address "$NODE_SOCK" -n k8s.io images import --base-name "bto.local/$name" "$tar" >/dev/null
  done
}

case ${1:-} in
  base) pause_image; git_image ;;
  operator) operator_image "$2" "$3" "${4:-}" ;;
  import) shift; import "$@" ;;
  *) echo "usage: $0 base | operator <binary> <tag> [<layout dir>] | import <name>..." >&2; exit 2 ;;
esac
