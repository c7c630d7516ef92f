# dumpflow developer entry points. Every target is idempotent.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
SAM_VENV := .venv-sam
BIN := $(VENV)/bin
SAM_BIN := $(SAM_VENV)/bin
ENV ?= dev
AWS_DEFAULT_REGION ?= ap-northeast-1
export AWS_DEFAULT_REGION

.PHONY: install sam-install test lint typecheck template-check demo clean deploy mariadb

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==24.3.1"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund --silent
	touch $@

sam-install: $(SAM_VENV)/.installed

$(SAM_VENV)/.installed: requirements-sam.txt
	test -x $(SAM_BIN)/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_BIN)/python -m pip install --quiet --upgrade "pip==24.3.1"
	$(SAM_BIN)/python -m pip install --quiet -r requirements-sam.txt
	touch $@

mariadb:
	@$(BIN)/python -c "from dumpflow.db import Dsn; from dumpflow.local.mariadb import server_answers; import sys; sys.exit(0 if server_answers(Dsn.from_env()) else 1)" \
	  || start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd \
	  || echo "MariaDB is not running; tests will start a throw-away server"

lint: install
	$(BIN)/ruff check src tests dbt_task glue benchmarks
	$(BIN)/ruff format --check src tests dbt_task glue benchmarks

typecheck: install
	$(BIN)/mypy

template-check: sam-install
	$(SAM_BIN)/sam validate --lint --region $(AWS_DEFAULT_REGION)
	$(SAM_BIN)/cfn-lint template.yaml
	$(SAM_BIN)/checkov --quiet --compact -f template.yaml --framework cloudformation

test: install sam-install lint typecheck template-check
	$(BIN)/pytest

demo: install
	$(BIN)/dumpflow demo

clean:
	rm -rf $(VENV) $(SAM_VENV) node_modules .aws-sam .pytest_cache .mypy_cache .ruff_cache
