"""One drift check end to end: predict both sides, test every signal, keep the report.

The summary JSON and the Evidently HTML are written under `out_dir` as `<report_id>.json`
and `.html`; the id is a hash of the summary, so the drift sensor can name the exact report
on the retrain run it starts.
"""

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data.schema import LABEL, TEXT
from evaluation.drift.check import DriftSample, check_drift
from evaluation.drift.config import DriftConfig
from evaluation.drift.reference import Reference, match_reference

Embed = Callable[[list[str]], np.ndarray]


def _sample(frame: pd.DataFrame, reference: Reference) -> DriftSample:
    from models.inference import load_predictor

    texts = frame[TEXT].astype(str).tolist()
    if not texts:
        return DriftSample(texts)
    predictor = load_predictor(reference.fast_bundle)
    probs = predictor.predict_proba(texts)
    labels = [predictor.labels[i] for i in probs.argmax(1)]
    # True labels where every row has one (a labelled batch): the label mix is tested too.
    truth = None
    if LABEL in frame.columns and frame[LABEL].notna().all():
        truth = frame[LABEL].astype(str).tolist()
    return DriftSample(texts, predicted_labels=labels, confidence=probs.max(1), labels=truth)


def save_summary(summary: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Give `summary` its content id and write it as `<id>.json`; returns it with the id."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report_id = hashlib.sha256(
        json.dumps(summary, sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    summary = {**summary, "report_id": report_id}
    (out_dir / f"{report_id}.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def run_drift_check(
    current: pd.DataFrame,
    reference: Reference | None,
    config: DriftConfig,
    embed: Embed | None,
    out_dir: Path,
    name: str,
) -> tuple[dict[str, Any], Path | None]:
    """Check `current` against `reference`; returns (saved summary, HTML path or None)."""
    if reference is None:
        summary = {
            "verdict": "insufficient_data",
            "reason": "no model yet: nothing to compare with",
        }
        return save_summary({**summary, "current": name}, out_dir), None
    matched = match_reference(reference.frame, current, config.min_samples, config.seed)
    result = check_drift(
        _sample(matched.frame, reference), _sample(current, reference), embed=embed, config=config
    )
    summary = save_summary(
        {
            **result.to_dict(),
            "reference_model": reference.model,
            "reference_snapshot": reference.snapshot_tag,
            "reference_match": matched.to_dict(),
            "current": name,
        },
        out_dir,
    )
    html = None
    if summary["verdict"] != "insufficient_data":
        html = result.save_html(out_dir / f"{summary['report_id']}.html")
    return summary, html
