"""Re-ingest a batch under the current config (`driftwise reingest BATCH`, the `reingest` job).

For the user who fixed their config after a file was rejected (labels not listed, a column
renamed): the batch's stored bytes - the landed file, or the copy a whole-file quarantine
kept - are read and validated again. What the earlier ingest decided is never overwritten:
its quarantine summary and rows move to `<quarantine>/<batch>/history/<NNN>/`, and the
earlier DVC tag stays readable (models trained on it keep their lineage).

- Never committed (file quarantined, or nothing accepted): ingested as if it had just
  landed, so it becomes tag `batch/<id>`.
- Committed before: the new accepted rows become revision `batch-rev/<id>/r<N>` of the same
  table (data/batch_tags.py); snapshots use the newest revision. Duplicates are judged
  against every *other* batch, so the batch's own earlier rows do not count against it.
"""

import os
from pathlib import Path

from data.batch_tags import (
    batch_table_path,
    current_tag,
    revision_tag,
    revisions,
)
from data.data_registry import DataRegistry
from data.ingest import (
    IngestReport,
    file_quarantine_report,
    history_labels,
    ingest_file,
    report_from_result,
    write_row_quarantine,
    write_summary,
)
from data.labels import effective_labels
from data.landing import batch_id_for, find_landed
from data.readers import UnreadableFile, read_file
from data.schema import DatasetSpec
from data.validation import validate_batch

ACCOUNTING_FILES = ("summary.json", "rows.jsonl")


def stored_copy(batch_id: str, landing: Path, quarantine_root: Path) -> Path:
    """The file behind a batch: the landed original, else the whole-file quarantine copy."""
    try:
        return find_landed(landing, batch_id)
    except FileNotFoundError:
        pass
    qdir = quarantine_root / batch_id
    if qdir.is_dir():
        for path in sorted(qdir.iterdir()):
            if (
                path.is_file()
                and path.name not in ACCOUNTING_FILES
                and not path.name.startswith(".")
                and batch_id_for(path) == batch_id
            ):
                return path
    raise FileNotFoundError(
        f"batch {batch_id!r}: no file with that name and content in {landing} or {qdir}"
    )


def archive_accounting(qdir: Path) -> Path | None:
    """Move the batch's current quarantine summary + rows under history/NNN/; returns it."""
    present = [qdir / name for name in ACCOUNTING_FILES if (qdir / name).exists()]
    if not present:
        return None
    history = qdir / "history"
    history.mkdir(parents=True, exist_ok=True)
    target = history / f"{len(list(history.iterdir())) + 1:03d}"
    target.mkdir()
    for path in present:
        os.replace(path, target / path.name)
    return target


def reingest_batch(
    batch_id: str,
    spec: DatasetSpec,
    registry: DataRegistry,
    landing: Path,
    quarantine_root: Path,
) -> IngestReport:
    """Validate batch `batch_id` again under `spec`; see the module docstring."""
    path = stored_copy(batch_id, landing, quarantine_root)
    qdir = quarantine_root / batch_id
    registry.ensure()
    with registry.locked():  # re-entrant: ingest_file takes it again
        registry.recover()
        archive_accounting(qdir)
        if current_tag(registry, batch_id) is None:
            return ingest_file(path, spec, registry, quarantine_root)
        payload = path.read_bytes()
        try:
            raw = read_file(path, max_bytes=spec.max_file_bytes, payload=payload)
            history = history_labels(registry, exclude_batch=batch_id)
            labels = effective_labels(spec.labels, registry)
            result = validate_batch(raw, spec, batch_id, history, labels)
        except UnreadableFile as exc:
            result, file_reason = None, exc.reason
        number = len(revisions(registry).get(batch_id, [])) + 2  # r1 is the original tag
        tag = revision_tag(batch_id, number)
        if result is None:
            report = file_quarantine_report(batch_id, path, payload, file_reason)
            empty = registry.read_table(
                batch_table_path(batch_id), rev=current_tag(registry, batch_id) or ""
            ).iloc[:0]
            commit = registry.commit_table(
                batch_table_path(batch_id), empty, tag=tag, message=f"Re-ingest {batch_id}: none"
            )
            qdir.mkdir(parents=True, exist_ok=True)
            (qdir / path.name).write_bytes(payload)
            report.quarantine_dir = str(qdir)
        else:
            report = report_from_result(batch_id, path, result)
            write_row_quarantine(result, qdir, report)
            commit = registry.commit_table(
                batch_table_path(batch_id),
                result.accepted,
                tag=tag,
                message=f"Re-ingest {batch_id} (revision {number}): "
                f"{len(result.accepted)} rows under the current config",
            )
        report.dvc_tag, report.dvc_rev = commit.tag, commit.rev
        qdir.mkdir(parents=True, exist_ok=True)
        write_summary(qdir, report)  # kept for every batch (data.ingest.ingest_file)
        return report
