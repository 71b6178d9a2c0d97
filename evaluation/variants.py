"""Which inference runtime serves the accurate tier: the fastest one that keeps macro-F1 on
every golden slice within `max_loss` of torch fp32 (issue #10; speeds in
bench/serve_runtimes.py: onnx-int8 ~3.3x, onnx-fp32 ~2x torch fp32 on 2 cores).

A variant is judged on the same golden rows and slices as the gate, against the gate tier's
own fp32 predictions, so the deltas are exactly what switching runtimes changes.
"""

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from evaluation.golden_eval.slices import Slice

REFERENCE = "torch-fp32"
# Fastest first (bench/serve_runtimes.py, 2026-12-04): the first within policy is chosen.
PREFERENCE = ("onnx-int8", "onnx-fp32")


@dataclass(frozen=True)
class VariantJudgement:
    variant: str
    within_policy: bool
    worst_slice: str
    worst_delta: float  # variant minus fp32 macro-F1 on its worst slice (<0 = a loss)
    deltas: dict[str, float]  # slice -> delta, slices with >= min_rows rows
    agreement: float  # share of golden rows with the same predicted label as fp32

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def judge_variant(
    variant: str,
    reference_labels: np.ndarray,
    variant_labels: np.ndarray,
    y_true: np.ndarray,
    slices: list[Slice],
    max_loss: float = 0.01,
    min_rows: int = 20,
) -> VariantJudgement:
    """Per-slice macro-F1 of `variant` minus fp32 on the same rows; within policy when no
    slice (of >= `min_rows` rows: smaller ones are noise at one label) loses > `max_loss`."""
    reference_labels, variant_labels = np.asarray(reference_labels), np.asarray(variant_labels)
    y_true = np.asarray(y_true)
    if not len(reference_labels) == len(variant_labels) == len(y_true):
        raise ValueError("predictions and labels must be row-aligned")
    classes = sorted(set(y_true))
    deltas = {}
    for sl in slices:
        if sl.size < min_rows:
            continue
        m = sl.mask
        ref = f1_score(
            y_true[m], reference_labels[m], labels=classes, average="macro", zero_division=0
        )
        var = f1_score(
            y_true[m], variant_labels[m], labels=classes, average="macro", zero_division=0
        )
        deltas[sl.name] = float(var - ref)
    if not deltas:
        raise ValueError(f"no slice has {min_rows} rows to judge on")
    worst = min(deltas, key=lambda k: deltas[k])
    return VariantJudgement(
        variant=variant,
        within_policy=deltas[worst] >= -max_loss,
        worst_slice=worst,
        worst_delta=deltas[worst],
        deltas=deltas,
        agreement=float(np.mean(reference_labels == variant_labels)),
    )


def choose_variant(judgements: list[VariantJudgement]) -> str:
    """The first judged variant within policy (callers pass them fastest first), else fp32."""
    for judgement in judgements:
        if judgement.within_policy:
            return judgement.variant
    return REFERENCE
