"""The training-snapshot contract (data/snapshot.py: check_snapshot, label_set).

Pure pandas on small frames cut from the real data (VADER movie snippets); touches nothing
else.
"""

import pandas as pd
import pytest

from data.snapshot import SnapshotError, check_snapshot, label_set
from tests.models.snapshots import make_snapshot


@pytest.fixture(scope="module")
def fast_snapshot(vader_df: pd.DataFrame) -> pd.DataFrame:
    movies = vader_df[vader_df["domain"] == "movies"]
    return make_snapshot(movies, {"train": 1600, "val": 400, "test": 200})


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
