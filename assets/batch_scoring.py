"""Batch scoring in Dagster: the champion's answers for one landed batch, partitioned like
the batches, so scheduled or hand-launched scoring shows in the UI with its lineage (which
batch, which model version). `driftwise predict FILE` is the same scoring for a file that
never landed; both answer as the service does (models/batch_scoring.py: the store model's
runtime and its tuned cascade).
"""

import os
import time
from typing import Any

import dagster as dg
import pandas as pd

from assets.ingestion import batch_partitions, ingested_batch
from data.batch_tags import batch_table_path, current_tag
from data.schema import LABEL, ROW_ID, TEXT
from models.batch_scoring import answer_summary, score_texts
from orchestration.resources import DataRegistryResource, MlflowResource, RuntimeHomeResource


class BatchScoringConfig(dg.Config):
    """Which model answers: an alias (champion, previous, challenger) or a version number."""

    model: str = "champion"


def _version(mlflow: MlflowResource, model: str) -> str:
    from models.model_registry import aliased_version

    if model.isdigit():
        return model
    found = aliased_version(mlflow.config(), mlflow.registered_model_name, model)
    if found is None:
        raise dg.Failure(
            f"{mlflow.registered_model_name} has no {model!r} version: run the retrain job "
            "(or `driftwise run`) first"
        )
    return found.version


@dg.asset(
    group_name="serving",
    kinds={"bentoml", "parquet"},
    partitions_def=batch_partitions,
    deps=[ingested_batch],
)
def batch_predictions(
    context: dg.AssetExecutionContext,
    config: BatchScoringConfig,
    home: RuntimeHomeResource,
    registry: DataRegistryResource,
    mlflow: MlflowResource,
) -> dg.MaterializeResult:
    """Every accepted row of the batch with the model's `prediction`, `confidence` and
    `tier`, written to `predictions/<batch>.parquet` in the runtime home; on a labelled
    batch, the answers' accuracy and macro-F1 against its labels."""
    os.environ.setdefault("BENTOML_HOME", str(home.layout.bentoml))
    from bento.store import load_for_scoring

    batch = context.partition_key
    reg = registry.registry()
    tag = current_tag(reg, batch)  # a re-ingested batch's newest revision
    rows = (
        reg.read_table(batch_table_path(batch), rev=tag)
        if tag is not None
        else pd.DataFrame({ROW_ID: [], TEXT: []})
    )
    version = _version(mlflow, config.model)
    tiers, labels, threshold = load_for_scoring(
        mlflow.config(), mlflow.registered_model_name, version, home.layout
    )
    started = time.perf_counter()
    answers = score_texts(tiers, labels, rows[TEXT].tolist(), threshold=threshold)
    seconds = time.perf_counter() - started
    keep = [c for c in (ROW_ID, TEXT, LABEL, "domain") if c in rows.columns]
    out = pd.concat(
        [
            rows[keep].reset_index(drop=True),
            answers.rename(columns={"label": "prediction"}).assign(model_version=version),
        ],
        axis=1,
    )
    target = home.layout.batch_predictions / f"{batch}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    out.to_parquet(tmp, index=False)
    os.replace(tmp, target)  # a crash never leaves half a file under the batch's name
    summary = answer_summary(out, LABEL if LABEL in out.columns else None)
    context.log.info("%s: %d rows scored by v%s in %.1f s", batch, len(out), version, seconds)
    metadata: dict[str, Any] = {
        "model": f"{mlflow.registered_model_name} v{version}",
        "model_version": version,
        "batch_tag": tag or "",
        "rows_scored": len(out),
        "dagster/row_count": len(out),
        "texts_per_s": round(len(out) / seconds, 1) if seconds > 0 and len(out) else 0.0,
        "cascade_threshold": "none" if threshold is None else threshold,
        "by_tier": dg.MetadataValue.json(summary["by_tier"]),
        "by_prediction": dg.MetadataValue.json(summary["by_prediction"]),
        "predictions": dg.MetadataValue.path(str(target)),
    }
    for key in ("labelled_rows", "accuracy", "macro_f1"):
        if key in summary:
            metadata[key] = summary[key]
    return dg.MaterializeResult(metadata=metadata)
