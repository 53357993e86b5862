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

# Two workers, one test file each at a time (files share their sandbox and deployments): most of a run is
# waiting on ansible-playbook and the sandbox's duration model, so two files overlap well on two cores.
integration: setup
	$(PYTEST) tests/integration -q -n 2 --dist loadfile

# On failure the errors are printed again at the very end, where a CI log's tail shows them, and the scenario's
# sandbox is stopped (molecule skips its destroy step when cleanup fails).
molecule: setup
	@set -o pipefail; log=$$(mktemp); \
	if $(BIN)/molecule test -s default 2>&1 | tee "$$log"; then rm -f "$$log"; else \
	  HIERO_SANDBOX_DIR=$(CURDIR)/.sandbox/molecule scripts/sandbox down >/dev/null 2>&1 || true; \
	  echo "== molecule failed; its errors once more:"; \
	  sed 's/\x1b\[[0-9;]*m//g' "$$log" | grep -E -A3 'fatal:|FAILED!|\[ERROR\]' | tail -n 60; \
	  rm -f "$$log"; exit 1; fi

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
