# Transformer Atlas: the two commands a newcomer needs are `make serve` and `make test`.
# Every target installs what it needs first and is safe to run again (installs are skipped
# when pyproject.toml / package-lock.json have not changed).

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
TORCH   ?= torch==2.13.0
HOST    ?= 127.0.0.1
PORT    ?= 8000
export NO_MKDOCS_2_WARNING := 1
export HF_HUB_OFFLINE := 1
export PYTHONDONTWRITEBYTECODE := 1

PY_STAMP   := $(VENV)/.atlas-installed
NODE_STAMP := node_modules/.atlas-installed

.PHONY: help setup serve site test test-fast lint format bench browser-deps clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(PY):
	python3 -m venv $(VENV)

# torch first, pinned to the CPU build, so that nothing later pulls a multi-GB CUDA build.
$(PY_STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet "$(TORCH)"
	$(PIP) install --quiet -e ".[docs,test]"
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(PY_STAMP) $(NODE_STAMP) ## Install Python (into .venv) and front-end dependencies

browser-deps: ## Install Debian's Chromium for the browser tests if it is missing (needs root or sudo)
	@if [ -x /usr/bin/chromium ]; then exit 0; fi; \
	 SUDO=$$( [ "$$(id -u)" = 0 ] && echo "" || echo sudo ); \
	 echo "Installing Debian's chromium for the browser tests"; \
	 $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null \
	   || echo "warning: could not install chromium; browser tests will be skipped (CI requires them)"

serve: setup ## Build and serve the site on http://127.0.0.1:8000 with live reload
	$(VENV)/bin/mkdocs serve --strict -a $(HOST):$(PORT)

site: setup ## Strict static build of the site into site/
	$(VENV)/bin/mkdocs build --strict

test: setup lint browser-deps ## Install everything, then run every check: lint, unit tests, strict build, site checks, copy test, browser tests
	$(PY) -m pytest tests/package
	$(VENV)/bin/mkdocs build --strict
	$(PY) -m pytest -n 2 tests/site

lint: setup ## ruff check and ruff format --check (part of make test)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup ## Reformat and fix what ruff can fix by itself
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test-fast: setup ## Only the package's unit tests
	$(PY) -m pytest tests/package -x -q

bench: setup browser-deps ## Run every benchmark (records + the pages' tables), time the builds and `make test`, weigh pages; write artifacts/bench.md and the README's measurements
	$(PY) site_tools/bench.py --readme

clean: ## Remove the built site and caches (keeps .venv and node_modules)
	rm -rf site .cache artifacts .pytest_cache .hypothesis
