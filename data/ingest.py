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
from data.labels import effective_labels
from data.landing import batch_id_for, content_hash_of, safe_stem
from data.readers import UnreadableFile, count_rows, read_file
from data.schema import DOMAIN, LABEL, ROW_ID, DatasetSpec
from data.validation import ValidationResult, validate_batch

# BATCH_TAG_PREFIX and batch_table_path are imported from here too (they live in batch_tags).
__all__ = [
    "BATCH_TAG_PREFIX",
    "IngestReport",
    "accepted_batches",
    "batch_table_path",
    "count_persisted",
    "file_quarantine_report",
    "find_ingested",
    "history_labels",
    "ingest_file",
    "quarantine_refused",
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
    # A whole-file quarantine: rows the file held (data.readers.count_rows), None if uncountable.
    file_rows: int | None = None
    flags: dict[str, int] = field(default_factory=dict)  # accepted but flagged (validation)

    def to_dict(self) -> dict:
        return asdict(self)


def write_summary(qdir: Path, report: IngestReport) -> None:
    write_json_atomic(qdir / "summary.json", report.to_dict())


def write_json_atomic(path: Path, payload: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def _quarantine_file(name: str, payload: bytes, qdir: Path, report: IngestReport) -> IngestReport:
    qdir.mkdir(parents=True, exist_ok=True)
    (qdir / name).write_bytes(payload)
    write_json_atomic(qdir / "summary.json", report.to_dict())
    return report


def history_labels(
    registry: DataRegistry, exclude_batch: str | None = None
) -> dict[str, str | None]:
    """Row id -> label (None if unlabelled) of every batch that exists, but `exclude_batch`.

    The label tells a repeat from a conflict (data/validation.py); the first batch wins.
    """
    labels: dict[str, str | None] = {}
    for tag, frame in accepted_batches(registry, columns=[ROW_ID, LABEL]):
        if exclude_batch is not None and batch_id_of(tag) == exclude_batch:
            continue
        for rid, label in zip(frame[ROW_ID], frame[LABEL], strict=True):
            labels.setdefault(rid, None if pd.isna(label) else str(label))
    return labels


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
            labels = effective_labels(spec.labels, registry)
            result = validate_batch(raw, spec, batch_id, history_labels(registry), labels)
        except UnreadableFile as exc:
            report = file_quarantine_report(batch_id, path, payload, exc.reason)
            report.quarantine_dir = str(qdir)
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
        # Every batch's accounting is kept, 0 quarantined included: `driftwise quarantine`
        # answers for any batch, not only for one that had rows rejected.
        qdir.mkdir(parents=True, exist_ok=True)
        write_summary(qdir, report)
        return report


def file_quarantine_report(batch_id: str, path: Path, payload: bytes, reason: str) -> IngestReport:
    """The accounting of a file quarantined whole: the rows it held, where they can be counted."""
    rows = count_rows(payload, path.suffix)
    return IngestReport(
        batch_id=batch_id,
        source=str(path),
        status="file_quarantined",
        file_reason=reason,
        file_rows=rows,
        received=rows or 0,
        quarantined=rows or 0,
        reasons={reason.split(":", 1)[0]: rows or 0},
    )


def quarantine_refused(path: Path, reason: str, quarantine_root: Path) -> IngestReport:
    """Quarantine a landing-zone entry that can never be a batch (data.landing.refused_entries).

    A file is copied under `<quarantine>/<batch id>/` (its rows counted where they can be), a
    folder gets a summary naming how many files it holds; the entry itself stays where it
    landed, so nothing is lost. Idempotent: the same bytes give the same directory.
    """
    if path.is_file():
        payload = path.read_bytes()
        batch_id = batch_id_for(path, hashlib.sha256(payload).hexdigest())
        report = file_quarantine_report(batch_id, path, payload, reason)
        report.quarantine_dir = str(quarantine_root / batch_id)
        return _quarantine_file(path.name, payload, Path(report.quarantine_dir), report)
    held = sum(1 for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0
    batch_id = f"{safe_stem(path)}-entry"
    qdir = quarantine_root / batch_id
    qdir.mkdir(parents=True, exist_ok=True)
    report = IngestReport(
        batch_id=batch_id,
        source=str(path),
        status="file_quarantined",
        file_reason=f"{reason} (holds {held} files)" if path.is_dir() else reason,
        reasons={reason.split(":", 1)[0]: 0},
        quarantine_dir=str(qdir),
    )
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
        flags=result.flags,
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
