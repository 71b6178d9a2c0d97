"""Per-class report and confusion matrix of a classifier on one split."""

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ClassificationReport:
    """Scores of predictions against labels; `confusion[i][j]` = true i predicted j."""

    labels: list[str]
    confusion: list[list[int]]
    per_class: dict[str, dict[str, float]]  # label -> precision, recall, f1, support
    macro_f1: float
    accuracy: float
    support: int

    @classmethod
    def from_indices(
        cls, y_true: np.ndarray, y_pred: np.ndarray, labels: list[str]
    ) -> "ClassificationReport":
        # sklearn (~0.6 s) is imported when a report is made, not by every importer of the type.
        from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

        classes = list(range(len(labels)))
        precision, recall, f1, support = precision_recall_fscore_support(
            y_true, y_pred, labels=classes, zero_division=0
        )
        per_class = {
            label: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, label in enumerate(labels)
        }
        # Macro over classes present in the split: a class absent from a small split would
        # otherwise count as F1 0 (torchmetrics' val/macro_f1 drops it the same way).
        present = [i for i in classes if support[i] > 0 or np.any(y_pred == i)]
        return cls(
            labels=list(labels),
            confusion=confusion_matrix(y_true, y_pred, labels=classes).tolist(),
            per_class=per_class,
            macro_f1=float(np.mean(f1[present])) if present else 0.0,
            accuracy=float(np.mean(y_true == y_pred)) if len(y_true) else 0.0,
            support=len(y_true),
        )

    @classmethod
    def from_labels(
        cls, y_true: list[str], y_pred: list[str], labels: list[str]
    ) -> "ClassificationReport":
        index = {label: i for i, label in enumerate(labels)}
        return cls.from_indices(
            np.array([index[y] for y in y_true]), np.array([index[y] for y in y_pred]), labels
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
