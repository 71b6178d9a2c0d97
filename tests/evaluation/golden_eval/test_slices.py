"""Slice construction of evaluation.golden_eval.slices on small hand-made tables (pure pandas)."""

import pandas as pd
import pytest
from pydantic import ValidationError

from evaluation.golden_eval.slices import SliceConfig, build_slices, length_bucket


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row_id": ["a", "b", "c", "d", "e"],
            "text": ["x" * 10, "y" * 64, "z" * 65, "w" * 128, "v" * 129],
            "label": ["pos", "neg", "pos", "neu", "pos"],
            "domain": ["web", "web", "mail", None, "mail"],
            "channel": ["app", "app", "api", "api", "app"],
        }
    )


def test_length_buckets_include_their_upper_edge() -> None:
    buckets = length_bucket(_table()["text"], [64, 128])
    assert buckets.tolist() == ["<=64", "<=64", "65-128", "65-128", ">128"]


def test_all_families_in_order_with_exact_masks() -> None:
    slices = build_slices(_table(), SliceConfig(metadata_columns=["channel"]))
    names = [s.name for s in slices]
    assert names == [
        "all",
        "domain=mail",
        "domain=web",
        "domain=<missing>",
        "class=neg",
        "class=neu",
        "class=pos",
        "length=<=64",
        "length=65-128",
        "length=>128",
        "meta:channel=api",
        "meta:channel=app",
    ]
    by_name = {s.name: s for s in slices}
    assert by_name["all"].size == 5
    assert by_name["domain=<missing>"].mask.tolist() == [False, False, False, True, False]
    assert by_name["class=pos"].mask.tolist() == [True, False, True, False, True]
    assert by_name["meta:channel=api"].size == 2


def test_families_can_be_switched_off() -> None:
    config = SliceConfig(by_domain=False, by_class=False, length_edges=[])
    assert [s.name for s in build_slices(_table(), config)] == ["all"]


def test_unknown_metadata_column_and_high_cardinality_are_refused() -> None:
    with pytest.raises(KeyError):
        build_slices(_table(), SliceConfig(metadata_columns=["nope"]))
    with pytest.raises(ValueError, match="distinct values"):
        build_slices(_table(), SliceConfig(metadata_columns=["row_id"], max_levels=3))


def test_length_edges_must_increase() -> None:
    with pytest.raises(ValidationError):
        SliceConfig(length_edges=[128, 64])
