"""Label-free accuracy estimation (evaluation.traffic.label_free) on real domain shift.

Touches the real VADER data: a TF-IDF + logistic-regression model trained on movies only,
calibrated on held-out movies, then asked to estimate its accuracy on tweets, amazon and NYT
*without* their labels; the labels are used only to score the estimate. Temperature fitting is
checked on synthetic logits with a known temperature.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.special import softmax

from evaluation.stats.predictions import Predictions
from evaluation.traffic.label_free import (
    METHODS,
    backtest,
    calibrate_on_shifts,
    fit_accuracy_estimator,
    fit_temperature,
)
from tests.evaluation.gate_data import ShiftData, shift_data


@pytest.fixture(scope="module")
def shift(vader_df: pd.DataFrame) -> ShiftData:
    return shift_data(vader_df)


def _accuracy(pred: Predictions, labels: list[str]) -> float:
    return float(np.mean(np.asarray(pred.labels) == np.asarray(labels)))


def test_atc_threshold_reproduces_validation_accuracy(shift: ShiftData) -> None:
    est = fit_accuracy_estimator(shift.val, shift.val_labels, "atc")
    assert est.val_accuracy == pytest.approx(_accuracy(shift.val, shift.val_labels))
    # By construction the share of validation rows above the threshold is the val accuracy.
    assert est.row_scores(shift.val).mean() == pytest.approx(
        est.val_accuracy, abs=1 / len(shift.val)
    )


def test_temperature_recovers_a_known_overconfidence() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 1.5, (6000, 3))
    y = np.array([rng.choice(3, p=p) for p in softmax(logits, axis=1)])
    overconfident = softmax(logits * 2.0, axis=1)  # the model's logits are 2x too sharp
    assert fit_temperature(overconfident, y) == pytest.approx(2.0, abs=0.15)


@pytest.mark.parametrize("method", METHODS)
def test_in_domain_estimates_are_accurate(shift: ShiftData, method: str) -> None:
    est = fit_accuracy_estimator(shift.val, shift.val_labels, method)  # type: ignore[arg-type]
    pred, labels = shift.in_domain
    estimate = est.estimate(pred, n_resamples=300)
    truth = _accuracy(pred, labels)
    assert abs(estimate.accuracy.point - truth) < 0.03
    assert estimate.accuracy.low <= estimate.accuracy.point <= estimate.accuracy.high


def test_backtest_reports_estimate_minus_truth_per_domain(shift: ShiftData) -> None:
    est = fit_accuracy_estimator(shift.val, shift.val_labels, "atc")
    report = backtest(est, shift.domains)
    assert [r.domain for r in report.rows] == ["tweets", "amazon", "nyt"]
    for row in report.rows:
        pred, labels = shift.domains[row.domain]
        assert row.true_accuracy == pytest.approx(_accuracy(pred, labels))
        assert row.estimated_accuracy == pytest.approx(
            est.estimate(pred, n_resamples=100).accuracy.point
        )
        assert row.estimated_accuracy == pytest.approx(est.row_scores(pred).mean())  # k = 1
        assert row.error == pytest.approx(row.estimated_accuracy - row.true_accuracy)
    assert report.max_abs_error == max(r.abs_error for r in report.rows)


@pytest.mark.parametrize("method", METHODS)
def test_estimate_on_the_next_shifted_domain_is_within_its_reported_error(
    shift: ShiftData, method: str
) -> None:
    # The product meets the domains in order movies -> tweets -> amazon -> NYT. The error
    # margin is backtested on the two earlier shifts (labels arrived as feedback) ...
    est = fit_accuracy_estimator(shift.val, shift.val_labels, method)  # type: ignore[arg-type]
    earlier = {k: v for k, v in shift.domains.items() if k != "nyt"}
    est = est.with_error_margin(backtest(est, earlier).max_abs_error)
    # ... and must hold on the next one (NYT editorials), whose labels it never saw.
    pred, labels = shift.domains["nyt"]
    estimate = est.estimate(pred, n_resamples=500)
    low, high = estimate.bounds
    truth = _accuracy(pred, labels)
    assert low <= truth <= high, (method, truth, estimate)
    assert estimate.error_margin == est.error_margin


@pytest.mark.parametrize("method", METHODS)
def test_shift_calibration_cuts_the_error_on_every_held_out_domain(
    shift: ShiftData, method: str
) -> None:
    raw = fit_accuracy_estimator(shift.val, shift.val_labels, method)  # type: ignore[arg-type]
    for held_out, (pred, labels) in shift.domains.items():
        others = {k: v for k, v in shift.domains.items() if k != held_out}
        calibrated = calibrate_on_shifts(raw, others)
        truth = _accuracy(pred, labels)
        assert calibrated.shift_scale > 1.0  # accuracy falls faster than the raw estimate
        assert calibrated.error_margin is not None
        assert abs(calibrated.point(pred) - truth) < abs(raw.point(pred) - truth), held_out
    # In domain (no raw drop) the correction stays small.
    calibrated = calibrate_on_shifts(raw, shift.domains)
    pred, labels = shift.in_domain
    assert abs(calibrated.point(pred) - _accuracy(pred, labels)) < 0.04


def test_shift_calibration_by_hand() -> None:
    # val: 4 rows, 3 correct (acc .75). ATC threshold puts 3 of 4 val rows above it.
    classes = ["neg", "pos"]
    val = Predictions.from_probs(
        np.array([[0.95, 0.05], [0.9, 0.1], [0.2, 0.8], [0.45, 0.55]]), classes, model_id="m"
    )
    est = fit_accuracy_estimator(val, ["neg", "neg", "pos", "neg"], "atc")
    assert est.val_accuracy == 0.75 and est.val_raw == pytest.approx(0.75)
    # Two labelled shifts: raw estimate drops by .25 and .375, accuracy by .5 and .75 -> k = 2.
    confident, unsure = [0.99, 0.01], [0.5, 0.5]
    a = Predictions.from_probs(
        np.array([confident, confident, unsure, unsure]), classes, model_id="m"
    )
    b = Predictions.from_probs(np.array([confident] * 3 + [unsure] * 5), classes, model_id="m")
    # Unsure rows ([.5, .5]) predict "neg" (first class): a gets 1 of 4 right, b none of 8.
    domains = {"a": (a, ["neg", "pos", "pos", "pos"]), "b": (b, ["pos"] * 8)}
    calibrated = calibrate_on_shifts(est, domains)
    assert calibrated.shift_scale == pytest.approx(2.0)
    assert calibrated.point(a) == pytest.approx(0.25)
    assert calibrated.error_margin == pytest.approx(0.0)


def test_estimator_refuses_other_classes(shift: ShiftData) -> None:
    est = fit_accuracy_estimator(shift.val, shift.val_labels, "cbpe_temperature")
    other = Predictions.from_probs(np.array([[0.3, 0.7]]), ["neg", "pos"], model_id="x")
    with pytest.raises(ValueError, match="classes"):
        est.estimate(other)
