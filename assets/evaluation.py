"""Evaluation: golden-set and reference-free evidence on a challenger, the promotion decision
behind a blocking gate, and the bootstrap promotion that moves the MLflow aliases.

Thin: statistics and the policy live in evaluation/, alias moves in models.registry_aliases.
What the assets pass each other stays small (reports and predictions on golden-sized row
sets); per-case tables, plots and JSON reports go under
`$DRIFTWISE_HOME/reports/evaluation/<model>-v<version>/`, decision records under
`$DRIFTWISE_HOME/decisions/`.

Tiers: every challenger tier is evaluated on the golden set; the gate tier (accurate when
trained, else the only one) is the one the policy judges and the one compared with the
champion's same tier.
"""

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import dagster as dg
import numpy as np
import pandas as pd
from pydantic import Field

from assets.golden import GOLDEN_PATH, GoldenRef
from assets.training import CandidateRef
from data.ingest import BATCH_TAG_PREFIX, batch_table_path
from data.registry import DataRegistry
from data.schema import LABEL, ROW_ID, SPLIT, TEXT
from data.snapshot import SNAPSHOT_PATH
from evaluation.bootstrap import Interval
from evaluation.decision import (
    append_section,
    build_decision_document,
    canonical_json,
    git_commit,
    load_record,
    write_record,
)
from evaluation.golden import CorpusThresholds, GoldenEvalConfig, GoldenReport, evaluate_golden
from evaluation.label_free import AccuracyEstimator, Method, fit_accuracy_estimator
from evaluation.plots import confidence_histograms, reliability_diagram
from evaluation.policy import PromotionPolicy, Verdict, decide
from evaluation.predictions import Predictions
from evaluation.reference_free import (
    ReferenceFreeConfig,
    ReferenceFreeReport,
    reference_free_report,
)
from evaluation.slices import Slice, build_slices
from models.bundle import read_bundle_config
from models.inference import CachedScorer
from models.registry_aliases import CHAMPION, AliasedVersion, aliased_version, download_bundles
from models.registry_aliases import promote as promote_alias
from models.tracking import client_for
from orchestration.resources import DataRegistryResource, MlflowResource, RuntimeHomeResource

REPO_ROOT = Path(__file__).resolve().parents[1]
VERDICT_TAG = "promotion_verdict"
RECORD_TAG = "decision_record"
_DEFAULT = PromotionPolicy()


# -- helpers ----------------------------------------------------------------------------------
def gate_tier(tiers: dict[str, Any]) -> str:
    """The tier the gate judges: accurate when present, else the first one trained."""
    if not tiers:
        raise ValueError("a model without tiers cannot be evaluated")
    return "accurate" if "accurate" in tiers else next(iter(tiers))


class _Scorer:
    """A bundle's predictions on rows, as evaluation's `Predictions` (see CachedScorer)."""

    def __init__(self, embeddings_root: Path) -> None:
        self._scorer = CachedScorer(embeddings_root)

    def predict(self, bundle_dir: Path, frame: pd.DataFrame, model_id: str) -> Predictions:
        ids, texts = frame[ROW_ID].astype(str).tolist(), frame[TEXT].astype(str).tolist()
        probs = self._scorer.predict_proba(bundle_dir, ids, texts)
        labels = read_bundle_config(bundle_dir).labels
        return Predictions.from_probs(probs, labels, model_id=model_id, row_ids=ids)


def _model_id(name: str, version: str, tier: str) -> str:
    return f"{name}/v{version}/{tier}"


def _report_dir(home: RuntimeHomeResource, candidate: CandidateRef, stage: str) -> Path:
    path = home.layout.reports / "evaluation" / f"{candidate.model_name}-v{candidate.model_version}"
    return path / stage


def _champion(
    mlflow: MlflowResource, home: RuntimeHomeResource, candidate: CandidateRef
) -> tuple[AliasedVersion, dict[str, Path]] | None:
    """The registered model's current champion and its bundles, unless it is the candidate
    itself (a re-evaluation after promotion) or there is none yet."""
    champion = aliased_version(mlflow.config(), candidate.model_name, CHAMPION)
    if champion is None or champion.version == candidate.model_version:
        return None
    return champion, download_bundles(mlflow.config(), champion, home.layout.cache / "models")


def _fmt(ci: Interval | None) -> str:
    return "–" if ci is None else f"{ci.point:.3f} [{ci.low:.3f}, {ci.high:.3f}]"


def _md(frame: pd.DataFrame) -> dg.MetadataValue:
    return dg.MetadataValue.md(frame.to_markdown(index=False) if len(frame) else "_none_")


def _slice_table(columns: dict[str, GoldenReport]) -> pd.DataFrame:
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
                    row[f"{label} {metric}"] = _fmt(getattr(match[0], metric))
        rows.append(row)
    return pd.DataFrame(rows)


# -- golden set -------------------------------------------------------------------------------
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


@dg.asset(group_name="evaluation", kinds={"deepeval", "mlflow"})
def golden_evaluation(
    context: dg.AssetExecutionContext,
    candidate_model: CandidateRef,
    golden_set: GoldenRef,
    registry: DataRegistryResource,
    mlflow: MlflowResource,
    home: RuntimeHomeResource,
) -> dg.Output[GoldenEvaluation]:
    """Challenger (every tier) and champion (MLflow alias `champion`) on the golden set, per
    slice with bootstrap intervals; the gate tier side by side with the champion."""
    golden = registry.registry().read_table(GOLDEN_PATH, rev=golden_set.tag).reset_index(drop=True)
    out = _report_dir(home, candidate_model, "golden")
    eval_config = GoldenEvalConfig()
    scorer = _Scorer(home.layout.cache / "embeddings")
    gate = gate_tier(candidate_model.bundles)
    metadata: dict[str, Any] = {"gate_tier": gate, "golden_tag": golden_set.tag}

    def evaluate(bundle: Path, model_id: str, label: str) -> tuple[Predictions, GoldenReport]:
        started = time.perf_counter()
        preds = scorer.predict(bundle, golden, model_id)
        report = evaluate_golden(golden, preds, eval_config, out / "deepeval")
        metadata[f"{label}/seconds"] = round(time.perf_counter() - started, 2)
        for metric in ("accuracy", "macro_f1", "ece"):
            metadata[f"{label}/{metric}"] = round(getattr(report.overall, metric).point, 4)
        correct = np.asarray(preds.labels) == golden[LABEL].astype(str).to_numpy()
        png = reliability_diagram(
            preds.confidence, correct, out / f"reliability_{label}.png", title=model_id
        )
        metadata[f"{label}/reliability"] = dg.MetadataValue.path(str(png))
        report.per_case.to_parquet(out / f"per_case_{label}.parquet", index=False)
        return preds, report

    name, version = candidate_model.model_name, candidate_model.model_version
    results = {
        tier: evaluate(Path(bundle), _model_id(name, version, tier), f"challenger_{tier}")
        for tier, bundle in candidate_model.bundles.items()
    }
    columns = {f"challenger v{version} {gate}": results[gate][1]}
    confidences = {f"challenger {t}": p.confidence for t, (p, _) in results.items()}
    champion_info, champion_preds, champion_report = None, None, None
    found = _champion(mlflow, home, candidate_model)
    if found is not None:
        champ, bundles = found
        tier = gate if gate in bundles else gate_tier(bundles)
        champion_info = ChampionInfo(champ.model_name, champ.version, champ.run_id, tier)
        model_id = _model_id(champ.model_name, champ.version, tier)
        champion_preds, champion_report = evaluate(bundles[tier], model_id, "champion")
        columns = {f"champion v{champ.version} {tier}": champion_report, **columns}
        confidences[f"champion v{champ.version}"] = champion_preds.confidence
    for tier, (_, report) in results.items():
        if tier != gate:
            columns[f"challenger {tier}"] = report

    summaries = {tier: report.to_dict() for tier, (_, report) in results.items()}
    reports_json = out / "reports.json"
    reports_json.write_text(
        canonical_json({"challenger": summaries, "champion": champion_report}), encoding="utf-8"
    )
    hist = confidence_histograms(confidences, out / "confidence.png", title="Golden set")
    context.log.info(
        "golden evaluation of %s v%s done (champion: %s)",
        name,
        version,
        champion_info.model_version if champion_info else "none",
    )
    evaluation = GoldenEvaluation(
        golden_tag=golden_set.tag,
        golden_version=golden_set.version,
        golden_sha256=golden_set.sha256,
        gate_tier=gate,
        candidate_report=results[gate][1],
        candidate_predictions=results[gate][0],
        champion=champion_info,
        champion_report=champion_report,
        champion_predictions=champion_preds,
        y_true=tuple(golden[LABEL].astype(str)),
        slices=build_slices(golden, eval_config.slices),
        tier_summaries=summaries,
        report_dir=str(out),
    )
    champion_text = (
        f"{champion_info.model_name} v{champion_info.model_version} ({champion_info.tier})"
        if champion_info
        else "none: the gate judges absolute floors only"
    )
    return dg.Output(
        evaluation,
        metadata={
            **metadata,
            "champion": champion_text,
            "challenger": f"{name} v{version}",
            "dagster/row_count": len(golden),
            "by_slice": _md(_slice_table(columns)),
            "confidence_histogram": dg.MetadataValue.path(str(hist)),
            "reports": dg.MetadataValue.path(str(reports_json)),
        },
    )


# -- recent traffic ---------------------------------------------------------------------------
class TrafficEvaluationConfig(dg.Config):
    """Knobs of the reference-free evaluation on recent traffic."""

    estimator: Literal["atc", "cbpe_temperature", "cbpe_isotonic"] = Field(
        "atc", description="Label-free accuracy estimator, fitted on the validation split."
    )
    max_rows: int = Field(5_000, ge=1, description="Seeded sample cap on traffic rows.")
    seed: int = 0


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


@dg.asset(group_name="evaluation", kinds={"dvc", "mlflow"})
def reference_free_evaluation(
    context: dg.AssetExecutionContext,
    config: TrafficEvaluationConfig,
    candidate_model: CandidateRef,
    registry: DataRegistryResource,
    mlflow: MlflowResource,
    home: RuntimeHomeResource,
) -> dg.Output[TrafficEvaluation]:
    """The gate tier on recent unlabelled traffic: confidence and entropy, predicted classes
    against the training prior, agreement with the champion, label-free estimated accuracy."""
    reg = registry.registry()
    snapshot = reg.read_table(SNAPSHOT_PATH, rev=candidate_model.snapshot_tag)
    tag, traffic, excluded = recent_traffic(reg, snapshot, config.max_rows, config.seed)
    gate = gate_tier(candidate_model.bundles)
    out = _report_dir(home, candidate_model, "traffic")
    metadata: dict[str, Any] = {
        "gate_tier": gate,
        "traffic_source": f"latest ingested batch {tag} (until the serving log exists)",
        "excluded_training_rows": excluded,
        "dagster/row_count": len(traffic),
    }
    if traffic.empty:
        context.log.warning("no recent traffic outside the training split: nothing to evaluate")
        empty = TrafficEvaluation(gate, tag, 0, excluded, None, None, None, str(out))
        return dg.Output(empty, metadata=metadata)

    started = time.perf_counter()
    scorer = _Scorer(home.layout.cache / "embeddings")
    val = snapshot[snapshot[SPLIT] == "val"]
    val_labels = val[LABEL].astype(str).tolist()
    method: Method = config.estimator
    name, version = candidate_model.model_name, candidate_model.model_version

    def score(bundle: Path, model_id: str) -> tuple[Predictions, Predictions, AccuracyEstimator]:
        val_preds = scorer.predict(bundle, val, model_id)
        estimator = fit_accuracy_estimator(val_preds, val_labels, method)
        return scorer.predict(bundle, traffic, model_id), val_preds, estimator

    bundle = Path(candidate_model.bundles[gate])
    preds, val_preds, estimator = score(bundle, _model_id(name, version, gate))
    confidences = {
        "traffic: challenger": preds.confidence,
        "validation: challenger": val_preds.confidence,
    }
    champion_preds, champion_estimator, champion_version = None, None, None
    found = _champion(mlflow, home, candidate_model)
    if found is not None:
        # Splits are fixed per row id forever (data.snapshot), so this snapshot's validation
        # rows were never in any earlier snapshot's training split: fair to the champion too.
        champ, bundles = found
        tier = gate if gate in bundles else gate_tier(bundles)
        champ_id = _model_id(champ.model_name, champ.version, tier)
        champion_preds, _, champion_estimator = score(bundles[tier], champ_id)
        champion_version = champ.version
        confidences[f"traffic: champion v{champ.version}"] = champion_preds.confidence
    prior = snapshot.loc[snapshot[SPLIT] == "train", LABEL].astype(str).value_counts(normalize=True)
    report = reference_free_report(
        preds,
        ReferenceFreeConfig(seed=config.seed),
        train_prior={str(k): float(v) for k, v in prior.items()},
        estimator=estimator,
        champion=champion_preds,
        champion_estimator=champion_estimator,
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(canonical_json(report), encoding="utf-8")
    hist = confidence_histograms(confidences, out / "confidence.png", title=f"Traffic {tag}")
    est = report.estimated_accuracy
    assert est is not None  # an estimator was passed
    summaries = pd.DataFrame(
        [
            {"distribution": dist, "mean": s.mean, "std": s.std, **s.quantiles}
            for dist, s in (("confidence", report.confidence), ("entropy", report.entropy))
        ]
    ).round(4)
    metadata.update(
        {
            "estimated_accuracy": round(est.accuracy.point, 4),
            "estimated_accuracy_interval": _fmt(est.accuracy),
            "estimator": method,
            "estimator_error_margin": est.error_margin if est.error_margin is not None else "n/a",
            "validation_accuracy": round(estimator.val_accuracy, 4),
            "confidence_mean": round(report.confidence.mean, 4),
            "entropy_mean": round(report.entropy.mean, 4),
            "distributions": _md(summaries),
            "confidence_histogram": dg.MetadataValue.path(str(hist)),
            "report": dg.MetadataValue.path(str(out / "report.json")),
            "seconds": round(time.perf_counter() - started, 2),
        }
    )
    if report.class_shift is not None:
        metadata["predicted_vs_prior_js_distance"] = round(report.class_shift.js_distance, 4)
        metadata["predicted_share"] = dg.MetadataValue.json(report.class_shift.predicted)
    if report.agreement is not None and report.champion_estimated_accuracy is not None:
        metadata["agreement_with_champion"] = _fmt(report.agreement.rate)
        metadata["champion_estimated_accuracy"] = _fmt(report.champion_estimated_accuracy.accuracy)
    return dg.Output(
        TrafficEvaluation(
            gate, tag, len(traffic), excluded, report, estimator, champion_version, str(out)
        ),
        metadata=metadata,
    )


# -- decision ---------------------------------------------------------------------------------
class EvaluationConfig(dg.Config):
    """The promotion policy's knobs (evaluation.policy.PromotionPolicy); None switches a
    rule off."""

    accuracy_min: float | None = Field(_DEFAULT.floors.accuracy_min, description="Golden floor.")
    macro_f1_min: float | None = Field(_DEFAULT.floors.macro_f1_min, description="Golden floor.")
    class_recall_min: float | None = Field(
        _DEFAULT.floors.class_recall_min, description="Every class's golden recall floor."
    )
    ece_max: float | None = Field(_DEFAULT.floors.ece_max, description="Golden ECE ceiling.")
    floor_on: Literal["point", "interval"] = Field(
        _DEFAULT.floor_on, description="Judge floors on the point or the pessimistic CI bound."
    )
    slice_accuracy_floor: float | None = Field(
        _DEFAULT.slice_accuracy_floor, description="Accuracy floor for every judged slice."
    )
    min_slice_size: int = Field(_DEFAULT.min_slice_size, description="Smaller slices: not judged.")
    non_inferiority_margin: float = Field(
        _DEFAULT.non_inferiority_margin, description="Overall accuracy margin vs the champion."
    )
    macro_f1_margin: float = Field(_DEFAULT.macro_f1_margin, description="Macro-F1 margin.")
    slice_margin: float = Field(_DEFAULT.slice_margin, description="Per-slice accuracy margin.")
    slice_margins: dict[str, float] = Field(
        default_factory=dict, description="Per-slice margin overrides, keyed by slice name."
    )
    slice_test: Literal["harm", "non_inferiority"] = Field(
        _DEFAULT.slice_test, description="harm: block a slice shown worse than its margin."
    )
    alpha: float = Field(_DEFAULT.alpha, description="Level of the tests (family-wise).")
    correction: Literal["holm", "fdr_bh"] = Field(_DEFAULT.correction)
    block_on_mcnemar_loss: bool = Field(_DEFAULT.block_on_mcnemar_loss)
    max_estimated_accuracy_drop: float | None = Field(
        _DEFAULT.max_estimated_accuracy_drop,
        description="Allowed drop of the label-free traffic estimate below the champion's.",
    )
    n_resamples: int = Field(_DEFAULT.n_resamples, description="Paired bootstrap resamples.")
    seed: int = _DEFAULT.seed

    def to_policy(self) -> PromotionPolicy:
        floors = CorpusThresholds(
            accuracy_min=self.accuracy_min,
            macro_f1_min=self.macro_f1_min,
            class_recall_min=self.class_recall_min,
            ece_max=self.ece_max,
        )
        fields = self.model_dump(
            exclude={"accuracy_min", "macro_f1_min", "class_recall_min", "ece_max"}
        )
        return PromotionPolicy(floors=floors, **fields)


@dataclass(frozen=True)
class PromotionDecision:
    passed: bool
    summary: str
    failures: list[str]
    record_id: str
    record_path: str
    model_name: str
    model_version: str
    run_id: str
    champion_version: str | None


def _reasons_md(verdict: Verdict) -> dg.MetadataValue:
    rows = [
        {"rule": r.rule, "ok": "✅" if r.passed else "❌", "reason": r.message}
        for r in verdict.reasons
    ]
    return _md(pd.DataFrame(rows))


@dg.asset(group_name="evaluation", kinds={"mlflow"})
def promotion_decision(
    context: dg.AssetExecutionContext,
    config: EvaluationConfig,
    golden_evaluation: GoldenEvaluation,
    reference_free_evaluation: TrafficEvaluation,
    candidate_model: CandidateRef,
    mlflow: MlflowResource,
    home: RuntimeHomeResource,
) -> dg.Output[PromotionDecision]:
    """The promotion policy's verdict on the challenger, written as a content-addressed
    decision record, logged to its MLflow run and tagged on its registry version."""
    policy = config.to_policy()
    g, rf = golden_evaluation, reference_free_evaluation
    golden_champion = g.champion.model_version if g.champion else None
    if rf.report is not None and rf.champion_version != golden_champion:
        raise RuntimeError(
            f"champion moved between the evaluations (golden: {golden_champion}, traffic: "
            f"{rf.champion_version}); rerun both so they judge against the same model"
        )
    comparison = None
    if g.champion is not None and g.champion_predictions is not None:
        comparison = policy.compare(
            list(g.y_true), g.champion_predictions, g.candidate_predictions, g.slices
        )
    verdict = decide(policy, g.candidate_report, comparison=comparison, reference_free=rf.report)
    champion_mlflow = None
    if g.champion is not None:
        champion_mlflow = {
            "model_version": g.champion.model_version,
            "run_id": g.champion.run_id,
            "tier": g.champion.tier,
        }
    document = build_decision_document(
        data={
            "snapshot_tag": candidate_model.snapshot_tag,
            "snapshot_sha256": candidate_model.snapshot_sha256,
            "golden_tag": g.golden_tag,
            "golden_version": g.golden_version,
            "golden_sha256": g.golden_sha256,
            "traffic_tag": rf.traffic_tag,
            "traffic_rows": rf.rows,
        },
        code=git_commit(REPO_ROOT),
        mlflow={
            "model_name": candidate_model.model_name,
            "candidate": {
                "model_version": candidate_model.model_version,
                "run_id": candidate_model.run_id,
                "tier": g.gate_tier,
            },
            "champion": champion_mlflow,
        },
        policy=policy,
        verdict=verdict,
        golden=g.candidate_report,
        champion_golden=g.champion_report,
        comparison=comparison,
        reference_free=rf.report,
        extra={
            "golden_tiers": g.tier_summaries,
            "orchestration": {"dagster_run_id": context.run_id, "asset": "promotion_decision"},
        },
    )
    record = write_record(document, home.layout.decisions)
    client = client_for(mlflow.config())
    client.log_artifact(candidate_model.run_id, str(record.path), "decisions")
    name, version = candidate_model.model_name, candidate_model.model_version
    client.set_model_version_tag(
        name, version, VERDICT_TAG, "passed" if verdict.passed else "failed"
    )
    client.set_model_version_tag(name, version, RECORD_TAG, record.record_id)
    context.log.info("%s v%s: %s", name, version, verdict.summary().splitlines()[0])
    decision = PromotionDecision(
        passed=verdict.passed,
        summary=verdict.summary(),
        failures=[r.message for r in verdict.failures],
        record_id=record.record_id,
        record_path=str(record.path),
        model_name=name,
        model_version=version,
        run_id=candidate_model.run_id,
        champion_version=g.champion.model_version if g.champion else None,
    )
    return dg.Output(
        decision,
        metadata={
            "verdict": "PROMOTE" if verdict.passed else "BLOCK",
            "failed_rules": len(verdict.failures),
            "reasons": _reasons_md(verdict),
            "decision_record_id": record.record_id,
            "decision_record": dg.MetadataValue.path(str(record.path)),
            "challenger": f"{name} v{version}",
            "champion": f"v{decision.champion_version}" if decision.champion_version else "none",
        },
    )


@dg.asset_check(asset=promotion_decision, blocking=True)
def check_promotion_gate(
    promotion_decision: PromotionDecision,
) -> dg.AssetCheckResult:
    """The gate: passes only when the policy's verdict passed, as read back from the
    content-addressed record on disk (hash verified), not from memory alone."""
    path = Path(promotion_decision.record_path)
    record = load_record(path.parent, promotion_decision.record_id)
    recorded = bool(record.sections["verdict"]["passed"])
    reasons = [
        f"- {'ok' if r['passed'] else 'FAIL'}: {r['message']}"
        for r in record.sections["verdict"]["reasons"]
    ]
    return dg.AssetCheckResult(
        passed=recorded and promotion_decision.passed,
        metadata={
            "value": len(promotion_decision.failures),
            "threshold": 0,
            "reasons": dg.MetadataValue.md("\n".join(reasons)),
            "decision_record_id": record.record_id,
        },
    )


# -- promotion --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChampionModel:
    model_name: str
    model_version: str
    previous_version: str | None
    changed: bool
    record_id: str


@dg.asset(group_name="promotion", kinds={"mlflow"})
def champion_model(
    context: dg.AssetExecutionContext,
    promotion_decision: PromotionDecision,
    mlflow: MlflowResource,
    home: RuntimeHomeResource,
) -> dg.Output[ChampionModel]:
    """Bootstrap promotion until the canary stage exists: alias `champion` moves to the
    challenger, the replaced champion keeps alias `previous` (one-call rollback). The
    blocking gate keeps this from running on a failed verdict; it refuses one anyway."""
    d = promotion_decision
    if not d.passed:
        raise dg.Failure(
            f"{d.model_name} v{d.model_version} did not pass the promotion policy "
            f"(record {d.record_id}); refusing to promote",
            metadata={"failures": dg.MetadataValue.json(d.failures)},
        )
    move = promote_alias(mlflow.config(), d.model_name, d.model_version)
    record = append_section(
        Path(d.record_path).parent,
        d.record_id,
        "promotion",
        {
            "stage": "bootstrap (no canary yet)",
            "champion": move.champion,
            "previous": move.previous,
            "replaced": move.replaced,
            "changed": move.changed,
            "dagster_run_id": context.run_id,
        },
    )
    client_for(mlflow.config()).log_artifact(d.run_id, str(record.path), "decisions")
    context.log.info("champion of %s: v%s (was %s)", d.model_name, move.champion, move.replaced)
    return dg.Output(
        ChampionModel(d.model_name, move.champion, move.previous, move.changed, record.record_id),
        metadata={
            "champion": f"{d.model_name} v{move.champion}",
            "previous": f"v{move.previous}" if move.previous else "none",
            "changed": move.changed,
            "decision_record_id": record.record_id,
            "decision_record": dg.MetadataValue.path(str(record.path)),
            "rollback": "models.registry_aliases.rollback(config, name) (champion <- previous)",
        },
    )
