"""evaluation/review/selection.py: which logged answers go to a human, with what inclusion
probability (pure pandas; no server)."""

import numpy as np
import pandas as pd
import pytest

from data.schema import row_id
from evaluation.review.policy import ReviewPolicy
from evaluation.review.selection import COLUMNS, review_selection, select_for_review


def _log(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    confidence = rng.uniform(0.5, 1.0, n)
    return pd.DataFrame(
        {
            "text": [f"review number {i}" for i in range(n)],
            "label": rng.choice(["good", "bad", "mixed"], n),
            "confidence": confidence,
            "arm": "champion",
            "model_version": "3",
            "request_id": [f"r{i}:0" for i in range(n)],
            # the service's sampler: low confidence always logged, the rest at rate 0.1
            "sampling_weight": np.where(confidence < 0.6, 1.0, 10.0),
        }
    )


def test_strata_in_priority_order_under_the_cap() -> None:
    log = _log()
    log.loc[len(log)] = {**log.iloc[5].to_dict(), "arm": "challenger", "label": "other"}
    policy = ReviewPolicy(daily_cap=50, disagreement=10, low_confidence=25, uniform=15)
    queue = select_for_review(log, policy, "2026-12-07")
    assert list(queue.columns) == COLUMNS
    counts = queue["reason"].value_counts().to_dict()
    assert counts == {"disagreement": 1, "low_confidence": 25, "uniform": 15}
    # the disagreement item carries the champion's answer and the challenger's other one
    (item,) = queue[queue["reason"] == "disagreement"].to_dict("records")
    assert item["arm"] == "champion" and item["other_label"] == "other"
    assert item["predicted_label"] == log.iloc[5]["label"]
    # low confidence: the lowest answers of what is left, all under max_confidence
    low = queue[queue["reason"] == "low_confidence"]["confidence"]
    rest = queue[queue["reason"] == "uniform"]["confidence"]
    assert low.max() < policy.max_confidence and low.max() <= rest.min()
    assert queue["review_key"].is_unique and len(queue) <= policy.daily_cap


def test_the_cap_keeps_room_for_the_uniform_sample() -> None:
    policy = ReviewPolicy(daily_cap=20, disagreement=0, low_confidence=100, uniform=5)
    queue = select_for_review(_log(), policy, "d")
    assert queue["reason"].value_counts().to_dict() == {"low_confidence": 15, "uniform": 5}


def test_inclusion_probabilities_are_log_chance_times_draw_chance() -> None:
    log = _log()
    policy = ReviewPolicy(daily_cap=200, disagreement=0, low_confidence=30, uniform=40)
    queue = select_for_review(log, policy, "d")
    weight = dict(zip(log["text"], log["sampling_weight"], strict=True))
    rest = len(log) - 30  # the uniform draw is over every item not taken by a stratum
    for item in queue.to_dict("records"):
        p_logged = 1 / weight[item["text"]]
        expected = p_logged if item["reason"] != "uniform" else p_logged * 40 / rest
        assert item["inclusion_probability"] == pytest.approx(expected)


def test_same_partition_same_queue_and_other_partitions_draw_anew() -> None:
    policy = ReviewPolicy(daily_cap=30, disagreement=0, low_confidence=0, uniform=30)
    a = select_for_review(_log(), policy, "2026-12-07")
    assert a.equals(select_for_review(_log(), policy, "2026-12-07"))
    b = select_for_review(_log(), policy, "2026-12-08")
    assert set(a["review_key"]) != set(b["review_key"])


def test_one_item_per_normalised_text_and_never_queued_twice() -> None:
    log = _log(50)
    log.loc[len(log)] = {**log.iloc[0].to_dict(), "text": "  REVIEW number 0 ", "request_id": "x"}
    policy = ReviewPolicy(daily_cap=100, disagreement=0, low_confidence=100, uniform=100)
    queue = select_for_review(log, policy, "d")
    assert len(queue) == 50 and queue["review_key"].is_unique
    earlier = {row_id("review number 0"), row_id("review number 1")}
    again = select_for_review(log, policy, "d2", queued=earlier)
    assert len(again) == 48 and not earlier & set(again["review_key"])


def test_audit_disagreement_counts() -> None:
    log = _log(30).assign(audit_label=None)
    log.loc[3, "audit_label"] = "not-" + log.loc[3, "label"]
    log.loc[4, "audit_label"] = log.loc[4, "label"]  # audited, agreed: not a disagreement
    policy = ReviewPolicy(daily_cap=10, disagreement=5, low_confidence=0, uniform=0)
    queue = select_for_review(log, policy, "d")
    assert queue["text"].tolist() == [log.loc[3, "text"]]
    assert queue["other_label"].tolist() == [log.loc[3, "audit_label"]]


def test_errors_textless_records_and_an_empty_log_give_an_empty_queue() -> None:
    policy = ReviewPolicy()
    assert select_for_review(pd.DataFrame(), policy, "d").columns.tolist() == COLUMNS
    log = _log(5)
    log["text"] = None  # a privacy policy that logs hashes only
    assert select_for_review(log, policy, "d").empty
    log = _log(5).assign(error="Timeout")
    assert select_for_review(log, policy, "d").empty


def test_a_policy_whose_uniform_sample_cannot_fit_is_refused() -> None:
    with pytest.raises(ValueError, match="uniform"):
        ReviewPolicy(daily_cap=10, uniform=11)
    with pytest.raises(ValueError):
        ReviewPolicy(daily_cap=10, surprise=1)  # type: ignore[call-arg]


def test_drifted_slice_stratum_takes_the_tweets_a_movie_champion_never_saw(
    vader_df: pd.DataFrame,
) -> None:
    """With the champion's reference texts (movie reviews), a day of 90% movie reviews and
    10% tweets queues tweets as `drifted_slice`, before the low-confidence stratum: a random
    sample of the texts over the lift, each with inclusion probability m / (texts over it)."""
    movies = vader_df[vader_df["domain"] == "movies"].drop_duplicates("text")
    tweets = vader_df[vader_df["domain"] == "tweets"].drop_duplicates("text")
    movies = movies.sample(frac=1, random_state=1)
    day = pd.concat([movies.iloc[3000:3900], tweets.sample(100, random_state=1)])
    rng = np.random.default_rng(0)
    log = pd.DataFrame(
        {
            "text": day["text"].to_numpy(),
            "label": "pos",
            "confidence": rng.uniform(0.5, 1.0, len(day)),
            "sampling_weight": 1.0,
        }
    )
    policy = ReviewPolicy(daily_cap=80, disagreement=0, drifted=30, low_confidence=30, uniform=10)
    selection = review_selection(log, policy, "d", reference_texts=movies["text"][:3000].tolist())
    queue = selection.queue
    assert selection.slices.status == "drifted"
    assert queue["reason"].value_counts().to_dict() == {
        "drifted_slice": 30,
        "low_confidence": 30,
        "uniform": 10,
    }
    drifted = queue[queue["reason"] == "drifted_slice"]
    assert drifted["text"].isin(set(tweets["text"])).mean() >= 0.9
    assert (drifted["drift_ratio"] >= policy.drift_min_lift).all()
    over = int(selection.slices.in_slice.sum())
    assert over > 30 and np.allclose(drifted["inclusion_probability"], 30 / over)
    # not the extremes: a sample of the slice, not its 30 highest ratios
    ratios = np.sort(selection.slices.ratio[selection.slices.in_slice])[::-1]
    assert sorted(drifted["drift_ratio"], reverse=True) != list(ratios[:30])
    assert selection.queue.equals(
        review_selection(log, policy, "d", reference_texts=movies["text"][:3000].tolist()).queue
    )
    # without a reference the stratum is off and the rest is as before
    plain = review_selection(log, policy, "d")
    assert "drifted_slice" not in set(plain.queue["reason"])
    assert plain.slices.status.startswith("no reference")
