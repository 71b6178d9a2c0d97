"""evaluation/cascade.py: the threshold search and its two-fold estimate, on hand-made
row-aligned predictions whose answer is known."""

import numpy as np
import pytest

from evaluation.cascade import tune_cascade


def test_picks_the_fewest_escalations_that_reach_the_accurate_tier():
    # fast is right exactly when confident (>= 0.8); accurate is always right.
    conf = np.array([0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.55, 0.5])
    fast_ok = conf >= 0.8
    policy = tune_cascade(conf, fast_ok, np.ones(8, bool), window="golden/x/v1")
    assert policy.threshold == pytest.approx(0.8)  # escalate the four below 0.8, no more
    assert policy.escalation_rate == 0.5
    assert policy.cascade_accuracy == policy.accurate_accuracy == 1.0
    assert policy.fast_accuracy == 0.5 and policy.window == "golden/x/v1"


def test_no_escalation_when_fast_is_as_good_and_tolerance_trades_accuracy():
    conf = np.linspace(0.5, 1.0, 10)
    both = np.array([True] * 9 + [False])
    assert tune_cascade(conf, both, both, "w").threshold == 0.0  # same rows right: no loss
    fast_ok = np.array([False, True, True, True, True, True, True, True, True, True])
    strict = tune_cascade(conf, fast_ok, np.ones(10, bool), "w", tolerance=0.0)
    # One loss in ten rows: -0.1 observed, its 95% lower bound -0.26; a 0.3 tolerance takes it.
    loose = tune_cascade(conf, fast_ok, np.ones(10, bool), "w", tolerance=0.3)
    assert strict.escalation_rate == 0.1 and loose.escalation_rate == 0.0


def test_a_lucky_threshold_is_not_taken_without_evidence():
    """Fast right 90% of the time where it keeps the rows: the observed loss is 1 point at a
    low threshold but its bound is not, so more rows escalate than the point estimate wants."""
    rng = np.random.default_rng(0)
    conf = rng.uniform(0.5, 1.0, 400)
    acc_ok = np.ones(400, bool)
    fast_ok = (conf > 0.9) | (rng.uniform(size=400) < 0.9)
    policy = tune_cascade(conf, fast_ok, acc_ok, "w", tolerance=0.01)
    kept = conf >= (policy.threshold or 2.0)
    assert policy.threshold is not None
    # the rows the cascade keeps on the fast tier are (nearly) all right
    assert fast_ok[kept].mean() > 0.97


def test_fast_tier_that_is_never_sure_enough_escalates_everything():
    conf = np.array([0.9, 0.8, 0.7, 0.6])
    fast_ok = np.array([False, True, True, True])  # wrong when most confident
    policy = tune_cascade(conf, fast_ok, np.ones(4, bool), "w")
    assert policy.threshold is None and policy.escalation_rate == 1.0


def test_holdout_estimate_on_a_realistic_mix_and_bad_inputs():
    rng = np.random.default_rng(3)
    conf = rng.uniform(0.5, 1.0, 2000)
    fast_ok = rng.uniform(size=2000) < conf  # calibrated fast tier
    acc_ok = rng.uniform(size=2000) < 0.9
    policy = tune_cascade(conf, fast_ok, acc_ok, "w")
    assert 0.0 < policy.holdout_escalation_rate <= 1.0
    assert policy.holdout_accuracy_gap > -0.05  # about as accurate as the accurate tier
    with pytest.raises(ValueError):
        tune_cascade(conf[:3], fast_ok[:3], acc_ok[:3], "w")
    with pytest.raises(ValueError):
        tune_cascade(conf, fast_ok[:10], acc_ok, "w")


def test_kept_disagreement_is_measured_on_the_rows_the_fast_tier_keeps():
    """Four rows kept (confidence >= the chosen 0.0 threshold: all), tiers differ on one."""
    conf = np.array([0.9, 0.8, 0.95, 0.7])
    ok = np.array([True, True, True, True])
    policy = tune_cascade(conf, ok, ok, "w", tiers_disagree=np.array([0, 1, 0, 0], bool))
    assert policy.threshold == 0.0 and policy.kept_disagreement == 0.25
    assert tune_cascade(conf, ok, ok, "w").kept_disagreement is None


def test_served_answer_is_measured_against_the_baseline_low_bound():
    """served_against_baseline: fast answers where its confidence reaches the threshold, the
    accurate tier elsewhere; `below` when that macro-F1 is under the baseline's low bound.
    Rows are aligned by row id (the fast predictions come in another order)."""
    from evaluation.cascade import served_against_baseline
    from evaluation.stats.predictions import Predictions

    classes = ["a", "b", "c"]
    truth = ("a", "b", "c", "a", "b", "c")
    ids = [f"r{i}" for i in range(6)]
    accurate = Predictions.from_probs(
        np.eye(3)[[0, 1, 2, 0, 1, 2]] * 0.9 + 0.1 / 3, classes, model_id="acc", row_ids=ids
    )
    # fast: confident and wrong on r0 and r1, unsure (and wrong) on r2
    fast_probs = np.array(
        [
            [0.02, 0.96, 0.02],
            [0.96, 0.02, 0.02],
            [0.5, 0.3, 0.2],
            [0.9, 0.05, 0.05],
            [0.05, 0.9, 0.05],
            [0.05, 0.05, 0.9],
        ]
    )
    order = [5, 4, 3, 2, 1, 0]
    fast = Predictions.from_probs(
        fast_probs[order], classes, model_id="fast", row_ids=[ids[i] for i in order]
    )
    all_accurate = served_against_baseline(fast, accurate, truth, None, 0.9)
    assert all_accurate == {"served_macro_f1": 1.0, "baseline_low": 0.9, "below": False}
    cascade = served_against_baseline(fast, accurate, truth, 0.8, 0.9)
    assert cascade["served_macro_f1"] < 0.9 and cascade["below"] is True  # r0, r1 kept wrong
    assert served_against_baseline(fast, accurate, truth, 0.99, 0.9)["below"] is False
    assert served_against_baseline(fast, accurate, truth, 0.8, None)["below"] is False


def test_tuned_from_predictions_reports_calibration_and_escalation_by_slice() -> None:
    """tune_from_predictions: the fast tier's ECE as served and before its temperature (its
    probabilities un-scaled exactly), and the share escalated per slice."""
    from evaluation.cascade import tune_from_predictions
    from evaluation.stats.predictions import Predictions

    rng = np.random.default_rng(0)
    n = 400
    truth = rng.choice(["a", "b"], n)
    logits = rng.normal(0, 3, (n, 2))
    right = rng.random(n) < 0.75  # the fast tier is right 75% of the time ...
    top = np.where(right, (truth == "b").astype(int), (truth == "a").astype(int))
    logits[np.arange(n), top] += 6.0  # ... with logits far too sure of it
    temperature = 4.0
    calibrated = np.exp(logits / temperature)
    calibrated /= calibrated.sum(axis=1, keepdims=True)
    ids = tuple(f"r{i}" for i in range(n))
    labels = tuple(np.array(["a", "b"])[top])
    fast = Predictions("fast", ("a", "b"), calibrated, labels, ids)
    accurate = Predictions("acc", ("a", "b"), np.full((n, 2), 0.5), tuple(truth), ids)
    slices = {rid: ("in" if i % 2 else "out") for i, rid in enumerate(ids)}
    policy = tune_from_predictions(fast, accurate, tuple(truth), "w", temperature, slices)
    raw = np.exp(logits - logits.max(axis=1, keepdims=True))
    raw /= raw.sum(axis=1, keepdims=True)
    from evaluation.stats.metrics import batched_ece

    assert policy.fast_ece_uncalibrated == round(float(batched_ece(raw.max(1), right)), 4)
    assert policy.fast_ece is not None and policy.fast_ece < policy.fast_ece_uncalibrated
    assert policy.fast_temperature == 4.0
    assert set(policy.escalation_by_slice or {}) == {"in", "out"}
    overall = np.mean(list((policy.escalation_by_slice or {}).values()))
    assert overall == pytest.approx(policy.escalation_rate, abs=1e-3)
