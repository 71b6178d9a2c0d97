"""`driftwise reingest BATCH`: validate a batch's stored file again under the current config.

Runs the `reingest` job (ingested_batch with `reingest: true`, then its drift check) on the
runtime home's instance, so the new accounting is a materialisation beside the old one in
the Dagster UI; the old quarantine files move to `<quarantine>/<batch>/history/`.
"""

from typing import Any

import dagster as dg
from rich.console import Console
from rich.table import Table

from data.reingest import stored_copy
from models.lineage import RUN_TAG_BATCH, RUN_TAG_TRIGGER
from orchestration.definitions import build_definitions
from orchestration.settings import DriftwiseSettings

PARTITIONS = "batches"
SHOWN = ("status", "rows_received", "rows_accepted", "rows_quarantined", "quarantine_reasons")


def _latest(instance: dg.DagsterInstance, batch_id: str) -> dict[str, Any]:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("ingested_batch"), asset_partitions=[batch_id]),
        limit=1,
    ).records
    if not records:
        return {}
    md = records[0].asset_materialization.metadata  # type: ignore[union-attr]
    return {k: v.value for k, v in md.items()}


def known_batches(instance: dg.DagsterInstance) -> list[str]:
    return list(instance.get_dynamic_partitions(PARTITIONS))


def run_reingest(settings: DriftwiseSettings, console: Console, batch_id: str) -> dict[str, Any]:
    """Re-ingest `batch_id`; prints before/after and returns the new ingest metadata.

    Raises:
        LookupError: the instance has no such batch (the message lists the known ones).
        FileNotFoundError: neither the landing zone nor the quarantine holds its file.
    """
    instance = dg.DagsterInstance.get()
    known = known_batches(instance)
    if batch_id not in known:
        listed = ", ".join(known[-10:]) or "none yet"
        raise LookupError(f"no batch {batch_id!r} on this instance; known: {listed}")
    stored_copy(batch_id, settings.layout.landing, settings.layout.quarantine)  # fail early
    before = _latest(instance, batch_id)
    result = (
        build_definitions(settings)
        .resolve_job_def("reingest")
        .execute_in_process(
            instance=instance,
            partition_key=batch_id,
            tags={RUN_TAG_TRIGGER: "reingest", RUN_TAG_BATCH: batch_id},
            raise_on_error=False,
        )
    )
    if not result.success:
        raise RuntimeError(f"reingest run {result.run_id} failed; see the Dagster UI")
    after = _latest(instance, batch_id)
    table = Table(title=f"Re-ingest of {batch_id} (run {result.run_id[:8]})")
    for column in ("", "before", "now"):
        table.add_column(column)
    for key in SHOWN:
        table.add_row(key, str(before.get(key, "-")), str(after.get(key, "-")))
    table.add_row("dvc tag", str(before.get("dvc_tag") or "-"), str(after.get("dvc_tag") or "-"))
    console.print(table)
    return after
