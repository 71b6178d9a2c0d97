"""Jobs. Selections are AssetSelection objects, never strings: with the antlr4 4.9.3 that DVC
requires, Dagster's string selection parser fails (see README, "Pins"). No job names its
executor: the Definitions choose one for all (in-process locally, celery in prod)."""

import dataclasses
from pathlib import Path
from typing import Any

import dagster as dg

from assets.batch_scoring import batch_predictions
from assets.canary import canary_result, canary_rollout
from assets.drift import drift_report, traffic_drift_report
from assets.evaluation import (
    champion_model,
    golden_evaluation,
    promotion_decision,
    reference_free_evaluation,
)
from assets.golden_set import golden_set
from assets.ingestion import batch_partitions, ingested_batch, training_snapshot
from assets.review import review_days, review_queue
from assets.serving import candidate_bento, model_variants
from assets.training import candidate_model
from evaluation.rollout.controller import RegistryAliases, RolloutController
from models.lineage import RUN_TAG_RETRAIN
from orchestration.resources import MlflowResource, RuntimeHomeResource, ServingResource
from orchestration.router import running_router
from orchestration.sensors.guard import RETRAIN_JOB
from orchestration.sensors.rollout import CANARY_FINISH_JOB

INGEST_RETRIES = 2  # a transient failure (a DVC push) is retried by the daemon

ingest_job = dg.define_asset_job(
    "ingest",
    # Drift is checked right after ingestion, on the same partition.
    selection=dg.AssetSelection.assets(ingested_batch, drift_report),
    partitions_def=batch_partitions,
    tags={"dagster/max_retries": INGEST_RETRIES},
    description="Validate one landed file, quarantine bad rows, commit the rest to DVC, "
    "then compare it with the champion's training data (drift).",
)

reingest_job = dg.define_asset_job(
    "reingest",
    selection=dg.AssetSelection.assets(ingested_batch, drift_report),
    partitions_def=batch_partitions,
    config={"ops": {"ingested_batch": {"config": {"reingest": True}}}},
    description="Validate one batch's stored file again under the current dataset config "
    "(after fixing labels or columns); the earlier accounting is kept in its history.",
)

new_golden_version_job = dg.define_asset_job(
    "new_golden_version",
    selection=dg.AssetSelection.assets(golden_set),
    config={"ops": {"golden_set": {"config": {"new_version": True}}}},
    description="Carve a new version of this dataset's golden set from labelled rows no "
    "snapshot has held (explicit: the golden set is otherwise never re-drawn).",
)

snapshot_job = dg.define_asset_job(
    "snapshot",
    selection=dg.AssetSelection.assets(golden_set, training_snapshot),
    description="Rebuild the training snapshot from every accepted batch (golden rows excluded).",
)

# What a retrain materialises, in order; tests build their Definitions from the same list.
RETRAIN_ASSETS = (
    golden_set,
    training_snapshot,
    candidate_model,
    golden_evaluation,
    reference_free_evaluation,
    promotion_decision,
    champion_model,
    model_variants,
    candidate_bento,
    canary_rollout,
)

retrain_job = dg.define_asset_job(
    RETRAIN_JOB,
    # Includes the evaluation gate: champion_model promotes only a passed, recorded verdict;
    # a blocked candidate ends the run successfully, tagged driftwise/gate=blocked.
    selection=dg.AssetSelection.assets(*RETRAIN_ASSETS),
    tags={RUN_TAG_RETRAIN: "1"},  # the queue runs one retrain at a time (dagster.yaml)
    description="Snapshot -> challenger (both tiers, MLflow @challenger) -> golden-set and "
    "reference-free evaluation -> promotion gate -> cascade policy -> Bento -> staged canary "
    "against the served champion (or @champion at the gate when nothing is served).",
)

canary_finish_job = dg.define_asset_job(
    CANARY_FINISH_JOB,
    selection=dg.AssetSelection.assets(canary_result),
    description="A finished canary (the rollout sensor launches it): promote - aliases move, "
    "the service serves the new champion - or record the rollback; decision record + plot.",
)


def rollback_now(
    home: Path, serving: ServingResource, mlflow_config: Any, reason: str, to: str | None = None
) -> dict[str, Any]:
    """All traffic to the champion now, the registry and the record written before it
    returns (the CLI's fast path settles in a child process instead). With `to`: any
    gate-passed version becomes champion. Returns the move, with `seconds` from the call to
    100% champion traffic."""
    router = running_router(home, serving.url, serving.timeout_s)
    controller, aliases = RolloutController(home, router), RegistryAliases(mlflow_config)
    if to is not None:
        flip = controller.serve_version(str(to), reason, aliases)
    else:
        flip = controller.rollback(reason, aliases)
    return dataclasses.asdict(flip)


class RollbackConfig(dg.Config):
    reason: str = "manual rollback from the Dagster UI"


@dg.op
def rollback_op(
    context: dg.OpExecutionContext,
    config: RollbackConfig,
    serving: ServingResource,
    mlflow: MlflowResource,
    home: RuntimeHomeResource,
) -> dict:
    """`driftwise rollback` as a Dagster job: all traffic back to the champion."""
    done = rollback_now(home.root, serving, mlflow.config(), config.reason)
    context.log.info("%s: v%s, all traffic in %ss", done["action"], done["champion"],
                     done["seconds"])  # fmt: skip
    return done


@dg.job(
    name="rollback",
    description="All traffic back to the champion now (aborts a rollout, or moves the "
    "champion alias back to `previous`).",
)
def rollback_job() -> None:
    rollback_op()


drift_check_job = dg.define_asset_job(
    "drift_check",
    selection=dg.AssetSelection.assets(traffic_drift_report),
    description="Drift of the latest serving-log window against the champion's data.",
)

batch_score_job = dg.define_asset_job(
    "batch_score",
    selection=dg.AssetSelection.assets(batch_predictions),
    partitions_def=batch_partitions,
    description="Score one landed batch with the champion (or the version in the run config) "
    "as the service would answer: predictions/<batch>.parquet, with accuracy and macro-F1 "
    "when the batch is labelled.",
)

review_job = dg.define_asset_job(
    "review",
    selection=dg.AssetSelection.assets(review_queue),
    partitions_def=review_days,
    description="One day's predictions worth a human look, queued in Label Studio "
    "(`driftwise label up` starts it; the label_sync_sensor harvests the answers).",
)
