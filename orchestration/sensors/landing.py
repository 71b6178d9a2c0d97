"""The landing-zone sensor: one ingest run per settled new file (run key = its content hash)."""

import json
import time

import dagster as dg

from assets.ingestion import batch_partitions
from data.ingest import quarantine_refused
from data.landing import (
    batch_id_for,
    content_hash_of,
    file_sha256,
    landed_files,
    refused_entries,
)
from models.lineage import RUN_TAG_BATCH, RUN_TAG_TRIGGER
from orchestration.jobs import ingest_job
from orchestration.resources import RuntimeHomeResource

# A file modified this recently may still be being copied in; it is picked up next tick.
SETTLE_SECONDS = 2.0


def refuse_new_entries(files: dict[str, str], home: RuntimeHomeResource, now: float) -> list[str]:
    """Quarantine entries that can never be a batch (a folder, an .xlsx), once per change.

    `files` is the cursor's name -> fingerprint map, updated in place. Returns one note each.
    """
    notes = []
    for path, reason in refused_entries(home.layout.landing):
        stat = path.lstat()
        if now - stat.st_mtime < SETTLE_SECONDS:
            continue
        fingerprint = f"refused:{stat.st_size}:{stat.st_mtime_ns}"
        if files.get(path.name) == fingerprint:
            continue
        files[path.name] = fingerprint
        report = quarantine_refused(path, reason, home.layout.quarantine)
        notes.append(f"{path.name}: not ingested, {reason}; quarantined in {report.quarantine_dir}")
    return notes


def plan_landing(
    cursor: str | None, home: RuntimeHomeResource, now: float
) -> tuple[list[str], list[str], str]:
    """Decide which landed files become batches. Returns (new batch ids, skip notes, cursor).

    The cursor remembers each file's (size, mtime) so unchanged files are not re-hashed, and
    every content hash seen, so the same bytes landed again (under any name) start nothing.
    Entries that can never be a batch are quarantined with their reason and noted.
    """
    state = json.loads(cursor) if cursor else {"files": {}, "hashes": []}
    files: dict[str, str] = state["files"]
    hashes: set[str] = set(state["hashes"])
    new_ids: list[str] = []
    notes = refuse_new_entries(files, home, now)
    for path in landed_files(home.layout.landing):
        stat = path.stat()
        if now - stat.st_mtime < SETTLE_SECONDS:
            continue
        fingerprint = f"{stat.st_size}:{stat.st_mtime_ns}"
        if files.get(path.name) == fingerprint:
            continue
        files[path.name] = fingerprint
        batch_id = batch_id_for(path, file_sha256(path))
        sha = content_hash_of(batch_id)
        if sha in hashes:
            notes.append(f"{path.name}: same content as an earlier file, skipped")
            continue
        hashes.add(sha)
        new_ids.append(batch_id)
    return new_ids, notes, json.dumps({"files": files, "hashes": sorted(hashes)})


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,  # files landing should just be picked up
    description="Watches $DRIFTWISE_HOME/landing: each new file -> an ingested_batch partition.",
)
def new_batch_sensor(context: dg.SensorEvaluationContext, home: RuntimeHomeResource):
    new_ids, notes, cursor = plan_landing(context.cursor, home, time.time())
    for note in notes:
        context.log.info(note)
    if not new_ids:
        return dg.SensorResult(
            skip_reason="; ".join(notes) or "no new files in the landing zone", cursor=cursor
        )
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                partition_key=batch_id,
                run_key=content_hash_of(batch_id),
                tags={RUN_TAG_TRIGGER: "new_file", RUN_TAG_BATCH: batch_id},
            )
            for batch_id in new_ids
        ],
        dynamic_partitions_requests=[batch_partitions.build_add_request(new_ids)],
        cursor=cursor,
    )
