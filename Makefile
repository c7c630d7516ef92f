# dumpflow developer entry points. Every target is idempotent.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
SAM_VENV := .venv-sam
BIN := $(VENV)/bin
SAM_BIN := $(SAM_VENV)/bin
CHECKOV_VENV := .venv-checkov
CHECKOV_BIN := $(CHECKOV_VENV)/bin
SAM_BUILD_DIR := .aws-sam/build
ENV ?= dev
AWS_DEFAULT_REGION ?= ap-northeast-1
export AWS_DEFAULT_REGION

.PHONY: install sam-install test lint typecheck template-check sam-build demo clean deploy mariadb mysql-server \
  lambda-image sam-local

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==24.3.1"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund --silent
	touch $@

# SAM CLI + cfn-lint and checkov pin conflicting dependencies: each gets its own venv.
sam-install: $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed

$(SAM_VENV)/.installed: requirements-sam.txt
	test -x $(SAM_BIN)/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_BIN)/python -m pip install --quiet --upgrade "pip==24.3.1"
	$(SAM_BIN)/python -m pip install --quiet -r requirements-sam.txt
	touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	test -x $(CHECKOV_BIN)/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_BIN)/python -m pip install --quiet --upgrade "pip==24.3.1"
	$(CHECKOV_BIN)/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

mariadb:
	@$(BIN)/python -c "from dumpflow.db import Dsn; from dumpflow.local.mariadb import server_answers; import sys; sys.exit(0 if server_answers(Dsn.from_env()) else 1)" \
	  || start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd \
	  || echo "MariaDB is not running; tests will start a throw-away server"

# A real MySQL server (the production engine family) on 127.0.0.1:$(MYSQL_PORT), from a Debian
# sid chroot cached in $(MYSQL_ROOT) (scripts/mysql-server; needs root the first time).
MYSQL_ROOT ?= /var/cache/dumpflow/mysql-sid
MYSQL_PORT ?= 3307
export DUMPFLOW_MYSQL_ROOT := $(MYSQL_ROOT)
export DUMPFLOW_MYSQL_PORT := $(MYSQL_PORT)
export DUMPFLOW_MYSQL_DSN ?= mysql://root@127.0.0.1:$(MYSQL_PORT)

mysql-server:
	scripts/mysql-server start

lint: install
	$(BIN)/ruff check src tests dbt_task glue benchmarks
	$(BIN)/ruff format --check src tests dbt_task glue benchmarks

typecheck: install
	$(BIN)/mypy

# No AWS account needed: lint, security scan (suppressions carry their reason in the
# template) and an offline build of every Lambda artifact.
template-check: sam-install sam-build
	SAM_CLI_TELEMETRY=0 $(SAM_BIN)/sam validate --lint --region $(AWS_DEFAULT_REGION)
	$(SAM_BIN)/cfn-lint template.yaml
	$(CHECKOV_BIN)/checkov --quiet --compact --skip-download -f template.yaml --framework cloudformation

# src/Makefile builds the Lambda zips; PYTHON is the pip it uses (the SAM venv has one). The
# wheels come from the cache .cache/lambda-wheels: once it is warm, no registry is reached.
sam-build: sam-install
	SAM_CLI_TELEMETRY=0 PYTHON=$(CURDIR)/$(SAM_BIN)/python $(SAM_BIN)/sam build \
	  --region $(AWS_DEFAULT_REGION) --build-dir $(SAM_BUILD_DIR)

# A Docker engine (installed and started when none answers) and the local stand-in for the
# Lambda python3.11 base image that `sam local invoke` runs functions in (scripts/lambda-image;
# cached; exit 3 when Docker cannot run here).
lambda-image:
	scripts/lambda-image build

# The demo's local AWS under the dev stack's name, events/env.json pointing every function at
# it, and the four functions invoked in containers with their sample events from events/.
# SAM_LOCAL_ARGS=--keep leaves the stack up for more `sam local invoke`s by hand.
sam-local: install lambda-image sam-build
	$(BIN)/python -m dumpflow.local.sam_local run --sam $(SAM_BIN)/sam \
	  --template $(SAM_BUILD_DIR)/template.yaml --env-vars events/env.json $(SAM_LOCAL_ARGS)

# pytest-xdist: the suite mostly waits on servers, dbt and containers, so three workers on two
# cores finish sooner than two. --dist loadfile keeps a module on one worker, so a module
# fixture (a whole warehouse scenario) is built once; the SAM wheel cache is warmed by
# template-check before, and scripts/lambda-image holds a lock while it builds.
TEST_WORKERS ?= 3
test: install sam-install mysql-server lint typecheck template-check
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Publishes the dbt image and the Glue loader package, then sam build && sam deploy
# --config-env $(ENV) (docs/deploy.md; needs AWS credentials, docker and the bootstrap).
deploy: sam-install
	SAM=$(SAM_BIN)/sam PYTHON=$(SAM_BIN)/python deploy/deploy.sh $(ENV)

# The whole flow on this machine: moto for AWS, MariaDB at $$DUMPFLOW_DSN (else a throw-away
# server). DEMO_ARGS passes options through, e.g. make demo DEMO_ARGS="--scale 0.2 --keep".
demo: install
	$(BIN)/dumpflow demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) $(SAM_VENV) node_modules .aws-sam .pytest_cache .mypy_cache .ruff_cache
