"""Scoring many texts at once with a model's tiers, as the service answers one request.

The rule is the served one (bento/engine.py): with a cascade threshold, the fast tier
answers every text and the accurate tier re-answers those whose fast confidence is below
it; without one, the judged tier (accurate when present) answers all. The service's cascade
audit (a sampled second opinion that can latch a model onto its accurate tier) watches live
traffic over time; a batch has no such history, so it is not applied here.

Texts go through in chunks (`batch_size`), each tier's forward batched as the service's
micro-batcher would batch concurrent requests.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd


def _proba(predictor: Any, texts: Sequence[str], batch_size: int) -> np.ndarray:
    parts = [
        predictor.predict_proba(list(texts[i : i + batch_size]))
        for i in range(0, len(texts), batch_size)
    ]
    return np.concatenate(parts) if parts else np.empty((0, 0))


def score_texts(
    tiers: Mapping[str, Any],
    labels: Sequence[str],
    texts: Sequence[str],
    threshold: float | None = None,
    batch_size: int = 64,
    on_chunk: Callable[[int], None] | None = None,
    chunk: int = 512,
) -> pd.DataFrame:
    """One row per text: `label`, `confidence` (the answering tier's top probability) and
    `tier` (which tier answered). `on_chunk(n)` is called after each `chunk` texts."""
    cascade = threshold is not None and {"fast", "accurate"} <= set(tiers)
    single = "accurate" if "accurate" in tiers else next(iter(tiers))
    frames = []
    for start in range(0, len(texts), chunk):
        part = list(texts[start : start + chunk])
        probs = _proba(tiers["fast" if cascade else single], part, batch_size)
        answered = np.full(len(part), "fast" if cascade else single, dtype=object)
        if cascade:
            unsure = np.flatnonzero(probs.max(axis=1) < threshold)
            if len(unsure):
                probs[unsure] = _proba(tiers["accurate"], [part[i] for i in unsure], batch_size)
                answered[unsure] = "accurate"
        frames.append(
            pd.DataFrame(
                {
                    "label": np.asarray(labels, dtype=object)[probs.argmax(axis=1)],
                    "confidence": probs.max(axis=1),
                    "tier": answered,
                }
            )
        )
        if on_chunk is not None:
            on_chunk(len(part))
    if not frames:
        return pd.DataFrame({"label": [], "confidence": [], "tier": []})
    return pd.concat(frames, ignore_index=True)


def answer_summary(scored: pd.DataFrame, label_column: str | None) -> dict[str, Any]:
    """Counts per answering tier and per predicted label; with labels (rows that have one),
    accuracy and macro-F1 over the classes present in labels or answers."""
    from sklearn.metrics import accuracy_score, f1_score

    out: dict[str, Any] = {
        "by_tier": {str(k): int(v) for k, v in scored["tier"].value_counts().items()},
        "by_prediction": {str(k): int(v) for k, v in scored["prediction"].value_counts().items()},
    }
    if label_column is not None:
        known = scored[scored[label_column].notna()]
        if len(known):
            truth, said = known[label_column].astype(str), known["prediction"].astype(str)
            out["labelled_rows"] = len(known)
            out["accuracy"] = round(float(accuracy_score(truth, said)), 4)
            out["macro_f1"] = round(float(f1_score(truth, said, average="macro")), 4)
    return out
