"""The promotion gate: the policy's verdict on a challenger and the decision record it writes.

`judge` turns the golden-set and traffic evaluations into a verdict (refusing evidence
gathered against two different champions); `decision_document` lays out the record's
sections (data and code lineage, MLflow identities, policy, evidence, verdict), so the
Dagster asset only writes it and tags the registry.
"""

from dataclasses import dataclass
from typing import Any

from evaluation.golden_eval.candidate import GoldenEvaluation
from evaluation.promotion.policy import (
    CostEvidence,
    PairedEvidence,
    PromotionPolicy,
    PromotionVerdict,
    decide,
)
from evaluation.promotion.record import build_decision_document
from evaluation.traffic.candidate import TrafficEvaluation
from models.candidate import CandidateRef
from models.lineage import SNAPSHOT_SHA256, SNAPSHOT_TAG, git_commit


@dataclass(frozen=True)
class PromotionDecision:
    """The gate's outcome as later stages (promotion, canary, the CLI) read it."""

    passed: bool
    summary: str
    failures: list[str]
    record_id: str
    record_path: str
    model_name: str
    model_version: str
    run_id: str
    champion_version: str | None


def judge(
    policy: PromotionPolicy,
    golden: GoldenEvaluation,
    traffic: TrafficEvaluation,
    cost: CostEvidence | None = None,
) -> PromotionVerdict:
    """The policy's verdict on the golden, traffic (and cost) evidence of one challenger."""
    golden_champion = golden.champion.model_version if golden.champion else None
    if traffic.report is not None and traffic.champion_version != golden_champion:
        raise RuntimeError(
            f"champion moved between the evaluations (golden: {golden_champion}, traffic: "
            f"{traffic.champion_version}); rerun both so they judge against the same model"
        )
    paired = None
    if golden.champion_predictions is not None:
        paired = PairedEvidence(
            golden.y_true, golden.champion_predictions, golden.candidate_predictions, golden.slices
        )
    return decide(
        policy,
        golden.candidate_report,
        paired=paired,
        reference_free=traffic.report,
        cost=cost,
        baseline=golden.baseline_report,
    )


def decision_document(
    candidate: CandidateRef,
    golden: GoldenEvaluation,
    traffic: TrafficEvaluation,
    policy: PromotionPolicy,
    verdict: PromotionVerdict,
    dagster_run_id: str,
    cost: CostEvidence | None = None,
) -> dict[str, Any]:
    """The first record body of this promotion decision (see evaluation.promotion.record)."""
    champion = None
    if golden.champion is not None:
        champion = {
            "model_version": golden.champion.model_version,
            "run_id": golden.champion.run_id,
            "tier": golden.champion.tier,
        }
    return build_decision_document(
        data={
            SNAPSHOT_TAG: candidate.snapshot_tag,
            SNAPSHOT_SHA256: candidate.snapshot_sha256,
            "golden_tag": golden.golden_tag,
            "golden_version": golden.golden_version,
            "golden_sha256": golden.golden_sha256,
            "traffic_tag": traffic.traffic_tag,
            "traffic_rows": traffic.rows,
        },
        code=git_commit(),
        mlflow={
            "model_name": candidate.model_name,
            "candidate": {
                "model_version": candidate.model_version,
                "run_id": candidate.run_id,
                "tier": golden.gate_tier,
            },
            "champion": champion,
        },
        policy=policy,
        verdict=verdict,
        golden=golden.candidate_report,
        champion_golden=golden.champion_report,
        comparison=verdict.comparison,
        reference_free=traffic.report,
        extra={
            "golden_tiers": golden.tier_summaries,
            "cost": None
            if cost is None
            else {"cost_units_per_1k": cost.cost_units_per_1k, "source": cost.source},
            "orchestration": {"dagster_run_id": dagster_run_id, "asset": "promotion_decision"},
        },
    )
