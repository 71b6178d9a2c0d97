"""Context for the gate's golden report that the verdict never reads.

* The simple baseline (models.baseline: TF-IDF + logistic regression), fitted on the train
  split of the very snapshot the challenger trained on and scored on the same golden rows:
  a report then shows whether the trained tiers beat what a few seconds of scikit-learn get.
* Truncation: the share of golden texts longer than the accurate tier's token window (and,
  from its bundle, the share of its training texts), with a plain notice.

Why fit the baseline here and not in training: the evaluation stage already reads the
candidate's snapshot by its DVC tag (the candidate's lineage), the fit takes ~1-2 s on a few
thousand rows, and a stored scikit-learn model would be a pickle beside bundles that are
deliberately pickle-free. Nothing here feeds `evaluation.promotion`: the policy judges the
challenger's own report only.
"""

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data.schema import ROW_ID, TEXT
from data.snapshot import label_set
from evaluation.stats.predictions import Predictions
from models.baseline import NAME, TfidfBaseline
from models.bundle import read_bundle_config
from models.truncation import TRUNCATED_SHARE, percent, truncation_stats

BASELINE_ID = "baseline/tfidf-lr"


def baseline_predictions(snapshot: pd.DataFrame, golden: pd.DataFrame) -> Predictions:
    """The baseline, fitted on `snapshot`'s train split, on the golden rows (row-aligned)."""
    model = TfidfBaseline().fit_snapshot(snapshot)
    if model.classes != label_set(snapshot):
        raise AssertionError("baseline classes differ from the snapshot's label set")
    return Predictions.from_probs(
        model.predict_proba(golden[TEXT].astype(str).tolist()),
        model.classes,
        model_id=BASELINE_ID,
        row_ids=golden[ROW_ID].astype(str).tolist(),
    )


@dataclass(frozen=True)
class TruncationNotice:
    """How much of its texts one tier with a token window reads."""

    tier: str
    max_tokens: int
    golden_share: float
    training_share: float | None  # from the bundle; None for bundles trained before it existed
    message: str


def truncation_notices(bundles: dict[str, str], golden: pd.DataFrame) -> list[TruncationNotice]:
    """One notice per tier whose encoder truncates (the fast tier reads whole texts)."""
    notices = []
    texts = golden[TEXT].astype(str).tolist()
    for tier, bundle in bundles.items():
        config = read_bundle_config(Path(bundle))
        if config.encoder is None:
            continue
        stats = truncation_stats(texts, config.encoder.max_tokens)
        trained = config.metrics.get(TRUNCATED_SHARE)
        message = f"{tier}: {stats.notice('golden texts', lexical=config.lexical)}"
        if trained is not None:
            message += f" Training texts: {percent(trained)} exceeded it."
        notices.append(
            TruncationNotice(tier, config.encoder.max_tokens, stats.share, trained, message)
        )
    return notices


GAP_TOLERANCE = 0.0005  # half the last printed digit: a gap that prints as 0.000 is no gap


def baseline_gap_notice(challenger: str, challenger_f1: float, baseline_f1: float) -> str:
    """The challenger's macro-F1 against the baseline's, in words. Within GAP_TOLERANCE it
    reads "equal to", with the tolerance stated (never "BELOW ... -0.000")."""
    gap = challenger_f1 - baseline_f1
    if abs(gap) < GAP_TOLERANCE:
        return (
            f"{challenger} macro-F1 {challenger_f1:.3f} is equal to the {NAME} reference "
            f"({baseline_f1:.3f}, within {GAP_TOLERANCE:g})."
        )
    side = "above" if gap > 0 else "BELOW"
    return (
        f"{challenger} macro-F1 {challenger_f1:.3f} is {side} the {NAME} reference "
        f"({baseline_f1:.3f}, {gap:+.3f}); the gate blocks below the baseline's interval "
        "(policy `block_below_baseline`)."
    )
