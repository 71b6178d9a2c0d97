"""Evaluation: golden-set and reference-free evidence on a challenger, the promotion decision
behind a blocking gate, and the bootstrap promotion that moves the MLflow aliases.

Thin: the assets read their inputs, call evaluation/ (golden_eval, traffic, promotion) and
models.model_registry, and turn the results into Dagster metadata. What they pass each other
stays small (reports and predictions on golden-sized row sets); per-case tables, plots and
JSON reports go under `$DRIFTWISE_HOME/reports/evaluation/<model>-v<version>/`, decision
records under `$DRIFTWISE_HOME/decisions/`.

Tiers: every challenger tier is evaluated on the golden set; the gate tier (accurate when
trained, else the only one) is the one the policy judges and the one compared with the
champion's same tier.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import dagster as dg
import pandas as pd
from pydantic import Field

from assets.policy_config import DerivedConfig, config_from
from data.golden_set import GOLDEN_PATH, GoldenRef
from data.schema import TEXT, DatasetSpec
from data.snapshot import SNAPSHOT_PATH
from evaluation.golden_eval.candidate import GoldenEvaluation, evaluate_on_golden, fmt_interval
from evaluation.golden_eval.judge_config import JudgeConfig
from evaluation.promotion.cost import measure_cost
from evaluation.promotion.gate import PromotionDecision, decision_document, judge
from evaluation.promotion.policy import PromotionPolicy, PromotionVerdict
from evaluation.promotion.record import append_section, load_record, write_record
from evaluation.rollout.controller import RegistryAliases, RolloutController
from evaluation.scoring import BundleScorer
from evaluation.traffic.candidate import TrafficEvaluation, evaluate_on_traffic, recent_traffic
from models.candidate import CandidateRef
from models.lineage import GATE_BLOCKED, GATE_PASSED, RECORD_TAG, RUN_TAG_GATE, VERDICT_TAG
from models.model_registry import CHAMPION, ServingModel, find_model
from models.tracking import client_for
from orchestration.resources import (
    DataRegistryResource,
    MlflowResource,
    RuntimeHomeResource,
    ServingResource,
)


def _report_dir(home: RuntimeHomeResource, candidate: CandidateRef, stage: str) -> Path:
    path = home.layout.reports / "evaluation" / f"{candidate.model_name}-v{candidate.model_version}"
    return path / stage


def _champion(
    mlflow: MlflowResource, home: RuntimeHomeResource, candidate: CandidateRef
) -> ServingModel | None:
    """The champion to compare with, unless it is the candidate itself (a re-evaluation)."""
    return find_model(
        mlflow.config(),
        candidate.model_name,
        home.layout.model_imports,
        aliases=(CHAMPION,),
        exclude_version=candidate.model_version,
    )


def _md(frame: pd.DataFrame) -> dg.MetadataValue:
    return dg.MetadataValue.md(frame.to_markdown(index=False) if len(frame) else "_none_")


# -- golden set -------------------------------------------------------------------------------
if TYPE_CHECKING:

    class GoldenEvaluationConfig(DerivedConfig):
        """JudgeConfig's fields, prefixed `judge_` (see below)."""

else:
    # The optional LLM judge (evaluation/golden_eval/judge.py), derived from its JudgeConfig:
    # off unless a run turns it on (`judge: true`), since it calls a paid service; its key is
    # read from the environment variable named. The criterion is built from the dataset.
    GoldenEvaluationConfig = config_from(
        JudgeConfig,
        "GoldenEvaluationConfig",
        omit=("criteria",),
        prefix="judge_",
        rename={"enabled": "judge"},
        doc="The optional LLM judge: off unless a run turns it on (a paid service).",
    )


@dg.asset(group_name="evaluation", kinds={"deepeval", "mlflow"})
def golden_evaluation(
    context: dg.AssetExecutionContext,
    config: GoldenEvaluationConfig,
    candidate_model: CandidateRef,
    golden_set: GoldenRef,
    registry: DataRegistryResource,
    mlflow: MlflowResource,
    home: RuntimeHomeResource,
    dataset: dg.ResourceParam[DatasetSpec],
) -> dg.Output[GoldenEvaluation]:
    """Challenger (every tier) and champion (MLflow alias `champion`) on the golden set, per
    slice with bootstrap intervals; the gate tier side by side with the champion, and the
    TF-IDF+LR baseline fitted on the challenger's training split as a reference row (never
    judged). Notices say how much of the texts the accurate tier's token window cuts off.
    With `judge` on, an LLM judge grades the gate tier's answers in the dataset's terms."""
    reg = registry.registry()
    golden = reg.read_table(GOLDEN_PATH, rev=golden_set.tag).reset_index(drop=True)
    # The snapshot the challenger trained on, by the tag in its lineage: the baseline fits on
    # the same train split (a Parquet read plus ~1-2 s of scikit-learn).
    snapshot = reg.read_table(SNAPSHOT_PATH, rev=candidate_model.snapshot_tag)
    evaluation, artifacts = evaluate_on_golden(
        candidate_model,
        golden,
        golden_set,
        _champion(mlflow, home, candidate_model),
        BundleScorer(home.layout.embeddings),
        _report_dir(home, candidate_model, "golden"),
        snapshot=snapshot,
    )
    for notice in artifacts.notices:
        context.log.info(notice)
    champ = evaluation.champion
    context.log.info(
        "golden evaluation of %s v%s done (champion: %s)",
        candidate_model.model_name,
        candidate_model.model_version,
        champ.model_version if champ else "none",
    )
    from evaluation.golden_eval.judge import judge_golden  # deepeval: only when a run evaluates

    judged = judge_golden(
        golden,
        evaluation.candidate_predictions,
        config.to_model(),
        Path(evaluation.report_dir) / "judge",
        dataset.name,
        evaluation.candidate_predictions.classes,
        dataset.description,
    )
    judge_md: dict[str, Any] = (
        {
            "judge": f"{judged.model}: {judged.metric}",
            "judge/mean_score": round(judged.mean_score, 4),
            "judge/pass_rate": round(judged.pass_rate, 4),
            "judge/cases": judged.n,
        }
        if judged is not None
        else {"judge": "off (golden_evaluation config: judge = true)"}
    )
    champion_text = (
        f"{champ.model_name} v{champ.model_version} ({champ.tier})"
        if champ
        else "none: the gate judges absolute floors only"
    )
    return dg.Output(
        evaluation,
        metadata={
            "gate_tier": evaluation.gate_tier,
            "golden_tag": golden_set.tag,
            **judge_md,
            **artifacts.metrics,
            **{k: dg.MetadataValue.path(str(v)) for k, v in artifacts.plots.items()},
            "champion": champion_text,
            "challenger": f"{candidate_model.model_name} v{candidate_model.model_version}",
            "dagster/row_count": len(golden),
            "models": _md(artifacts.models),
            "notices": dg.MetadataValue.md(
                "\n".join(f"- {n}" for n in artifacts.notices) or "_none_"
            ),
            "by_slice": _md(artifacts.by_slice),
            "reports": dg.MetadataValue.path(str(artifacts.reports_json)),
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
    champion = None if traffic.empty else _champion(mlflow, home, candidate_model)
    result = evaluate_on_traffic(
        candidate_model,
        snapshot,
        traffic,
        tag,
        excluded,
        champion,
        BundleScorer(home.layout.embeddings),
        _report_dir(home, candidate_model, "traffic"),
        method=config.estimator,
        seed=config.seed,
    )
    metadata: dict[str, Any] = {
        "gate_tier": result.gate_tier,
        "traffic_source": f"latest ingested batch {tag} (until the serving log exists)",
        "excluded_training_rows": excluded,
        "dagster/row_count": len(traffic),
    }
    report, estimator = result.report, result.estimator
    if report is None or estimator is None:
        context.log.warning("no recent traffic outside the training split: nothing to evaluate")
        return dg.Output(result, metadata=metadata)
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
            "estimated_accuracy_interval": fmt_interval(est.accuracy),
            "estimator": config.estimator,
            "estimator_error_margin": est.error_margin if est.error_margin is not None else "n/a",
            "validation_accuracy": round(estimator.val_accuracy, 4),
            "confidence_mean": round(report.confidence.mean, 4),
            "entropy_mean": round(report.entropy.mean, 4),
            "distributions": _md(summaries),
            **{k: dg.MetadataValue.path(str(v)) for k, v in result.plots.items()},
            "seconds": result.seconds,
        }
    )
    if report.class_shift is not None:
        metadata["predicted_vs_prior_js_distance"] = round(report.class_shift.js_distance, 4)
        metadata["predicted_share"] = dg.MetadataValue.json(report.class_shift.predicted)
    if report.agreement is not None and report.champion_estimated_accuracy is not None:
        metadata["agreement_with_champion"] = fmt_interval(report.agreement.rate)
        metadata["champion_estimated_accuracy"] = fmt_interval(
            report.champion_estimated_accuracy.accuracy
        )
    return dg.Output(result, metadata=metadata)


# -- decision ---------------------------------------------------------------------------------
if TYPE_CHECKING:

    class EvaluationConfig(DerivedConfig):
        """PromotionPolicy's fields (see below)."""

else:
    # The promotion policy's knobs, derived from evaluation.promotion.policy.PromotionPolicy
    # (its golden floors flattened in; None switches a rule off). The cost budget is the
    # dataset's (`max_cost_units_per_1k` in its config), not a run's.
    EvaluationConfig = config_from(
        PromotionPolicy,
        "EvaluationConfig",
        flatten=("floors",),
        omit=("max_cost_units_per_1k",),
        doc="The promotion policy's knobs (evaluation.promotion.policy.PromotionPolicy); "
        "None switches a rule off.",
    )


def _reasons_md(verdict: PromotionVerdict) -> dg.MetadataValue:
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
    golden_set: GoldenRef,
    registry: DataRegistryResource,
    dataset: dg.ResourceParam[DatasetSpec],
    mlflow: MlflowResource,
    home: RuntimeHomeResource,
) -> dg.Output[PromotionDecision]:
    """The promotion policy's verdict on the challenger, written as a content-addressed
    decision record, logged to its MLflow run and tagged on its registry version. The
    cost rule prices the gate tier on golden texts (evaluation/promotion/cost.py) against
    the dataset's `max_cost_units_per_1k`, when it sets one."""
    policy: PromotionPolicy = config.to_model()
    if dataset.max_cost_units_per_1k is not None:
        policy = policy.model_copy(update={"max_cost_units_per_1k": dataset.max_cost_units_per_1k})
    gate = golden_evaluation.gate_tier
    cost = measure_cost(
        Path(candidate_model.bundles[gate]),
        golden_texts(registry, golden_set),
        dataset.price_per_core_hour,
        tier=gate,
    )
    context.log.info("cost at the gate: %.5f units/1k (%s)", cost.cost_units_per_1k, cost.source)
    verdict = judge(policy, golden_evaluation, reference_free_evaluation, cost)
    document = decision_document(
        candidate_model,
        golden_evaluation,
        reference_free_evaluation,
        policy,
        verdict,
        dagster_run_id=context.run_id,
        cost=cost,
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
    champion = golden_evaluation.champion
    decision = PromotionDecision(
        passed=verdict.passed,
        summary=verdict.summary(),
        failures=[r.message for r in verdict.failures],
        record_id=record.record_id,
        record_path=str(record.path),
        model_name=name,
        model_version=version,
        run_id=candidate_model.run_id,
        champion_version=champion.model_version if champion else None,
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
            "cost_units_per_1k": cost.cost_units_per_1k,
            # Numbers, so the UI's Plots tab draws them across decisions (one point each).
            **_headline(golden_evaluation),
        },
    )


def golden_texts(registry: DataRegistryResource, golden_set: GoldenRef) -> list[str]:
    golden = registry.registry().read_table(GOLDEN_PATH, rev=golden_set.tag)
    return golden[TEXT].astype(str).tolist()


def _headline(golden: GoldenEvaluation) -> dict[str, float]:
    """The challenger's (and champion's) golden-set accuracy and macro-F1, as plain floats."""
    out = {}
    for who, report in (
        ("challenger", golden.candidate_report),
        ("champion", golden.champion_report),
    ):
        if report is not None:
            overall = report.overall
            out[f"{who}_golden_macro_f1"] = round(float(overall.macro_f1.point), 4)
            out[f"{who}_golden_accuracy"] = round(float(overall.accuracy.point), 4)
    return out


# Not `blocking=True`: a failed blocking check ends the run as a FAILURE, and a blocked
# candidate is an outcome, not a crash. The check shows the verdict (red, ERROR) with its
# reasons; champion_model enforces it by reading the same verified record.
@dg.asset_check(asset=promotion_decision)
def check_promotion_gate(
    promotion_decision: PromotionDecision,
) -> dg.AssetCheckResult:
    """The gate's verdict: passes only when the policy passed, as read back from the
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
        severity=dg.AssetCheckSeverity.ERROR,
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
    # True: the gate passed while a champion is being served, so this version goes live
    # through the staged canary (canary_rollout); the champion alias has not moved yet.
    canary: bool = False


def _gate_passed(decision: PromotionDecision) -> bool:
    """The verdict as recorded on disk (hash verified) agrees with the decision: passed."""
    record = load_record(Path(decision.record_path).parent, decision.record_id)
    return decision.passed and bool(record.sections["verdict"]["passed"])


@dg.asset(group_name="promotion", kinds={"mlflow"}, output_required=False)
def champion_model(
    context: dg.AssetExecutionContext,
    promotion_decision: PromotionDecision,
    mlflow: MlflowResource,
    home: RuntimeHomeResource,
    serving: ServingResource,
):
    """How a gate-passed challenger goes live. While a champion is being served (and the
    canary is on), it goes through the staged canary: nothing moves here, canary_rollout
    starts the rollout and the canary's verdict moves the aliases. Otherwise (the first
    model, or nothing served) it is promoted at the gate: alias `champion` moves to it and
    the replaced champion keeps alias `previous` (one-call rollback). On a blocked verdict
    nothing moves and nothing is materialised: the run ends successfully, tagged
    `driftwise/gate=blocked`, with the reasons on check_promotion_gate."""
    d = promotion_decision
    passed = _gate_passed(d)
    context.instance.add_run_tags(
        context.run_id, {RUN_TAG_GATE: GATE_PASSED if passed else GATE_BLOCKED}
    )
    if not passed:
        context.log.warning(
            "%s v%s blocked by the promotion gate (record %s); champion unchanged. %s",
            d.model_name,
            d.model_version,
            d.record_id,
            "; ".join(d.failures),
        )
        return
    controller = RolloutController(home.root, serving.router())
    route = controller.admit(d.model_version, RegistryAliases(mlflow.config()), serving.canary)
    if route.canary:
        record = append_section(
            Path(d.record_path).parent,
            d.record_id,
            "promotion",
            {
                "stage": "canary (staged rollout against the served champion)",
                "champion": route.champion,
                "challenger": d.model_version,
                "changed": False,
                "dagster_run_id": context.run_id,
            },
        )
        context.log.info(
            "v%s passed the gate; champion v%s is served: going live through the canary",
            d.model_version,
            route.champion,
        )
        yield dg.Output(
            ChampionModel(
                d.model_name, d.model_version, route.champion, False, record.record_id, True
            ),
            metadata={
                "champion": f"{d.model_name} v{route.champion} (unchanged until the canary)",
                "challenger": f"v{d.model_version}",
                "route": "canary",
                "decision_record_id": record.record_id,
                "decision_record": dg.MetadataValue.path(str(record.path)),
            },
        )
        return
    move = route
    record = append_section(
        Path(d.record_path).parent,
        d.record_id,
        "promotion",
        {
            "stage": "at the gate (no served champion to canary against)",
            "champion": move.champion,
            "previous": move.previous,
            "replaced": move.replaced,
            "changed": move.changed,
            "dagster_run_id": context.run_id,
        },
    )
    client_for(mlflow.config()).log_artifact(d.run_id, str(record.path), "decisions")
    context.log.info("champion of %s: v%s (was %s)", d.model_name, move.champion, move.replaced)
    yield dg.Output(
        ChampionModel(d.model_name, move.champion, move.previous, move.changed, record.record_id),
        metadata={
            "champion": f"{d.model_name} v{move.champion}",
            "previous": f"v{move.previous}" if move.previous else "none",
            "changed": move.changed,
            "route": "promoted at the gate",
            "decision_record_id": record.record_id,
            "decision_record": dg.MetadataValue.path(str(record.path)),
            "rollback": "`driftwise rollback` (champion <- previous)",
        },
    )
