"""Reading a batch's row quarantine back (data/quarantine.py): real rows.jsonl files written
by a real `ingest_file` into a real DVC registry, with repeats and broken rows mixed in."""

from pathlib import Path

import pandas as pd

from data.data_registry import DataRegistry
from data.ingest import ingest_file
from data.quarantine import quarantined_rows, received_rows, valid_quarantined
from data.schema import DatasetSpec


def test_received_rows_are_accepted_plus_quarantined_repeats(tmp_path: Path) -> None:
    """Repeats count as received (valid text); an empty text does not."""
    spec = DatasetSpec()
    landed = tmp_path / "batch.csv"
    pd.DataFrame(
        {
            "text": ["a fine film", "a fine film", "dull", "", "great acting"],
            "label": ["positive", "positive", "negative", "negative", "positive"],
            "domain": ["movies"] * 5,
        }
    ).to_csv(landed, index=False)
    registry = DataRegistry(tmp_path / "registry")
    report = ingest_file(landed, spec, registry, tmp_path / "quarantine")
    assert report.accepted == 3 and report.quarantined == 2
    batch_dir = Path(report.quarantine_dir or "")
    assert len(quarantined_rows(batch_dir)) == 2
    repeats = valid_quarantined(batch_dir, spec)
    assert repeats["text"].tolist() == ["a fine film"]
    assert repeats["label"].tolist() == ["positive"]
    accepted = registry.read_table(f"batches/{report.batch_id}.parquet", rev=report.dvc_tag or "")
    received = received_rows(accepted, batch_dir, spec)
    assert len(received) == 4
    assert received["label"].value_counts()["positive"] == 3


def test_a_batch_without_quarantine_reads_as_empty(tmp_path: Path) -> None:
    assert quarantined_rows(tmp_path / "nothing").empty
    assert valid_quarantined(tmp_path / "nothing", DatasetSpec()).empty
