"""Reference-free evaluation on unlabelled recent traffic.

From a model's probabilities on traffic alone: confidence and (normalised) entropy
distributions, the predicted-class distribution against the training prior (chi² goodness of
fit for "is it different", Jensen-Shannon distance for "how different": with thousands of
rows chi² flags any difference, so the policy should read the distance), agreement with the
champion on the same rows, and a label-free accuracy estimate (`evaluation.traffic.label_free`).
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, Field
from scipy.spatial.distance import jensenshannon
from scipy.stats import chisquare
from sklearn.metrics import cohen_kappa_score

from evaluation.stats.bootstrap import Interval, bootstrap_samples, percentile_interval
from evaluation.stats.metrics import entropy
from evaluation.stats.predictions import Predictions
from evaluation.traffic.label_free import AccuracyEstimator, LabelFreeEstimate

_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
# A class the prior never saw still gets this much expected mass, so chi² stays finite.
_PRIOR_FLOOR = 1e-6


class ReferenceFreeConfig(BaseModel):
    histogram_bins: int = Field(default=20, ge=2)
    n_resamples: int = Field(default=1000, ge=100)
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1)
    seed: int = 0


@dataclass(frozen=True)
class DistributionSummary:
    mean: float
    std: float
    quantiles: dict[str, float]
    bin_edges: list[float]
    counts: list[int]


@dataclass(frozen=True)
class ClassShift:
    predicted: dict[str, float]
    prior: dict[str, float]
    chi2: float
    p_value: float
    js_distance: float


@dataclass(frozen=True)
class Agreement:
    """How often challenger and champion return the same label on the same traffic."""

    rate: Interval
    cohen_kappa: float


@dataclass(frozen=True)
class ReferenceFreeReport:
    model_id: str
    n: int
    confidence: DistributionSummary
    entropy: DistributionSummary
    class_shift: ClassShift | None
    agreement: Agreement | None
    estimated_accuracy: LabelFreeEstimate | None
    champion_estimated_accuracy: LabelFreeEstimate | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(
    values: np.ndarray, bins: int, value_range: tuple[float, float]
) -> DistributionSummary:
    """Mean, spread, quantiles and a fixed-range histogram (comparable across runs)."""
    values = np.asarray(values, dtype=np.float64)
    counts, edges = np.histogram(values, bins=bins, range=value_range)
    qs = np.quantile(values, _QUANTILES)
    return DistributionSummary(
        mean=float(values.mean()),
        std=float(values.std()),
        quantiles={f"q{int(q * 100):02d}": float(v) for q, v in zip(_QUANTILES, qs, strict=True)},
        bin_edges=[float(e) for e in edges],
        counts=[int(c) for c in counts],
    )


def class_shift(predictions: Predictions, prior: Mapping[str, float]) -> ClassShift:
    """Predicted-class shares vs the training prior: chi² goodness of fit and JS distance."""
    classes = list(predictions.classes)
    missing = set(classes) - set(prior)
    if missing:
        raise ValueError(f"prior lacks classes {sorted(missing)}")
    observed = np.bincount(predictions.label_index, minlength=len(classes)).astype(np.float64)
    expected_share = np.array([max(float(prior[c]), _PRIOR_FLOOR) for c in classes])
    expected_share /= expected_share.sum()
    n = observed.sum()
    stat, p = chisquare(observed, expected_share * n)
    return ClassShift(
        predicted={c: float(v / n) for c, v in zip(classes, observed, strict=True)},
        prior={c: float(v) for c, v in zip(classes, expected_share, strict=True)},
        chi2=float(stat),
        p_value=float(p),
        js_distance=float(jensenshannon(observed / n, expected_share, base=2)),
    )


def agreement(
    challenger: Predictions, champion: Predictions, config: ReferenceFreeConfig
) -> Agreement:
    """Label agreement rate (with interval) and Cohen's kappa on the same rows."""
    if len(challenger) != len(champion):
        raise ValueError("agreement needs predictions on the same rows")
    same = (np.asarray(challenger.labels) == np.asarray(champion.labels)).astype(np.float64)
    samples = bootstrap_samples(
        lambda idx: same[idx].mean(axis=1),
        len(same),
        n_resamples=config.n_resamples,
        seed=config.seed,
    )
    rate = percentile_interval(float(same.mean()), samples, config.confidence_level, len(same))
    kappa = cohen_kappa_score(list(challenger.labels), list(champion.labels))
    return Agreement(rate, float(np.nan_to_num(kappa, nan=1.0)))


def reference_free_report(
    traffic: Predictions,
    config: ReferenceFreeConfig,
    *,
    train_prior: Mapping[str, float] | None = None,
    estimator: AccuracyEstimator | None = None,
    champion: Predictions | None = None,
    champion_estimator: AccuracyEstimator | None = None,
) -> ReferenceFreeReport:
    """Everything we can say about a model on traffic without labels.

    Args:
        traffic: The (candidate) model's predictions on recent unlabelled traffic.
        config: Histogram and bootstrap settings.
        train_prior: Class shares of the training data.
        estimator: The candidate's label-free accuracy estimator (fitted on its validation).
        champion: The champion's predictions on the same traffic rows.
        champion_estimator: The champion's own estimator, to estimate its accuracy too.
    """

    def estimate(est: AccuracyEstimator, preds: Predictions) -> LabelFreeEstimate:
        return est.estimate(
            preds,
            n_resamples=config.n_resamples,
            confidence_level=config.confidence_level,
            seed=config.seed,
        )

    ent = entropy(traffic.probs, normalise=True)
    champion_estimate = None
    if champion is not None and champion_estimator is not None:
        champion_estimate = estimate(champion_estimator, champion)
    return ReferenceFreeReport(
        model_id=traffic.model_id,
        n=len(traffic),
        confidence=summarize(traffic.confidence, config.histogram_bins, (0.0, 1.0)),
        entropy=summarize(ent, config.histogram_bins, (0.0, 1.0)),
        class_shift=class_shift(traffic, train_prior) if train_prior is not None else None,
        agreement=agreement(traffic, champion, config) if champion is not None else None,
        estimated_accuracy=estimate(estimator, traffic) if estimator else None,
        champion_estimated_accuracy=champion_estimate,
    )
