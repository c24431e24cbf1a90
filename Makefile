# continuum developer targets. `make test` is what CI runs (via .ci/run).
GO ?= go
STATICCHECK_VERSION ?= v0.8.2
FUZZTIME ?= 60s
# Nested test module that runs Cluster API's real core reconcilers; a module of its
# own so that the main Cluster API module stays out of the SDK's go.mod.
CAPI_RECONCILERS := provision/capi/reconcilers
# Nested module of the provisioning experiment's real-reconciler program (it links the
# main Cluster API module too); the fake-model program is in the main module.
PROVISIONING_REAL := examples/provisioning-experiment/real
# Nested module of the side-by-side with Open Cluster Management's placement scheduler
# (OCM v1.0.0 builds against Kubernetes v0.32 libraries, the SDK against v0.37).
OCM_BENCH := examples/ocm-bench

.PHONY: all tools test unit lint bench fuzz example provisioning-experiment

all: lint test

# Build kube-apiserver, etcd, prometheus and promtool from the Go module proxy into the
# user cache (outside the checkout, one folder per version); cached builds are reused.
tools:
	$(GO) run ./internal/testenv/buildtools

# The whole suite, integration tests against the real servers included, with -race.
test: tools
	$(GO) test -race -count=1 -timeout 30m ./...
	cd $(CAPI_RECONCILERS) && $(GO) test -race -count=1 -timeout 30m ./...
	cd $(PROVISIONING_REAL) && $(GO) test -race -count=1 -timeout 20m ./...
	cd $(OCM_BENCH) && $(GO) test -race -count=1 -timeout 10m ./...

# Unit tests only: integration tests skip (and say so) without the tool binaries.
unit:
	$(GO) test -race ./...

lint:
	$(GO) vet ./...
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	  if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	$(GO) mod tidy -diff
	cd $(CAPI_RECONCILERS) && $(GO) vet ./...
	cd $(CAPI_RECONCILERS) && $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	cd $(CAPI_RECONCILERS) && $(GO) mod tidy -diff
	cd $(PROVISIONING_REAL) && $(GO) vet ./...
	cd $(PROVISIONING_REAL) && $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	cd $(PROVISIONING_REAL) && $(GO) mod tidy -diff
	cd $(OCM_BENCH) && $(GO) vet ./...
	cd $(OCM_BENCH) && $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	cd $(OCM_BENCH) && $(GO) mod tidy -diff

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	cd $(OCM_BENCH) && $(GO) test -run '^$$' -bench . -benchmem ./...

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./topology
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeApplication$$' -fuzztime $(FUZZTIME) ./placement
	$(GO) test -run '^$$' -fuzz '^FuzzDecodePlan$$' -fuzztime $(FUZZTIME) ./placement
	$(GO) test -run '^$$' -fuzz '^FuzzPlace$$' -fuzztime $(FUZZTIME) ./placement

example:
	$(GO) run ./examples/xr-collab

# The seed paper's experiment 5.1 (Fig. 3): the fake-model run in the paper's full
# configuration, writing the README's picture, then the run against Cluster API's real
# reconcilers (needs `make tools`).
provisioning-experiment:
	$(GO) run ./examples/provisioning-experiment -o docs/img/provisioning-experiment.svg
	cd $(PROVISIONING_REAL) && $(GO) run .
