# syntax=docker/dockerfile:1
# The operator image: a release build in the official Rust image (Debian 13), copied into
# distroless cc (glibc, libgcc, CA certificates, no shell, non-root user 65532).
#   docker buildx build --platform linux/amd64,linux/arm64 -t bitbucket-token-operator .
# The builder runs on the build machine's platform and cross-compiles for TARGETARCH (set by
# BuildKit from --platform). scripts/node-images.sh builds the same image without Docker for the
# test node; tests/image.rs checks that both agree on user, entrypoint, command, port and files.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=trixie

FROM --platform=$BUILDPLATFORM docker.io/library/rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
ARG TARGETARCH
WORKDIR /src
# A cross linker and C compiler (aws-lc-sys) when the target is not the build machine's architecture.
RUN set -eu; \
    case "$TARGETARCH" in \
      amd64) echo x86_64-unknown-linux-gnu > /rust-target; gnu=x86_64-linux-gnu ;; \
      arm64) echo aarch64-unknown-linux-gnu > /rust-target; gnu=aarch64-linux-gnu ;; \
      *) echo "unsupported TARGETARCH $TARGETARCH" >&2; exit 1 ;; \
    esac; \
    if [ "$TARGETARCH" != "$(dpkg --print-architecture)" ]; then \
      apt-get update && apt-get install -y --no-install-recommends "gcc-$(echo $gnu | tr _ -)" "libc6-dev-$TARGETARCH-cross" \
      && rm -rf /var/lib/apt/lists/*; \
    fi; \
    rustup target add "$(cat /rust-target)"
# The whole workspace: Cargo.lock pins every dependency (--locked), and the workspace's member
# tests/simulator must exist for cargo to read the workspace (it is not built).
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target,id=target-$TARGETARCH \
    set -eu; target=$(cat /rust-target); \
    export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
      CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
      CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER=x86_64-linux-gnu-gcc \
      CC_x86_64_unknown_linux_gnu=x86_64-linux-gnu-gcc; \
    cargo build --release --locked --target "$target" --bin bitbucket-token-operator \
    && install -D -m 0755 "target/$target/release/bitbucket-token-operator" /out/bitbucket-token-operator

FROM gcr.io/distroless/cc-debian13:nonroot
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="bitbucket-token-operator" \
      org.opencontainers.image.description="Validates Bitbucket tokens and renders git-credential Secrets" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/bitbucket-token-operator/bitbucket-token-operator" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=builder /out/bitbucket-token-operator /usr/local/bin/bitbucket-token-operator
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/bitbucket-token-operator"]
CMD ["run"]
