# bitbucket-token-operator: developer entry points. `make help` lists them.
SHELL := /bin/bash
CARGO ?= cargo
CRD_FILE := crds/bitbucket-token-operator.io_bitbuckettokens.yaml
CHART_DIR := charts/bitbucket-token-operator
CHART_CRD_FILE := $(CHART_DIR)/templates/crds/bitbucket-token-operator.io_bitbuckettokens.yaml
DEPLOY_DIR := deploy
.DEFAULT_GOAL := help

.PHONY: bench demo demo-down help generate manifests check-generated fmt-check clippy lint tools cluster-up cluster-down operator-image test unit-test

demo: ## Run the operator on a local control plane with the Bitbucket simulator, sample tokens and a git clone
	bash scripts/demo.sh

demo-down: ## Stop what `make demo` started
	bash scripts/demo-down.sh

bench: tools ## Scale benchmark on a dedicated control plane (writes bench/RESULTS.md and bench/results.png); BENCH_ARGS=--sizes=100,1000
	$(CARGO) build --release --locked -p bitbucket-token-operator --bin bitbucket-token-operator
	BTO_NODE=0 $(CARGO) run --release --locked -p bto-bench -- $(BENCH_ARGS)

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

generate: ## Write the CRD, the chart's CRD template and deploy/ from the Rust types and the chart
	$(CARGO) run --quiet -- crd > $(CRD_FILE).tmp && mv $(CRD_FILE).tmp $(CRD_FILE)
	bash scripts/chart-crd.sh < $(CRD_FILE) > $(CHART_CRD_FILE).tmp && mv $(CHART_CRD_FILE).tmp $(CHART_CRD_FILE)
	$(MAKE) --no-print-directory manifests

manifests: ## Write deploy/ (plain manifests) from the chart with its default values (needs `make tools`)
	bash scripts/manifests.sh $(DEPLOY_DIR)

check-generated: ## Fail when a committed generated file differs from what the types and the chart produce
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; status=0; \
	$(CARGO) run --quiet -- crd > $$tmp/crd.yaml; \
	bash scripts/chart-crd.sh < $$tmp/crd.yaml > $$tmp/chart-crd.yaml; \
	bash scripts/manifests.sh $$tmp/deploy; \
	for pair in "$(CRD_FILE) $$tmp/crd.yaml" "$(CHART_CRD_FILE) $$tmp/chart-crd.yaml" \
	    "$(DEPLOY_DIR)/crds.yaml $$tmp/deploy/crds.yaml" \
	    "$(DEPLOY_DIR)/bitbucket-token-operator.yaml $$tmp/deploy/bitbucket-token-operator.yaml"; do \
	  set -- $$pair; \
	  if ! diff -u $$1 $$2; then echo "error: $$1 is out of date: run 'make generate' and commit" >&2; status=1; fi; \
	done; \
	crate=$$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1); \
	app=$$(sed -n 's/^appVersion: "\(.*\)"/\1/p' $(CHART_DIR)/Chart.yaml); \
	if [ "$$crate" != "$$app" ]; then echo "error: $(CHART_DIR)/Chart.yaml appVersion $$app differs from the crate version $$crate" >&2; status=1; fi; \
	exit $$status

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

lint: fmt-check clippy ## cargo fmt check and clippy with -D warnings

tools: ## Build or fetch the pinned control-plane and node binaries, kubectl and helm (cached outside the repo); apt packages of the node
	bash scripts/install-node-packages.sh
	bash scripts/install-tools.sh

cluster-up: tools ## Start etcd, kube-apiserver, kube-controller-manager on loopback and one real node (root; BTO_NODE=0: none)
	bash scripts/cluster-up.sh

cluster-down: ## Stop what cluster-up started and remove every trace of the node
	bash scripts/cluster-down.sh

operator-image: ## Build the operator image from the release binary (no Docker) and import it into the running node
	$(CARGO) build --release --locked --bin bitbucket-token-operator
	bash scripts/node-images.sh operator target/release/bitbucket-token-operator dev

unit-test: ## Unit tests only (no control plane)
	$(CARGO) test --workspace --locked --lib --bins

test: lint tools check-generated ## Everything: lint, generated-file check, unit and integration tests on a real control plane and node
	$(CARGO) build --release --locked --bin bitbucket-token-operator
	$(CARGO) test --workspace --locked --all-targets --exclude bitbucket-token-operator
	$(CARGO) test --locked -p bitbucket-token-operator --lib --bins
	BTO_RELEASE_BIN=$(CURDIR)/target/release/bitbucket-token-operator \
	  bash scripts/with-cluster.sh bash scripts/integration-tests.sh
