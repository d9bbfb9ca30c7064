# Concord: common tasks. `make` alone lists them.
#
#   make test SWIFT_TEST_FLAGS='--filter ConcordCoreTests'
#   make demo ARGS='--people 20000 --seed 7'   (--exit: stop the hub at the end)
#   make bench ARGS='...'
#   make soak                                  (longer load; not part of make test)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

SWIFT ?= swift
SWIFT_BUILD_FLAGS ?=
SWIFT_TEST_FLAGS ?=
ARGS ?=
FUZZ_SECONDS ?= 60

# Release builds use the CPU's population count instruction (x86-64 since 2008; the baseline
# target lacks it, and the CLK comparison of docs/pprl.md runs about 5x slower without it).
CPU_FLAGS := $(if $(filter x86_64,$(shell uname -m)),-Xswiftc -Xcc -Xswiftc -mpopcnt,)
RELEASE_BUILD = $(SWIFT) build -c release $(CPU_FLAGS) $(SWIFT_BUILD_FLAGS)

.PHONY: help deps build test docker-check release demo bench soak fuzz clean

help: ## List the targets
	@echo 'Concord make targets:'
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-zA-Z_-]*:.*## / { printf "  %-9s %s\n", $$1, $$2 }' $(firstword $(MAKEFILE_LIST))
	@echo 'Variables: SWIFT_TEST_FLAGS (test), SWIFT_BUILD_FLAGS (build, release, demo, bench), ARGS (demo, bench), FUZZ_SECONDS (fuzz)'

deps: ## Install missing Debian packages (PostgreSQL 15, libssl-dev, libpq-dev, ...)
	scripts/install-deps.sh

build: deps ## Debug build (swift build)
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)

test: deps docker-check ## Run all tests against a throwaway PostgreSQL (CONCORD_TEST_DATABASE_URL), then the IG dashboard in headless Chromium, schemathesis against docs/openapi.yaml, a small load (20 agencies), and each fuzz target briefly
	SWIFT=$(SWIFT) scripts/with-test-postgres.sh scripts/swift-test.sh $(SWIFT_TEST_FLAGS)
	scripts/browser-test.sh
	scripts/api-test.sh
	CONCORD=.build/debug/concord bash Benchmarks/load.sh --agencies 20 --uploads 2 --rows 500 --analysts 2 --calls 60 --seconds 300 --out bench-output/load-small
	FUZZ_SECONDS=15 FUZZ_CONFIGURATION=debug SWIFT=$(SWIFT) scripts/fuzz.sh

docker-check: deps ## Validate docker/compose.yaml (docker-compose config; no Docker engine needed)
	docker-compose -f docker/compose.yaml config -q

release: ## Release build (swift build -c release)
	$(RELEASE_BUILD)

demo: deps ## The whole exchange in demo-output/, hub left running until Ctrl-C (ARGS: --people N --seed N --exit)
	$(RELEASE_BUILD)
	scripts/demo.sh $(ARGS)

bench: deps ## Benchmarks with the release build: pseudonymise, agent push, hub ingest, linkage, CLK comparison vs anonlink, audit log, load; results in bench-output/ (ARGS to Benchmarks/run.sh)
	$(RELEASE_BUILD)
	bash Benchmarks/run.sh $(ARGS)
	bash Benchmarks/ingest.sh
	bash Benchmarks/linkage.sh
	bash Benchmarks/clk.sh
	scripts/with-test-postgres.sh bash Benchmarks/audit.sh
	bash Benchmarks/load.sh

soak: deps ## Long load with the release build: 20 agencies x 10 pushes of 20,000 rows, analysts and an IG officer (bench-output/load/); then 5,000 sessions ended mid-statement
	$(RELEASE_BUILD)
	bash Benchmarks/load.sh --uploads 10 --rows 20000 --calls 5000 --seconds 3600
	CONCORD_CLOSING_ROUNDS=5000 scripts/with-test-postgres.sh $(SWIFT) test --filter sessionEndedMidStream

fuzz: ## libFuzzer on the CSV reader, envelope opener, schema and agreement loaders, FUZZ_SECONDS each (default 60), release build; findings in fuzz-output/
	FUZZ_SECONDS=$(FUZZ_SECONDS) SWIFT=$(SWIFT) scripts/fuzz.sh

clean: ## Remove .build, .build-fuzz, demo-output, bench-output, browser-output, api-output and fuzz-output
	rm -rf .build .build-fuzz demo-output bench-output browser-output api-output fuzz-output
