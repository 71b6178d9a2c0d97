"""Checks and derived facts of a training snapshot (the ingestion layer's output contract).

A snapshot is a DataFrame with `row_id`, `text`, `label`, `domain` (may be null), `split` in
{train, val, test} and any extra metadata columns. Labels: any number of classes.
"""

import hashlib

import numpy as np
import pandas as pd

from data.schema import LABEL, ROW_ID, SPLIT, TEXT

SPLITS = ("train", "val", "test")
REQUIRED_COLUMNS = (ROW_ID, TEXT, LABEL, SPLIT)


class SnapshotError(ValueError):
    """The frame does not meet the training-snapshot contract."""


def check_snapshot(frame: pd.DataFrame) -> None:
    """Raise `SnapshotError` unless `frame` can be trained on."""
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise SnapshotError(f"snapshot lacks columns {missing}")
    bad_split = set(frame[SPLIT].unique()) - set(SPLITS)
    if bad_split:
        raise SnapshotError(f"unknown split values {sorted(map(str, bad_split))}")
    for split in ("train", "val"):
        if not (frame[SPLIT] == split).any():
            raise SnapshotError(f"snapshot has no {split!r} rows")
    for column in (ROW_ID, TEXT, LABEL):
        if frame[column].isna().any():
            raise SnapshotError(f"column {column!r} has missing values")
    train_labels = set(frame.loc[frame[SPLIT] == "train", LABEL])
    if len(train_labels) < 2:
        raise SnapshotError("the train split needs at least two labels")
    unseen = set(frame[LABEL]) - train_labels
    if unseen:
        raise SnapshotError(f"labels {sorted(unseen)} occur outside the train split only")


def label_set(frame: pd.DataFrame) -> list[str]:
    """Class names in index order (sorted: stable across snapshots with the same classes)."""
    return sorted(str(v) for v in frame.loc[frame[SPLIT] == "train", LABEL].unique())


def balanced_class_weights(train_labels: np.ndarray, num_classes: int) -> list[float]:
    """n / (k * n_c) per class (sklearn's 'balanced'); every class carries equal total weight."""
    counts = np.bincount(train_labels, minlength=num_classes).astype(np.float64)
    return (counts.sum() / (num_classes * np.maximum(counts, 1.0))).tolist()


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """Content hash of the columns training reads, in row order (row order shapes training).

    `hash_pandas_object` uses a fixed key, so the value is the same in every process.
    """
    hashed = pd.util.hash_pandas_object(frame[list(REQUIRED_COLUMNS)], index=False)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()[:16]
