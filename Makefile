# bitbucket-token-operator: developer entry points. `make help` lists them.
SHELL := /bin/bash
CARGO ?= cargo
CRD_FILE := crds/bitbucket-token-operator.io_bitbuckettokens.yaml
CHART_CRD_DIR := charts/bitbucket-token-operator/crds

.PHONY: help generate check-generated fmt-check clippy lint tools cluster-up cluster-down test unit-test

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

generate: ## Write the CRD (and the chart's copy) from the Rust types
	$(CARGO) run --quiet -- crd > $(CRD_FILE).tmp && mv $(CRD_FILE).tmp $(CRD_FILE)
	@if [ -d $(dir $(CHART_CRD_DIR)) ]; then mkdir -p $(CHART_CRD_DIR) && cp $(CRD_FILE) $(CHART_CRD_DIR)/; fi

check-generated: ## Fail when a committed generated file differs from what the types produce
	@tmp=$$(mktemp); $(CARGO) run --quiet -- crd > $$tmp; \
	status=0; \
	for f in $(CRD_FILE) $(wildcard $(CHART_CRD_DIR)/*.yaml); do \
	  if ! diff -u $$f $$tmp; then echo "error: $$f is out of date: run 'make generate' and commit" >&2; status=1; fi; \
	done; rm -f $$tmp; exit $$status

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

lint: fmt-check clippy ## cargo fmt check and clippy with -D warnings

tools: ## Build or fetch the pinned control-plane binaries, kubectl and helm (cached outside the repo)
	bash scripts/install-tools.sh

cluster-up: tools ## Start etcd, kube-apiserver and kube-controller-manager on loopback
	bash scripts/cluster-up.sh

cluster-down: ## Stop the processes cluster-up started
	bash scripts/cluster-down.sh

unit-test: ## Unit tests only (no control plane)
	$(CARGO) test --workspace --locked --lib --bins

test: lint check-generated tools ## Everything: lint, generated-file check, unit and integration tests on a real control plane
	bash scripts/with-cluster.sh $(CARGO) test --workspace --locked --all-targets
