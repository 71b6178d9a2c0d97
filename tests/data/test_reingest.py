"""Re-ingesting a batch after a config change (data/reingest.py, data/batch_tags.py): real
files, real `ingest_file` into a real DVC registry (git + DVC, local remote), then
`reingest_batch` under a corrected `DatasetSpec`. The earlier accounting must survive in the
quarantine's history and the earlier DVC tag must stay readable."""

import json
from pathlib import Path

import pandas as pd
import pytest

from data.batch_tags import batch_table_path, current_tag
from data.data_registry import DataRegistry
from data.ingest import accepted_batches, count_persisted, ingest_file
from data.reingest import reingest_batch

BINARY = {"labels": ["negative", "positive"]}


def _topics(n: int = 12) -> pd.DataFrame:
    labels = ["sport", "politics", "science"]
    return pd.DataFrame(
        {"text": [f"a post about item {i}" for i in range(n)], "label": labels * (n // 3)}
    )


@pytest.fixture()
def zone(tmp_path: Path) -> dict[str, Path]:
    paths = {k: tmp_path / k for k in ("landing", "quarantine")}
    paths["landing"].mkdir()
    return paths


def _land(frame: pd.DataFrame, zone: dict[str, Path], name: str) -> Path:
    path = zone["landing"] / name
    frame.to_csv(path, index=False)
    return path


def test_a_batch_rejected_for_its_labels_is_accepted_after_the_fix(tmp_path, zone) -> None:
    """Nothing accepted under a binary label list; all rows under 'infer labels'."""
    from data.schema import DatasetSpec

    registry = DataRegistry(tmp_path / "registry")
    path = _land(_topics(), zone, "topics.csv")
    first = ingest_file(path, DatasetSpec(**BINARY), registry, zone["quarantine"])
    assert first.status == "nothing_accepted" and first.reasons == {"unknown_label": 12}

    again = reingest_batch(
        first.batch_id, DatasetSpec(labels=[]), registry, zone["landing"], zone["quarantine"]
    )
    assert again.status == "ingested" and again.accepted == 12
    assert again.dvc_tag == f"batch/{first.batch_id}"
    assert [tag for tag, _ in accepted_batches(registry)] == [again.dvc_tag]
    history = zone["quarantine"] / first.batch_id / "history" / "001"
    old = json.loads((history / "summary.json").read_text())
    assert old["status"] == "nothing_accepted" and old["quarantined"] == 12
    assert sum(1 for _ in (history / "rows.jsonl").open()) == 12


def test_a_committed_batch_gets_a_revision_and_keeps_its_old_tag(tmp_path, zone) -> None:
    """Partly accepted before (one label listed too few); the fix makes revision r2."""
    from data.schema import DatasetSpec

    registry = DataRegistry(tmp_path / "registry")
    path = _land(_topics(), zone, "topics.csv")
    other = _land(
        pd.DataFrame({"text": ["a post about item 0"], "label": ["sport"]}), zone, "o.csv"
    )
    narrow = DatasetSpec(labels=["sport", "politics"])
    assert ingest_file(other, narrow, registry, zone["quarantine"]).accepted == 1
    first = ingest_file(path, narrow, registry, zone["quarantine"])
    assert first.accepted == 7
    assert first.reasons == {"unknown_label": 4, "duplicate_of_history": 1}

    fixed = reingest_batch(
        first.batch_id, DatasetSpec(labels=[]), registry, zone["landing"], zone["quarantine"]
    )
    assert fixed.dvc_tag == f"batch-rev/{first.batch_id}/r2"
    # Its own earlier rows do not count against it; the other batch's row still does.
    assert fixed.accepted == 11 and fixed.reasons == {"duplicate_of_history": 1}
    assert current_tag(registry, first.batch_id) == fixed.dvc_tag
    assert count_persisted(registry, fixed) == (11, 1)
    current = dict(accepted_batches(registry))
    assert len(current[fixed.dvc_tag]) == 11
    old = registry.read_table(batch_table_path(first.batch_id), rev=f"batch/{first.batch_id}")
    assert len(old) == 7  # models trained on the old tag keep their lineage

    third = reingest_batch(
        first.batch_id, DatasetSpec(labels=[]), registry, zone["landing"], zone["quarantine"]
    )
    assert third.dvc_tag.endswith("/r3") and third.accepted == 11
    assert sorted(p.name for p in (zone["quarantine"] / first.batch_id / "history").iterdir()) == [
        "001",
        "002",
    ]


def test_a_whole_file_quarantine_is_reingested_from_its_kept_copy(tmp_path, zone) -> None:
    """Wrong text column: the file is quarantined whole; the landed original is then gone."""
    from data.schema import DatasetSpec

    registry = DataRegistry(tmp_path / "registry")
    path = _land(_topics().rename(columns={"text": "body"}), zone, "posts.csv")
    first = ingest_file(path, DatasetSpec(labels=[]), registry, zone["quarantine"])
    assert first.status == "file_quarantined"
    path.unlink()
    fixed = reingest_batch(
        first.batch_id,
        DatasetSpec(text_column="body", labels=[]),
        registry,
        zone["landing"],
        zone["quarantine"],
    )
    assert fixed.status == "ingested" and fixed.accepted == 12


def test_an_unknown_batch_is_a_clear_error(tmp_path, zone) -> None:
    from data.schema import DatasetSpec

    with pytest.raises(FileNotFoundError, match="no file with that name and content"):
        reingest_batch(
            "nothing-0123456789ab",
            DatasetSpec(labels=[]),
            DataRegistry(tmp_path / "registry"),
            zone["landing"],
            zone["quarantine"],
        )
