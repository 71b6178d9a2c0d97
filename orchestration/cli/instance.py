"""The Dagster instance under the runtime home: SQLite storage, telemetry off, small run queue."""

import os
from pathlib import Path

from models.lineage import RUN_TAG_RETRAIN

DAGSTER_YAML = f"""\
# Written by `driftwise init`. SQLite storage under this folder (the default for a local
# instance); swap in Postgres + a k8s/celery run launcher here for production.
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


def ensure_dagster_home(path: Path) -> Path:
    """Create $DAGSTER_HOME with our dagster.yaml (rewritten only if it differs) and export it."""
    path.mkdir(parents=True, exist_ok=True)
    config = path / "dagster.yaml"
    if not config.exists() or config.read_text() != DAGSTER_YAML:
        config.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(path)
    return path
