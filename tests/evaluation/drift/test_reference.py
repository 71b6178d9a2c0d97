"""The drift reference matched to the current batch's domain mix (evaluation/drift/reference.py
`match_reference`), and why it matters: a champion trained on several domains, then a new
batch from one of them.

The first tests are pure pandas on constructed frames. The last runs real `check_drift`
(Evidently) on real VADER texts: the reference mixes movies and tweets like a champion's
snapshot after the tweets retrain, the current batch is new movie reviews (same source,
rows disjoint from the reference). Against the whole mixed reference that reads as drift;
against the reference drawn in the batch's own domain mix it must not, while new tweets
against a movies-only reference still must.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from evaluation.drift.check import DriftSample, check_drift
from evaluation.drift.config import DriftConfig
from evaluation.drift.reference import match_reference


def _frame(counts: dict[str, int]) -> pd.DataFrame:
    domains = [d for d, k in counts.items() for _ in range(k)]
    return pd.DataFrame({"text": [f"t{i}" for i in range(len(domains))], "domain": domains})


def test_reference_is_drawn_in_the_current_domain_mix() -> None:
    """A 600 movies + 400 tweets reference against a 75/25 batch: 75/25, as large as possible."""
    reference = _frame({"movies": 600, "tweets": 400})
    current = _frame({"movies": 300, "tweets": 100})
    matched = match_reference(reference, current, min_rows=100)
    assert matched.matched_on == "domain"
    shares = matched.frame["domain"].value_counts(normalize=True)
    assert shares["movies"] == pytest.approx(0.75, abs=0.01)
    assert len(matched.frame) == 800  # 600 movies is the binding side: 600 / 0.75
    assert matched.frame["text"].is_unique  # drawn without replacement
    assert set(matched.frame["text"]) <= set(reference["text"])
    again = match_reference(reference, current, min_rows=100)
    assert again.frame.equals(matched.frame)  # seeded


def test_a_single_domain_batch_gets_that_domain_only() -> None:
    reference = _frame({"movies": 300, "tweets": 700})
    matched = match_reference(reference, _frame({"movies": 50}), min_rows=100)
    assert matched.matched_on == "domain"
    assert set(matched.frame["domain"]) == {"movies"} and len(matched.frame) == 300


def test_a_new_domain_is_compared_with_the_whole_reference() -> None:
    reference = _frame({"movies": 300, "tweets": 300})
    matched = match_reference(reference, _frame({"movies": 10, "amazon": 90}), min_rows=100)
    assert matched.matched_on is None and matched.new_domains == ["amazon"]
    assert len(matched.frame) == len(reference)
    assert "amazon" in matched.reason


def test_too_few_matching_rows_or_no_domain_falls_back_saying_why() -> None:
    reference = _frame({"movies": 50, "tweets": 900})
    small = match_reference(reference, _frame({"movies": 100}), min_rows=100)
    assert small.matched_on is None and "only 50" in small.reason
    no_domain = match_reference(reference, pd.DataFrame({"text": ["a", "b"]}), min_rows=1)
    assert no_domain.matched_on is None and len(no_domain.frame) == len(reference)
    assert match_reference(reference, _frame({"movies": 60}), min_rows=10).to_dict()["rows"] == 50


CONFIG = DriftConfig(min_samples=100, sample_size=150)
DRAWS = 6


@pytest.mark.slow
def test_same_source_batch_is_not_drift_against_a_matched_mixed_reference(
    vader_df: pd.DataFrame,
) -> None:
    """Production's false alarm: new movies vs a movies+tweets champion (real Evidently)."""
    movies = vader_df[vader_df["domain"] == "movies"].sample(1500, random_state=3)
    tweets = vader_df[vader_df["domain"] == "tweets"].sample(900, random_state=3)
    champion_rows = pd.concat([movies.iloc[:300], tweets.iloc[:300]])
    champion = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))
    champion.fit(champion_rows["text"], champion_rows["label"])
    # The champion's out-of-sample reference: 450 movies + 450 tweets it never trained on.
    reference = pd.concat([movies.iloc[300:750], tweets.iloc[300:750]], ignore_index=True)
    fresh_movies = movies.iloc[750:].reset_index(drop=True)
    fresh_tweets = tweets.iloc[750:].reset_index(drop=True)

    def sample(frame: pd.DataFrame) -> DriftSample:
        proba = champion.predict_proba(frame["text"])
        return DriftSample(
            texts=frame["text"].tolist(),
            predicted_labels=list(champion.classes_[proba.argmax(1)]),
            confidence=proba.max(1),
        )

    def flagged(ref: pd.DataFrame, cur: pd.DataFrame, seed: int) -> bool:
        config = CONFIG.model_copy(update={"seed": seed})
        return check_drift(sample(ref), sample(cur), config=config).drifted

    rng = np.random.default_rng(0)
    batches = [
        fresh_movies.iloc[rng.choice(len(fresh_movies), 150, replace=False)] for _ in range(DRAWS)
    ]
    unmatched = sum(flagged(reference, batch, s) for s, batch in enumerate(batches))
    matched = sum(
        flagged(match_reference(reference, batch, 100, seed=s).frame, batch, s)
        for s, batch in enumerate(batches)
    )
    assert unmatched >= DRAWS - 1, "the mixed reference should flag same-source movies"
    assert matched <= 1, f"{matched}/{DRAWS} false alarms against the matched reference"
    # Matching must not blind it: new tweets vs a movies-only champion reference is caught.
    movies_only = reference[reference["domain"] == "movies"]
    tweet_batch = fresh_tweets.iloc[:150]
    matched_for_tweets = match_reference(movies_only, tweet_batch, 100)
    assert matched_for_tweets.new_domains == ["tweets"]
    assert flagged(matched_for_tweets.frame, tweet_batch, 0)
