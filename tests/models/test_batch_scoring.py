"""models/batch_scoring.py: the served answer rule applied to a batch. Touches: only the rule,
driven by two stand-in tiers with fixed probabilities per text (the real tiers are scored in
tests/orchestration/cli/test_predict.py on a trained TREC model)."""

import numpy as np

from models.batch_scoring import score_texts

LABELS = ["a", "b", "c"]


class Tier:
    """A predictor whose answer for each text is fixed: {text: probabilities}."""

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = table
        self.calls: list[list[str]] = []

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.array([self.table[t] for t in texts])


def _tiers() -> tuple[Tier, Tier]:
    fast = Tier({"sure": [0.9, 0.05, 0.05], "unsure": [0.5, 0.3, 0.2], "edge": [0.2, 0.8, 0.0]})
    accurate = Tier({"sure": [0.0, 1.0, 0.0], "unsure": [0.1, 0.1, 0.8], "edge": [1.0, 0, 0]})
    return fast, accurate


def test_the_cascade_escalates_only_texts_below_the_threshold() -> None:
    fast, accurate = _tiers()
    texts = ["sure", "unsure", "edge", "sure"]
    out = score_texts({"fast": fast, "accurate": accurate}, LABELS, texts, threshold=0.8)
    assert out["label"].tolist() == ["a", "c", "b", "a"]  # "edge" at exactly 0.8 stays fast
    assert out["tier"].tolist() == ["fast", "accurate", "fast", "fast"]
    np.testing.assert_allclose(out["confidence"], [0.9, 0.8, 0.8, 0.9])
    assert accurate.calls == [["unsure"]]


def test_without_a_threshold_the_judged_tier_answers_all_in_batches() -> None:
    fast, accurate = _tiers()
    seen: list[int] = []
    out = score_texts(
        {"fast": fast, "accurate": accurate},
        LABELS,
        ["sure", "unsure", "edge"] * 3,
        batch_size=2,
        chunk=4,
        on_chunk=seen.append,
    )
    assert set(out["tier"]) == {"accurate"} and not fast.calls
    assert [len(c) for c in accurate.calls] == [2, 2, 2, 2, 1] and seen == [4, 4, 1]
    only_fast = score_texts({"fast": fast}, LABELS, ["edge"], threshold=0.99)
    assert only_fast["tier"].tolist() == ["fast"]  # one tier: no cascade to run
    assert score_texts({"fast": fast}, LABELS, []).empty
