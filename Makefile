# Entry points for developers, CI and users. Each target does its own set-up.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/collections
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
PYTEST := $(BIN)/python -m pytest

.PHONY: setup test lint unit integration molecule demo bench sandbox-up sandbox-down clean

setup:
	@scripts/setup

test: setup lint unit integration molecule

lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint -q $$(ls -d playbooks roles tests/integration/playbooks molecule 2>/dev/null)

unit: setup
	$(PYTEST) tests/unit -q

integration: setup
	$(PYTEST) tests/integration -q

molecule: setup
	@if [ -d molecule/default ]; then $(BIN)/molecule test -s default; else echo "molecule: no scenario yet"; fi

demo: setup
	@scripts/demo

bench: setup
	$(BIN)/python bench/run.py

sandbox-up: setup
	@scripts/sandbox up

sandbox-down:
	@scripts/sandbox down

clean:
	-@scripts/sandbox down
	rm -rf $(VENV) collections .sandbox .pytest_cache .ruff_cache
