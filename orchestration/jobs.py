"""Jobs. Selections are AssetSelection objects, never strings: with the antlr4 4.9.3 that DVC
requires, Dagster's string selection parser fails (see README, "Pins")."""

import dagster as dg

from assets.golden import golden_set
from assets.ingestion import batch_partitions, ingested_batch, training_snapshot

ingest_job = dg.define_asset_job(
    "ingest",
    selection=dg.AssetSelection.assets(ingested_batch),
    partitions_def=batch_partitions,
    # One step + its check: a multiprocess executor would add ~6 s of process start per batch.
    executor_def=dg.in_process_executor,
    description="Validate one landed file, quarantine bad rows, commit the rest to DVC.",
)

snapshot_job = dg.define_asset_job(
    "snapshot",
    selection=dg.AssetSelection.assets(golden_set, training_snapshot),
    description="Rebuild the training snapshot from every accepted batch (golden rows excluded).",
)
