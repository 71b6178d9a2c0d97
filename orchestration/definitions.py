"""The one Definitions object. Built lazily: settings are read when Dagster loads the code
location, never at import."""

import dagster as dg

from assets import (
    batch_scoring,
    canary,
    drift,
    evaluation,
    golden_set,
    ingestion,
    review,
    serving,
    training,
)
from orchestration.environments import get_resources
from orchestration.jobs import (
    batch_score_job,
    canary_finish_job,
    drift_check_job,
    ingest_job,
    new_golden_version_job,
    reingest_job,
    retrain_job,
    review_job,
    rollback_job,
    snapshot_job,
)
from orchestration.sensors.label_loop import label_sync_sensor, review_schedule
from orchestration.sensors.landing import new_batch_sensor
from orchestration.sensors.retrain import (
    drift_check_schedule,
    drift_sensor,
    new_labelled_data_sensor,
    performance_sensor,
    retrain_floor_schedule,
)
from orchestration.sensors.rollout import rollout_sensor
from orchestration.settings import DriftwiseSettings, load_settings


def _executor(settings: DriftwiseSettings) -> dg.ExecutorDefinition:
    """Where a launched run's steps execute.

    Locally in the run's own process: our jobs are one or two long steps (ingest + its drift
    check, one training step), so a process per step would only add ~6 s of start-up each.
    In prod with a celery broker: on the celery workers, which scale out across machines.
    """
    if settings.env == "prod" and settings.celery_broker_url:
        from orchestration.prod.celery import celery_executor_for

        return celery_executor_for(settings.celery_broker_url)
    return dg.in_process_executor


def build_definitions(settings: DriftwiseSettings) -> dg.Definitions:
    return dg.Definitions(
        assets=[
            golden_set.golden_set,
            ingestion.ingested_batch,
            ingestion.training_snapshot,
            training.candidate_model,
            drift.drift_report,
            drift.traffic_drift_report,
            evaluation.golden_evaluation,
            evaluation.reference_free_evaluation,
            evaluation.promotion_decision,
            evaluation.champion_model,
            serving.model_variants,
            serving.candidate_bento,
            canary.canary_rollout,
            canary.canary_result,
            batch_scoring.batch_predictions,
            review.review_queue,
        ],
        asset_checks=[ingestion.check_golden_disjoint, evaluation.check_promotion_gate],
        jobs=[
            ingest_job,
            reingest_job,
            new_golden_version_job,
            snapshot_job,
            retrain_job,
            drift_check_job,
            canary_finish_job,
            rollback_job,
            batch_score_job,
            review_job,
        ],
        executor=_executor(settings),
        sensors=[
            new_batch_sensor,
            drift_sensor,
            performance_sensor,
            new_labelled_data_sensor,
            rollout_sensor,
            label_sync_sensor,
        ],
        schedules=[retrain_floor_schedule, drift_check_schedule, review_schedule],
        resources=get_resources(settings),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(load_settings())
