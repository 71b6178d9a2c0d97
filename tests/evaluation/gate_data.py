"""Real-data setup shared by the golden / policy / label-free tests (a helper, not a test).

Built from the real VADER data (the `vader_df` session fixture): an ~800-row golden set
(200 rows per domain, with a real metadata column), a disjoint training pool, and real
scikit-learn TF-IDF + logistic-regression models standing in for "a model" (the product's
model tiers live in models/). Results are cached per process so several test modules share
one build (~5 s) without a shared conftest.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from data.schema import row_id
from evaluation.stats.bootstrap import Interval
from evaluation.stats.predictions import Predictions
from evaluation.traffic.label_free import LabelFreeEstimate
from evaluation.traffic.reference_free import DistributionSummary, ReferenceFreeReport

T = TypeVar("T")
_CACHE: dict[str, Any] = {}
GOLDEN_PER_DOMAIN = 200


def _cached(key: str, build: Callable[[], T]) -> T:
    if key not in _CACHE:
        _CACHE[key] = build()
    return _CACHE[key]


def fit_tfidf(
    frame: pd.DataFrame, *, shuffle_seed: int | None = None, flip_domain: str | None = None
) -> Pipeline:
    """TF-IDF (1-2 grams) + logistic regression on `frame`.

    `shuffle_seed` trains on permuted labels (a model that learned nothing); `flip_domain`
    inverts the labels of one domain (an ingestion bug that mislabels one source).
    """
    y = frame["label"].to_numpy().copy()
    if shuffle_seed is not None:
        y = np.random.default_rng(shuffle_seed).permutation(y)
    if flip_domain is not None:
        mask = (frame["domain"] == flip_domain).to_numpy()
        y[mask] = np.where(y[mask] == "positive", "negative", "positive")
    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(C=4.0, solver="liblinear"),
    )
    return model.fit(frame["text"], y)


def predict(model: Pipeline, frame: pd.DataFrame, model_id: str) -> Predictions:
    return Predictions.from_probs(
        model.predict_proba(frame["text"]),
        [str(c) for c in model.classes_],
        model_id=model_id,
        row_ids=frame["row_id"].tolist() if "row_id" in frame else None,
    )


def _rows(vader_df: pd.DataFrame) -> pd.DataFrame:
    df = vader_df.copy()
    df["row_id"] = df["text"].map(row_id)
    df = df.drop_duplicates("row_id").reset_index(drop=True)
    # A real metadata column: how strongly the raters felt (mean rating magnitude).
    df["intensity"] = np.where(df["rating"].abs() >= 2.0, "strong", "mild")
    return df


@dataclass(frozen=True)
class GateData:
    golden: pd.DataFrame
    pool: pd.DataFrame
    predictions: dict[str, Predictions]


def gate_data(vader_df: pd.DataFrame) -> GateData:
    """Golden set + candidate models: champion, better, shuffled, flipped-amazon."""

    def build() -> GateData:
        rows = _rows(vader_df)
        golden = (
            rows.groupby("domain", group_keys=False)
            .sample(GOLDEN_PER_DOMAIN, random_state=0)[
                ["row_id", "text", "label", "domain", "intensity"]
            ]
            .reset_index(drop=True)
        )
        pool = rows[~rows["row_id"].isin(golden["row_id"])]
        small = pool.groupby("domain", group_keys=False).sample(300, random_state=1)
        big = pool.groupby("domain", group_keys=False).sample(2500, random_state=0)
        models = {
            "champion": fit_tfidf(small),
            "better": fit_tfidf(big),
            "shuffled": fit_tfidf(big, shuffle_seed=0),
            "flipped_amazon": fit_tfidf(big, flip_domain="amazon"),
        }
        preds = {name: predict(m, golden, name) for name, m in models.items()}
        return GateData(golden, pool, preds)

    return _cached("gate", build)


@dataclass(frozen=True)
class ShiftData:
    """A movies-only model, its movies validation predictions and the shifted domains."""

    val: Predictions
    val_labels: list[str]
    in_domain: tuple[Predictions, list[str]]
    domains: dict[str, tuple[Predictions, list[str]]]
    train_prior: dict[str, float]


def shift_data(vader_df: pd.DataFrame) -> ShiftData:
    def build() -> ShiftData:
        rows = _rows(vader_df)
        movies = rows[rows["domain"] == "movies"].sample(frac=1.0, random_state=0)
        train, val, test = movies.iloc[:6000], movies.iloc[6000:8000], movies.iloc[8000:]
        model = fit_tfidf(train)
        domains = {}
        for name in ("tweets", "amazon", "nyt"):
            part = rows[rows["domain"] == name]
            domains[name] = (predict(model, part, "movies-tfidf"), part["label"].tolist())
        prior = train["label"].value_counts(normalize=True).to_dict()
        return ShiftData(
            val=predict(model, val, "movies-tfidf"),
            val_labels=val["label"].tolist(),
            in_domain=(predict(model, test, "movies-tfidf"), test["label"].tolist()),
            domains=domains,
            train_prior={str(k): float(v) for k, v in prior.items()},
        )

    return _cached("shift", build)


def traffic_report(estimate: float, champion_estimate: float | None) -> ReferenceFreeReport:
    """A hand-made traffic report: only the label-free estimates matter to the policy."""

    def est(value: float) -> LabelFreeEstimate:
        return LabelFreeEstimate(
            "atc", Interval(value, value - 0.01, value + 0.01, 0.95, 5000), 0.1, 1.0
        )

    dist = DistributionSummary(0.8, 0.1, {}, [0.0, 1.0], [5000])
    return ReferenceFreeReport(
        "better",
        5000,
        dist,
        dist,
        None,
        None,
        est(estimate),
        est(champion_estimate) if champion_estimate is not None else None,
    )
