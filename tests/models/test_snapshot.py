"""The training-snapshot contract checks and derived facts (models/snapshot.py).

Pure pandas/numpy on small frames cut from the real data; touches nothing else.
"""

import numpy as np
import pandas as pd
import pytest

from models.snapshot import (
    SnapshotError,
    balanced_class_weights,
    check_snapshot,
    frame_fingerprint,
    label_set,
)


def test_a_valid_snapshot_passes(fast_snapshot: pd.DataFrame):
    check_snapshot(fast_snapshot)
    assert label_set(fast_snapshot) == ["negative", "positive"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.drop(columns=["split"]), "lacks columns"),
        (lambda f: f.assign(split=f["split"].replace("test", "holdout")), "unknown split"),
        (lambda f: f[f["split"] != "val"], "no 'val' rows"),
        (lambda f: f.assign(text=f["text"].where(f.index != 3)), "missing values"),
        (lambda f: f.assign(label="positive"), "at least two labels"),
    ],
)
def test_broken_snapshots_are_refused(fast_snapshot, mutate, message):
    with pytest.raises(SnapshotError, match=message):
        check_snapshot(mutate(fast_snapshot.copy()))


def test_a_label_seen_only_outside_train_is_refused(fast_snapshot):
    frame = fast_snapshot.copy()
    frame.loc[frame.index[frame["split"] == "val"][0], "label"] = "neutral"
    with pytest.raises(SnapshotError, match="neutral"):
        check_snapshot(frame)


def test_balanced_weights_equalise_class_totals():
    labels = np.array([0] * 90 + [1] * 9 + [2] * 1)
    weights = balanced_class_weights(labels, 3)
    totals = [weights[c] * int((labels == c).sum()) for c in range(3)]
    assert totals == pytest.approx([totals[0]] * 3)
    assert weights[2] > weights[1] > weights[0]


def test_fingerprint_follows_content_and_order(fast_snapshot):
    same = fast_snapshot.copy().assign(extra_metadata=1)  # extra columns do not count
    assert frame_fingerprint(same) == frame_fingerprint(fast_snapshot)
    assert frame_fingerprint(fast_snapshot.iloc[::-1]) != frame_fingerprint(fast_snapshot)
    relabelled = fast_snapshot.copy()
    relabelled.loc[relabelled.index[0], "label"] = (
        "positive" if relabelled["label"].iloc[0] == "negative" else "negative"
    )
    assert frame_fingerprint(relabelled) != frame_fingerprint(fast_snapshot)
