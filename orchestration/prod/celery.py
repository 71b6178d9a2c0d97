"""The celery executor of the prod profile: config for the workers and for the jobs.

`DRIFTWISE_CELERY_BROKER_URL` set = runs launched on this instance (sensor and schedule
runs, the UI's launchpad) fan their steps out to celery workers through that broker; unset
= steps run in the run's own process (the local default). Results go to the same Redis
server's next database: a managed deployment points both at its own broker.
"""

from pathlib import Path

import yaml


def backend_for(broker_url: str) -> str:
    """The result backend beside the broker: redis://host:port/0 -> redis://host:port/1."""
    head, _, db = broker_url.rpartition("/")
    if broker_url.startswith("redis") and db.isdigit():
        return f"{head}/{int(db) + 1}"
    return broker_url  # e.g. amqp:// brokers: the caller sets a backend of its own


def executor_config(broker_url: str) -> dict:
    """What the dagster-celery executor and its workers are configured with (the same dict)."""
    return {"broker": broker_url, "backend": backend_for(broker_url)}


def write_celery_config(root: Path, broker_url: str) -> Path:
    """The YAML `dagster-celery worker start -y FILE` reads (execution.config of a run)."""
    path = Path(root) / "celery.yaml"
    path.write_text(yaml.safe_dump({"execution": {"config": executor_config(broker_url)}}))
    return path


def celery_executor_for(broker: str):  # type: ignore[no-untyped-def]
    """The dagster-celery executor on `broker` (the Definitions' executor in prod).

    Runs executed in-process (`execute_in_process`, the CLI's retrain) ignore executors;
    runs the daemon or the UI launches - every sensor and schedule run - use this one.
    """
    from dagster_celery import celery_executor

    return celery_executor.configured(executor_config(broker), name="celery_executor")
