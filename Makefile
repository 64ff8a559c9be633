# HelloAgents platform infrastructure.
#
#   make doctor             check this machine can run `make up` (Go, Pulumi CLI 3.274.x + Go host, Docker 20.10+, ports)
#   make up                 doctor, then deploy the dev stack to the local Docker engine (local state)
#   make down               destroy the dev stack and remove its state: nothing is left behind
#   make preview STACK=...  preview a stack (dev, staging, production); PREVIEW_FLAGS adds
#                           pulumi flags, e.g. PREVIEW_FLAGS="--expect-no-changes --refresh"
#   make validate STACK=... parse and validate Pulumi.<STACK>.yaml (committed or not) with the
#                           program's rules and messages, in seconds, without the Pulumi CLI
#   make test               all tests: infra module, policy pack, backend (needs Postgres 15 and dockerd);
#                           ends with a summary of the tests that skipped and why
#   make test-quick         the suites that need nothing but Go
#   make lint               gofmt, go vet and golangci-lint over every module
#   make vuln               govulncheck over every module: fails when our code reaches a known
#                           vulnerability (database built from golang.org/x/vulndb via the module proxy)
#   make build              build the backend binaries bin/server and bin/pgbackup
#   make tools              build the pinned Pulumi CLI and the S3 test server into bin/

SHELL := /bin/bash
# renovate: datasource=go depName=github.com/pulumi/pulumi/sdk/v3
PULUMI_VERSION := v3.274.1
# renovate: datasource=go depName=github.com/golangci/golangci-lint/v2
GOLANGCI_VERSION := v2.15.0
# govulncheck of `make vuln` and of ci.yml's vuln job.
# renovate: datasource=go depName=golang.org/x/vuln
GOVULNCHECK_VERSION := v1.9.0
# versitygw: the real S3-compatible server the backup tests ship dumps to.
VERSITYGW_VERSION := v1.8.0
BIN := $(CURDIR)/bin
STACK ?= dev
# Extra `pulumi preview` flags of `make preview`.
PREVIEW_FLAGS ?=
MODULES := . policy backend
# Extra `go test` flags; .ci/run sets -count=1 so CI never reports cached results.
GOTESTFLAGS ?=

# The source-built CLI has no language plugins; a user's official install does.
# Prefer the official CLI on PATH for `up`/`preview`, fall back to bin/pulumi.
PULUMI ?= $(shell command -v pulumi 2>/dev/null || echo $(BIN)/pulumi)
# make doctor checks the ports the dev stack publishes; set these when Pulumi.dev.yaml moves them.
PORT ?= 8000
PROMETHEUS_PORT ?= 9090
ALERTMANAGER_PORT ?= 9093

# The dev stack keeps its state in the repository (git-ignored) and needs no
# Pulumi Cloud account. Staging and production use whatever `pulumi login` says.
DEV_STATE := $(CURDIR)/.pulumi-state
DEV_ENV := PULUMI_BACKEND_URL=file://$(DEV_STATE) \
	PULUMI_CONFIG_PASSPHRASE=$${PULUMI_CONFIG_PASSPHRASE-helloagents-dev}
# The dev stack runs from a generated copy of Pulumi.dev.yaml (git-ignored,
# `--config-file`): it carries the passphrase provider's encryptionsalt, which
# `stack init` would otherwise leave in the tracked file, and the Docker
# engine of this machine in place of unix:///var/run/docker.sock.
DEV_CONFIG := $(DEV_STATE)/Pulumi.dev.yaml
# The engine dev deploys to: DOCKER_HOST, else the current docker context's
# endpoint (Docker Desktop, Colima, OrbStack, Podman), else the default socket.
DEV_DOCKER_HOST = $(or $(DOCKER_HOST),$(shell docker context inspect --format '{{.Endpoints.docker.Host}}' 2>/dev/null),unix:///var/run/docker.sock)
# Skipped tests are recorded here and summarized at the end of `make test`.
SKIPS := $(CURDIR)/.test-skips

export PATH := $(BIN):$(PATH)

.PHONY: doctor up down dev-config preview validate build test test-quick test-infra test-policy test-backend test-summary lint vuln tools

doctor:
	@go build -o $(BIN)/doctor ./infra/doctor
	@$(BIN)/doctor --pulumi $(PULUMI) --port $(PORT) --prometheus-port $(PROMETHEUS_PORT) --alertmanager-port $(ALERTMANAGER_PORT)

# validate checks a stack file the way `pulumi up` would (stacks/config.Parse):
# exit 1 lists every problem; it links no Pulumi SDK and needs no CLI or login.
validate:
	@go build -o $(BIN)/validate ./infra/validate
	@$(BIN)/validate --stack $(STACK)

# dev-config creates the dev stack if needed, moves an encryptionsalt out of
# the tracked Pulumi.dev.yaml into .pulumi-state/dev.salt, and writes the
# copy the dev commands run with.
dev-config:
	@mkdir -p $(DEV_STATE)
	@$(DEV_ENV) $(PULUMI) stack select dev >/dev/null 2>&1 || $(DEV_ENV) $(PULUMI) stack init dev --secrets-provider passphrase
	@if grep -q '^encryptionsalt:' Pulumi.dev.yaml; then \
		sed -n 's/^encryptionsalt: //p' Pulumi.dev.yaml > $(DEV_STATE)/dev.salt; \
		sed -i.bak '/^encryptionsalt:/d' Pulumi.dev.yaml && rm -f Pulumi.dev.yaml.bak; fi
	@if [ ! -s $(DEV_STATE)/dev.salt ] && [ -f $(DEV_CONFIG) ]; then \
		sed -n 's/^encryptionsalt: //p' $(DEV_CONFIG) > $(DEV_STATE)/dev.salt; fi
	@{ sed 's#unix:///var/run/docker.sock#$(DEV_DOCKER_HOST)#' Pulumi.dev.yaml; \
		if [ -s $(DEV_STATE)/dev.salt ]; then echo "encryptionsalt: $$(cat $(DEV_STATE)/dev.salt)"; fi; } > $(DEV_CONFIG)
	@echo "dev stack: Docker engine $(DEV_DOCKER_HOST), config $(DEV_CONFIG)"

up: doctor dev-config
	$(DEV_ENV) $(PULUMI) up --stack dev --config-file $(DEV_CONFIG)
	@# A CLI that minted the salt only now wrote it into the copy: keep it.
	@[ -s $(DEV_STATE)/dev.salt ] || sed -n 's/^encryptionsalt: //p' $(DEV_CONFIG) > $(DEV_STATE)/dev.salt

# down destroys every dev resource (containers, volumes, networks), removes
# the images dev built, the stack and its state; the tracked
# Pulumi.dev.yaml stays.
down:
	@if [ -d $(DEV_STATE) ]; then \
		$(MAKE) --no-print-directory dev-config && \
		$(DEV_ENV) $(PULUMI) destroy --stack dev --yes --config-file $(DEV_CONFIG) && \
		$(DEV_ENV) $(PULUMI) stack rm dev --yes --preserve-config; \
	fi
	@# pulumi-docker's Image delete is a no-op: the images dev built stay
	@# on the engine unless removed here.
	@ids=$$(DOCKER_HOST=$(DEV_DOCKER_HOST) docker images -q --filter 'reference=helloagents-*:dev' | sort -u); \
		if [ -n "$$ids" ]; then DOCKER_HOST=$(DEV_DOCKER_HOST) docker image rm -f $$ids >/dev/null && echo "removed the dev images"; fi
	rm -rf $(DEV_STATE)
	@echo "dev stack removed"

preview:
ifeq ($(STACK),dev)
	@$(MAKE) --no-print-directory dev-config
	$(DEV_ENV) $(PULUMI) preview --stack dev --diff --config-file $(DEV_CONFIG) $(PREVIEW_FLAGS)
else
	$(PULUMI) preview --stack $(STACK) --diff --policy-pack ./policy $(PREVIEW_FLAGS)
endif

build:
	cd backend && go build -trimpath -ldflags "-X main.version=$$(git describe --always --dirty 2>/dev/null || echo dev)" \
		-o $(BIN)/ ./cmd/server ./cmd/pgbackup

# Each suite pipes `go test -json` through bin/testsum, which prints what
# plain `go test` prints and records skipped tests; the last step summarizes
# them. pipefail keeps go test's exit status.
TEST = set -o pipefail; go test -json -shuffle=on $(GOTESTFLAGS)

test:
	@rm -f $(SKIPS)
	@status=0; for t in test-infra test-policy test-backend; do \
		$(MAKE) --no-print-directory $$t || status=1; done; \
	$(MAKE) --no-print-directory test-summary; exit $$status

test-infra: $(BIN)/testsum
	$(TEST) -timeout 30m ./... | $(BIN)/testsum --skips $(SKIPS)

test-policy: $(BIN)/testsum
	cd policy && $(TEST) -timeout 10m ./... | $(BIN)/testsum --skips $(SKIPS)

test-backend: $(BIN)/testsum
	cd backend && $(TEST) -timeout 20m ./... | $(BIN)/testsum --skips $(SKIPS)

test-summary: $(BIN)/testsum
	@$(BIN)/testsum --report $(SKIPS)

# test-quick: the suites that need nothing but Go (no PostgreSQL, Docker,
# Pulumi CLI or network): config, components, stacks under mocks, the
# operator CLIs, the canary judgement, the policy rules, the backend's pure
# packages.
test-quick: $(BIN)/testsum
	@rm -f $(SKIPS)
	env -u CI bash -c '$(TEST) ./stacks/ ./stacks/config/ ./stacks/operation/ ./components/... ./internal/... ./infra/... ./verify/... ./canary/ | $(BIN)/testsum --skips $(SKIPS)'
	cd policy && env -u CI bash -c '$(TEST) ./rules/... | $(BIN)/testsum --skips $(SKIPS)'
	cd backend && env -u CI bash -c '$(TEST) ./redact/ ./logging/ ./config/ ./health/ ./httpapi/ ./errorreport/ ./cli/ ./webhook/ ./alert/ ./testkit/ ./replication/ | $(BIN)/testsum --skips $(SKIPS)'
	@$(BIN)/testsum --report $(SKIPS)

$(BIN)/testsum: internal/testsum/main.go
	go build -o $@ ./internal/testsum

lint: $(BIN)/golangci-lint
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in $(MODULES); do (cd $$m && echo "== $$m" && go vet ./... && $(BIN)/golangci-lint run ./...) || exit 1; done

# vuln: govulncheck over the three modules, each with the toolchain its go.mod
# names. VULN_DB=local (default) builds the database from golang.org/x/vulndb
# at VULNDB_VERSION ("latest": the newest snapshot the Go module proxy serves),
# kept in .cache/vuln per version; VULN_DB=https://vuln.go.dev uses the public
# one (ci.yml). Without the proxy it prints SKIP and why (fails under CI).
VULN_DB ?= local
VULNDB_VERSION ?= latest
VULN_CACHE := $(CURDIR)/.cache/vuln

vuln:
	@go build -o $(VULN_CACHE)/vulncheck ./internal/vulncheck
	$(VULN_CACHE)/vulncheck --govulncheck $(GOVULNCHECK_VERSION) --db $(VULN_DB) --vulndb $(VULNDB_VERSION) \
		--cache $(VULN_CACHE) $(MODULES)

tools: $(BIN)/pulumi $(BIN)/versitygw

$(BIN)/pulumi: tools/go.mod tools/go.sum
	cd tools && go build -o $(BIN)/pulumi \
		-ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$(PULUMI_VERSION)" \
		github.com/pulumi/pulumi/pkg/v3/cmd/pulumi

$(BIN)/versitygw:
	GOBIN=$(BIN) go install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

$(BIN)/golangci-lint:
	GOBIN=$(BIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)
