"""Snapshots and the golden set on the real default data (pure pandas, no registry).

Touches the data wheel cache and data/golden/ (read-only; tampering is tried on a copy).
"""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from data.default_batches import SCHEDULE, default_batches
from data.golden_set import GOLDEN_DIR, GoldenSetError, load_golden
from data.schema import ROW_ID, row_id
from data.snapshot import assign_splits, build_snapshot, content_hash, golden_overlap
from data.vader import DOMAIN_FILES


def test_vader_counts_and_labels(vader_df: pd.DataFrame):
    assert len(vader_df) == 23_320  # 23,703 snippets minus 383 rated exactly 0
    assert vader_df.groupby("domain").size().to_dict() == {
        "amazon": 3610,
        "movies": 10568,
        "nyt": 4946,
        "tweets": 4196,
    }
    assert set(vader_df["label"]) == {"negative", "positive"}
    assert ((vader_df["rating"] > 0) == (vader_df["label"] == "positive")).all()
    assert list(DOMAIN_FILES) == ["movies", "tweets", "amazon", "nyt"]


def test_default_batches_follow_the_product_life(vader_df: pd.DataFrame):
    batches = default_batches(vader_df)
    assert list(batches) == [name for name, *_ in SCHEDULE]
    assert sum(len(b) for b in batches.values()) == len(vader_df)
    first = batches["01_movies_part1.csv"]
    # Shuffled: both classes present in roughly equal share (the source file is sorted).
    assert 0.4 < (first["label"] == "positive").mean() < 0.6
    assert (first["domain"] == "movies").all()


def test_golden_is_stratified_frozen_and_verified(tmp_path: Path):
    golden = load_golden()
    cells = golden.frame.groupby(["domain", "label"]).size()
    assert len(cells) == 8 and (cells == 100).all()
    assert golden.frame[ROW_ID].is_unique
    assert (golden.frame[ROW_ID] == golden.frame["text"].map(row_id)).all()
    copy = tmp_path / "golden"
    shutil.copytree(GOLDEN_DIR, copy)
    path = copy / "golden_v1.csv"
    path.write_text(path.read_text().replace("negative", "positive", 1))
    with pytest.raises(GoldenSetError, match="frozen"):
        load_golden(copy)


def _batch(ids_labels: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row_id": [i for i, _ in ids_labels],
            "text": [i for i, _ in ids_labels],
            "label": [lab for _, lab in ids_labels],
            "domain": "d",
        }
    )


def test_snapshot_dedups_excludes_golden_and_drops_unlabelled():
    a = _batch([("a", "pos"), ("b", "neg"), ("c", "pos")])
    b = _batch([("a", "pos"), ("d", "neg")])
    unlabelled = _batch([("e", "x")]).assign(label=None)
    snap = build_snapshot([a, b, unlabelled], exclude_row_ids={"c"}, val_frac=0, test_frac=0)
    assert sorted(snap["row_id"]) == ["a", "b", "d"]
    assert golden_overlap(snap, {"c", "zz"}) == []
    assert golden_overlap(snap, {"a"}) == ["a"]


def test_splits_are_stratified_and_stable(vader_df: pd.DataFrame):
    df = vader_df.assign(row_id=vader_df["text"].map(row_id)).drop_duplicates("row_id")
    snap = build_snapshot([df])
    shares = snap.groupby("label")["split"].value_counts(normalize=True).unstack()
    # ~10,000 rows per class: sampling noise of a 10% share is ~0.3 pt.
    assert ((shares["val"] - 0.1).abs() < 0.015).all()
    assert ((shares["test"] - 0.1).abs() < 0.015).all()
    # Growing the data never moves any row to another split.
    small = build_snapshot([df.iloc[:5000]])
    merged = small.merge(snap, on="row_id", suffixes=("_small", "_big"))
    assert len(merged) == len(small)
    assert (merged["split_small"] == merged["split_big"]).all()
    assert assign_splits(snap).equals(snap["split"])


def test_content_hash_is_order_independent_and_sensitive():
    a = _batch([("a", "pos"), ("b", "neg")]).assign(split="train")
    assert content_hash(a) == content_hash(a.iloc[::-1])
    flipped = a.copy()
    flipped.loc[0, "label"] = "neg"
    assert content_hash(flipped) != content_hash(a)
