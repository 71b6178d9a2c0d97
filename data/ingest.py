"""Ingest one landed file: read, validate, quarantine the bad rows, version the good ones.

Order matters for crash safety: the quarantine is written (atomically) before the DVC commit,
and the DVC commit + tag is the single point at which a batch "exists". A crash before it
leaves no tag, so a rerun redoes the batch from scratch; a rerun after it finds the tag and
changes nothing (idempotent).
"""

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from data.batch_tags import BATCH_TAG_PREFIX, batch_id_of, batch_table_path, revisions
from data.data_registry import DataRegistry
from data.landing import batch_id_for, content_hash_of
from data.readers import UnreadableFile, read_file
from data.schema import DOMAIN, LABEL, ROW_ID, DatasetSpec
from data.validation import ValidationResult, validate_batch

# BATCH_TAG_PREFIX and batch_table_path are imported from here too (they live in batch_tags).
__all__ = [
    "BATCH_TAG_PREFIX",
    "IngestReport",
    "accepted_batches",
    "batch_table_path",
    "count_persisted",
    "find_ingested",
    "ingest_file",
    "report_from_result",
    "write_row_quarantine",
    "write_summary",
]


@dataclass
class IngestReport:
    """What happened to one file; every count an operator needs, and where things went."""

    batch_id: str
    source: str
    status: str  # "ingested" | "already_ingested" | "file_quarantined" | "nothing_accepted"
    received: int = 0
    accepted: int = 0
    quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    per_label: dict[str, int] = field(default_factory=dict)
    per_domain: dict[str, int] = field(default_factory=dict)
    labelled: bool = False
    dvc_tag: str | None = None
    dvc_rev: str | None = None
    quarantine_dir: str | None = None
    file_reason: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def write_summary(qdir: Path, report: IngestReport) -> None:
    _write_json_atomic(qdir / "summary.json", report.to_dict())


def _write_json_atomic(path: Path, payload: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def _quarantine_file(name: str, payload: bytes, qdir: Path, report: IngestReport) -> IngestReport:
    qdir.mkdir(parents=True, exist_ok=True)
    (qdir / name).write_bytes(payload)
    _write_json_atomic(qdir / "summary.json", report.to_dict())
    return report


def _history_row_ids(registry: DataRegistry) -> set[str]:
    """Row ids of every batch that exists (by tag)."""
    ids: set[str] = set()
    for _, frame in accepted_batches(registry, columns=[ROW_ID]):
        ids.update(frame[ROW_ID])
    return ids


def accepted_batches(
    registry: DataRegistry, columns: list[str] | None = None
) -> list[tuple[str, pd.DataFrame]]:
    """Every committed batch (tag of its current content, rows), oldest batch first.

    A re-ingested batch (data/reingest.py) is read at its newest revision.
    """
    revs = revisions(registry)
    out = []
    for tag in registry.tags(BATCH_TAG_PREFIX):
        batch_id = tag.removeprefix(BATCH_TAG_PREFIX)
        current = revs[batch_id][-1] if batch_id in revs else tag
        frame = registry.read_table(batch_table_path(batch_id), rev=current)
        out.append((current, frame[columns] if columns else frame))
    return out


def find_ingested(registry: DataRegistry, batch_id: str) -> str | None:
    """The tag of an earlier batch with the same content (any file name), if there is one."""
    sha = content_hash_of(batch_id)
    for tag in registry.tags(BATCH_TAG_PREFIX):
        if content_hash_of(tag) == sha:
            return tag
    return None


def ingest_file(
    path: Path, spec: DatasetSpec, registry: DataRegistry, quarantine_root: Path
) -> IngestReport:
    """Ingest `path` into `registry`; bad rows (or the whole file) go under `quarantine_root`."""
    # Read once: what is hashed, parsed and quarantined are the same bytes, even if the
    # landed file is overwritten meanwhile.
    payload = path.read_bytes()
    sha = hashlib.sha256(payload).hexdigest()
    batch_id = batch_id_for(path, sha)
    qdir = quarantine_root / batch_id
    registry.ensure()
    with registry.locked():
        registry.recover()
        earlier = find_ingested(registry, batch_id)
        if earlier is not None:
            return IngestReport(
                batch_id=batch_id, source=str(path), status="already_ingested", dvc_tag=earlier
            )
        try:
            raw = read_file(path, max_bytes=spec.max_file_bytes, payload=payload)
            result = validate_batch(raw, spec, batch_id, _history_row_ids(registry))
        except UnreadableFile as exc:
            report = IngestReport(
                batch_id=batch_id,
                source=str(path),
                status="file_quarantined",
                file_reason=exc.reason,
                quarantine_dir=str(qdir),
            )
            return _quarantine_file(path.name, payload, qdir, report)

        accepted = result.accepted
        report = report_from_result(batch_id, path, result)
        write_row_quarantine(result, qdir, report)
        if len(accepted):
            commit = registry.commit_table(
                batch_table_path(batch_id),
                accepted,
                tag=BATCH_TAG_PREFIX + batch_id,
                message=f"Batch {batch_id}: {len(accepted)} rows from {path.name}",
            )
            report.dvc_tag, report.dvc_rev = commit.tag, commit.rev
        if report.quarantine_dir:
            write_summary(qdir, report)
        return report


def report_from_result(batch_id: str, path: Path, result: ValidationResult) -> IngestReport:
    """The accounting of one validated file (before anything is written)."""
    accepted = result.accepted
    return IngestReport(
        batch_id=batch_id,
        source=str(path),
        status="ingested" if len(accepted) else "nothing_accepted",
        received=result.received,
        accepted=len(accepted),
        quarantined=len(result.quarantined),
        reasons=result.reasons,
        labelled=result.labelled,
        per_label={str(k): int(v) for k, v in accepted[LABEL].value_counts().items()}
        if result.labelled and len(accepted)
        else {},
        per_domain={str(k): int(v) for k, v in accepted[DOMAIN].value_counts().items()}
        if len(accepted)
        else {},
    )


def write_row_quarantine(result: ValidationResult, qdir: Path, report: IngestReport) -> None:
    """Write the quarantined rows atomically as `rows.jsonl` (and note where on `report`)."""
    if len(result.quarantined):
        qdir.mkdir(parents=True, exist_ok=True)
        tmp = qdir / ".rows.jsonl.tmp"
        result.quarantined.to_json(tmp, orient="records", lines=True, force_ascii=False)
        os.replace(tmp, qdir / "rows.jsonl")
        report.quarantine_dir = str(qdir)


def count_persisted(registry: DataRegistry, report: IngestReport) -> tuple[int, int]:
    """Re-count what was persisted for a batch: (rows in the DVC table at its tag, quarantined).

    Independent of the in-memory counts, so an accounting check built on it can fail.
    """
    accepted = 0
    if report.dvc_tag:
        # The tag names the batch that holds the rows (an earlier file, for re-landed content).
        stored_id = batch_id_of(report.dvc_tag)
        accepted = len(registry.read_table(batch_table_path(stored_id), rev=report.dvc_tag))
    quarantined = 0
    rows = Path(report.quarantine_dir or "") / "rows.jsonl"
    if report.quarantine_dir and rows.exists():
        with rows.open(encoding="utf-8") as fh:
            quarantined = sum(1 for line in fh if line.strip())
    return accepted, quarantined
