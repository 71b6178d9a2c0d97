"""The simple baseline every model must beat: TF-IDF (word 1-2 grams) + logistic regression.

A reference, never a product tier: the golden evaluation scores it beside the challenger
(fitted on the challenger's own training split) so a report shows at a glance whether the
trained tiers earn their cost; bench/baseline_vs_tiers.py puts it beside both tiers per
dataset. Pure scikit-learn: any label names, any number of classes (multinomial loss).

Settings, and why:
* `sublinear_tf` (1 + log tf) and `min_df=2`: the usual strong TF-IDF recipe; a term seen
  once in the training split cannot generalise and only inflates the vocabulary.
* `class_weight="balanced"`: the tiers weight their loss the same way (models.spec), and the
  selection metric is macro-F1, so the baseline optimises for the same thing.
* `C=4`: the notes' reference baseline (STACK_NOTES); on the bench datasets it is within
  noise of the best C in {1, 4, 16} (see bench/baseline_vs_tiers.py).
It fits on a few thousand rows in well under 2 s on one core.
"""

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from data.schema import LABEL, SPLIT, TEXT

NAME = "baseline (TF-IDF+LR)"


class TfidfBaseline:
    """TF-IDF + logistic regression over raw texts; classes sorted like the tiers' labels."""

    def __init__(self, C: float = 4.0, min_df: int = 2, max_iter: int = 2000) -> None:
        self.C, self.min_df, self.max_iter = C, min_df, max_iter
        self._pipeline: Pipeline | None = None

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> "TfidfBaseline":
        labels = [str(y) for y in labels]
        if len(set(labels)) < 2:
            raise ValueError("the baseline needs at least two classes to fit")
        # min_df=2 on a handful of rows can leave no vocabulary at all; then every term counts.
        min_df = self.min_df if len(texts) >= 10 * self.min_df else 1
        self._pipeline = Pipeline(
            [
                ("tfidf", TfidfVectorizer(ngram_range=(1, 2), min_df=min_df, sublinear_tf=True)),
                (
                    "lr",
                    LogisticRegression(
                        C=self.C,
                        class_weight="balanced",
                        solver="newton-cg",
                        max_iter=self.max_iter,
                    ),
                ),
            ]
        )
        self._pipeline.fit(list(texts), labels)
        return self

    def fit_snapshot(self, snapshot: pd.DataFrame) -> "TfidfBaseline":
        """Fit on the snapshot's train split: the rows the tiers fit their weights on."""
        train = snapshot[snapshot[SPLIT] == "train"]
        return self.fit(train[TEXT].astype(str).tolist(), train[LABEL].astype(str).tolist())

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            raise RuntimeError("the baseline is not fitted yet")
        return self._pipeline

    @property
    def classes(self) -> list[str]:
        """Class names in column order of `predict_proba` (sorted, as data.snapshot.label_set)."""
        return [str(c) for c in self.pipeline.classes_]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, shape [n, len(classes)]."""
        return np.asarray(self.pipeline.predict_proba(list(texts)), dtype=np.float64)

    def predict(self, texts: Sequence[str]) -> list[str]:
        classes = self.classes
        return [classes[i] for i in self.predict_proba(texts).argmax(axis=1)]
