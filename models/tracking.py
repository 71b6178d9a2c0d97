"""MLflow tracking of a candidate model: one run, its tiers' bundles, one registry version.

Pure MLflow through an explicit `MlflowClient(tracking_uri=...)`: no global tracking URI or
active run is set, so nothing leaks between callers (or tests).

Alias rule: a newly registered version gets the alias `challenger` and nothing else. This
module never sets `champion`: promotion (evaluation/ policy, after golden-set and canary
evidence) moves `champion`. Bootstrap: while a registered model has no `champion` yet, the
first challenger that passes the promotion gates becomes champion through that same path;
training never self-promotes, not even the very first model.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock
from mlflow import MlflowClient
from mlflow.entities import Metric, Param
from mlflow.exceptions import MlflowException
from pydantic import BaseModel, Field

from data.home import HomeLayout
from models.lineage import LINEAGE_KEYS
from models.reports import ClassificationReport

if TYPE_CHECKING:  # Lightning is imported by whoever trains, not by whoever reads the registry
    from models.training import TrainResult

log = logging.getLogger(__name__)

CHALLENGER = "challenger"
CHAMPION = "champion"
_BATCH = 500  # MLflow accepts at most 1000 metrics per log_batch


class TrackingConfig(BaseModel):
    """Where runs and models go."""

    tracking_uri: str = Field(description="e.g. sqlite:///<home>/mlflow/mlflow.db or http://..")
    artifact_location: str | None = Field(
        None, description="Artifact root for a newly created experiment (file://, s3://...)."
    )
    experiment_name: str = "driftwise-training"
    registered_model_name: str = "driftwise-sentiment"

    @classmethod
    def embedded(cls, home: Path, **overrides: Any) -> TrackingConfig:
        """The no-server default under the runtime home: SQLite + file artifacts."""
        root = HomeLayout(Path(home).resolve()).mlflow
        return cls(
            tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
            artifact_location=(root / "artifacts").as_uri(),
            **overrides,
        )


@dataclass(frozen=True)
class TrackedCandidate:
    """Where a candidate landed in MLflow."""

    run_id: str
    experiment_id: str
    artifact_uri: str
    model_name: str | None
    model_version: str | None  # None when not registered


def client_for(config: TrackingConfig) -> MlflowClient:
    """An MlflowClient for `config`, its store ready to use.

    For the embedded SQLite store, the first use creates and migrates the schema; two
    processes doing that at once (two Dagster runs starting together) corrupt it for one of
    them ("no such column ..."). A file lock next to the database makes them take turns,
    and the first caller initialises it while holding the lock.
    """
    if not config.tracking_uri.startswith("sqlite:///"):
        return MlflowClient(tracking_uri=config.tracking_uri, registry_uri=config.tracking_uri)
    db = Path(config.tracking_uri.removeprefix("sqlite:///"))
    db.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(db) + ".lock"):
        client = MlflowClient(tracking_uri=config.tracking_uri, registry_uri=config.tracking_uri)
        client.search_experiments(max_results=1)  # tracking store: create/migrate
        client.search_registered_models(max_results=1)  # registry store, same file
    return client


def ensure_experiment(client: MlflowClient, config: TrackingConfig) -> str:
    """Experiment id, creating it with `artifact_location` (else MLflow writes ./mlruns)."""
    experiment = client.get_experiment_by_name(config.experiment_name)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(
        config.experiment_name, artifact_location=config.artifact_location
    )


def _flat_params(result: TrainResult) -> dict[str, str]:
    params = {
        "mode": result.mode,
        "accelerator": result.plan.accelerator,
        "precision": result.plan.precision,
        "lr": str(result.plan.lr),
    }
    for key, value in result.spec.model_dump(mode="json").items():
        if isinstance(value, dict):
            params.update({f"{key}.{k}": str(v) for k, v in value.items()})
        else:
            params[key] = str(value)
    return {f"{result.tier}.{k}": v for k, v in params.items()}


def _epoch_metrics(result: TrainResult, timestamp: int) -> list[Metric]:
    metrics = []
    for row in result.history:
        epoch = int(row["epoch"])
        for key, value in row.items():
            if key not in ("epoch", "step"):
                metrics.append(Metric(f"{result.tier}/{key}", float(value), timestamp, epoch))
    for key, value in result.metrics().items():
        metrics.append(Metric(f"{result.tier}/final/{key}", float(value), timestamp, 0))
    return metrics


def confusion_figure(report: ClassificationReport, title: str) -> Any:
    """A matplotlib Figure of the confusion matrix (object API: no pyplot, no global state)."""
    from matplotlib.figure import Figure

    size = max(3.0, 0.9 * len(report.labels) + 1.5)
    fig = Figure(figsize=(size, size))
    ax = fig.subplots()
    matrix = report.confusion
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(report.labels)), report.labels, rotation=45, ha="right")
    ax.set_yticks(range(len(report.labels)), report.labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{title} (macro-F1 {report.macro_f1:.3f})")
    peak = max(max(row) for row in matrix) or 1
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            ax.text(
                j,
                i,
                str(count),
                ha="center",
                va="center",
                color="white" if count > peak / 2 else "black",
            )
    fig.tight_layout()
    return fig


def _log_reports(client: MlflowClient, run_id: str, result: TrainResult) -> None:
    reports = {"val": result.val, "test": result.test}
    for split, report in reports.items():
        if report is None:
            continue
        base = f"reports/{result.tier}/{split}"
        client.log_dict(run_id, report.to_dict(), f"{base}_report.json")
        try:
            figure = confusion_figure(report, f"{result.tier} {split}")
        except ImportError:
            log.warning("matplotlib is not installed: no confusion-matrix PNG for %s", base)
            continue
        client.log_figure(run_id, figure, f"{base}_confusion.png")


def log_training_run(
    results: Sequence[TrainResult],
    config: TrackingConfig,
    tags: Mapping[str, str],
    run_name: str | None = None,
) -> TrackedCandidate:
    """Log one run holding every tier of a candidate: params, per-epoch metrics, reports
    (JSON + confusion PNG), bundles under `bundles/<tier>/`, and `tags` (lineage); for the
    accurate tier also the share of training texts longer than its token window."""
    if not results:
        raise ValueError("nothing to log: no training results")
    missing = [k for k in LINEAGE_KEYS if k not in tags]
    if missing:
        # A version without its snapshot or commit cannot be reproduced or audited.
        raise ValueError(f"lineage tags missing: {missing}")
    client = client_for(config)
    experiment_id = ensure_experiment(client, config)
    run_tags = {
        **{k: str(v) for k, v in tags.items()},
        "driftwise.tiers": ",".join(r.tier for r in results),
        **{f"driftwise.{r.tier}.bundle_version": r.bundle.version for r in results},
        # How much of the training text the encoder never read, in words and as a number
        # (the number is also the metric `<tier>/final/train/truncated_share`).
        **{
            f"driftwise.{r.tier}.{key}": value
            for r in results
            if r.truncation is not None
            for key, value in (
                ("truncated_share", f"{r.truncation.share:.4f}"),
                ("truncation", r.truncation.notice("training texts", lexical=r.spec.wide)),
            )
        },
    }
    run = client.create_run(experiment_id, tags=run_tags, run_name=run_name)
    run_id = run.info.run_id
    try:
        timestamp = int(time.time() * 1000)
        params = {k: v for r in results for k, v in _flat_params(r).items()}
        client.log_batch(run_id, params=[Param(k, v) for k, v in params.items()])
        metrics = [m for r in results for m in _epoch_metrics(r, timestamp)]
        for start in range(0, len(metrics), _BATCH):
            client.log_batch(run_id, metrics=metrics[start : start + _BATCH])
        for result in results:
            _log_reports(client, run_id, result)
            client.log_artifacts(run_id, str(result.bundle_dir), f"bundles/{result.tier}")
        with tempfile.TemporaryDirectory() as tmp:
            summary = Path(tmp) / "candidate.json"
            summary.write_text(json.dumps({r.tier: r.metrics() for r in results}, indent=2))
            client.log_artifact(run_id, str(summary))
    except Exception:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id, status="FINISHED")
    return TrackedCandidate(run_id, experiment_id, run.info.artifact_uri, None, None)


def register_challenger(
    config: TrackingConfig, tracked: TrackedCandidate, tags: Mapping[str, str] | None = None
) -> TrackedCandidate:
    """Register the run's `bundles/` as a new version and point `challenger` at it.

    Never touches `champion` (see the module docstring for the bootstrap rule).
    """
    client = client_for(config)
    name = config.registered_model_name
    try:
        client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        client.create_registered_model(name)
    version = client.create_model_version(
        name,
        source=f"{tracked.artifact_uri}/bundles",
        run_id=tracked.run_id,
        tags={k: str(v) for k, v in (tags or {}).items()},
    )
    client.set_registered_model_alias(name, CHALLENGER, version.version)
    return TrackedCandidate(
        tracked.run_id, tracked.experiment_id, tracked.artifact_uri, name, str(version.version)
    )


def track_candidate(
    results: Sequence[TrainResult],
    config: TrackingConfig,
    tags: Mapping[str, str],
    run_name: str | None = None,
) -> TrackedCandidate:
    """Log the run, register it, set `challenger`: the training stage's whole MLflow job."""
    tracked = log_training_run(results, config, tags, run_name)
    version_tags = {**tags, **{f"{r.tier}.val_macro_f1": f"{r.macro_f1:.4f}" for r in results}}
    return register_challenger(config, tracked, version_tags)
