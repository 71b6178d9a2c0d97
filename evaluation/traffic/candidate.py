"""The gate tier of a challenger (and the champion's) on recent unlabelled traffic.

Confidence and entropy, predicted classes against the training prior, agreement with the
champion, and label-free estimated accuracy (estimators fitted on the validation split).
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from data.data_registry import DataRegistry
from data.ingest import BATCH_TAG_PREFIX, batch_table_path
from data.schema import LABEL, ROW_ID, SPLIT, TEXT
from evaluation.promotion.record import canonical_json
from evaluation.scoring import BundleScorer, gate_tier, model_id
from evaluation.stats.plots import confidence_histograms
from evaluation.stats.predictions import Predictions
from evaluation.traffic.label_free import AccuracyEstimator, Method, fit_accuracy_estimator
from evaluation.traffic.reference_free import (
    ReferenceFreeConfig,
    ReferenceFreeReport,
    reference_free_report,
)
from models.candidate import CandidateRef
from models.model_registry import ServingModel


@dataclass(frozen=True)
class TrafficEvaluation:
    gate_tier: str
    traffic_tag: str | None
    rows: int
    excluded_training_rows: int
    report: ReferenceFreeReport | None
    estimator: AccuracyEstimator | None
    champion_version: str | None
    report_dir: str
    seconds: float = 0.0
    plots: dict[str, Path] = field(default_factory=dict)


def recent_traffic(
    registry: DataRegistry, snapshot: pd.DataFrame, max_rows: int, seed: int
) -> tuple[str | None, pd.DataFrame, int]:
    """Stand-in for the serving log until it exists: the texts of the most recently ingested
    batch, minus rows the candidate trained on (they would flatter its confidence).

    Returns:
        (batch tag or None, traffic rows, how many training rows were left out).
    """
    tags = registry.tags(BATCH_TAG_PREFIX)
    if not tags:
        return None, pd.DataFrame(columns=[ROW_ID, TEXT]), 0
    tag = tags[-1]
    batch = registry.read_table(batch_table_path(tag.removeprefix(BATCH_TAG_PREFIX)), rev=tag)
    batch = batch.drop_duplicates(ROW_ID)
    trained = batch[ROW_ID].isin(set(snapshot.loc[snapshot[SPLIT] == "train", ROW_ID]))
    traffic = batch.loc[~trained, [ROW_ID, TEXT]]
    if len(traffic) > max_rows:
        traffic = traffic.sample(n=max_rows, random_state=seed)
    return tag, traffic.reset_index(drop=True), int(trained.sum())


def evaluate_on_traffic(
    candidate: CandidateRef,
    snapshot: pd.DataFrame,
    traffic: pd.DataFrame,
    traffic_tag: str | None,
    excluded: int,
    champion: ServingModel | None,
    scorer: BundleScorer,
    out_dir: Path,
    method: Method = "atc",
    seed: int = 0,
) -> TrafficEvaluation:
    """The reference-free report of the candidate's gate tier on `traffic` (may be empty)."""
    gate = gate_tier(candidate.bundles)
    if traffic.empty:
        return TrafficEvaluation(gate, traffic_tag, 0, excluded, None, None, None, str(out_dir))
    started = time.perf_counter()
    val = snapshot[snapshot[SPLIT] == "val"]
    val_labels = val[LABEL].astype(str).tolist()

    def score(bundle: Path, model: str) -> tuple[Predictions, Predictions, AccuracyEstimator]:
        val_preds = scorer.predict(bundle, val, model)
        estimator = fit_accuracy_estimator(val_preds, val_labels, method)
        return scorer.predict(bundle, traffic, model), val_preds, estimator

    name, version = candidate.model_name, candidate.model_version
    preds, val_preds, estimator = score(
        Path(candidate.bundles[gate]), model_id(name, version, gate)
    )
    confidences = {
        "traffic: challenger": preds.confidence,
        "validation: challenger": val_preds.confidence,
    }
    champion_preds, champion_estimator, champion_version = None, None, None
    if champion is not None:
        # Splits are fixed per row id forever (data.snapshot), so this snapshot's validation
        # rows were never in any earlier snapshot's training split: fair to the champion too.
        champ, bundles = champion.version, champion.bundles
        tier = gate if gate in bundles else gate_tier(bundles)
        champion_preds, _, champion_estimator = score(
            bundles[tier], model_id(champ.model_name, champ.version, tier)
        )
        champion_version = champ.version
        confidences[f"traffic: champion v{champ.version}"] = champion_preds.confidence
    prior = snapshot.loc[snapshot[SPLIT] == "train", LABEL].astype(str).value_counts(normalize=True)
    report = reference_free_report(
        preds,
        ReferenceFreeConfig(seed=seed),
        train_prior={str(k): float(v) for k, v in prior.items()},
        estimator=estimator,
        champion=champion_preds,
        champion_estimator=champion_estimator,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(canonical_json(report), encoding="utf-8")
    hist = confidence_histograms(
        confidences, out_dir / "confidence.png", title=f"Traffic {traffic_tag}"
    )
    return TrafficEvaluation(
        gate,
        traffic_tag,
        len(traffic),
        excluded,
        report,
        estimator,
        champion_version,
        str(out_dir),
        seconds=round(time.perf_counter() - started, 2),
        plots={"confidence_histogram": hist, "report": out_dir / "report.json"},
    )
