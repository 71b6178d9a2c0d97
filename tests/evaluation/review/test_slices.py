"""evaluation/review/slices.py on real texts: the domain classifier finds the items of today's
traffic its reference lacks (VADER movie reviews then tweets; TREC questions then product
reviews), and stays quiet when nothing moved. Pure (scikit-learn); no server, no model."""

import numpy as np
import pandas as pd
import pytest

from data.trec import load_trec_questions
from evaluation.review.slices import drifted_slices


def _shuffled(frame: pd.DataFrame, column: str) -> list[str]:
    return frame.drop_duplicates(column).sample(frac=1, random_state=0)[column].tolist()


@pytest.fixture(scope="module")
def movies(vader_df: pd.DataFrame) -> list[str]:
    return _shuffled(vader_df[vader_df["domain"] == "movies"], "text")


def test_a_tenth_of_tweets_among_movie_reviews_is_what_the_slices_hold(
    vader_df: pd.DataFrame, movies: list[str]
) -> None:
    tweets = _shuffled(vader_df[vader_df["domain"] == "tweets"], "text")
    today = movies[3000:3900] + tweets[:100]
    is_tweet = np.r_[np.zeros(900, bool), np.ones(100, bool)]
    report = drifted_slices(movies[:3000], today)
    assert report.status == "drifted" and report.p_value is not None and report.p_value < 0.01
    picked = report.in_slice
    # 10% of today is tweets; of the items in drifted slices, most are
    assert picked.sum() >= 30 and is_tweet[picked].mean() >= 0.8
    top = np.argsort(-report.ratio)[:50]
    assert is_tweet[top].mean() >= 0.9
    assert report.terms and report.to_dict()["items_over_lift"] == int(picked.sum())


def test_no_slices_when_today_is_more_of_the_same(movies: list[str]) -> None:
    report = drifted_slices(movies[:3000], movies[3000:4000])
    assert report.status == "no_drift" and not report.in_slice.any()
    assert report.auc is not None and report.auc < 0.53


def test_a_second_dataset_questions_then_product_reviews(
    data_wheel, vader_df: pd.DataFrame
) -> None:
    """Six-class TREC questions as the reference; today 10% Amazon reviews pasted in."""
    questions = _shuffled(load_trec_questions(data_wheel), "question")
    reviews = _shuffled(vader_df[vader_df["domain"] == "amazon"], "text")
    today = questions[2000:2900] + reviews[:100]
    foreign = np.r_[np.zeros(900, bool), np.ones(100, bool)]
    report = drifted_slices(questions[:2000], today)
    assert report.status == "drifted"
    assert foreign[report.in_slice].mean() >= 3 * foreign.mean()
    assert foreign[np.argsort(-report.ratio)[:50]].mean() >= 0.6
    assert drifted_slices(questions[:2000], questions[2000:3000]).status == "no_drift"


def test_without_a_reference_or_rows_nothing_is_computed(movies: list[str]) -> None:
    assert drifted_slices([], movies[:100]).status.startswith("no reference")
    short = drifted_slices(movies[:100], movies[100:120])
    assert short.status.startswith("too few rows") and not short.in_slice.any()
    assert len(short.ratio) == 20
