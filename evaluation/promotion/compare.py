"""Champion vs challenger on the same golden rows: paired statistics.

- Macro-F1 difference (challenger − champion) with a *paired* bootstrap interval: both
  models are scored on the same resampled rows, so row difficulty cancels out.
- McNemar's test on per-row correctness (statsmodels; exact binomial when the discordant
  count is small).
- Overall accuracy non-inferiority: H0 "challenger worse by at least the margin"
  (diff ≤ −margin) must be rejected; the burden of proof is on the challenger.
- Per-slice accuracy tests with a multiple-comparison correction across slices (Holm by
  default, or Benjamini-Hochberg). Two choices of test:
  * `harm` (default): a slice fails when the challenger is shown to be worse by more than
    the slice margin (H0 diff ≥ −margin rejected). Golden slices hold a few hundred rows;
    proving non-inferiority within a few points in *every* slice needs far more rows than
    that, so the strict test would block nearly every candidate. The harm test still blocks
    a clear regression inside one slice, and the correction keeps the false-block rate at
    alpha however many slices are tested.
  * `non_inferiority`: every slice must itself prove non-inferiority (large golden sets).
Slices below the minimum size are reported but not tested. Slice p-values come from the same
paired percentile bootstrap as the intervals (`bootstrap.one_sided_p_value`).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from evaluation.golden_eval.slices import ALL, Slice
from evaluation.stats import metrics as M
from evaluation.stats.bootstrap import (
    Interval,
    bootstrap_samples,
    one_sided_p_value,
    percentile_interval,
)
from evaluation.stats.predictions import Predictions

Correction = Literal["holm", "fdr_bh"]
SliceTest = Literal["harm", "non_inferiority"]
# Below this many discordant pairs the chi² approximation is poor: use the exact test.
_EXACT_BELOW = 25


@dataclass(frozen=True)
class McNemarResult:
    """Discordant counts and the test. `challenger_only` rows only the challenger got right."""

    champion_only: int
    challenger_only: int
    statistic: float
    p_value: float
    exact: bool


@dataclass(frozen=True)
class SliceComparison:
    """Accuracy of challenger vs champion in one slice, with its test.

    `passed` is None for an untested (small) slice; otherwise True when the slice shows
    non-inferiority (`test="non_inferiority"`) or shows no harm beyond the margin
    (`test="harm"`), at the corrected level.
    """

    name: str
    n: int
    champion_accuracy: float
    challenger_accuracy: float
    difference: Interval
    margin: float
    test: SliceTest
    tested: bool
    p_value: float | None
    p_adjusted: float | None
    passed: bool | None


@dataclass(frozen=True)
class PairedComparison:
    """All paired evidence of challenger vs champion."""

    champion_id: str
    challenger_id: str
    n: int
    macro_f1_difference: Interval
    overall: SliceComparison
    mcnemar: McNemarResult
    slices: list[SliceComparison]
    alpha: float
    correction: Correction
    min_slice_size: int

    def slice(self, name: str) -> SliceComparison:
        for item in [self.overall, *self.slices]:
            if item.name == name:
                return item
        raise KeyError(name)


def _row_mean(values: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    def stat(idx: np.ndarray) -> np.ndarray:
        return values[idx].mean(axis=1)

    return stat


def mcnemar_test(champion_correct: np.ndarray, challenger_correct: np.ndarray) -> McNemarResult:
    """McNemar's test of equal accuracy on paired per-row correctness."""
    a = np.asarray(champion_correct, dtype=bool)
    b = np.asarray(challenger_correct, dtype=bool)
    table = np.array([[np.sum(a & b), np.sum(a & ~b)], [np.sum(~a & b), np.sum(~a & ~b)]])
    discordant = int(table[0, 1] + table[1, 0])
    exact = discordant < _EXACT_BELOW
    if discordant == 0:
        # Identical correctness: no evidence of any difference.
        return McNemarResult(0, 0, 0.0, 1.0, exact)
    res = mcnemar(table, exact=exact, correction=True)
    return McNemarResult(
        int(table[0, 1]), int(table[1, 0]), float(res.statistic), float(res.pvalue), exact
    )


def _slice_comparison(
    name: str,
    ok_a: np.ndarray,
    ok_b: np.ndarray,
    *,
    margin: float,
    test: SliceTest,
    tested: bool,
    n_resamples: int,
    confidence_level: float,
    seed: int,
) -> SliceComparison:
    d = ok_b.astype(np.float64) - ok_a.astype(np.float64)
    samples = bootstrap_samples(_row_mean(d), d.size, n_resamples=n_resamples, seed=seed)
    p_value = None
    if tested:
        if test == "non_inferiority":  # H0: diff ≤ −margin
            p_value = one_sided_p_value(samples, -margin, alternative="greater")
        else:  # H0: diff ≥ −margin; rejecting it = shown harm
            p_value = one_sided_p_value(samples, -margin, alternative="less")
    return SliceComparison(
        name=name,
        n=int(d.size),
        champion_accuracy=float(ok_a.mean()),
        challenger_accuracy=float(ok_b.mean()),
        difference=percentile_interval(float(d.mean()), samples, confidence_level, d.size),
        margin=margin,
        test=test,
        tested=tested,
        p_value=p_value,
        p_adjusted=None,
        passed=None,
    )


def _decided(row: SliceComparison, p_adjusted: float, alpha: float) -> SliceComparison:
    reject = p_adjusted < alpha
    passed = reject if row.test == "non_inferiority" else not reject
    return replace(row, p_adjusted=p_adjusted, passed=passed)


def compare_paired(
    y_true: Sequence[str],
    champion: Predictions,
    challenger: Predictions,
    slices: Sequence[Slice],
    *,
    margin: float,
    slice_margin: float,
    slice_margins: dict[str, float] | None = None,
    slice_test: SliceTest = "harm",
    alpha: float = 0.05,
    correction: Correction = "holm",
    min_slice_size: int = 30,
    n_resamples: int = 2000,
    confidence_level: float = 0.95,
    seed: int = 0,
) -> PairedComparison:
    """Paired comparison of two models' predictions on the same labelled rows.

    Args:
        y_true: True labels, row-aligned with both predictions and the slice masks.
        champion: The current model's predictions.
        challenger: The candidate's predictions.
        slices: Slices from `evaluation.golden_eval.slices.build_slices` on the same rows
            ('all' first).
        margin: Overall accuracy non-inferiority margin (absolute, 0.02 = 2 points).
        slice_margin: Accuracy margin of the per-slice tests.
        slice_margins: Per-slice overrides of `slice_margin`, keyed by slice name.
        slice_test: "harm" or "non_inferiority" (see module docstring).
        alpha: Level of the overall test, and family-wise (Holm) or false-discovery (BH)
            level across the slice tests.
        correction: "holm" or "fdr_bh" (statsmodels names).
        min_slice_size: Slices smaller than this are not tested.
        n_resamples: Bootstrap resamples; enough that p-values resolve below alpha / #slices.
        confidence_level: Level of the reported two-sided intervals.
        seed: Bootstrap seed (shared by both models: that is the pairing).
    """
    both_ids = champion.row_ids is not None and challenger.row_ids is not None
    if both_ids and champion.row_ids != challenger.row_ids:
        raise ValueError("champion and challenger predictions are not row-aligned")
    n = len(y_true)
    if len(champion) != n or len(challenger) != n:
        raise ValueError("labels and predictions differ in length")
    if not slices or slices[0].name != ALL:
        raise ValueError("slices must start with 'all'")
    classes = sorted(set(champion.classes) | set(challenger.classes) | set(y_true))
    lookup = {c: i for i, c in enumerate(classes)}
    k = len(classes)
    t = np.array([lookup[c] for c in y_true])
    p_a = np.array([lookup[c] for c in champion.labels])
    p_b = np.array([lookup[c] for c in challenger.labels])
    ok_a, ok_b = p_a == t, p_b == t

    def f1_diff(idx: np.ndarray | None) -> np.ndarray:
        return M.macro_f1(M.batched_confusion(t, p_b, k, idx)) - M.macro_f1(
            M.batched_confusion(t, p_a, k, idx)
        )

    f1_ci = percentile_interval(
        float(f1_diff(None)),
        bootstrap_samples(f1_diff, n, n_resamples=n_resamples, seed=seed),
        confidence_level,
        n,
    )
    overall = _slice_comparison(
        ALL,
        ok_a,
        ok_b,
        margin=margin,
        test="non_inferiority",
        tested=True,
        n_resamples=n_resamples,
        confidence_level=confidence_level,
        seed=seed,
    )
    overall = _decided(overall, float(overall.p_value or 1.0), alpha)
    margins = slice_margins or {}
    rows = [
        _slice_comparison(
            sl.name,
            ok_a[sl.mask],
            ok_b[sl.mask],
            margin=margins.get(sl.name, slice_margin),
            test=slice_test,
            tested=sl.size >= min_slice_size,
            n_resamples=n_resamples,
            confidence_level=confidence_level,
            seed=seed,
        )
        for sl in slices[1:]
        if sl.size > 0
    ]
    return PairedComparison(
        champion_id=champion.model_id,
        challenger_id=challenger.model_id,
        n=n,
        macro_f1_difference=f1_ci,
        overall=overall,
        mcnemar=mcnemar_test(ok_a, ok_b),
        slices=_adjust(rows, alpha, correction),
        alpha=alpha,
        correction=correction,
        min_slice_size=min_slice_size,
    )


def _adjust(
    rows: list[SliceComparison], alpha: float, correction: Correction
) -> list[SliceComparison]:
    tested = [i for i, r in enumerate(rows) if r.tested]
    if not tested:
        return rows
    pvals = np.array([rows[i].p_value for i in tested], dtype=np.float64)
    _, adjusted, _, _ = multipletests(pvals, alpha=alpha, method=correction)
    out = list(rows)
    for j, i in enumerate(tested):
        out[i] = _decided(rows[i], float(adjusted[j]), alpha)
    return out
