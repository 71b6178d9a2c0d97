"""evaluation/variants.py on hand-made row-aligned labels with known per-slice F1."""

import numpy as np
import pytest

from evaluation.golden_eval.slices import Slice
from evaluation.variants import REFERENCE, choose_variant, judge_variant


def _slices(n: int) -> list[Slice]:
    half = np.arange(n) < n // 2
    return [
        Slice("all", None, None, np.ones(n, bool)),
        Slice("domain=a", "domain", "a", half),
        Slice("domain=b", "domain", "b", ~half),
        Slice("tiny", "x", "y", np.arange(n) < 3),
    ]


def test_identical_predictions_are_within_policy():
    y = np.array(["p", "n"] * 50)
    j = judge_variant("onnx-int8", y, y.copy(), y, _slices(100))
    assert j.within_policy and j.worst_delta == 0.0 and j.agreement == 1.0
    assert "tiny" not in j.deltas  # 3 rows: too few to judge
    assert choose_variant([j]) == "onnx-int8"


def test_a_loss_on_one_slice_only_is_refused():
    y = np.array(["p", "n"] * 50)
    variant = y.copy()
    variant[60:70] = np.where(y[60:70] == "p", "n", "p")  # 10 flips, all in domain=b
    j = judge_variant("onnx-int8", y, variant, y, _slices(100))
    assert not j.within_policy and j.worst_slice == "domain=b"
    assert j.deltas["domain=a"] == 0.0 and j.worst_delta < -0.1
    assert choose_variant([j]) == REFERENCE
    loose = judge_variant("onnx-int8", y, variant, y, _slices(100), max_loss=0.5)
    assert loose.within_policy


def test_bad_inputs():
    y = np.array(["p", "n"] * 5)
    with pytest.raises(ValueError, match="row-aligned"):
        judge_variant("v", y, y[:-1], y, _slices(10))
    with pytest.raises(ValueError, match="no slice"):
        judge_variant("v", y, y, y, _slices(10), min_rows=50)
