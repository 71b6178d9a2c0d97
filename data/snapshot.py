"""The training snapshot: every accepted labelled row, deduplicated, golden rows excluded,
with a stratified, stable split column, identified by a content hash.

The split is decided per row by a hash of its row id, ranked within its class: exactly
stratified, and stable as data grows — a row that was in validation stays in validation in
every later snapshot, so validation scores over time are never inflated by leakage.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.schema import DOMAIN, LABEL, ROW_ID, SPLIT, TEXT


def _unit_hash(ids: pd.Series, salt: str) -> np.ndarray:
    return np.array(
        [int.from_bytes(hashlib.sha256(f"{salt}:{i}".encode()).digest()[:8], "big") for i in ids],
        dtype=np.uint64,
    )


def assign_splits(
    df: pd.DataFrame, val_frac: float = 0.1, test_frac: float = 0.1, salt: str = "driftwise"
) -> pd.Series:
    """Split labels per row: within each class, rows ordered by hash; first test, then val."""
    if not 0 <= val_frac + test_frac < 1:
        raise ValueError("val_frac + test_frac must be in [0, 1)")
    split = pd.Series("train", index=df.index, dtype=object)
    for _, group in df.groupby(LABEL, sort=True):
        order = group.index[np.argsort(_unit_hash(group[ROW_ID], salt), kind="stable")]
        n_test = int(round(len(order) * test_frac))
        n_val = int(round(len(order) * val_frac))
        split.loc[order[:n_test]] = "test"
        split.loc[order[n_test : n_test + n_val]] = "val"
    return split


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


def content_hash(df: pd.DataFrame) -> str:
    """sha256 over the rows' identity, label, domain, split and text (order-independent)."""
    cols = [ROW_ID, LABEL, SPLIT, TEXT] + ([DOMAIN] if DOMAIN in df.columns else [])
    canon = df[cols].astype(str).sort_values(ROW_ID, kind="stable")
    digest = hashlib.sha256()
    for row in canon.itertuples(index=False):
        digest.update("\x1f".join(row).encode("utf-8"))
        digest.update(b"\x1e")
    return digest.hexdigest()


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
