"""The gate's cost evidence: a candidate's serving cost measured on golden-set texts.

Cost units are CPU seconds x price per core-hour, the same unit the service counts per
forward (`driftwise_cost_units_total`, bento/service.py). At the gate the cascade is not yet
tuned and the serving runtime not yet chosen (assets/serving.py runs after it), so the gate
prices the worst case it can stand behind: every text through the gate tier on torch fp32
(the slowest runtime model_variants may keep), batched as the service batches (64 texts
per forward), without the embedding cache. The served cost is lower (cheaper runtimes, the
fast tier answering most texts) and is what /metrics and `driftwise status` show.
"""

import time
from collections.abc import Sequence
from pathlib import Path

from evaluation.promotion.policy import CostEvidence

MAX_TEXTS = 128
BATCH = 64


def cost_units(cpu_seconds: float, price_per_core_hour: float) -> float:
    return cpu_seconds / 3600.0 * price_per_core_hour


def measure_cost(
    bundle: Path,
    texts: Sequence[str],
    price_per_core_hour: float,
    tier: str,
    max_texts: int = MAX_TEXTS,
) -> CostEvidence:
    """Cost units per 1,000 predictions of `bundle` on up to `max_texts` of `texts`."""
    from models.inference import load_predictor

    sample = list(texts)[:max_texts]
    if not sample:
        raise ValueError("no texts to measure the cost on")
    predictor = load_predictor(bundle)
    predictor.predict_proba(sample[:2])  # first call allocates: not a prediction's cost
    cpu = time.process_time()
    for start in range(0, len(sample), BATCH):
        predictor.predict_proba(sample[start : start + BATCH])
    spent = time.process_time() - cpu
    per_1k = 1000.0 * cost_units(spent / len(sample), price_per_core_hour)
    return CostEvidence(
        cost_units_per_1k=per_1k,
        source=(
            f"golden set: {len(sample)} texts through the {tier} tier on torch fp32, "
            f"{spent:.2f} CPU s at {price_per_core_hour:g}/core-hour"
        ),
    )
