"""The drift check end to end on real data: verdicts over repeated draws, sample-size floor,
signals skipped or refused, JSON summary, HTML report.

Exercises evaluation/drift/check.py (`check_drift`) with real Evidently 0.7 Reports, real VADER
texts (movies as the champion's domain, tweets as the shifted domain) and a real champion: a
TF-IDF + logistic regression trained on movie rows that never enter a drift sample, so its
predictions are out-of-sample on both sides. Tests marked slow also use real MiniLM embeddings
(`MiniLMEncoder`, ~450 texts embedded once per module). Writes HTML under tmp_path only.
"""

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from evaluation.drift.check import DriftSample, check_drift
from evaluation.drift.config import DriftConfig
from evaluation.drift.result import DriftResult

N_CHAMPION = 300
N_MOVIES = 300  # split into two disjoint halves of 150 per draw
N_TWEETS = 150
# Small samples keep the module fast; the bench measures rates at realistic sizes.
SMALL = DriftConfig(min_samples=100, sample_size=150)


class Pools:
    """Real texts with the champion's predictions and (on first use) MiniLM embeddings."""

    def __init__(self, vader_df: pd.DataFrame) -> None:
        movies = vader_df[vader_df["domain"] == "movies"].sample(
            N_CHAMPION + N_MOVIES, random_state=7
        )
        tweets = vader_df[vader_df["domain"] == "tweets"].sample(N_TWEETS, random_state=7)
        frame = pd.concat([movies, tweets], ignore_index=True)
        self.texts: list[str] = frame["text"].tolist()
        champion = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))
        champion.fit(self.texts[:N_CHAMPION], frame["label"].iloc[:N_CHAMPION])
        proba = champion.predict_proba(self.texts)
        self.pred = champion.classes_[proba.argmax(1)]
        self.conf = proba.max(1)
        self.movies = np.arange(N_CHAMPION, N_CHAMPION + N_MOVIES)
        self.tweets = np.arange(N_CHAMPION + N_MOVIES, len(frame))
        self._by_text: dict[str, np.ndarray] | None = None

    def sample(self, rows: np.ndarray, *, predictions: bool = True) -> DriftSample:
        return DriftSample(
            texts=[self.texts[i] for i in rows],
            predicted_labels=list(self.pred[rows]) if predictions else None,
            confidence=self.conf[rows] if predictions else None,
        )

    def embed(self, calls: list[int] | None = None) -> Callable[[list[str]], np.ndarray]:
        """An `embed` serving real MiniLM vectors, computed once for all drift-sample rows."""

        def embed(texts: list[str]) -> np.ndarray:
            if calls is not None:
                calls.append(len(texts))
            if self._by_text is None:
                from models.components.encoder import MiniLMEncoder

                pool = self.texts[N_CHAMPION:]
                self._by_text = dict(zip(pool, MiniLMEncoder().embed(pool), strict=True))
            return np.stack([self._by_text[t] for t in texts])

        return embed

    def movie_halves(self, seed: int) -> tuple[np.ndarray, np.ndarray]:
        shuffled = np.random.default_rng(seed).permutation(self.movies)
        return shuffled[: N_MOVIES // 2], shuffled[N_MOVIES // 2 :]


@pytest.fixture(scope="module")
def pools(vader_df: pd.DataFrame) -> Pools:
    return Pools(vader_df)


@pytest.fixture(scope="module")
def shifted(pools: Pools) -> DriftResult:
    """One movies -> tweets check (no embeddings: fast), shared by summary and HTML tests."""
    reference, _ = pools.movie_halves(0)
    return check_drift(pools.sample(reference), pools.sample(pools.tweets), config=SMALL)


@pytest.mark.slow
def test_domain_shift_is_detected_in_every_draw(pools: Pools) -> None:
    draws = []
    for seed in range(3):
        reference, _ = pools.movie_halves(seed)
        cfg = SMALL.model_copy(update={"seed": seed})
        draws.append(
            check_drift(
                pools.sample(reference),
                pools.sample(pools.tweets),
                embed=pools.embed(),
                config=cfg,
            )
        )
    assert [r.verdict for r in draws] == ["drift"] * 3
    for result in draws:
        assert set(result.signals) == {"text", "descriptors", "embedding", "prediction"}
        # Tweets differ from movie reviews in wording, form and meaning: the three input
        # signals must each see it, not only the combined verdict.
        assert {"text", "descriptors", "embedding"} <= set(result.drifted_signals)
        assert (
            result.signals["embedding"].score > result.signals["embedding"].details["critical_auc"]
        )


@pytest.mark.slow
def test_same_distribution_is_rarely_flagged(pools: Pools) -> None:
    verdicts = []
    for seed in range(5):
        reference, current = pools.movie_halves(seed)
        cfg = SMALL.model_copy(update={"seed": seed})
        result = check_drift(
            pools.sample(reference), pools.sample(current), embed=pools.embed(), config=cfg
        )
        assert result.fp_bound is not None and result.fp_bound <= 0.05
        verdicts.append(result.verdict)
    # Bounded at 5% per draw; 2+ of 5 would happen with probability < 2.3% if calibrated.
    assert verdicts.count("drift") <= 1
    assert verdicts.count("no_drift") >= 4


def test_below_minimum_is_insufficient_not_no_drift(pools: Pools) -> None:
    calls: list[int] = []
    reference, current = pools.movie_halves(0)
    result = check_drift(
        pools.sample(reference),
        pools.sample(current[:99]),
        embed=pools.embed(calls),
        config=SMALL,
    )
    assert result.verdict == "insufficient_data"
    assert not result.drifted
    assert result.signals == {} and result.n_compared == 0 and result.fp_bound is None
    assert (result.n_reference, result.n_current) == (150, 99)
    assert calls == []  # nothing was embedded for a check that cannot conclude


@pytest.mark.slow
def test_equal_seeded_subsamples_and_embedding_of_sampled_rows_only(pools: Pools) -> None:
    calls: list[int] = []
    cfg = DriftConfig(min_samples=100, sample_size=120, seed=3)
    reference = pools.sample(pools.movies)  # 300 rows
    current = pools.sample(pools.tweets)  # 150 rows
    first = check_drift(reference, current, embed=pools.embed(calls), config=cfg)
    again = check_drift(reference, current, embed=pools.embed(), config=cfg)
    assert first.n_compared == 120
    assert calls == [120, 120]
    assert first.to_dict() == again.to_dict()


def test_signals_without_embed_or_predictions_are_skipped(pools: Pools) -> None:
    reference, current = pools.movie_halves(1)
    result = check_drift(
        pools.sample(reference, predictions=False),
        pools.sample(current),
        config=SMALL,
    )
    assert set(result.signals) == {"text", "descriptors"}
    assert set(result.skipped) == {"embedding", "prediction"}
    assert result.fp_bound == pytest.approx(SMALL.text_alpha + SMALL.descriptor_alpha)
    # A rule that needs more signals than can be computed would never say "drift": refused.
    with pytest.raises(ValueError, match="min_drifted_signals=3"):
        check_drift(
            pools.sample(reference, predictions=False),
            pools.sample(current),
            config=SMALL.model_copy(update={"min_drifted_signals": 3}),
        )


def test_prediction_signal_sees_a_collapsed_class_mix(pools: Pools) -> None:
    """Directional: same texts, but the champion now says 'negative' for most rows."""
    reference, current = pools.movie_halves(2)
    collapsed = DriftSample(
        texts=[pools.texts[i] for i in current],
        predicted_labels=["negative"] * 120 + list(pools.pred[current[120:]]),
        confidence=pools.conf[current],
    )
    result = check_drift(pools.sample(reference), collapsed, config=SMALL)
    prediction = result.signals["prediction"]
    assert prediction.drifted and result.verdict == "drift"
    assert prediction.details["class_p"] < prediction.alpha / 2
    assert prediction.details["share_cur[negative]"] > 0.8
    assert not result.signals["text"].drifted
    # A retrain reason names the kind: the inputs did not move, the class mix did.
    assert result.shift == {"covariate": [], "prior": ["class_mix"], "confidence": []}
    assert result.shift_reason == "prior shift (class_mix)"


def test_label_mix_is_tested_when_both_sides_are_labelled(pools: Pools) -> None:
    """Same texts and predictions; the batch's own labels are 90% one class: label shift."""
    reference, current = pools.movie_halves(3)

    def labelled(rows: np.ndarray, labels: list[str]) -> DriftSample:
        base = pools.sample(rows)
        return DriftSample(base.texts, base.predicted_labels, base.confidence, labels=labels)

    balanced = ["negative", "positive"] * (len(reference) // 2)
    skewed = ["positive"] * 135 + ["negative"] * (len(current) - 135)
    result = check_drift(labelled(reference, balanced), labelled(current, skewed), config=SMALL)
    prediction = result.signals["prediction"]
    assert prediction.details["label_mix_drifted"] == 1.0
    assert prediction.details["label_tvd"] == pytest.approx(0.4, abs=0.01)
    assert "label_mix" in result.shift["prior"]
    assert "Bonferroni over 3" in prediction.method
    # Unlabelled current side: no label test, the family is back to two tests.
    plain = check_drift(labelled(reference, balanced), pools.sample(current), config=SMALL)
    assert "label_p" not in plain.signals["prediction"].details
    with pytest.raises(ValueError, match="labels must align"):
        DriftSample(["a", "b"], labels=["x"])


def test_json_summary_round_trips(shifted: DriftResult) -> None:
    summary = json.loads(json.dumps(shifted.to_dict(), allow_nan=False))
    assert summary["verdict"] == "drift" and summary["drifted"] is True
    assert summary["n_compared"] == 150
    assert set(summary["signals"]) == {"text", "descriptors", "prediction"}
    assert summary["skipped"].keys() == {"embedding"}
    assert "text" in summary["shift"]["covariate"]
    back = DriftResult.from_dict(summary)
    assert back == shifted
    assert back.report is None


def test_html_report_is_written(shifted: DriftResult, tmp_path: Path) -> None:
    target = tmp_path / "reports" / "drift.html"
    written = shifted.save_html(target)
    assert written == target
    html = target.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<html") or "<!doctype html" in html[:200].lower()
    assert len(html) > 50_000
    for column in ("oov_share", "predicted_label", "confidence"):
        assert column in html
