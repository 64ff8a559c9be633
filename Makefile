# HelloAgents platform infrastructure.
#
#   make up                 deploy the dev stack to the local Docker engine (local state, no cloud login)
#   make preview STACK=...  preview a stack (dev, staging, production)
#   make test               all tests: infra module, policy pack, backend (needs Postgres 15 and dockerd)
#   make lint               gofmt, go vet and golangci-lint over every module
#   make build              build the backend binaries bin/server and bin/pgbackup
#   make tools              build the pinned Pulumi CLI and the S3 test server into bin/

SHELL := /bin/bash
PULUMI_VERSION := v3.274.1
GOLANGCI_VERSION := v2.15.0
# versitygw: the real S3-compatible server the backup tests ship dumps to.
VERSITYGW_VERSION := v1.8.0
BIN := $(CURDIR)/bin
STACK ?= dev
MODULES := . policy backend
# Extra `go test` flags; .ci/run sets -count=1 so CI never reports cached results.
GOTESTFLAGS ?=

# The source-built CLI has no language plugins; a user's official install does.
# Prefer the official CLI on PATH for `up`/`preview`, fall back to bin/pulumi.
PULUMI ?= $(shell command -v pulumi 2>/dev/null || echo $(BIN)/pulumi)

# The dev stack keeps its state in the repository (git-ignored) and needs no
# Pulumi Cloud account. Staging and production use whatever `pulumi login` says.
DEV_ENV := PULUMI_BACKEND_URL=file://$(CURDIR)/.pulumi-state \
	PULUMI_CONFIG_PASSPHRASE=$${PULUMI_CONFIG_PASSPHRASE-helloagents-dev}

export PATH := $(BIN):$(PATH)

.PHONY: up preview build test test-infra test-policy test-backend lint tools

up:
	@mkdir -p .pulumi-state
	$(DEV_ENV) $(PULUMI) stack select --create dev
	$(DEV_ENV) $(PULUMI) up --stack dev

preview:
ifeq ($(STACK),dev)
	@mkdir -p .pulumi-state
	$(DEV_ENV) $(PULUMI) stack select --create dev
	$(DEV_ENV) $(PULUMI) preview --stack dev --diff
else
	$(PULUMI) preview --stack $(STACK) --diff --policy-pack ./policy
endif

build:
	cd backend && go build -trimpath -ldflags "-X main.version=$$(git describe --always --dirty 2>/dev/null || echo dev)" \
		-o $(BIN)/ ./cmd/server ./cmd/pgbackup

test: test-infra test-policy test-backend

test-infra:
	go test -shuffle=on $(GOTESTFLAGS) -timeout 30m ./...

test-policy:
	cd policy && go test -shuffle=on $(GOTESTFLAGS) -timeout 10m ./...

test-backend:
	cd backend && go test -shuffle=on $(GOTESTFLAGS) -timeout 20m ./...

lint: $(BIN)/golangci-lint
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in $(MODULES); do (cd $$m && echo "== $$m" && go vet ./... && $(BIN)/golangci-lint run ./...) || exit 1; done

tools: $(BIN)/pulumi $(BIN)/versitygw

$(BIN)/pulumi: tools/go.mod tools/go.sum
	cd tools && go build -o $(BIN)/pulumi \
		-ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$(PULUMI_VERSION)" \
		github.com/pulumi/pulumi/pkg/v3/cmd/pulumi

$(BIN)/versitygw:
	GOBIN=$(BIN) go install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

$(BIN)/golangci-lint:
	GOBIN=$(BIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)
