"""Label-free accuracy estimation on unlabelled traffic, and its backtest on labelled shifts.

Base estimators ("raw"), each fitted on labelled in-distribution validation predictions:
- `atc`: Average Thresholded Confidence (Garg et al., ICLR 2022) with the negative-entropy
  score (ATC-NE): pick t so that the share of validation rows scoring above t equals the
  validation accuracy; the estimate on new data is the share of its rows above t.
- `cbpe_temperature`: CBPE-style expected accuracy, the mean calibrated confidence of the
  predicted label, calibrated by temperature scaling (Guo et al., 2017) on validation NLL.
- `cbpe_isotonic`: the same with an isotonic map confidence → P(correct).

None of them can see concept shift (the same words meaning a different label elsewhere):
they assume P(correct | confidence) carries over. On the default data a movies model's raw
estimates are 10-18 points *optimistic* on tweets/amazon/NYT, while the raw estimate *drop*
(validation minus traffic) is a stable fraction of the true accuracy drop.

Shift calibration (`calibrate_on_shifts`, the "difference of confidences" regression of
Guillory et al., 2021): given earlier traffic batches whose labels arrived later (feedback),
fit k in  accuracy drop ≈ k · raw-estimate drop  (least squares through the origin, so no
drop means no correction), and estimate  val_accuracy − k · (val_raw − raw(traffic)).
Its error margin is measured by leaving one labelled shift out at a time. Every estimate
carries that margin ("± what this method missed by on shifts it was not fitted on").
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.isotonic import IsotonicRegression

from evaluation.stats.bootstrap import Interval, bootstrap_samples, percentile_interval
from evaluation.stats.metrics import entropy
from evaluation.stats.predictions import Predictions

Method = Literal["atc", "cbpe_temperature", "cbpe_isotonic"]
METHODS: tuple[Method, ...] = ("atc", "cbpe_temperature", "cbpe_isotonic")
_EPS = 1e-12

LabelledSet = tuple[Predictions, Sequence[str]]


@dataclass(frozen=True)
class LabelFreeEstimate:
    """An accuracy estimate without labels.

    `accuracy` carries the sampling interval (bootstrap over traffic rows); `error_margin`
    is the estimator's backtested shift error. `bounds` widens the interval by it.
    """

    method: Method
    accuracy: Interval
    error_margin: float | None
    shift_scale: float

    @property
    def bounds(self) -> tuple[float, float]:
        margin = self.error_margin or 0.0
        return (self.accuracy.low - margin, self.accuracy.high + margin)


@dataclass(frozen=True)
class AccuracyEstimator:
    """A fitted label-free accuracy estimator (plain numbers: JSON-serialisable).

    `val_raw` is the raw estimate on the validation rows; `shift_scale` is k (1 = raw).
    """

    method: Method
    classes: tuple[str, ...]
    val_accuracy: float
    n_val: int
    val_raw: float = float("nan")
    threshold: float | None = None
    temperature: float | None = None
    iso_x: tuple[float, ...] | None = None
    iso_y: tuple[float, ...] | None = None
    shift_scale: float = 1.0
    error_margin: float | None = None

    def row_scores(self, predictions: Predictions) -> np.ndarray:
        """Each row's raw estimated probability of being correct (0/1 for ATC)."""
        if tuple(predictions.classes) != self.classes:
            raise ValueError(
                f"estimator fitted on classes {self.classes}, got {predictions.classes}"
            )
        if self.method == "atc":
            return (-entropy(predictions.probs) > self.threshold).astype(np.float64)
        if self.method == "cbpe_temperature":
            scaled = _scale(predictions.probs, self.temperature)
            return scaled[np.arange(len(predictions)), predictions.label_index]
        if self.iso_x is None or self.iso_y is None:
            raise ValueError("isotonic map not fitted")
        return np.interp(predictions.confidence, np.asarray(self.iso_x), np.asarray(self.iso_y))

    def _corrected(self, raw: np.ndarray | float) -> np.ndarray:
        return self.val_accuracy - self.shift_scale * (self.val_raw - np.asarray(raw))

    def point(self, predictions: Predictions) -> float:
        """The estimate alone (no interval)."""
        return float(self._corrected(self.row_scores(predictions).mean()))

    def estimate(
        self,
        predictions: Predictions,
        *,
        n_resamples: int = 1000,
        confidence_level: float = 0.95,
        seed: int = 0,
    ) -> LabelFreeEstimate:
        """Estimated accuracy of `predictions` (unlabelled rows) with its intervals."""
        scores = self.row_scores(predictions)
        raw = bootstrap_samples(
            lambda idx: scores[idx].mean(axis=1), len(scores), n_resamples=n_resamples, seed=seed
        )
        ci = percentile_interval(
            float(self._corrected(scores.mean())),
            self._corrected(raw),
            confidence_level,
            len(scores),
        )
        return LabelFreeEstimate(self.method, ci, self.error_margin, self.shift_scale)

    def with_error_margin(self, margin: float) -> "AccuracyEstimator":
        return replace(self, error_margin=float(margin))


def _scale(probs: np.ndarray, temperature: float | None) -> np.ndarray:
    if temperature is None:
        raise ValueError("temperature not fitted")
    return softmax(np.log(np.clip(probs, _EPS, 1.0)) / temperature, axis=1)


def _accuracy(predictions: Predictions, labels: Sequence[str]) -> float:
    if len(labels) != len(predictions):
        raise ValueError("labels and predictions differ in length")
    return float(np.mean(np.asarray(predictions.labels) == np.asarray(labels, dtype=object)))


def fit_temperature(probs: np.ndarray, y: np.ndarray) -> float:
    """Temperature minimising validation NLL of softmax(log p / T)."""
    logits = np.log(np.clip(probs, _EPS, 1.0))
    rows = np.arange(len(y))

    def nll(t: float) -> float:
        return float(-log_softmax(logits / t, axis=1)[rows, y].mean())

    return float(minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded").x)


def fit_accuracy_estimator(
    val: Predictions, val_labels: Sequence[str], method: Method = "atc"
) -> AccuracyEstimator:
    """Fit a raw estimator on labelled validation predictions of the *same* model.

    Args:
        val: The model's predictions on in-distribution validation rows.
        val_labels: Their true labels.
        method: One of METHODS.
    """
    acc = _accuracy(val, val_labels)
    base = AccuracyEstimator(method, val.classes, acc, len(val))
    if method == "atc":
        score = -entropy(val.probs)
        # Share of scores strictly above t equals the validation accuracy.
        fitted = replace(base, threshold=float(np.quantile(score, 1.0 - acc)))
    elif method == "cbpe_temperature":
        lookup = {c: i for i, c in enumerate(val.classes)}
        if any(str(label) not in lookup for label in val_labels):
            raise ValueError("validation labels outside the model's classes")
        y = np.array([lookup[str(label)] for label in val_labels])
        fitted = replace(base, temperature=fit_temperature(val.probs, y))
    elif method == "cbpe_isotonic":
        correct = np.asarray(val.labels) == np.asarray(val_labels, dtype=object)
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        iso.fit(val.confidence, correct.astype(np.float64))
        fitted = replace(
            base,
            iso_x=tuple(float(v) for v in iso.X_thresholds_),
            iso_y=tuple(float(v) for v in iso.y_thresholds_),
        )
    else:
        raise ValueError(f"unknown method {method!r}; choose from {METHODS}")
    return replace(fitted, val_raw=float(fitted.row_scores(val).mean()))


@dataclass(frozen=True)
class BacktestRow:
    domain: str
    n: int
    true_accuracy: float
    estimated_accuracy: float
    error: float  # estimate − truth (positive = optimistic)

    @property
    def abs_error(self) -> float:
        return abs(self.error)


@dataclass(frozen=True)
class BacktestReport:
    method: Method
    shift_scale: float
    rows: list[BacktestRow]

    @property
    def max_abs_error(self) -> float:
        return max(r.abs_error for r in self.rows)

    @property
    def mean_abs_error(self) -> float:
        return float(np.mean([r.abs_error for r in self.rows]))


def backtest(estimator: AccuracyEstimator, domains: Mapping[str, LabelledSet]) -> BacktestReport:
    """Estimate accuracy on labelled shifted sets as if unlabelled; compare with the truth.

    Args:
        estimator: A fitted estimator.
        domains: name → (the model's predictions, true labels).
    """
    rows = [
        BacktestRow(name, len(pred), truth, est, est - truth)
        for name, (pred, labels) in domains.items()
        for truth, est in [(_accuracy(pred, labels), estimator.point(pred))]
    ]
    if not rows:
        raise ValueError("backtest needs at least one labelled domain")
    return BacktestReport(estimator.method, estimator.shift_scale, rows)


def fit_shift_scale(estimator: AccuracyEstimator, domains: Mapping[str, LabelledSet]) -> float:
    """k in (val_acc − acc_d) ≈ k · (val_raw − raw_d), least squares through the origin."""
    raw = replace(estimator, shift_scale=1.0)
    drops, raw_drops = [], []
    for pred, labels in domains.values():
        drops.append(estimator.val_accuracy - _accuracy(pred, labels))
        raw_drops.append(estimator.val_raw - float(raw.row_scores(pred).mean()))
    x, y = np.asarray(raw_drops), np.asarray(drops)
    if not np.any(np.abs(x) > 1e-9):
        raise ValueError("the labelled shifts do not move the raw estimate: cannot fit a scale")
    k = float(x @ y / (x @ x))
    if k <= 0:
        raise ValueError(f"fitted shift scale {k:.3f} <= 0: raw estimate moves against accuracy")
    return k


def calibrate_on_shifts(
    estimator: AccuracyEstimator, domains: Mapping[str, LabelledSet]
) -> AccuracyEstimator:
    """Fit the shift scale on labelled shifted sets; attach a leave-one-shift-out error margin.

    Args:
        estimator: A raw estimator from `fit_accuracy_estimator`.
        domains: At least two labelled shifted sets (e.g. earlier traffic with feedback).

    Returns:
        The estimator with `shift_scale` fitted on all sets and `error_margin` = the largest
        error on a set when the scale is fitted on the others.
    """
    if len(domains) < 2:
        raise ValueError("need at least two labelled shifts to measure the error margin")
    errors = []
    for held_out, (pred, labels) in domains.items():
        others = {k: v for k, v in domains.items() if k != held_out}
        k = fit_shift_scale(estimator, others)
        errors.append(abs(replace(estimator, shift_scale=k).point(pred) - _accuracy(pred, labels)))
    return replace(
        estimator, shift_scale=fit_shift_scale(estimator, domains), error_margin=max(errors)
    )
