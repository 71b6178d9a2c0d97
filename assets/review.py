"""The label loop in Dagster: a day's predictions worth a human look, queued for review.

`review_queue` (partitioned by day of the prediction log) selects items by the dataset's
review policy (evaluation/review/selection.py), writes the partition's queue under
`<home>/review/queue/`, and pushes it to the annotation server as tasks with the model's
answer pre-filled. A server that is down is not a failure: the queue waits on disk and the
`label_sync_sensor` pushes it when the server is back. Harvest is that sensor's other move.
"""

import dagster as dg
import pandas as pd

from assets.drift import serving_reference
from bento.prediction_log import read_jsonl_log
from data.labels import effective_labels
from data.schema import TEXT, DatasetSpec
from evaluation.review.policy import ReviewPolicy
from evaluation.review.selection import review_selection
from evaluation.review.store import queued_keys, write_queue
from orchestration.resources import (
    AnnotationResource,
    DataRegistryResource,
    MlflowResource,
    RuntimeHomeResource,
)

# The log's first day is whatever day a home first served; partitions before it are empty.
review_days = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_offset=1)


def day_of(log: pd.DataFrame, start: float, end: float) -> pd.DataFrame:
    if log.empty or "timestamp" not in log.columns:
        return log.iloc[0:0]
    stamp = pd.to_numeric(log["timestamp"], errors="coerce")
    return log[(stamp >= start) & (stamp < end)]


@dg.asset(
    group_name="label_loop",
    kinds={"labelstudio"},
    partitions_def=review_days,
)
def review_queue(
    context: dg.AssetExecutionContext,
    home: RuntimeHomeResource,
    registry: DataRegistryResource,
    annotation: AnnotationResource,
    mlflow: MlflowResource,
    dataset: dg.ResourceParam[DatasetSpec],
    review_policy: dg.ResourceParam[ReviewPolicy],
) -> dg.MaterializeResult:
    """The day's review queue: disagreements, drifted slices (against the champion's
    training reference), lowest confidence, a uniform sample - each with its reason and
    inclusion probability - capped per day, pushed to Label Studio."""
    layout = home.layout
    window = context.partition_time_window
    log = read_jsonl_log(layout.prediction_log).frame
    today = day_of(log, window.start.timestamp(), window.end.timestamp())
    partition = context.partition_key
    # The same reference drift judges traffic against (None before any model).
    reference = serving_reference(mlflow, registry, home)
    selection = review_selection(
        today,
        review_policy,
        partition,
        queued_keys(layout, partition),
        reference.frame[TEXT].tolist() if reference is not None else None,
    )
    queue = selection.queue
    path = write_queue(layout, partition, queue)
    result = annotation.push_waiting(dataset, effective_labels(dataset.labels, registry.registry()))
    if result is None:
        context.log.warning(f"annotation server down: the queue waits in {path}")
        pushed = "waiting: annotation server down"
    else:
        pushed = f"{result.tasks} new tasks in project {result.project}"
    counts = queue["reason"].value_counts().to_dict() if len(queue) else {}
    return dg.MaterializeResult(
        metadata={
            "logged_answers": len(today),
            "queued": len(queue),
            "by_reason": dg.MetadataValue.json({str(k): int(v) for k, v in counts.items()}),
            "min_inclusion_probability": float(queue["inclusion_probability"].min())
            if len(queue)
            else None,
            "pushed": pushed,
            "drifted_slices": dg.MetadataValue.json(
                {
                    **selection.slices.to_dict(),
                    "reference": reference.model if reference is not None else None,
                }
            ),
            "queue_file": dg.MetadataValue.path(str(path)),
            "preview": dg.MetadataValue.md(
                queue[["reason", "predicted_label", "confidence", "inclusion_probability", "text"]]
                .head(10)
                .assign(text=lambda f: f["text"].str.slice(0, 80))
                .to_markdown(index=False)
            )
            if len(queue)
            else "",
        }
    )
