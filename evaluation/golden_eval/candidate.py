"""A challenger (every tier) and the champion on the golden set, side by side.

What the promotion decision needs travels on as `GoldenEvaluation` (reports and row-aligned
predictions, golden-sized); per-case tables, reliability diagrams and the JSON reports are
written under `out_dir` and named in `GoldenArtifacts` for the caller to show.

Given the challenger's training snapshot, the simple baseline (TF-IDF + logistic regression,
evaluation.golden_eval.reference) is fitted on its train split and reported beside the models
beside the models: same golden rows, same slices, same intervals. The policy's `baseline`
rule blocks a challenger whose macro-F1 falls below the baseline's interval.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data.golden_set import GoldenRef
from data.schema import LABEL
from evaluation.golden_eval.reference import (
    BASELINE_ID,
    baseline_gap_notice,
    baseline_predictions,
    truncation_notices,
)
from evaluation.golden_eval.report import GoldenEvalConfig, GoldenReport, evaluate_golden
from evaluation.golden_eval.slices import Slice, build_slices
from evaluation.promotion.record import canonical_json
from evaluation.scoring import BundleScorer, gate_tier, model_id
from evaluation.stats.bootstrap import Interval
from evaluation.stats.plots import confidence_histograms, reliability_diagram
from evaluation.stats.predictions import Predictions
from models.baseline import NAME as BASELINE
from models.bundle import read_bundle_config
from models.candidate import CandidateRef
from models.model_registry import ServingModel


@dataclass(frozen=True)
class ChampionInfo:
    model_name: str
    model_version: str
    run_id: str | None
    tier: str


@dataclass(frozen=True)
class GoldenEvaluation:
    """What promotion_decision needs from the golden set: the gate tier's reports and row-
    aligned predictions of both models, the golden labels and slices (same row order)."""

    golden_tag: str
    golden_version: str
    golden_sha256: str
    gate_tier: str
    candidate_report: GoldenReport
    candidate_predictions: Predictions
    champion: ChampionInfo | None
    champion_report: GoldenReport | None
    champion_predictions: Predictions | None
    y_true: tuple[str, ...]
    slices: list[Slice]
    tier_summaries: dict[str, dict[str, Any]]
    report_dir: str
    # The TF-IDF+LR baseline on the same rows: the policy's floor (`block_below_baseline`).
    baseline_report: GoldenReport | None = None
    notices: tuple[str, ...] = ()  # plain-language remarks (truncation, baseline gap)


@dataclass(frozen=True)
class GoldenArtifacts:
    """What a person looks at: headline numbers, the per-slice table and the plot files."""

    metrics: dict[str, float] = field(default_factory=dict)  # "<model>/<metric>" -> value
    plots: dict[str, Path] = field(default_factory=dict)  # "<model>/reliability" -> PNG
    by_slice: pd.DataFrame = field(default_factory=pd.DataFrame)
    reports_json: Path | None = None
    models: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per model, overall
    notices: tuple[str, ...] = ()


def model_table(columns: dict[str, GoldenReport], judged: str) -> pd.DataFrame:
    """One row per model on the whole golden set; says which one the verdict judges."""
    rows = []
    for label, report in columns.items():
        if label == BASELINE:
            role = "floor (block_below_baseline)"
        elif label == judged:
            role = "judged by the gate"
        elif label.startswith("champion"):
            role = "compared with"
        else:
            role = "reported"
        overall = report.overall
        rows.append(
            {
                "model": label,
                "role": role,
                "accuracy": fmt_interval(overall.accuracy),
                "macro_f1": fmt_interval(overall.macro_f1),
                "ece": f"{overall.ece.point:.3f}",
            }
        )
    return pd.DataFrame(rows)


def fmt_interval(ci: Interval | None) -> str:
    return "–" if ci is None else f"{ci.point:.3f} [{ci.low:.3f}, {ci.high:.3f}]"


def slice_table(columns: dict[str, GoldenReport]) -> pd.DataFrame:
    """One row per slice: accuracy and macro-F1 with intervals, and ECE, per model."""
    first = next(iter(columns.values()))
    rows = []
    for s in first.slices:
        row: dict[str, Any] = {"slice": s.name, "n": s.n}
        for metric in ("accuracy", "macro_f1", "ece"):
            for label, report in columns.items():
                match = [x for x in report.slices if x.name == s.name]
                if not match or (metric == "macro_f1" and s.column == LABEL):
                    # A one-class slice's macro-F1 averages in a class with no support.
                    row[f"{label} {metric}"] = "–"
                elif metric == "ece":
                    row[f"{label} {metric}"] = f"{match[0].ece.point:.3f}"
                else:
                    row[f"{label} {metric}"] = fmt_interval(getattr(match[0], metric))
        rows.append(row)
    return pd.DataFrame(rows)


class GoldenMismatchError(ValueError):
    """The golden set and the model do not have the same classes: no verdict is possible."""


def check_labels_match(golden: pd.DataFrame, model_labels: list[str], model: str) -> None:
    """Refuse to judge a model on a golden set of other classes (e.g. a topic model on the
    sentiment golden set scores 0 and would be blocked forever for the wrong reason)."""
    golden_labels = set(golden[LABEL].astype(str))
    if golden_labels != set(model_labels):
        raise GoldenMismatchError(
            f"golden set labels {sorted(golden_labels)} differ from {model}'s labels "
            f"{sorted(model_labels)}: give this dataset its own golden set (dataset.name, "
            "dataset.golden_path) instead of judging it on another one"
        )


def evaluate_on_golden(
    candidate: CandidateRef,
    golden: pd.DataFrame,
    golden_ref: GoldenRef,
    champion: ServingModel | None,
    scorer: BundleScorer,
    out_dir: Path,
    config: GoldenEvalConfig | None = None,
    snapshot: pd.DataFrame | None = None,
) -> tuple[GoldenEvaluation, GoldenArtifacts]:
    """Every candidate tier and the champion's same tier on `golden` (rows in order); with
    the challenger's training `snapshot`, the TF-IDF+LR baseline as a reference row."""
    config = config or GoldenEvalConfig()
    out_dir.mkdir(parents=True, exist_ok=True)
    gate = gate_tier(candidate.bundles)
    artifacts = GoldenArtifacts()

    def evaluate(bundle: Path | None, model: str, label: str) -> tuple[Predictions, GoldenReport]:
        started = time.perf_counter()
        if bundle is None:  # the baseline: fitted now on the challenger's training split
            assert snapshot is not None
            preds = baseline_predictions(snapshot, golden)
        else:
            check_labels_match(golden, read_bundle_config(bundle).labels, model)
            preds = scorer.predict(bundle, golden, model)
        report = evaluate_golden(golden, preds, config, out_dir / "deepeval")
        artifacts.metrics[f"{label}/seconds"] = round(time.perf_counter() - started, 2)
        for metric in ("accuracy", "macro_f1", "ece"):
            artifacts.metrics[f"{label}/{metric}"] = round(getattr(report.overall, metric).point, 4)
        correct = np.asarray(preds.labels) == golden[LABEL].astype(str).to_numpy()
        png = out_dir / f"reliability_{label}.png"
        artifacts.plots[f"{label}/reliability"] = reliability_diagram(
            preds.confidence, correct, png, title=model
        )
        report.per_case.to_parquet(out_dir / f"per_case_{label}.parquet", index=False)
        return preds, report

    name, version = candidate.model_name, candidate.model_version
    results = {
        tier: evaluate(Path(bundle), model_id(name, version, tier), f"challenger_{tier}")
        for tier, bundle in candidate.bundles.items()
    }
    columns = {f"challenger v{version} {gate}": results[gate][1]}
    confidences = {f"challenger {t}": p.confidence for t, (p, _) in results.items()}
    champion_info, champion_preds, champion_report = None, None, None
    if champion is not None:
        champ, bundles = champion.version, champion.bundles
        tier = gate if gate in bundles else gate_tier(bundles)
        champion_info = ChampionInfo(champ.model_name, champ.version, champ.run_id, tier)
        champion_preds, champion_report = evaluate(
            bundles[tier], model_id(champ.model_name, champ.version, tier), "champion"
        )
        columns = {f"champion v{champ.version} {tier}": champion_report, **columns}
        confidences[f"champion v{champ.version}"] = champion_preds.confidence
    for tier, (_, report) in results.items():
        if tier != gate:
            columns[f"challenger {tier}"] = report

    judged = f"challenger v{version} {gate}"
    truncation = truncation_notices(candidate.bundles, golden)
    for t in truncation:
        artifacts.metrics[f"challenger_{t.tier}/golden_truncated_share"] = round(t.golden_share, 4)
        if t.training_share is not None:
            artifacts.metrics[f"challenger_{t.tier}/train_truncated_share"] = t.training_share
    notices = [t.message for t in truncation]
    baseline_report = None
    if snapshot is not None:
        _, baseline_report = evaluate(None, BASELINE_ID, "baseline")
        columns[BASELINE] = baseline_report
        gap = results[gate][1].overall.macro_f1.point - baseline_report.overall.macro_f1.point
        artifacts.metrics["baseline/macro_f1_gap"] = round(gap, 4)
        notices.append(
            baseline_gap_notice(
                judged,
                results[gate][1].overall.macro_f1.point,
                baseline_report.overall.macro_f1.point,
            )
        )

    summaries = {tier: report.to_dict() for tier, (_, report) in results.items()}
    reports_json = out_dir / "reports.json"
    reports_json.write_text(
        canonical_json(
            {
                "challenger": summaries,
                "champion": champion_report,
                "baseline": baseline_report.to_dict() if baseline_report else None,
                "notices": notices,
            }
        ),
        encoding="utf-8",
    )
    artifacts.plots["confidence_histogram"] = confidence_histograms(
        confidences, out_dir / "confidence.png", title="Golden set"
    )
    evaluation = GoldenEvaluation(
        golden_tag=golden_ref.tag,
        golden_version=golden_ref.version,
        golden_sha256=golden_ref.sha256,
        gate_tier=gate,
        candidate_report=results[gate][1],
        candidate_predictions=results[gate][0],
        champion=champion_info,
        champion_report=champion_report,
        champion_predictions=champion_preds,
        y_true=tuple(golden[LABEL].astype(str)),
        slices=build_slices(golden, config.slices),
        tier_summaries=summaries,
        report_dir=str(out_dir),
        baseline_report=baseline_report,
        notices=tuple(notices),
    )
    by_slice = slice_table(columns)
    return evaluation, GoldenArtifacts(
        artifacts.metrics,
        artifacts.plots,
        by_slice,
        reports_json,
        model_table(columns, judged),
        tuple(notices),
    )
