"""The one Definitions object. Built lazily: settings are read when Dagster loads the code
location, never at import."""

import dagster as dg

from assets import golden, ingestion
from orchestration.environments import get_resources
from orchestration.jobs import ingest_job, snapshot_job
from orchestration.sensors import new_batch_sensor
from orchestration.settings import DriftwiseSettings, load_settings


def build_definitions(settings: DriftwiseSettings) -> dg.Definitions:
    return dg.Definitions(
        assets=[golden.golden_set, ingestion.ingested_batch, ingestion.training_snapshot],
        asset_checks=[ingestion.check_golden_disjoint],
        jobs=[ingest_job, snapshot_job],
        sensors=[new_batch_sensor],
        resources=get_resources(settings),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(load_settings())
