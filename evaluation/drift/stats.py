"""Null distributions behind the drift signals, so every signal yields a p-value.

A domain classifier (Evidently's text and embedding drift methods) is trained on one half of
reference+current and scored by ROC AUC on the other half. Under "no drift" the two samples
are exchangeable, so the classifier's scores on the held-out half are independent of the
held-out labels and its AUC is distributed as a Mann-Whitney U / (n1 n2) with mean 1/2 and
variance (n1 + n2 + 1) / (12 n1 n2) (ties only shrink the variance, making the test
conservative). That gives a p-value, and for a fixed significance level a critical AUC that we
hand to Evidently as the method's threshold, so Evidently's flag and ours agree. A fixed AUC
threshold (Evidently's default 0.55 above 1,000 rows) would instead make the false-positive
rate depend on n.
"""

import math

from scipy.stats import norm


def _auc_null_sd(n_test: int) -> float:
    """Null standard deviation of a held-out AUC with `n_test` rows split evenly by class."""
    if n_test < 4:
        raise ValueError(f"need at least 4 held-out rows for an AUC, got {n_test}")
    n1 = n2 = n_test / 2
    return math.sqrt((n1 + n2 + 1) / (12 * n1 * n2))


def auc_p_value(auc: float, n_test: int) -> float:
    """One-sided p-value of a held-out domain-classifier AUC (large AUC = separable = drift).

    Args:
        auc: ROC AUC on the held-out half.
        n_test: rows in the held-out half (Evidently holds out half of 2n pooled rows: n).
    """
    return float(norm.sf((auc - 0.5) / _auc_null_sd(n_test)))


def auc_critical_value(alpha: float, n_test: int) -> float:
    """The AUC above which `auc_p_value` < alpha."""
    return 0.5 + float(norm.isf(alpha)) * _auc_null_sd(n_test)


def bonferroni(p_values: list[float]) -> float:
    """Family p-value of several tests inside one signal: min(1, m * min p)."""
    if not p_values:
        raise ValueError("no p-values to combine")
    return min(1.0, len(p_values) * min(p_values))


def auc_interval(auc: float, n_test: int, level: float = 0.95) -> tuple[float, float]:
    """Interval of a held-out AUC (Hanley & McNeil 1982 standard error, classes n/2 each)."""
    n1 = n2 = n_test / 2
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n1 - 1) * (q1 - auc**2) + (n2 - 1) * (q2 - auc**2)) / (n1 * n2)
    half = float(norm.isf((1 - level) / 2)) * math.sqrt(max(var, 0.0))
    return max(0.0, auc - half), min(1.0, auc + half)


def ks_interval(ks: float, n_ref: int, n_cur: int, level: float = 0.95) -> tuple[float, float]:
    """Interval of a two-sample KS statistic.

    Each side's empirical CDF is within the Dvoretzky-Kiefer-Wolfowitz band of its truth
    (at level (1+level)/2 each, Massart's constant), so the statistic moves by at most the
    two bands together; conservative.
    """
    eps = math.sqrt(math.log(2 / ((1 - level) / 2)) / 2)
    half = eps * (1 / math.sqrt(n_ref) + 1 / math.sqrt(n_cur))
    return max(0.0, ks - half), min(1.0, ks + half)


def tvd_interval(
    tvd: float, n_ref: int, n_cur: int, classes: int, level: float = 0.95
) -> tuple[float, float]:
    """Interval of the total-variation distance between two class mixes.

    Weissman et al. (2003): an empirical distribution over `classes` values is within
    L1 distance sqrt(2 (K ln 2 + ln(1/delta)) / n) of its truth with probability 1 - delta;
    TV is half of L1, and the two sides' errors add (each at delta = (1-level)/2).
    """
    delta = (1 - level) / 2

    def side(n: int) -> float:
        return 0.5 * math.sqrt(2 * (classes * math.log(2) + math.log(1 / delta)) / n)

    half = side(n_ref) + side(n_cur)
    return max(0.0, tvd - half), min(1.0, tvd + half)
