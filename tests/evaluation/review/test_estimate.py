"""evaluation/review/estimate.py: live accuracy from reviewed labels, inclusion-weighted
(numbers checked by simulation against the population's true accuracy)."""

import numpy as np
import pandas as pd
import pytest

from evaluation.review.estimate import reviewed_accuracy, weighted_accuracy
from evaluation.review.policy import ReviewPolicy
from evaluation.review.selection import select_for_review


def _population(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Answers whose correctness rises with confidence (as a calibrated model's does)."""
    confidence = rng.uniform(0.5, 1.0, n)
    correct = rng.uniform(size=n) < confidence
    return pd.DataFrame(
        {
            "text": [f"t{i} {rng.integers(1e9)}" for i in range(n)],
            "label": "a",
            "truth": np.where(correct, "a", "b"),
            "confidence": confidence,
            "model_version": "1",
            "sampling_weight": 1.0,
        }
    )


def test_the_weighted_estimate_covers_the_true_accuracy_and_the_plain_one_does_not() -> None:
    rng = np.random.default_rng(7)
    policy = ReviewPolicy(daily_cap=120, disagreement=0, low_confidence=60, uniform=60)
    covered, plain_bias, weighted_bias = 0, [], []
    draws = 200
    for d in range(draws):
        population = _population(1000, rng)
        truth = (population["label"] == population["truth"]).mean()
        queue = select_for_review(population, policy, f"day-{d}")
        reviewed = queue.merge(population[["text", "truth"]], on="text").rename(
            columns={"truth": "label"}
        )
        (row,) = reviewed_accuracy(reviewed)
        covered += row.low <= truth <= row.high
        plain_bias.append(row.unweighted - truth)
        weighted_bias.append(row.estimate - truth)
    # 95% nominal; 200 draws: a Wilson-style band around .95 (the normal interval on a
    # ratio is approximate, so a little under is allowed, far under is a bug)
    assert covered / draws >= 0.90, covered / draws
    assert abs(np.mean(weighted_bias)) < 0.01
    assert np.mean(plain_bias) < -0.05  # the hard strata drag the plain mean down


def test_bad_probabilities_are_refused() -> None:
    for p in ([0.0], [1.5], [float("nan")], []):
        with pytest.raises(ValueError):
            weighted_accuracy(np.ones(len(p)), np.array(p))


def test_one_item_gives_the_whole_interval_and_versions_are_apart() -> None:
    rows = pd.DataFrame(
        {
            "predicted_label": ["a", "a", "b"],
            "label": ["a", "b", "b"],
            "inclusion_probability": [1.0, 0.5, 0.2],
            "model_version": ["1", "1", "2"],
        }
    )
    one, two = reviewed_accuracy(rows)
    assert (one.model_version, one.reviewed, two.reviewed) == ("1", 2, 1)
    assert one.estimate == pytest.approx(1 / 3)  # weights 1 and 2: one right of three
    assert (two.low, two.high) == (0.0, 1.0)
