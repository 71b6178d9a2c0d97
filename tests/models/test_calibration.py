"""models/calibration.py (temperature scaling) on synthetic logits, and the fast tier that
training calibrates on its val split: real Lightning fit on real movie snippets."""

import numpy as np
import pytest

from models.calibration import fit_temperature, nll, softmax, top_label_ece
from models.inference import load_predictor


def test_a_known_overconfidence_is_recovered() -> None:
    """Labels drawn from softmax(z); the model reports 3z: the fitted T is ~3 and brings the
    NLL and ECE back to those of the true probabilities; argmax never changes."""
    rng = np.random.default_rng(0)
    z = rng.normal(0, 1.5, (6000, 3))
    p = softmax(z)
    y = np.array([rng.choice(3, p=row) for row in p])
    t = fit_temperature(3 * z, y)
    assert t == pytest.approx(3.0, rel=0.1)
    assert nll(3 * z, y, t) < nll(3 * z, y)
    assert top_label_ece(softmax(3 * z, t), y) < top_label_ece(softmax(3 * z), y) / 2
    assert (softmax(3 * z, t).argmax(1) == z.argmax(1)).all()


def test_training_s_ece_is_evaluation_s_ece() -> None:
    """models cannot import evaluation (tests/test_layering.py): the two ECEs must agree."""
    from evaluation.stats.metrics import batched_ece

    rng = np.random.default_rng(1)
    probs = softmax(rng.normal(0, 2, (3000, 4)))
    probs[:5] = np.eye(4)[[0, 1, 2, 3, 0]]  # confidence exactly 1.0 (the last bin's edge)
    y = rng.integers(0, 4, 3000)
    expected = float(batched_ece(probs.max(1), probs.argmax(1) == y))
    assert top_label_ece(probs, y) == pytest.approx(expected, abs=1e-12)


def test_nothing_to_learn_from_gives_one() -> None:
    assert fit_temperature(np.zeros((5, 2)), np.zeros(5, int)) == 1.0
    assert fit_temperature(np.zeros((1, 2)), np.array([1])) == 1.0


def test_the_fast_tier_is_calibrated_on_val_and_served_so(fast_result, fast_snapshot) -> None:
    """Training fits the fast tier's temperature on its val split (bundle `temperature`,
    val ECE and NLL before/after in its metrics, so in MLflow); the predictor divides by it,
    and on the held-out test split the calibrated ECE is below the raw one."""
    config = load_predictor(fast_result.bundle_dir).config
    metrics = config.metrics
    assert config.temperature == pytest.approx(metrics["temperature"], abs=1e-4)
    assert metrics["val/nll"] <= metrics["val/nll_uncalibrated"]
    assert metrics["val/ece"] < metrics["val/ece_uncalibrated"]
    predictor = load_predictor(fast_result.bundle_dir)
    test = fast_snapshot[fast_snapshot["split"] == "test"]
    probs = predictor.predict_proba(test["text"].tolist())
    truth = np.array([predictor.labels.index(label) for label in test["label"]])
    raw = np.exp(config.temperature * np.log(probs))
    raw /= raw.sum(axis=1, keepdims=True)
    assert top_label_ece(probs, truth) < top_label_ece(raw, truth)
