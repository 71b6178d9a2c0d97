"""The TF-IDF + logistic-regression reference classifier (models/baseline.py).

Pure scikit-learn on in-memory frames: a constructed multi-class snapshot with awkward label
names, and the real TREC questions (6 imbalanced classes) from the default-data wheel.
Touches no disk beyond reading that wheel.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from data.snapshot import label_set
from data.trec import load_trec_questions
from models.baseline import TfidfBaseline

# Label names a classifier must not care about: spaces, unicode, digits, punctuation.
TOPICS = {
    "Bird watching 🐦": "feathers nest wings beak flock migrate chirp",
    "fish-2": "gills fins scales reef swim tank aquarium",
    "x": "engine wheels gearbox tyres fuel brakes garage",
    "Ünïcode": "violin cello orchestra sonata concerto bow strings",
}


def topic_snapshot(per_class: int = 12, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for label, vocab in TOPICS.items():
        words = vocab.split()
        for i in range(per_class):
            text = " ".join(rng.choice(words, size=6)) + f" and something else {i}"
            rows.append((f"{label}-{i}", text, label, "train" if i < per_class - 2 else "val"))
    return pd.DataFrame(rows, columns=["row_id", "text", "label", "split"])


def test_fits_any_label_names_and_predicts_probabilities() -> None:
    snapshot = topic_snapshot()
    model = TfidfBaseline().fit_snapshot(snapshot)
    assert model.classes == label_set(snapshot) == sorted(TOPICS)
    texts = ["a flock of birds with wings", "the cello and violin", "fuel for the engine"]
    probs = model.predict_proba(texts)
    assert probs.shape == (3, 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert model.predict(texts) == ["Bird watching 🐦", "Ünïcode", "x"]


def test_fit_snapshot_reads_the_train_split_only() -> None:
    """Val rows with deliberately wrong labels change nothing: only train rows are fitted."""
    snapshot = topic_snapshot()
    poisoned = snapshot.copy()
    val = poisoned["split"] == "val"
    poisoned.loc[val, "label"] = "x"
    poisoned.loc[val, "text"] = "gills fins gills fins reef"
    probe = ["gills and fins in the reef", "a nest of feathers"]
    np.testing.assert_allclose(
        TfidfBaseline().fit_snapshot(poisoned).predict_proba(probe),
        TfidfBaseline().fit_snapshot(snapshot).predict_proba(probe),
    )


def test_unfitted_or_single_class_is_refused() -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        TfidfBaseline().predict(["anything"])
    with pytest.raises(ValueError, match="two classes"):
        TfidfBaseline().fit(["a", "b"], ["same", "same"])


def test_six_real_imbalanced_classes(data_wheel: Path) -> None:
    """TREC: 6 coarse classes (ABBR is rare), well above chance (~0.17). (Its speed, ~1 s
    on 4,000 rows, is measured by bench/baseline_vs_tiers.py, not asserted on a shared CPU.)"""
    trec = load_trec_questions(data_wheel).drop_duplicates("question")
    trec = trec.sample(frac=1.0, random_state=0).reset_index(drop=True)
    train, test = trec.iloc[:4000], trec.iloc[4000:5000]
    model = TfidfBaseline().fit(train["question"].tolist(), train["topic"].tolist())
    assert model.classes == sorted(trec["topic"].unique()) and len(model.classes) == 6
    macro_f1 = f1_score(test["topic"], model.predict(test["question"].tolist()), average="macro")
    assert macro_f1 > 0.6
