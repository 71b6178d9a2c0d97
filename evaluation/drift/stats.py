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
