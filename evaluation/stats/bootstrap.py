"""Seeded percentile bootstrap over rows, vectorised through resample-index matrices.

Why our own and not `scipy.stats.bootstrap`: the statistics we need (macro-F1, ECE,
per-class recall, paired differences of two models on the *same* resample) are computed for
all resamples at once from index matrices (see `evaluation.stats.metrics`), which is ~100× faster
than scipy calling a Python statistic per resample, and lets paired statistics share indices
by construction. The percentile interval is what scipy's `method="percentile"` gives.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

# Index matrices are chunked so memory stays bounded on large traffic samples
# (B × n int64 entries per chunk).
_MAX_CHUNK_ENTRIES = 4_000_000


@dataclass(frozen=True)
class Interval:
    """A point estimate with its two-sided bootstrap interval."""

    point: float
    low: float
    high: float
    confidence: float
    n: int
    method: str = "percentile bootstrap"

    def contains(self, value: float) -> bool:
        return bool(self.low <= value <= self.high)

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def bootstrap_samples(
    statistic: Callable[[np.ndarray], np.ndarray],
    n: int,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """Bootstrap distribution of `statistic` over `n` rows resampled with replacement.

    Args:
        statistic: Maps an index matrix [b, n] to the statistic of each resample, shape [b] or
            [b, m].
        n: Number of rows.
        n_resamples: Number of resamples B.
        seed: Seed of the resampling RNG; the same seed gives the same indices, which is what
            makes two statistics computed with the same seed *paired*.

    Returns:
        Array [B] or [B, m].
    """
    if n < 1:
        raise ValueError("cannot bootstrap an empty sample")
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_resamples, _MAX_CHUNK_ENTRIES // n))
    parts = []
    done = 0
    while done < n_resamples:
        size = min(chunk, n_resamples - done)
        parts.append(np.asarray(statistic(rng.integers(0, n, size=(size, n)))))
        done += size
    return np.concatenate(parts, axis=0)


def percentile_interval(point: float, samples: np.ndarray, confidence: float, n: int) -> Interval:
    """Two-sided percentile interval from a 1-D bootstrap distribution (NaNs ignored)."""
    alpha = 1.0 - confidence
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return Interval(float(point), float("nan"), float("nan"), confidence, n)
    low, high = np.quantile(finite, [alpha / 2, 1 - alpha / 2])
    return Interval(float(point), float(low), float(high), confidence, n)


def one_sided_p_value(
    samples: np.ndarray, bound: float, alternative: Literal["greater", "less"] = "greater"
) -> float:
    """Bootstrap p-value of a one-sided test of θ against `bound`.

    `alternative="greater"`: H0 θ ≤ bound vs H1 θ > bound; the p-value is the share of
    resamples at or below `bound`. `"less"` mirrors it. The +1 correction keeps it strictly
    positive. This inverts the same percentile interval we report: p < α exactly when the
    one-sided (1 − α) percentile bound excludes `bound`, so test and interval agree.
    """
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return float("nan")
    if alternative == "greater":
        against = np.count_nonzero(finite <= bound)
    elif alternative == "less":
        against = np.count_nonzero(finite >= bound)
    else:
        raise ValueError(f"alternative must be 'greater' or 'less', not {alternative!r}")
    return float((1 + against) / (finite.size + 1))
