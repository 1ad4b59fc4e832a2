# syntax=docker/dockerfile:1
# The operator image: a release build in the official Rust image, copied into distroless (glibc,
# CA certificates, no shell, non-root user 65532). Build: docker build -t bitbucket-token-operator .

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM docker.io/library/rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
WORKDIR /src
# The whole workspace: Cargo.lock pins every dependency (--locked), and the workspace's member
# tests/simulator must exist for cargo to read the workspace (it is not built).
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin bitbucket-token-operator \
    && install -D -m 0755 target/release/bitbucket-token-operator /out/bitbucket-token-operator

FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="bitbucket-token-operator" \
      org.opencontainers.image.description="Validates Bitbucket tokens and renders git-credential Secrets" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /out/bitbucket-token-operator /usr/local/bin/bitbucket-token-operator
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/bitbucket-token-operator"]
CMD ["run"]
