"""evaluation/rollout/sequential.py: savvi's multinomial e-values as our canary tests.

The headline property: under "no difference" the probability that the test *ever* rejects,
looked at after every single event, stays below alpha; a fixed-n test looked at as often
does not. Simulated with the closed form the savvi computation reduces to (checked equal)."""

import math

import numpy as np
import pytest
from scipy.special import loggamma, xlogy
from scipy.stats import norm

from evaluation.rollout.sequential import (
    CONCENTRATION,
    carry_forward,
    count_test,
    log_e_value,
    rate_test,
)


def _closed_form(c0: np.ndarray, c1: np.ndarray, share: float) -> np.ndarray:
    a = CONCENTRATION * np.array([1 - share, share])

    def logbeta(x0, x1):  # type: ignore[no-untyped-def]
        return loggamma(x0) + loggamma(x1) - loggamma(x0 + x1)

    return (
        logbeta(a[0] + c0, a[1] + c1)
        - logbeta(a[0], a[1])
        - xlogy(c0, 1 - share)
        - xlogy(c1, share)
    )


@pytest.mark.parametrize("counts,share", [((90, 10), 0.05), ((3, 7), 0.5), ((0, 4), 0.25)])
def test_savvi_e_value_matches_the_dirichlet_mixture(counts, share):
    """log_e_value (through savvi.Multinomial) equals the Beta-Binomial mixture formula."""
    expected = _closed_form(np.array(counts[0]), np.array(counts[1]), share)
    assert log_e_value(counts, share) == pytest.approx(float(expected), rel=1e-9, abs=1e-9)


def _false_alarm(share: float, true_share: float, runs: int = 1500, n: int = 2000, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((runs, n)) < true_share
    c1 = np.cumsum(x, axis=1)
    c0 = np.arange(1, n + 1) - c1
    alpha = 0.05
    sequential = (_closed_form(c0, c1, share) >= math.log(1 / alpha)).any(axis=1)
    worse = (c1 / (c0 + c1)) > share
    one_sided = ((_closed_form(c0, c1, share) >= math.log(1 / alpha)) & worse).any(axis=1)
    looks = np.arange(19, n, 20)  # a fixed-n z test, looked at every 20 events
    nn = looks + 1
    z = (c1[:, looks] - nn * share) / np.sqrt(nn * share * (1 - share))
    fixed = (np.abs(z) > norm.ppf(1 - alpha / 2)).any(axis=1)
    return sequential.mean(), one_sided.mean(), fixed.mean()


def test_false_alarms_stay_below_alpha_under_continuous_monitoring():
    """2000 looks per run, 1500 runs, no difference: sequential <= alpha; fixed-n >> alpha."""
    sequential, _, fixed = _false_alarm(share=0.05, true_share=0.05)
    bound = 0.05 + 3 * math.sqrt(0.05 * 0.95 / 1500)
    assert sequential <= bound
    assert fixed > 3 * 0.05  # the peeking problem the sequential test exists to avoid


def test_one_sided_use_is_valid_below_the_bar():
    """A rate *below* the bar (0.2 vs 0.3) is called 'worse' less often than alpha."""
    _, one_sided, _ = _false_alarm(share=0.3, true_share=0.2, runs=600)
    assert one_sided <= 0.05


def test_a_clear_regression_is_found():
    """Errors land on a 5% challenger 4x as often as its share: rejected, challenger worse."""
    test = count_test("errors", (400, 70), 0.05, alpha=0.01)
    assert test.rejected and test.challenger_worse
    better = count_test("errors", (470, 2), 0.05, alpha=0.01)
    assert not better.challenger_worse


def test_rate_test_and_carry_forward():
    """Rate above the bar rejects; a stage showing the challenger better carries at most 1."""
    assert rate_test("err", 30, 200, 0.05, alpha=0.01).challenger_worse
    assert not rate_test("err", 5, 200, 0.05, alpha=0.01).rejected
    better = count_test("slow", (200, 0), 0.25, alpha=0.01)
    assert better.log_e > 0 and carry_forward(better) == 0.0
    worse = count_test("slow", (100, 60), 0.25, alpha=0.01)
    assert carry_forward(worse) == pytest.approx(worse.log_e)
    with pytest.raises(ValueError):
        log_e_value((1, 1), 1.0)
    with pytest.raises(ValueError):
        rate_test("err", 5, 3, 0.1, 0.05)
