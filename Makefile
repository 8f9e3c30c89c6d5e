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
VIA         ?= sqs
SEND_ARGS   ?=
BENCH_ARGS  ?=
SQL         ?=
CHART       ?=
INVOKE_ARGS ?=
FILE        ?=
CANARY      ?= 10
BAKE        ?= 300

# The function's runtime: CPython 3.12 (pyenv's, when present) with awslambdaric and Lambda's boto3.
RUNTIME_VENV   := .venv-runtime
RUNTIME_STAMP  := $(RUNTIME_VENV)/.installed
RUNTIME_PYTHON ?= $(shell PYENV_VERSION=3.12.1 python3.12 -c 'import sys; print(sys.executable)' 2>/dev/null)

CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
CHECKOV_VERSION = $(shell sed -n '/^\[checkov\]/,$$ s/^version = "\(.*\)"/\1/p' toolchain.toml)

.PHONY: help setup runtime tools tf-check package invoke stores-up stores-down test lint clean \
	deploy destroy outputs local-up local-down demo send verify redrive logs chaos bench \
	bench-gateway release rollback lake import import-bench

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

tools: $(STAMP) $(CHECKOV_STAMP) ## Terraform CLI + hashicorp/aws (built from Go modules when offline) + tflint + checkov
	$(PY) -m scripts.toolchain

tf-check: tools ## fmt, init+validate, tflint (AWS ruleset) of the root and every module; checkov with zero failures
	$(PY) -m scripts.tf_check

package: $(STAMP) ## Build dist/<name>.zip for every lambdas/<name>/ (+ dist/code/<sha256>.zip; 3.12 bytecode when a python3.12 exists; ARCH=x86_64|arm64); skipped when inputs are unchanged
	$(PY) -m scripts.package --arch $(ARCH)

$(RUNTIME_STAMP): lambdas/runtime-requirements.txt toolchain.toml $(STAMP)
	@if [ -n "$(RUNTIME_PYTHON)" ]; then $(RUNTIME_PYTHON) -m venv $(RUNTIME_VENV); else \
	  echo "WARNING: no CPython 3.12: the local runtime runs $$($(PYTHON_BOOT) -V), not python3.12" >&2; \
	  $(PYTHON_BOOT) -m venv $(RUNTIME_VENV); fi
	$(RUNTIME_VENV)/bin/pip install --quiet --disable-pip-version-check -r lambdas/runtime-requirements.txt
	$(PY) -m scripts.toolchain rie
	touch $@

.PHONY: runtime
runtime: $(RUNTIME_STAMP) ## Lambda's runtime locally: .venv-runtime (3.12, awslambdaric, boto3) + RIE

invoke: package runtime ## Run EVENT=events/<file>.json against the built zip
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

local-up: tools runtime ## moto + MariaDB, zip, terraform apply (local profile), the local event-source runner
	$(PY) -m scripts.local_stack up

local-down: $(STAMP) ## Stop everything local-up started and remove its state
	$(PY) -m scripts.local_stack down

demo: tools ## local-up, send N=1000 (some invalid, some duplicated), drain, verify
	$(PY) -m scripts.local_stack demo --count $(N)

send: $(STAMP) ## Send N registrations to the queue of PROFILE (VIA=http: through the ingest API; SEND_ARGS)
	$(PY) -m scripts.send_messages --profile $(PROFILE) --count $(N) --via $(VIA) $(SEND_ARGS)

verify: $(STAMP) ## Compare the latest ledger with DynamoDB, MySQL and the DLQ of PROFILE
	$(PY) -m scripts.verify --profile $(PROFILE)

redrive: $(STAMP) ## Move DLQ messages back to the queue of PROFILE
	$(PY) -m scripts.redrive --profile $(PROFILE)

.PHONY: help setup runtime tools tf-check package invoke stores-up stores-down test lint clean \
	deploy destroy outputs local-up local-down demo send verify redrive logs chaos bench \
	bench-gateway release rollback lake import import-bench

logs: $(STAMP) ## Tail the function's log group of PROFILE
	$(PY) -m scripts.logs --profile $(PROFILE) --follow

release: $(STAMP) ## Canary CANARY=10 % of batches to a new version for BAKE=300 s, then promote or roll back
	$(PY) -m scripts.release --profile $(PROFILE) start --canary $(CANARY) --bake $(BAKE)

rollback: $(STAMP) ## Put 100 % of the `live` alias back on the stable (or previous) version now
	$(PY) -m scripts.release --profile $(PROFILE) rollback

# Chaos runs the function with the CPU share AWS gives its memory size (the runner reads this).
chaos: export LAMBDA_CPU_FIDELITY = 1
chaos: local-up ## Faults + bad input under load on the local stack (N=10000 by default)
	$(PY) -m scripts.chaos --n $(if $(filter command line,$(origin N)),$(N),10000)

lake: $(STAMP) ## Query the change lake with DuckDB (SQL="..." over view `changes`; CHART=1 draws the per-day PNG)
	$(PY) -m scripts.lake --profile $(PROFILE) $(if $(SQL),--sql "$(SQL)",) $(if $(CHART),--chart,)

bench: $(STAMP) ## Benchmarks: prints a table, writes bench/results.json (BENCH_ARGS=--quick)
	$(PY) -m bench.run $(BENCH_ARGS)

bench-gateway: $(STAMP) ## Local gateway: requests/s and p50/p99 at concurrency 1 and 8 (own moto)
	$(PY) -m bench.gateway

import-bench: $(STAMP) ## 100,000-row import with 1 % malformed + 1 % invalid rows, and the importer on 1,000,000 rows
	$(PY) -m pytest tests/lambdas/importer/bench_import.py -q -s -p no:cacheprovider

lint: $(STAMP) ## ruff
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: $(STAMP) runtime ## Everything CI runs: lint, the Terraform gate, pytest
	$(MAKE) lint
	$(MAKE) tf-check
	$(PY) -m pytest

.PHONY: convergence-long
convergence-long: $(STAMP) ## The handler's convergence property at 10,000 examples (long hypothesis profile)
	$(PY) -m pytest tests/lambdas/registration/test_convergence.py --hypothesis-profile=long -q

clean: ## Remove build output and local state (not the toolchain cache)
	rm -rf dist build .local .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './.venv*' -exec rm -rf {} +
