"""Reference-free evaluation (evaluation.traffic.reference_free): hand-computed statistics, then
real unlabelled traffic (tweets and held-out movies scored by a movies-only model, labels
hidden from the report and used only to check it)."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from evaluation.stats.predictions import Predictions
from evaluation.traffic.label_free import fit_accuracy_estimator
from evaluation.traffic.reference_free import (
    ReferenceFreeConfig,
    agreement,
    class_shift,
    reference_free_report,
    summarize,
)
from tests.evaluation.gate_data import ShiftData, shift_data

CONFIG = ReferenceFreeConfig(n_resamples=300)


def _preds(labels: list[str], model_id: str = "m") -> Predictions:
    probs = np.array([[0.9, 0.1] if lab == "neg" else [0.3, 0.7] for lab in labels])
    return Predictions(model_id, ("neg", "pos"), probs, tuple(labels))


def test_class_shift_by_hand() -> None:
    shift = class_shift(_preds(["neg"] * 70 + ["pos"] * 30), {"neg": 0.5, "pos": 0.5})
    assert shift.predicted == {"neg": 0.7, "pos": 0.3}
    assert shift.chi2 == pytest.approx((20**2 + 20**2) / 50)
    assert shift.p_value == pytest.approx(chi2.sf(16.0, 1))
    p, q, m = np.array([0.7, 0.3]), np.array([0.5, 0.5]), np.array([0.6, 0.4])
    js = np.sqrt(0.5 * (np.sum(p * np.log2(p / m)) + np.sum(q * np.log2(q / m))))
    assert shift.js_distance == pytest.approx(js)
    with pytest.raises(ValueError, match="prior lacks"):
        class_shift(_preds(["neg"]), {"neg": 1.0})


def test_agreement_by_hand() -> None:
    a = _preds(["neg"] * 5 + ["pos"] * 5)
    b = _preds(["neg"] * 4 + ["pos"] * 5 + ["neg"])
    result = agreement(a, b, CONFIG)
    assert result.rate.point == pytest.approx(0.8)
    # Cohen's kappa: p_o = .8, p_e = .5*.5 + .5*.5 = .5 -> (.8 - .5) / (1 - .5) = .6
    assert result.cohen_kappa == pytest.approx(0.6)


def test_summary_quantiles_and_fixed_range_histogram() -> None:
    values = np.linspace(0.0, 1.0, 101)
    s = summarize(values, bins=4, value_range=(0.0, 1.0))
    assert s.mean == pytest.approx(0.5)
    assert s.quantiles["q50"] == pytest.approx(0.5)
    assert s.quantiles["q05"] == pytest.approx(0.05)
    assert s.bin_edges == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert sum(s.counts) == 101


@pytest.fixture(scope="module")
def shift(vader_df: pd.DataFrame) -> ShiftData:
    return shift_data(vader_df)


def test_real_traffic_report_sees_the_shift_it_should(shift: ShiftData) -> None:
    estimator = fit_accuracy_estimator(shift.val, shift.val_labels, "atc")
    tweets, _ = shift.domains["tweets"]
    movies, _ = shift.in_domain
    shifted = reference_free_report(
        tweets, CONFIG, train_prior=shift.train_prior, estimator=estimator
    )
    same = reference_free_report(movies, CONFIG, train_prior=shift.train_prior, estimator=estimator)
    assert shifted.n == len(tweets)
    pos_share = float(np.mean(np.asarray(tweets.labels) == "positive"))
    assert shifted.class_shift.predicted["positive"] == pytest.approx(pos_share)
    # The predicted-class mix moves on tweets, not on held-out movies.
    assert shifted.class_shift.js_distance > 3 * same.class_shift.js_distance
    assert shifted.class_shift.p_value < 1e-3
    # Less confident out of domain: higher mean normalised entropy.
    assert shifted.entropy.mean > same.entropy.mean
    assert shifted.confidence.mean < same.confidence.mean
    assert sum(shifted.confidence.counts) == len(tweets)
    assert shifted.estimated_accuracy.accuracy.point < same.estimated_accuracy.accuracy.point
    assert shifted.agreement is None and shifted.champion_estimated_accuracy is None


def test_champion_agreement_and_estimate_on_the_same_traffic(shift: ShiftData) -> None:
    tweets, _ = shift.domains["tweets"]
    estimator = fit_accuracy_estimator(shift.val, shift.val_labels, "atc")
    # A "champion" that disagrees on a known 10% of the traffic.
    flip = np.zeros(len(tweets), dtype=bool)
    flip[::10] = True
    probs = np.where(flip[:, None], tweets.probs[:, ::-1], tweets.probs)
    champion = Predictions.from_probs(probs, tweets.classes, model_id="champion")
    report = reference_free_report(
        tweets, CONFIG, champion=champion, estimator=estimator, champion_estimator=estimator
    )
    assert report.agreement.rate.point == pytest.approx(1 - flip.mean())
    assert report.agreement.rate.low < report.agreement.rate.point < report.agreement.rate.high
    assert report.champion_estimated_accuracy is not None
    assert report.class_shift is None
