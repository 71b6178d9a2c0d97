"""The label loop's two moves against a live annotation server, with the home's state.

State under `<home>/review/` (data/home.py):
- `queue/<partition>.parquet`: a partition's selected items (the `review_queue` asset
  writes it whole, atomically), and `queue/<partition>.pushed` once every item is a task;
- `harvested.json`: review key -> the landed file (or conflict folder) it went into (keys,
  not task ids: a new database, e.g. the prod profile's PostgreSQL, restarts task ids).

Crash rules: pushing is idempotent because the server is asked which review keys it holds
before importing; harvesting lands a deterministic file (same tasks, same bytes, so the
content-addressed batch id recognises a re-landing) before the ledger records its tasks.
A server that is down changes nothing: queues wait, harvests wait.
"""

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from data.home import HomeLayout
from data.ingest import IngestReport, write_json_atomic, write_summary
from data.landing import land_frame
from data.schema import DatasetSpec
from evaluation.review.harvest import LINEAGE, harvest, task_key
from evaluation.review.store import harvested_dir, queue_dir
from evaluation.review.tasks import label_config, to_tasks
from orchestration.annotation.client import LabelStudioClient


def project_title(dataset: str) -> str:
    return f"driftwise-{dataset}"


@dataclass
class Pushed:
    project: int
    tasks: int = 0  # imported now
    present: int = 0  # already on the server (an earlier, interrupted push)
    partitions: list[str] = field(default_factory=list)


def push_waiting(
    layout: HomeLayout, client: LabelStudioClient, spec: DatasetSpec, labels: list[str] | None
) -> Pushed:
    """Import every queue not yet fully pushed. Raises AnnotationServerDown (nothing lost).

    `labels`: the label contract's classes (the interface's choices); None before any
    contract exists = the classes the model answered in the waiting queues.
    """
    folder = queue_dir(layout)
    waiting = {
        p: pd.read_parquet(p)
        for p in sorted(folder.glob("*.parquet"))
        if not p.with_suffix(".pushed").exists()
    }
    if not labels:
        labels = sorted({str(x) for q in waiting.values() for x in q["predicted_label"]})
    if not waiting or not labels:
        return Pushed(client.project_id(project_title(spec.name)) or 0)
    project = client.ensure_project(project_title(spec.name), label_config(labels))
    result = Pushed(project)
    on_server = {
        (t.get("data") or {}).get("review_key") for t in client.tasks(project, annotated_only=False)
    }
    for path, queue in waiting.items():
        new = queue[~queue["review_key"].isin(on_server)]
        result.present += len(queue) - len(new)
        result.tasks += len(client.import_tasks(project, to_tasks(new)))
        on_server |= set(new["review_key"])
        path.with_suffix(".pushed").touch()
        result.partitions.append(path.stem)
    return result


@dataclass
class Harvested:
    rows: int = 0
    conflicts: int = 0
    waiting: int = 0  # annotated tasks with no usable label yet (only skipped)
    landed: str | None = None  # the file put in the landing zone
    conflict_dir: str | None = None


def _ledger(layout: HomeLayout) -> dict[str, str]:
    path = layout.review / "harvested.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _write_ledger(layout: HomeLayout, ledger: dict[str, str]) -> None:
    write_json_atomic(layout.review / "harvested.json", ledger)


def _quarantine_conflicts(conflicts: pd.DataFrame, folder: Path, name: str) -> None:
    rows = pd.DataFrame(
        {
            "source_row": conflicts["ls_task_id"],
            "reason": conflicts["reason"],
            "record": conflicts.drop(columns=["reason"]).to_dict("records"),
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / ".rows.jsonl.tmp"
    rows.to_json(tmp, orient="records", lines=True, force_ascii=False)
    os.replace(tmp, folder / "rows.jsonl")
    report = IngestReport(
        batch_id=name,
        source="label-studio",
        status="nothing_accepted",
        received=len(conflicts),
        quarantined=len(conflicts),
        reasons={"conflicting_annotations": len(conflicts)},
        labelled=True,
        quarantine_dir=str(folder),
    )
    write_summary(folder, report)


def harvest_to_landing(
    layout: HomeLayout, client: LabelStudioClient, spec: DatasetSpec, salt: str
) -> Harvested:
    """Finished annotations not harvested before -> one labelled batch in the landing zone
    (ingested by the usual path: validation, quarantine, DVC tag) + conflicts quarantined."""
    found = client.project_id(project_title(spec.name))
    if found is None:
        return Harvested()
    ledger = _ledger(layout)
    fresh = [t for t in client.tasks(found, annotated_only=True) if task_key(t) not in ledger]
    result = harvest(fresh, salt)
    out = Harvested(len(result.rows), len(result.conflicts), result.waiting)
    if not result.task_ids:
        return out
    name = "reviewed-" + hashlib.sha256(",".join(result.keys).encode()).hexdigest()[:12]
    if len(result.rows):
        batch = result.rows.rename(columns={"text": spec.text_column})
        batch = batch.rename(columns={"label": spec.label_column or "label"})
        batch = batch[[spec.text_column, spec.label_column or "label", *LINEAGE]]
        # the loop's own copy, canonical columns (the live-accuracy estimate reads it)
        land_frame(result.rows, harvested_dir(layout), f"{name}.csv")
        out.landed = land_frame(batch, layout.landing, f"{name}.csv").name
    if len(result.conflicts):
        folder = layout.quarantine / f"{name}-conflicts"
        _quarantine_conflicts(result.conflicts, folder, folder.name)
        out.conflict_dir = str(folder)
    for key in result.keys:
        ledger[key] = name
    _write_ledger(layout, ledger)
    return out
