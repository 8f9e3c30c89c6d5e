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
SEND_ARGS   ?=
BENCH_ARGS  ?=
INVOKE_ARGS ?=
FILE        ?=

CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
CHECKOV_VERSION = $(shell sed -n '/^\[checkov\]/,$$ s/^version = "\(.*\)"/\1/p' toolchain.toml)

.PHONY: help setup tools tf-check package invoke stores-up stores-down test lint clean \
	deploy destroy outputs local-up local-down demo send verify redrive logs chaos bench \
	import import-bench

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

deploy: package tools ## terraform apply of PROFILE=local|aws through python-terraform
	$(PY) -m scripts.deploy apply --profile $(PROFILE) $(if $(filter local,$(PROFILE)),--auto-approve,)

destroy: tools ## terraform destroy of PROFILE=local|aws
	$(PY) -m scripts.deploy destroy --profile $(PROFILE) $(if $(filter local,$(PROFILE)),--auto-approve,)

outputs: $(STAMP) ## Terraform outputs of PROFILE as JSON
	$(PY) -m scripts.deploy outputs --profile $(PROFILE)

local-up: tools ## moto + MariaDB, zip, terraform apply (local profile), the local event-source runner
	$(PY) -m scripts.local_stack up

local-down: $(STAMP) ## Stop everything local-up started and remove its state
	$(PY) -m scripts.local_stack down

demo: tools ## local-up, send N=1000 (some invalid, some duplicated), drain, verify
	$(PY) -m scripts.local_stack demo --count $(N)

send: $(STAMP) ## Send N registrations to the queue of PROFILE (SEND_ARGS for more options)
	$(PY) -m scripts.send_messages --profile $(PROFILE) --count $(N) $(SEND_ARGS)

verify: $(STAMP) ## Compare the latest ledger with DynamoDB, MySQL and the DLQ of PROFILE
	$(PY) -m scripts.verify --profile $(PROFILE)

redrive: $(STAMP) ## Move DLQ messages back to the queue of PROFILE
	$(PY) -m scripts.redrive --profile $(PROFILE)

import: $(STAMP) ## Upload FILE=users.csv (.csv/.jsonl[.gz]) to the import bucket of PROFILE, follow it, print the report
	@test -n "$(FILE)" || { echo "make import: set FILE=<path>.csv|.jsonl[.gz]"; exit 2; }
	$(PY) -m scripts.import_users "$(FILE)" --profile $(PROFILE)

logs: $(STAMP) ## Tail the function's log group of PROFILE
	$(PY) -m scripts.logs --profile $(PROFILE) --follow

chaos: local-up ## Faults + bad input under load on the local stack (N=10000 by default)
	$(PY) -m scripts.chaos --n $(if $(filter command line,$(origin N)),$(N),10000)

bench: $(STAMP) ## Benchmarks: prints a table, writes bench/results.json (BENCH_ARGS=--quick)
	$(PY) -m bench.run $(BENCH_ARGS)

import-bench: $(STAMP) ## 100,000-row import with 1 % malformed + 1 % invalid rows, and the importer on 1,000,000 rows
	$(PY) -m pytest tests/lambdas/importer/bench_import.py -q -s -p no:cacheprovider

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
