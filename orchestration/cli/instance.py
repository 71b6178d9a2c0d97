"""The Dagster instance under the runtime home: telemetry off, a small run queue, and
storage in SQLite files (local) or PostgreSQL (prod: `$DRIFTWISE_DAGSTER_PG_URL`)."""

import os
from pathlib import Path

from models.lineage import RUN_TAG_RETRAIN

DAGSTER_YAML = f"""\
# Written by `driftwise init` (rewritten when it differs: edit driftwise's instance.py).
telemetry:
  enabled: false
run_queue:
  # 2 cores: more concurrent runs only thrash. The DVC registry serialises writers anyway.
  max_concurrent_runs: 2
  # One retrain at a time, enforced by the queue (the sensors' guard is only advisory
  # across daemons: a schedule and a sensor could both pass it in the same second).
  tag_concurrency_limits:
    - key: {RUN_TAG_RETRAIN}
      limit: 1
run_retries:
  # Ingest runs carry dagster/max_retries: a transient failure (a DVC push) is retried,
  # while the sensor's run key keeps the same file from being launched twice.
  enabled: true
sensors:
  use_threads: false
"""

# local: each run forks from a process that imported the Definitions, Evidently and torch
# once, instead of starting a new interpreter (orchestration/launcher.py, bench/tiny_batch.py).
# prod keeps Dagster's launcher: there runs belong to the platform's launcher (k8s, ECS).
WARM_LAUNCHER_YAML = """\
run_launcher:
  module: orchestration.launcher
  class: WarmRunLauncher
"""


# prod: runs, event log and schedules in PostgreSQL. The URL is read from the environment
# when the instance loads (never written here: it may carry a password). `+psycopg2`: with
# SQLAlchemy 2.1 a bare postgresql:// means psycopg 3, which dagster-postgres cannot use.
PG_STORAGE_YAML = """\
storage:
  postgres:
    postgres_url:
      env: DRIFTWISE_DAGSTER_PG_URL
"""
PG_URL_ENV = "DRIFTWISE_DAGSTER_PG_URL"


def dagster_yaml(env: str = "local") -> str:
    """The instance config of the `local` (SQLite under the home) or `prod` resource set."""
    return DAGSTER_YAML + (PG_STORAGE_YAML if env == "prod" else WARM_LAUNCHER_YAML)


def ensure_dagster_home(path: Path, env: str = "local") -> Path:
    """Create $DAGSTER_HOME with our dagster.yaml (rewritten only if it differs) and export it.

    prod needs `$DRIFTWISE_DAGSTER_PG_URL` (postgresql+psycopg2://user@host:port/db).
    """
    if env == "prod" and not os.environ.get(PG_URL_ENV, "").startswith("postgresql"):
        raise ValueError(
            f"DRIFTWISE_ENV=prod keeps the Dagster instance in PostgreSQL: set {PG_URL_ENV}="
            "postgresql+psycopg2://USER@HOST:PORT/DB (`driftwise prod env` prints the local one)"
        )
    path.mkdir(parents=True, exist_ok=True)
    config = path / "dagster.yaml"
    wanted = dagster_yaml(env)
    if not config.exists() or config.read_text() != wanted:
        config.write_text(wanted)
    os.environ["DAGSTER_HOME"] = str(path)
    return path
