# Every target that runs Python uses the project virtualenv; `make setup` creates it.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BOOT ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed
ARCH        ?= x86_64
EVENT       ?= events/tutorial-legacy.json
PROFILE     ?= local
N           ?= 1000
INVOKE_ARGS ?=

CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
CHECKOV_VERSION = $(shell sed -n '/^\[checkov\]/,$$ s/^version = "\(.*\)"/\1/p' toolchain.toml)

.PHONY: help setup tools tf-check package invoke stores-up stores-down test lint clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

setup: $(STAMP) ## Create .venv with the pinned harness and test dependencies

# checkov pins its own boto3 and python-hcl2, so it gets a virtualenv of its own.
$(CHECKOV_STAMP): toolchain.toml
	$(PYTHON_BOOT) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION)
	touch $@

tools: $(STAMP) $(CHECKOV_STAMP) ## Terraform CLI + hashicorp/aws (built from Go modules when offline) + checkov
	$(PY) -m scripts.toolchain

tf-check: tools ## fmt, init+validate of the root and every module, checkov with zero failures
	$(PY) -m scripts.tf_check

package: $(STAMP) ## Build dist/registration.zip (ARCH=x86_64|arm64); skipped when inputs are unchanged
	$(PY) -m scripts.package --arch $(ARCH)

invoke: package ## Run EVENT=events/<file>.json against the built zip
	$(PY) -m scripts.invoke $(EVENT) $(INVOKE_ARGS)

stores-up: $(STAMP) ## Start MariaDB and the moto server the handler needs
	$(PY) -m scripts.stores up

stores-down: $(STAMP) ## Stop what stores-up started
	$(PY) -m scripts.stores down

lint: $(STAMP) ## ruff
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: $(STAMP) ## Everything CI runs: lint, the Terraform gate, pytest
	$(MAKE) lint
	$(MAKE) tf-check
	$(PY) -m pytest

clean: ## Remove build output and local state (not the toolchain cache)
	rm -rf dist build .local .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './.venv*' -exec rm -rf {} +
