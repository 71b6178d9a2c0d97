"""The seeded percentile bootstrap of evaluation.stats.bootstrap: interval coverage and p-values.

Coverage is checked on synthetic draws whose true value is known (seeded, 200 replications
each): a 95% interval must cover the truth in roughly 95% of replications. Pure numpy.
"""

import numpy as np
import pytest

from evaluation.stats import metrics as M
from evaluation.stats.bootstrap import (
    bootstrap_samples,
    one_sided_p_value,
    percentile_interval,
)

REPS = 200
# Binomial spread of a 95% coverage estimate over 200 replications is ~1.5 points; the
# percentile bootstrap is known to under-cover slightly at these sizes.
COVERAGE_RANGE = (0.90, 0.985)


def _coverage(draw, statistic, truth: float, n: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for rep in range(REPS):
        data = draw(rng, n)
        point = float(statistic(data, None))
        samples = bootstrap_samples(
            lambda idx, data=data: statistic(data, idx), n, n_resamples=1000, seed=rep
        )
        hits += percentile_interval(point, samples, 0.95, n).contains(truth)
    return hits / REPS


def test_accuracy_interval_covers_true_accuracy() -> None:
    def draw(rng, n):
        return (rng.random(n) < 0.7).astype(float)

    def stat(correct, idx):
        return correct.mean() if idx is None else correct[idx].mean(axis=1)

    cov = _coverage(draw, stat, 0.7, 300, seed=1)
    assert COVERAGE_RANGE[0] <= cov <= COVERAGE_RANGE[1], cov


def test_paired_difference_interval_covers_true_difference() -> None:
    # Champion right w.p. 0.70; challenger right w.p. 0.75, correlated with the champion.
    # P(both)=0.60, P(champ only)=0.10, P(chall only)=0.15, P(neither)=0.15 -> diff 0.05.
    cells = np.array([[1, 1], [1, 0], [0, 1], [0, 0]], dtype=float)

    def draw(rng, n):
        return cells[rng.choice(4, size=n, p=[0.60, 0.10, 0.15, 0.15])]

    def stat(pairs, idx):
        d = pairs[:, 1] - pairs[:, 0]
        return d.mean() if idx is None else d[idx].mean(axis=1)

    cov = _coverage(draw, stat, 0.05, 400, seed=2)
    assert COVERAGE_RANGE[0] <= cov <= COVERAGE_RANGE[1], cov


def test_macro_f1_interval_covers_population_macro_f1() -> None:
    # Joint P(true, pred) for 2 classes; population F1_c = 2p_cc / (2p_cc + FP_c + FN_c).
    joint = np.array([[0.40, 0.10], [0.15, 0.35]])
    f1 = [
        2
        * joint[c, c]
        / (2 * joint[c, c] + joint[:, c].sum() + joint[c, :].sum() - 2 * joint[c, c])
        for c in range(2)
    ]
    truth = float(np.mean(f1))

    def draw(rng, n):
        cell = rng.choice(4, size=n, p=joint.ravel())
        return np.column_stack([cell // 2, cell % 2])

    def stat(rows, idx):
        return M.macro_f1(M.batched_confusion(rows[:, 0], rows[:, 1], 2, idx))

    cov = _coverage(draw, stat, truth, 400, seed=3)
    assert COVERAGE_RANGE[0] <= cov <= COVERAGE_RANGE[1], cov


def test_same_seed_same_resamples_different_seed_different() -> None:
    values = np.random.default_rng(0).random(50)

    def stat(idx):
        return values[idx].mean(axis=1)

    a = bootstrap_samples(stat, 50, n_resamples=300, seed=7)
    b = bootstrap_samples(stat, 50, n_resamples=300, seed=7)
    c = bootstrap_samples(stat, 50, n_resamples=300, seed=8)
    assert a.shape == (300,)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_large_samples_are_chunked_to_the_requested_count() -> None:
    n = 50_000  # 1000 × 50k indices would be 400 MB at once
    values = np.random.default_rng(0).random(n)
    samples = bootstrap_samples(lambda idx: values[idx].mean(axis=1), n, n_resamples=1000)
    assert samples.shape == (1000,)
    assert abs(samples.mean() - values.mean()) < 0.002


def test_one_sided_p_value_agrees_with_the_percentile_bound() -> None:
    samples = np.random.default_rng(5).normal(0.03, 0.02, 4000)
    lower_95 = np.quantile(samples, 0.05)  # one-sided 95% lower bound
    # Bound below the lower bound: H0 (theta <= bound) rejected at 5%; above: not rejected.
    assert one_sided_p_value(samples, lower_95 - 0.002) < 0.05
    assert one_sided_p_value(samples, lower_95 + 0.002) > 0.05
    upper_95 = np.quantile(samples, 0.95)
    assert one_sided_p_value(samples, upper_95 + 0.002, alternative="less") < 0.05
    assert one_sided_p_value(samples, upper_95 - 0.002, alternative="less") > 0.05
    with pytest.raises(ValueError):
        one_sided_p_value(samples, 0.0, alternative="two-sided")  # type: ignore[arg-type]


def test_empty_sample_is_refused() -> None:
    with pytest.raises(ValueError):
        bootstrap_samples(lambda idx: idx.mean(axis=1), 0)
