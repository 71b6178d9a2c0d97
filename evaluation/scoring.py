"""Scoring model bundles for evaluation: which tier is judged, and predictions on rows.

Both the golden-set and the traffic evaluation score the same way, through the bundle
scorer that shares the embedding cache with training (models.inference.CachedScorer).
"""

from pathlib import Path
from typing import Any

import pandas as pd

from data.schema import ROW_ID, TEXT
from evaluation.stats.predictions import Predictions
from models.bundle import read_bundle_config


def gate_tier(tiers: dict[str, Any]) -> str:
    """The tier the gate judges: accurate when present, else the first one trained."""
    if not tiers:
        raise ValueError("a model without tiers cannot be evaluated")
    return "accurate" if "accurate" in tiers else next(iter(tiers))


def model_id(name: str, version: str, tier: str) -> str:
    """How evaluation names one tier of one registered version: `name/vN/tier`."""
    return f"{name}/v{version}/{tier}"


class BundleScorer:
    """A bundle's predictions on rows, as evaluation's `Predictions` (see CachedScorer)."""

    def __init__(self, embeddings_root: Path) -> None:
        from models.inference import CachedScorer  # torch: paid when scoring, not at import

        self._scorer = CachedScorer(embeddings_root)

    def predict(
        self,
        bundle_dir: Path,
        frame: pd.DataFrame,
        model: str,
        encoder_variant: str = "torch-fp32",
    ) -> Predictions:
        """`encoder_variant`: the runtime of a MiniLM bundle's encoder (models.encoder_runtime)."""
        ids, texts = frame[ROW_ID].astype(str).tolist(), frame[TEXT].astype(str).tolist()
        probs = self._scorer.predict_proba(bundle_dir, ids, texts, encoder_variant)
        labels = read_bundle_config(bundle_dir).labels
        return Predictions.from_probs(probs, labels, model_id=model, row_ids=ids)
