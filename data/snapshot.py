"""The training snapshot: every accepted labelled row, deduplicated, golden rows excluded,
with a stable split column, identified by a content hash - and its contract.

Contract (what training accepts, `check_snapshot`): a DataFrame with `row_id`, `text`,
`label`, `domain` (may be null), `split` in {train, val, test} and any extra metadata
columns; any number of classes, every one of them present in the train split.

The split is decided per row by a hash of its row id: stratified in expectation, and stable
as data grows — a row that was in validation stays in validation in every later snapshot, so
validation scores over time are never inflated by leakage.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.schema import DOMAIN, LABEL, ROW_ID, SPLIT, TEXT

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


def _unit_interval(ids: pd.Series, salt: str) -> np.ndarray:
    """A uniform number in [0, 1) per row id, fixed forever by the id and the salt."""
    return np.array(
        [
            int.from_bytes(hashlib.sha256(f"{salt}:{i}".encode()).digest()[:8], "big") / 2**64
            for i in ids
        ]
    )


def assign_splits(
    df: pd.DataFrame, val_frac: float = 0.1, test_frac: float = 0.1, salt: str = "driftwise"
) -> pd.Series:
    """Split per row from a hash of its row id: u < test_frac -> test, < +val_frac -> val.

    Why a threshold and not a per-class quota: the split of a row depends on nothing but its
    id, so it never changes as data grows (no row ever leaks from validation into training).
    Within each class the hash is uniform, so the split is stratified up to sampling noise
    (±0.4 pt at 5,000 rows per class).
    """
    if not 0 <= val_frac + test_frac < 1:
        raise ValueError("val_frac + test_frac must be in [0, 1)")
    u = _unit_interval(df[ROW_ID], salt)
    split = np.where(u < test_frac, "test", np.where(u < test_frac + val_frac, "val", "train"))
    return pd.Series(split, index=df.index, dtype=object)


def build_snapshot(
    batches: Iterable[pd.DataFrame],
    exclude_row_ids: Iterable[str] = (),
    val_frac: float = 0.1,
    test_frac: float = 0.1,
) -> pd.DataFrame:
    """Union of labelled rows from `batches`, minus `exclude_row_ids` (the golden set)."""
    frames = [b for b in batches if len(b)]
    if not frames:
        raise ValueError("no accepted rows yet: ingest a labelled batch first")
    df = pd.concat(frames, ignore_index=True)
    df = df[df[LABEL].notna() & (df[LABEL].astype(str) != "")]
    df = df.drop_duplicates(subset=ROW_ID, keep="first")
    df = df[~df[ROW_ID].isin(set(exclude_row_ids))]
    if df.empty:
        raise ValueError("no labelled rows left after deduplication and golden exclusion")
    df = df.sort_values(ROW_ID, kind="stable").reset_index(drop=True)
    df[SPLIT] = assign_splits(df, val_frac, test_frac)
    return df


def rows_sha256(df: pd.DataFrame, columns: list[str]) -> str:
    """sha256 over `columns` of every row, order-independent (rows sorted by row id)."""
    canon = df[columns].astype(str).sort_values(ROW_ID, kind="stable")
    digest = hashlib.sha256()
    for row in canon.itertuples(index=False):
        digest.update("\x1f".join(row).encode("utf-8"))
        digest.update(b"\x1e")
    return digest.hexdigest()


def content_hash(df: pd.DataFrame) -> str:
    """sha256 over the rows' identity, label, domain, split and text (order-independent)."""
    return rows_sha256(
        df, [ROW_ID, LABEL, SPLIT, TEXT] + ([DOMAIN] if DOMAIN in df.columns else [])
    )


def golden_overlap(snapshot: pd.DataFrame, golden_row_ids: Iterable[str]) -> list[str]:
    """Row ids present in both: must be empty for a valid training snapshot."""
    return sorted(set(snapshot[ROW_ID]) & set(golden_row_ids))


SNAPSHOT_PATH = "snapshots/training.parquet"
SNAPSHOT_TAG_PREFIX = "snapshot/"


@dataclass(frozen=True)
class SnapshotRef:
    """How downstream stages find a snapshot: DVC tag + content hash (their lineage)."""

    tag: str
    sha256: str
    path: str
    rows: int
    per_split: dict[str, int]
    per_label: dict[str, int]
