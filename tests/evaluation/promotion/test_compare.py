"""Paired champion-vs-challenger statistics (evaluation.promotion.compare) on synthetic,
seeded data.

The synthetic setup knows the truth: per-row correctness is drawn with known rates per slice,
so we can say which slice *is* worse. McNemar is checked against hand-computed values.
Pure numpy/statsmodels; real-data gate scenarios live in test_policy.py.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from evaluation.golden_eval.slices import SliceConfig, build_slices
from evaluation.promotion.compare import compare_paired, mcnemar_test
from evaluation.stats.predictions import Predictions

GROUP_SIZE = 200
GROUPS = 8


def _labels_from_correctness(y: np.ndarray, correct: np.ndarray) -> list[str]:
    other = np.where(y == "a", "b", "a")
    return np.where(correct, y, other).tolist()


def _predictions(labels: list[str], model_id: str) -> Predictions:
    probs = np.array([[0.8, 0.2] if lab == "a" else [0.2, 0.8] for lab in labels])
    return Predictions(model_id, ("a", "b"), probs, tuple(labels))


def _scenario(bad_group: int | None, seed: int = 0):
    """Champion right 70% everywhere; challenger 82% except 40% in `bad_group`."""
    rng = np.random.default_rng(seed)
    n = GROUP_SIZE * GROUPS
    group = np.repeat([f"g{i}" for i in range(GROUPS)], GROUP_SIZE)
    y = rng.choice(["a", "b"], size=n)
    champ_ok = rng.random(n) < 0.70
    rate = np.where(group == f"g{bad_group}", 0.40, 0.82)
    chall_ok = rng.random(n) < rate
    frame = pd.DataFrame({"text": ["t"] * n, "label": y, "group": group})
    config = SliceConfig(
        by_domain=False, by_class=False, length_edges=[], metadata_columns=["group"]
    )
    slices = build_slices(frame, config)
    champion = _predictions(_labels_from_correctness(y, champ_ok), "champion")
    challenger = _predictions(_labels_from_correctness(y, chall_ok), "challenger")
    return y.tolist(), champion, challenger, slices


def test_mcnemar_by_hand_chi2_with_continuity_correction() -> None:
    # 10 rows only the champion got right, 25 only the challenger, 50 both, 15 neither.
    champ = np.array([1] * 10 + [0] * 25 + [1] * 50 + [0] * 15, dtype=bool)
    chall = np.array([0] * 10 + [1] * 25 + [1] * 50 + [0] * 15, dtype=bool)
    res = mcnemar_test(champ, chall)
    assert (res.champion_only, res.challenger_only, res.exact) == (10, 25, False)
    assert res.statistic == pytest.approx((abs(10 - 25) - 1) ** 2 / 35)
    assert res.p_value == pytest.approx(chi2.sf(196 / 35, 1))


def test_mcnemar_exact_for_few_discordant_pairs() -> None:
    champ = np.array([1] * 3 + [0] * 12 + [1] * 20, dtype=bool)
    chall = np.array([0] * 3 + [1] * 12 + [1] * 20, dtype=bool)
    res = mcnemar_test(champ, chall)
    assert res.exact
    # Two-sided binomial: 2 * P(X <= 3 | n=15, p=.5) = 2 * 576 / 32768.
    assert res.p_value == pytest.approx(2 * 576 / 32768)


def test_harm_test_flags_only_the_worse_slice_while_overall_passes() -> None:
    y, champion, challenger, slices = _scenario(bad_group=7)
    cmp = compare_paired(y, champion, challenger, slices, margin=0.02, slice_margin=0.05)
    assert cmp.overall.passed  # +~6.7 points overall: non-inferior
    assert cmp.macro_f1_difference.low > 0
    failed = [s.name for s in cmp.slices if s.passed is False]
    assert failed == ["meta:group=g7"]
    bad = cmp.slice("meta:group=g7")
    assert bad.difference.high < -0.05 and bad.p_adjusted < 0.05


def test_no_bad_slice_no_block_and_strict_mode_needs_proof() -> None:
    y, champion, challenger, slices = _scenario(bad_group=None, seed=1)
    harm = compare_paired(y, champion, challenger, slices, margin=0.02, slice_margin=0.05)
    assert all(s.passed for s in harm.slices)
    strict = compare_paired(
        y,
        champion,
        challenger,
        slices,
        margin=0.02,
        slice_margin=0.05,
        slice_test="non_inferiority",
    )
    # +12 points per 200-row slice is enough to *prove* non-inferiority after Holm.
    assert all(s.passed for s in strict.slices)
    # A challenger exactly as good (70%, independent errors) cannot prove non-inferiority
    # within 1 point on 200 rows per slice...
    rng = np.random.default_rng(2)
    equal = _predictions(_labels_from_correctness(np.asarray(y), rng.random(len(y)) < 0.70), "eq")
    eq = compare_paired(
        y, champion, equal, slices, margin=0.02, slice_margin=0.01, slice_test="non_inferiority"
    )
    assert not any(s.passed for s in eq.slices)
    # ...but the harm test does not block it either.
    eq_harm = compare_paired(y, champion, equal, slices, margin=0.02, slice_margin=0.01)
    assert all(s.passed for s in eq_harm.slices)
    # Identical predictions: zero difference in every resample, non-inferior at any margin.
    same = compare_paired(
        y, champion, champion, slices, margin=0.02, slice_margin=0.01, slice_test="non_inferiority"
    )
    assert all(s.difference.point == 0 and s.passed for s in same.slices)
    assert same.mcnemar.p_value == 1.0


def test_holm_adjustment_and_small_slices() -> None:
    y, champion, challenger, slices = _scenario(bad_group=7)
    cmp = compare_paired(
        y,
        champion,
        challenger,
        slices,
        margin=0.02,
        slice_margin=0.05,
        min_slice_size=GROUP_SIZE + 1,
    )
    assert all(not s.tested and s.passed is None for s in cmp.slices)
    cmp = compare_paired(y, champion, challenger, slices, margin=0.02, slice_margin=0.05)
    raw = np.array([s.p_value for s in cmp.slices])
    adj = np.array([s.p_adjusted for s in cmp.slices])
    assert (adj >= raw - 1e-12).all()
    assert adj.min() == pytest.approx(min(1.0, GROUPS * raw.min()))  # Holm's first step
    bh = compare_paired(
        y, champion, challenger, slices, margin=0.02, slice_margin=0.05, correction="fdr_bh"
    )
    assert all(
        b.p_adjusted <= h.p_adjusted + 1e-12 for b, h in zip(bh.slices, cmp.slices, strict=True)
    )


def test_misaligned_predictions_are_refused() -> None:
    a = Predictions.from_probs(
        np.array([[0.9, 0.1], [0.2, 0.8]]), ["a", "b"], model_id="a", row_ids=["r1", "r2"]
    )
    b = Predictions.from_probs(
        np.array([[0.9, 0.1], [0.2, 0.8]]), ["a", "b"], model_id="b", row_ids=["r2", "r1"]
    )
    frame = pd.DataFrame({"text": ["x", "y"], "label": ["a", "b"]})
    with pytest.raises(ValueError, match="row-aligned"):
        compare_paired(
            ["a", "b"], a, b, build_slices(frame, SliceConfig()), margin=0.02, slice_margin=0.05
        )
