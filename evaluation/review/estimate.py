"""Live accuracy from reviewed labels: a Horvitz-Thompson ratio estimate per model version.

Each reviewed item weighs 1 / its inclusion probability (evaluation/review/selection.py), so
the targeted strata (low confidence, disagreements: hard texts taken with certainty) count
for themselves and the uniform sample stands for the rest of the traffic. Plain accuracy of
the reviewed items would be biased low: the queue is built from the hardest texts. The
interval is the linearised (Taylor) variance of the ratio under the with-replacement
approximation, normal quantiles, clipped to [0, 1].
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm


@dataclass(frozen=True)
class WeightedAccuracy:
    model_version: str
    estimate: float
    low: float
    high: float
    reviewed: int
    unweighted: float  # plain accuracy of the reviewed items, for contrast
    effective_n: float  # Kish: (sum w)^2 / sum w^2

    def to_dict(self) -> dict:
        return vars(self).copy()


def weighted_accuracy(
    correct: np.ndarray, probability: np.ndarray, confidence: float = 0.95
) -> tuple[float, float, float, float]:
    """(estimate, low, high, effective n) of sum(w y) / sum(w), w = 1 / probability."""
    y = np.asarray(correct, dtype=float)
    p = np.asarray(probability, dtype=float)
    if len(y) == 0 or np.any(~np.isfinite(p)) or np.any(p <= 0) or np.any(p > 1):
        raise ValueError("inclusion probabilities must be in (0, 1], at least one item")
    w = 1.0 / p
    ratio = float(np.sum(w * y) / np.sum(w))
    n = len(y)
    effective = float(np.sum(w) ** 2 / np.sum(w**2))
    if n < 2:
        return ratio, 0.0, 1.0, effective
    variance = n / (n - 1) * np.sum((w * (y - ratio)) ** 2) / np.sum(w) ** 2
    half = float(norm.ppf(0.5 + confidence / 2) * np.sqrt(variance))
    return ratio, max(0.0, ratio - half), min(1.0, ratio + half), effective


def reviewed_accuracy(reviewed: pd.DataFrame, confidence: float = 0.95) -> list[WeightedAccuracy]:
    """Per served model version, from rows with `predicted_label`, `label` (the reviewer's),
    `inclusion_probability` and `model_version` (harvested batches' lineage columns)."""
    need = {"predicted_label", "label", "inclusion_probability", "model_version"}
    if reviewed.empty or not need <= set(reviewed.columns):
        return []
    rows = reviewed.dropna(subset=list(need))
    out = []
    for version, group in rows.groupby(rows["model_version"].astype(str), sort=True):
        correct = (group["predicted_label"].astype(str) == group["label"].astype(str)).to_numpy()
        estimate, low, high, effective = weighted_accuracy(
            correct, group["inclusion_probability"].astype(float).to_numpy(), confidence
        )
        out.append(
            WeightedAccuracy(
                str(version), estimate, low, high, len(group), float(correct.mean()), effective
            )
        )
    return out
