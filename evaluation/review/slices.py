"""Drifted slices: the items of today's traffic that look least like the champion's reference.

A drift report says *that* traffic moved; the review queue needs *which items* moved, since
a label from a region the model never trained on teaches it most. We ask a domain
classifier, the same method as the drift check's text signal (Evidently's text drift):

1. word TF-IDF (1-2 grams) of the reference texts (the champion's out-of-sample snapshot
   rows, evaluation/drift/reference.py) and today's texts; a logistic regression tells them
   apart, each text scored out of fold (5 folds), so no text is judged by a model that saw it;
2. the traffic moved when today's scores rank above the reference's: a one-sided
   Mann-Whitney test (AUC = U / (n1 n2)) at `alpha`, and a practical floor on the AUC (with
   thousands of rows a negligible shift is significant);
3. then each of today's texts has a density ratio p(x | today) / p(x | reference), estimated
   as odds x n_reference / n_today; a text at or over `min_lift` lies in a region today's
   traffic holds at least that many times more of than the reference does: a drifted slice.
   The words that weigh most towards "today" name the slices.

Measured on real data (tests/evaluation/review/test_slices.py): reference = movie reviews,
today = 90% movie reviews + 10% tweets: 94% of the items over the lift are tweets; with no
drift the test does not fire. Texts only, never labels: any dataset, any label set.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import mannwhitneyu
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

FOLDS = 5
# The reference is subsampled to this many texts: the classifier's cost grows with it and a
# few thousand rows already pin down what the model trained on.
MAX_REFERENCE = 5000
TOP_TERMS = 8


@dataclass(frozen=True)
class SliceReport:
    """What the drifted-slice stratum found (asset metadata), and each text's ratio.

    Attributes:
        status: "drifted", "no_drift", or why it was not computed.
        auc: out-of-fold AUC of the domain classifier (None when not computed).
        p_value: its one-sided Mann-Whitney p-value.
        terms: the words weighing most towards today's traffic (the slices' names).
        ratio: one per current text, its estimated density ratio (NaN when not computed).
        min_lift: the ratio at or over which a text is in a drifted slice.
    """

    status: str
    auc: float | None = None
    p_value: float | None = None
    terms: list[str] = field(default_factory=list)
    ratio: np.ndarray = field(default_factory=lambda: np.zeros(0))
    min_lift: float = 2.0

    @property
    def in_slice(self) -> np.ndarray:
        """Per current text: in a drifted slice (only when the traffic drifted)."""
        if self.status != "drifted":
            return np.zeros(len(self.ratio), dtype=bool)
        return np.nan_to_num(self.ratio, nan=0.0) >= self.min_lift

    def to_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "auc": None if self.auc is None else round(self.auc, 4),
            "p_value": self.p_value,
            "items_over_lift": int(self.in_slice.sum()),
            "min_lift": self.min_lift,
            "terms": list(self.terms),
        }


def drifted_slices(
    reference_texts: Sequence[str],
    current_texts: Sequence[str],
    *,
    alpha: float = 0.01,
    min_auc: float = 0.53,
    min_lift: float = 2.0,
    min_rows: int = 50,
    seed: int = 0,
) -> SliceReport:
    """Each current text's density ratio against the reference, and whether it drifted.

    Args:
        alpha: significance level of the Mann-Whitney test.
        min_auc: the traffic drifted only if the out-of-fold AUC also reaches this.
        min_lift: the density ratio at or over which a text is in a drifted slice.
        min_rows: fewer texts on either side: nothing computed ("too few rows").
        seed: the reference subsample and the folds.
    """
    n_cur = len(current_texts)
    empty = np.full(n_cur, np.nan)
    if not len(reference_texts):
        return SliceReport("no reference (no model yet)", ratio=empty, min_lift=min_lift)
    if min(len(reference_texts), n_cur) < min_rows:
        status = f"too few rows ({len(reference_texts)} reference, {n_cur} today; need {min_rows})"
        return SliceReport(status, ratio=empty, min_lift=min_lift)
    rng = np.random.default_rng(seed)
    reference = list(reference_texts)
    if len(reference) > MAX_REFERENCE:
        reference = [reference[i] for i in rng.choice(len(reference), MAX_REFERENCE, False)]
    texts = [*reference, *current_texts]
    y = np.r_[np.zeros(len(reference)), np.ones(n_cur)]
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    features = vectorizer.fit_transform(texts)
    model = LogisticRegression(C=1.0, max_iter=2000)
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    p = cross_val_predict(model, features, y, cv=folds, method="predict_proba")[:, 1]
    ref_p, cur_p = p[: len(reference)], p[len(reference) :]
    test = mannwhitneyu(cur_p, ref_p, alternative="greater")
    auc = float(test.statistic) / (len(cur_p) * len(ref_p))
    p = np.clip(cur_p, 1e-9, 1 - 1e-9)
    ratio = p / (1 - p) * len(reference) / n_cur
    drifted = float(test.pvalue) < alpha and auc >= min_auc
    terms: list[str] = []
    if drifted:
        weights = model.fit(features, y).coef_[0]
        names = vectorizer.get_feature_names_out()
        terms = [str(names[i]) for i in np.argsort(-weights)[:TOP_TERMS]]
    return SliceReport(
        "drifted" if drifted else "no_drift",
        auc,
        float(test.pvalue),
        terms,
        ratio,
        min_lift,
    )
