"""A model's predictions on a table of rows: class probabilities plus the label it chose.

The label is kept apart from the probabilities because a served model need not take the
argmax (a cascade or a tuned decision threshold may not), and evaluation must score the label
the model actually returns. The probabilities feed calibration and label-free estimates.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Predictions:
    """Predictions of one model, row-aligned.

    Attributes:
        model_id: Who predicted (MLflow model version, run id or any stable name).
        classes: Class names; column j of `probs` is the probability of classes[j].
        probs: Class probabilities, shape [n, K], rows summing to 1.
        labels: Predicted label of each row (a member of `classes`).
        row_ids: Row identities (data.schema.row_id) when the rows are golden/test rows;
            used to align with the evaluation table.
    """

    model_id: str
    classes: tuple[str, ...]
    probs: np.ndarray = field(repr=False)
    labels: tuple[str, ...] = field(repr=False)
    row_ids: tuple[str, ...] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        probs = np.asarray(self.probs, dtype=np.float64)
        object.__setattr__(self, "probs", probs)
        if probs.ndim != 2 or probs.shape[1] != len(self.classes):
            raise ValueError(
                f"probs shape {probs.shape} does not match {len(self.classes)} classes"
            )
        if len(set(self.classes)) != len(self.classes):
            raise ValueError(f"duplicate classes: {self.classes}")
        if len(self.labels) != probs.shape[0]:
            raise ValueError(f"{len(self.labels)} labels for {probs.shape[0]} probability rows")
        if self.row_ids is not None and len(self.row_ids) != probs.shape[0]:
            raise ValueError(f"{len(self.row_ids)} row ids for {probs.shape[0]} rows")
        if not np.all(np.isfinite(probs)) or np.any(probs < 0):
            raise ValueError("probabilities must be finite and non-negative")
        if not np.allclose(probs.sum(axis=1), 1.0, atol=1e-4):
            raise ValueError("probability rows must sum to 1")
        unknown = set(self.labels) - set(self.classes)
        if unknown:
            raise ValueError(f"predicted labels not among classes: {sorted(unknown)}")

    @classmethod
    def from_probs(
        cls,
        probs: np.ndarray,
        classes: Sequence[str],
        *,
        model_id: str,
        row_ids: Sequence[str] | None = None,
    ) -> "Predictions":
        """Predictions whose label is the argmax of the probabilities."""
        probs = np.asarray(probs, dtype=np.float64)
        labels = tuple(classes[i] for i in probs.argmax(axis=1))
        ids = tuple(row_ids) if row_ids is not None else None
        return cls(model_id, tuple(classes), probs, labels, ids)

    def __len__(self) -> int:
        return self.probs.shape[0]

    @property
    def label_index(self) -> np.ndarray:
        """Index into `classes` of each predicted label."""
        lookup = {c: i for i, c in enumerate(self.classes)}
        return np.array([lookup[label] for label in self.labels], dtype=np.int64)

    @property
    def confidence(self) -> np.ndarray:
        """Probability the model gave to the label it returned."""
        return self.probs[np.arange(len(self)), self.label_index]

    def aligned_to(self, row_ids: Sequence[str]) -> "Predictions":
        """The same predictions reordered to `row_ids` (each must be present exactly once)."""
        if self.row_ids is None:
            raise ValueError(f"predictions of {self.model_id} carry no row ids to align on")
        position = {rid: i for i, rid in enumerate(self.row_ids)}
        if len(position) != len(self.row_ids):
            raise ValueError(f"predictions of {self.model_id} repeat row ids")
        missing = [rid for rid in row_ids if rid not in position]
        if missing:
            raise ValueError(
                f"predictions of {self.model_id} miss {len(missing)} rows, e.g. {missing[:3]}"
            )
        order = np.array([position[rid] for rid in row_ids], dtype=np.int64)
        return Predictions(
            self.model_id,
            self.classes,
            self.probs[order],
            tuple(self.labels[i] for i in order),
            tuple(row_ids),
        )
