"""Reading a batch's row quarantine back (`<quarantine>/<batch>/rows.jsonl`, written by
data/ingest.py), e.g. to judge drift on what *arrived*, not only on what was accepted."""

import json
from pathlib import Path

import pandas as pd

from data.csv_export import write_csv_export
from data.schema import DOMAIN, LABEL, TEXT, DatasetSpec

# Rows quarantined for being repeats (or repeats with another label): their text is valid
# and they are part of what the source sent, so they belong to the "received" distribution.
VALID_TEXT_REASONS = ("duplicate_in_batch", "duplicate_of_history", "conflicting_label")


def quarantined_rows(batch_dir: Path) -> pd.DataFrame:
    """The quarantined rows of one batch: `source_row`, `reason`, `record` (a dict)."""
    path = batch_dir / "rows.jsonl"
    if not path.exists():
        return pd.DataFrame(columns=["source_row", "reason", "record"])
    frame = pd.read_json(path, orient="records", lines=True, dtype=False)
    frame["record"] = [json.loads(r) if isinstance(r, str) else r for r in frame["record"]]
    return frame


def valid_quarantined(batch_dir: Path, spec: DatasetSpec) -> pd.DataFrame:
    """Quarantined rows whose text is valid (repeats), as canonical `text`/`label`/`domain`."""
    rows = quarantined_rows(batch_dir)
    keep = rows["reason"].astype(str).str.split(":").str[0].isin(VALID_TEXT_REASONS)
    records = list(rows.loc[keep, "record"])

    def column(name: str | None) -> list[str | None]:
        return [(r.get(name) if name else None) for r in records]

    return pd.DataFrame(
        {
            TEXT: [str(t or "").strip() for t in column(spec.text_column)],
            LABEL: column(spec.label_column),
            DOMAIN: column(spec.domain_column),
        }
    )


def received_rows(accepted: pd.DataFrame, batch_dir: Path, spec: DatasetSpec) -> pd.DataFrame:
    """What arrived, as far as it can be judged: accepted rows + quarantined repeats."""
    extra = valid_quarantined(batch_dir, spec)
    columns = [c for c in (TEXT, LABEL, DOMAIN) if c in accepted.columns]
    return pd.concat([accepted[columns], extra[columns]], ignore_index=True)


def export_rows_csv(batch_dir: Path, out: Path) -> int:
    """Write a batch's quarantined rows as a spreadsheet-safe CSV; returns rows written.

    One column per field of the original record (prefixed `record.`), beside `source_row` and
    `reason`, so a reviewer sees each rejected row as it arrived.
    """
    rows = quarantined_rows(batch_dir)
    fields = pd.json_normalize(list(rows["record"]), max_level=0) if len(rows) else pd.DataFrame()
    fields.columns = [f"record.{c}" for c in fields.columns]
    table = pd.concat([rows[["source_row", "reason"]].reset_index(drop=True), fields], axis=1)
    write_csv_export(table, out)
    return len(table)
