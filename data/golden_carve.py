"""A golden set carved out of a user's own labelled data: stratified, seeded, frozen.

Why carve: a bring-your-own dataset has no curated golden set, and the gate cannot judge a
topic model on sentiment rows. The carve takes, in every (label, domain) cell, the rows with
the smallest salted hash of their row id: deterministic (the same data give the same golden
set on any machine), stratified per class and per domain, and independent of file order.
Once registered in the data registry it is frozen: later runs reuse it, a new version is an
explicit command, and training snapshots exclude its rows (`check_golden_disjoint`).
"""

import hashlib

import pandas as pd

from data.schema import DOMAIN, LABEL, ROW_ID, TEXT
from data.snapshot import rows_sha256


class GoldenCarveError(ValueError):
    """Too little labelled data to carve a golden set that can judge every class."""


def _rank(ids: pd.Series, salt: str) -> pd.Series:
    return ids.map(lambda i: hashlib.sha256(f"{salt}:{i}".encode()).hexdigest())


def carve_golden(
    labelled: pd.DataFrame,
    fraction: float = 0.15,
    min_per_class: int = 10,
    max_rows: int = 2000,
    salt: str = "driftwise-golden",
) -> pd.DataFrame:
    """Pick the golden rows of `labelled` (accepted rows with `row_id`, `text`, `label`).

    Every class gets `fraction` of its rows, at least `min_per_class` and at most half of
    them (the rest must stay trainable); the total is capped at `max_rows` by shrinking every
    class in proportion. Within a class the share is spread over domains in proportion.

    Raises:
        GoldenCarveError: a class has fewer than 2 * `min_per_class` rows.
    """
    if not 0 < fraction < 0.5:
        raise ValueError("fraction must be in (0, 0.5)")
    frame = labelled.drop_duplicates(ROW_ID)
    frame = frame[frame[LABEL].notna() & (frame[LABEL].astype(str) != "")]
    counts = frame[LABEL].astype(str).value_counts()
    if len(counts) < 2:
        found = list(counts.index)
        raise GoldenCarveError(f"need at least two labels to carve a golden set; got {found}")
    small = counts[counts < 2 * min_per_class]
    if len(small):
        raise GoldenCarveError(
            f"classes {dict(small)} have fewer than {2 * min_per_class} labelled rows: land more "
            "labelled data, or supply a golden set (dataset.golden_path)"
        )
    want = (counts * fraction).round().clip(lower=min_per_class).clip(upper=counts // 2)
    if want.sum() > max_rows:
        want = (want * max_rows / want.sum()).round().clip(lower=min_per_class).astype(int)
    domain = frame[DOMAIN] if DOMAIN in frame.columns else pd.Series("", index=frame.index)
    frame = frame.assign(
        _rank=_rank(frame[ROW_ID].astype(str), salt), _domain=domain.fillna("").astype(str)
    )
    picked = []
    for label, n in want.items():
        rows = frame[frame[LABEL].astype(str) == label]
        shares = rows["_domain"].value_counts(normalize=True)
        quota = (shares * n).round().astype(int)
        quota.iloc[0] += int(n) - int(quota.sum())  # rounding remainder to the largest domain
        for dom, k in quota.items():
            cell = rows[rows["_domain"] == dom].sort_values("_rank", kind="stable")
            picked.append(cell.head(max(int(k), 0)))
    golden = pd.concat(picked).drop(columns=["_rank", "_domain"])
    keep = [c for c in golden.columns if c not in {"split", "batch"}]
    return golden[keep].sort_values(ROW_ID, kind="stable").reset_index(drop=True)


def golden_sha256(golden: pd.DataFrame) -> str:
    """Content hash over (row id, label, text), order-independent."""
    return rows_sha256(golden, [ROW_ID, LABEL, TEXT])
