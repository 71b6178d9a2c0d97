"""Unit tests of the drift check's building blocks: descriptors, AUC null, config, inputs,
result JSON.

Exercises evaluation/drift/descriptors.py, evaluation/drift/stats.py, evaluation/drift/config.py,
evaluation/drift/result.py and the input validation of evaluation/drift/check.py (`DriftSample`).
Touches real VADER movie texts (the `vader_df` fixture) for the out-of-vocabulary property;
no model, no Evidently run, nothing on disk beyond tmp_path.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from sklearn.metrics import roc_auc_score

from evaluation.drift.check import DriftSample
from evaluation.drift.config import DriftConfig
from evaluation.drift.descriptors import DESCRIPTOR_NAMES, Vocabulary, text_descriptors, tokenize
from evaluation.drift.result import DriftResult, SignalResult
from evaluation.drift.stats import auc_critical_value, auc_p_value, bonferroni


def test_tokenize_keeps_letters_only() -> None:
    assert tokenize("It's 2 GOOD, really_good!") == ["it", "s", "good", "really", "good"]


def test_oov_share_is_leave_one_out_for_corpus_texts() -> None:
    vocab = Vocabulary.from_texts(["alpha beta", "beta gamma"])
    # In the corpus: "alpha" occurs only in this text itself -> unknown; "beta" elsewhere too.
    assert vocab.oov_share(tokenize("alpha beta"), in_corpus=True) == 0.5
    # A new text: every corpus word is known, "zeta" is not.
    assert vocab.oov_share(tokenize("alpha zeta"), in_corpus=False) == 0.5
    assert vocab.oov_share([], in_corpus=False) == 0.0


def test_descriptor_values_on_a_known_text() -> None:
    vocab = Vocabulary.from_texts(["good film"])
    frame = text_descriptors(["GOOD film 42!"], vocab, in_corpus=False)
    row = frame.iloc[0]
    assert list(frame.columns) == list(DESCRIPTOR_NAMES)
    assert row["length_chars"] == 13
    assert row["mean_word_length"] == 4.0
    assert row["oov_share"] == 0.0
    assert row["non_alpha_share"] == pytest.approx(3 / 11)  # "4", "2", "!" of 11 non-space
    assert row["uppercase_share"] == pytest.approx(4 / 8)
    assert row["digit_share"] == pytest.approx(2 / 11)


def test_leave_one_out_makes_reference_and_new_text_comparable(vader_df) -> None:
    """Same-distribution texts must get the same OOV level on both sides.

    Without leave-one-out, reference texts would score 0 against their own vocabulary and
    every new batch would look drifted.
    """
    movies = vader_df[vader_df["domain"] == "movies"]["text"].sample(2000, random_state=0).tolist()
    reference, current = movies[:1000], movies[1000:]
    vocab = Vocabulary.from_texts(reference)
    ref_oov = text_descriptors(reference, vocab, in_corpus=True)["oov_share"].mean()
    cur_oov = text_descriptors(current, vocab, in_corpus=False)["oov_share"].mean()
    naive = text_descriptors(reference, vocab, in_corpus=False)["oov_share"].mean()
    assert naive == 0.0
    assert cur_oov > 0.05
    assert abs(ref_oov - cur_oov) < 0.15 * cur_oov


def test_auc_null_is_calibrated() -> None:
    """Random scores (a classifier that learned nothing) reject at about alpha."""
    rng = np.random.default_rng(0)
    n_test = 400
    labels = np.r_[np.zeros(n_test // 2), np.ones(n_test // 2)]
    p_values = [auc_p_value(roc_auc_score(labels, rng.random(n_test)), n_test) for _ in range(2000)]
    rate = np.mean(np.array(p_values) < 0.05)
    assert 0.035 < rate < 0.065
    assert auc_p_value(auc_critical_value(0.01, n_test), n_test) == pytest.approx(0.01)
    assert auc_critical_value(0.01, 1000) < auc_critical_value(0.01, 100)


def test_bonferroni() -> None:
    assert bonferroni([0.2, 0.01, 0.5]) == pytest.approx(0.03)
    assert bonferroni([0.9, 0.8]) == 1.0
    with pytest.raises(ValueError):
        bonferroni([])


def test_config_rejects_inconsistent_values() -> None:
    with pytest.raises(ValidationError):
        DriftConfig(min_samples=500, sample_size=100)
    with pytest.raises(ValidationError):
        DriftConfig(text_alpha=0.0)
    with pytest.raises(ValidationError):
        DriftConfig(min_drifted_signals=5)
    with pytest.raises(ValidationError):
        DriftConfig(unknown_field=1)  # type: ignore[call-arg]
    assert DriftConfig().alpha("embedding") == 0.0125


def test_result_json_round_trip_without_report(tmp_path: Path) -> None:
    signal = SignalResult(
        name="text",
        score=0.81,
        p_value=1e-9,
        alpha=0.0125,
        drifted=True,
        method="m",
        details={"critical_auc": 0.54},
    )
    result = DriftResult(
        verdict="drift",
        n_reference=5000,
        n_current=1200,
        n_compared=1000,
        signals={"text": signal},
        skipped={"prediction": "missing"},
        min_drifted_signals=1,
        fp_bound=0.0125,
        config=DriftConfig().model_dump(),
    )
    back = DriftResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert back == result
    assert back.drifted_signals == ["text"]
    with pytest.raises(ValueError, match="no Evidently report"):
        back.save_html(tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()


def test_drift_sample_from_frame_is_positional_and_validated() -> None:
    frame = pd.DataFrame(
        {"text": ["a", "b", "c"], "pred": ["x", "y", "x"], "conf": [0.9, 0.6, 0.7]},
        index=[10, 3, 7],  # a filtered frame: index labels are not positions
    )
    sample = DriftSample.from_frame(frame, label_column="pred", confidence_column="conf")
    assert sample.texts == ["a", "b", "c"] and sample.predicted_labels == ["x", "y", "x"]
    assert len(sample) == 3 and sample.has_predictions
    with pytest.raises(ValueError, match="together"):
        DriftSample(texts=["a"], predicted_labels=["x"])
    with pytest.raises(ValueError, match="align"):
        DriftSample(texts=["a", "b"], predicted_labels=["x"], confidence=[0.5])
    with pytest.raises(ValueError, match="probabilities"):
        DriftSample(texts=["a"], predicted_labels=["x"], confidence=[1.5])
    with pytest.raises(TypeError):
        DriftSample(texts=["a", None])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="embeddings"):
        DriftSample(texts=["a", "b"], embeddings=np.zeros((3, 4)))


def test_significant_but_small_is_not_drift() -> None:
    """At 10,000 held-out rows an AUC of 0.56 is highly significant, yet below the 0.60
    floor: detectable, not drift. The same AUC passes when the floor is dropped; a large
    AUC drifts. The interval brackets the score and narrows with n."""
    from evaluation.drift.signals import classifier_signal

    cfg = DriftConfig()
    small = classifier_signal("embedding", 0.56, 10_000, cfg, critical_auc=0.52)
    assert small.significant and not small.drifted and small.effect_floor == 0.60
    assert small.effect_low < 0.56 < small.effect_high  # type: ignore[operator]
    no_floor = DriftConfig(effect_floors={"text": 0.6})  # embedding: significance alone
    assert classifier_signal("embedding", 0.56, 10_000, no_floor, 0.52).drifted
    assert classifier_signal("embedding", 0.75, 1_000, cfg, 0.55).drifted
    wide = classifier_signal("text", 0.56, 300, cfg, 0.6)
    assert wide.effect_high - wide.effect_low > small.effect_high - small.effect_low  # type: ignore[operator]
    back = SignalResult.from_dict(json.loads(json.dumps(small.to_dict())))
    assert back == small and back.to_dict()["significant"] is True


def test_effect_intervals_cover_their_truth() -> None:
    """Seeded simulation: the KS and TVD intervals hold the true distance in >= 95% of draws
    (they are conservative), and the AUC interval holds the true AUC of two normals."""
    from scipy.stats import ks_2samp, norm

    from evaluation.drift.stats import auc_interval, ks_interval, tvd_interval

    rng = np.random.default_rng(0)
    true_ks = 2 * norm.cdf(0.15) - 1  # N(0,1) vs N(0.3,1): sup |F - G| at the midpoint
    true_tvd = 0.1  # class mix 0.5/0.5 vs 0.6/0.4
    true_auc = norm.cdf(0.3 / np.sqrt(2))
    hits = {"ks": 0, "tvd": 0, "auc": 0}
    draws = 200
    for _ in range(draws):
        a, b = rng.normal(0, 1, 500), rng.normal(0.3, 1, 500)
        low, high = ks_interval(ks_2samp(a, b).statistic, 500, 500)
        hits["ks"] += low <= true_ks <= high
        pa, pb = rng.random(500) < 0.5, rng.random(500) < 0.6
        low, high = tvd_interval(abs(pa.mean() - pb.mean()), 500, 500, classes=2)
        hits["tvd"] += low <= true_tvd <= high
        auc = roc_auc_score([0] * 500 + [1] * 500, np.concatenate([a, b]))
        low, high = auc_interval(auc, 1000)
        hits["auc"] += low <= true_auc <= high
    assert hits["ks"] / draws >= 0.95 and hits["tvd"] / draws >= 0.95
    assert hits["auc"] / draws >= 0.90  # Hanley-McNeil: approximate, close to nominal
