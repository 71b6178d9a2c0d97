"""Helpers that cut training snapshots out of the real data for the tests."""

import numpy as np
import pandas as pd

from data.schema import row_id


def make_snapshot(
    frame: pd.DataFrame, sizes: dict[str, int], seed: int = 0, label_col: str = "label"
) -> pd.DataFrame:
    """A training snapshot (row_id, text, label, domain, split) sampled from `frame`,
    stratified by label, with `sizes[split]` rows per split and no duplicate row ids."""
    frame = frame.assign(row_id=frame["text"].map(row_id)).drop_duplicates("row_id")
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    total = sum(sizes.values())
    share = frame[label_col].value_counts(normalize=True)
    picked = pd.concat(
        [
            frame[frame[label_col] == label].head(max(2, round(total * p)))
            for label, p in share.items()
        ]
    ).sample(frac=1.0, random_state=seed + 1)
    splits = np.repeat(list(sizes), list(sizes.values()))[: len(picked)]
    picked = picked.head(len(splits)).assign(split=splits)
    out = picked[["row_id", "text", label_col, "domain", "split"]]
    return out.rename(columns={label_col: "label"}).reset_index(drop=True)
