"""The promotion gate (evaluation.promotion.policy) on real data and real models.

Touches: the real VADER golden set (800 rows), real TF-IDF + logistic-regression candidates
(champion on 1,200 rows; a clearly better one on 10,000; one trained on shuffled labels; one
trained with one source's labels inverted, i.e. worse only on that source), golden evaluation
through the real deepeval `evaluate()` in a temp dir, and the paired statistics.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.golden_eval.report import GoldenEvalConfig, GoldenReport, evaluate_golden
from evaluation.golden_eval.slices import build_slices
from evaluation.promotion.policy import CostEvidence, PairedEvidence, PromotionPolicy, decide
from evaluation.stats.predictions import Predictions
from evaluation.traffic.reference_free import ReferenceFreeReport
from tests.evaluation.gate_data import GateData, gate_data, traffic_report

pytestmark = pytest.mark.slow  # four golden evaluations + four real model fits

CONFIG = GoldenEvalConfig()
POLICY = PromotionPolicy(
    floors={"accuracy_min": 0.6, "macro_f1_min": 0.6, "class_recall_min": 0.4, "ece_max": 0.15},
    slice_accuracy_floor=0.55,
)


@pytest.fixture(scope="module")
def data(vader_df: pd.DataFrame) -> GateData:
    return gate_data(vader_df)


@pytest.fixture(scope="module")
def reports(data: GateData, tmp_path_factory: pytest.TempPathFactory) -> dict[str, GoldenReport]:
    workdir = tmp_path_factory.mktemp("deepeval")
    return {
        name: evaluate_golden(data.golden, pred, CONFIG, workdir)
        for name, pred in data.predictions.items()
    }


def _paired(data: GateData, challenger: Predictions) -> PairedEvidence:
    slices = build_slices(data.golden, CONFIG.slices)
    return PairedEvidence(
        data.golden["label"].tolist(), data.predictions["champion"], challenger, slices
    )


def _failed(verdict, rule: str) -> list[str]:
    return [r.details.get("slice", r.message) for r in verdict.failures if r.rule == rule]


def test_clearly_better_candidate_is_promoted(data: GateData, reports) -> None:
    better = reports["better"]
    assert decide(POLICY, better).passed  # no champion: floors only
    verdict = decide(POLICY, better, paired=_paired(data, data.predictions["better"]))
    assert verdict.passed, verdict.summary()
    rules = {r.rule for r in verdict.reasons}
    assert {
        "floor",
        "slice_floor",
        "macro_f1_non_inferiority",
        "accuracy_non_inferiority",
        "mcnemar",
        "slice_harm",
    } <= rules


def test_candidate_trained_on_shuffled_labels_is_blocked(data: GateData, reports) -> None:
    shuffled = reports["shuffled"]
    alone = decide(POLICY, shuffled)
    assert not alone.passed
    assert {"accuracy", "macro_f1"} <= {
        r.details["metric"] for r in alone.failures if r.rule == "floor"
    }
    verdict = decide(POLICY, shuffled, paired=_paired(data, data.predictions["shuffled"]))
    failed_rules = {r.rule for r in verdict.failures}
    assert {"macro_f1_non_inferiority", "accuracy_non_inferiority", "mcnemar"} <= failed_rules
    assert verdict.summary().startswith("BLOCK")


def test_candidate_bad_only_on_one_source_is_caught_by_the_slice_rules(
    data: GateData, reports, tmp_path: Path
) -> None:
    # With a champion: the candidate whose amazon labels were inverted in training.
    flipped = reports["flipped_amazon"]
    verdict = decide(POLICY, flipped, paired=_paired(data, data.predictions["flipped_amazon"]))
    harmed = _failed(verdict, "slice_harm")
    assert "domain=amazon" in harmed
    assert not [s for s in harmed if s.startswith("domain=") and s != "domain=amazon"]

    # Without a champion: the better model, but at chance level on movies only (its movies
    # predictions replaced by the shuffled-label model's). Overall floors still pass.
    better, shuffled = data.predictions["better"], data.predictions["shuffled"]
    movies = (data.golden["domain"] == "movies").to_numpy()
    probs = np.where(movies[:, None], shuffled.probs, better.probs)
    broken = Predictions.from_probs(
        probs, better.classes, model_id="broken-on-movies", row_ids=better.row_ids
    )
    report = evaluate_golden(data.golden, broken, CONFIG, tmp_path)
    verdict = decide(POLICY, report)
    assert not verdict.passed
    assert not [r for r in verdict.failures if r.rule == "floor"]  # overall looks fine
    assert "domain=movies" in _failed(verdict, "slice_floor")
    assert "domain=tweets" not in _failed(verdict, "slice_floor")


def test_decide_compares_with_the_policy_settings(data: GateData, reports) -> None:
    other = POLICY.model_copy(update={"slice_margin": 0.10})
    verdict = decide(other, reports["better"], paired=_paired(data, data.predictions["better"]))
    assert verdict.comparison is not None
    assert {s.margin for s in verdict.comparison.slices} == {0.10}
    assert verdict.comparison.alpha == other.alpha
    with pytest.raises(ValueError, match="paired evidence is for"):
        decide(POLICY, reports["shuffled"], paired=_paired(data, data.predictions["better"]))


def test_estimated_accuracy_drop_rule(reports) -> None:
    better = reports["better"]
    policy = POLICY.model_copy(update={"max_estimated_accuracy_drop": 0.05})

    def rule(rf: ReferenceFreeReport | None):
        (reason,) = [
            r
            for r in decide(policy, better, reference_free=rf).reasons
            if r.rule == "estimated_accuracy"
        ]
        return reason

    assert rule(traffic_report(0.70, champion_estimate=0.72)).passed
    dropped = rule(traffic_report(0.62, champion_estimate=0.72))
    assert not dropped.passed and dropped.details["drop"] == pytest.approx(0.10)
    assert "0.100 below the champion's estimate" in dropped.message
    risen = rule(traffic_report(0.75, champion_estimate=0.72))
    assert risen.passed and "0.030 above the champion's estimate" in risen.message
    # No champion: the reference is the candidate's own golden accuracy.
    golden_acc = better.overall.accuracy.point
    assert rule(traffic_report(golden_acc - 0.04, None)).passed
    assert not rule(traffic_report(golden_acc - 0.06, None)).passed
    assert rule(None).passed and "skipped" in rule(None).message


def test_cost_budget_hook(reports) -> None:
    policy = POLICY.model_copy(update={"max_cost_units_per_1k": 2.0})
    better = reports["better"]

    def cost_reasons(cost):
        return [r for r in decide(policy, better, cost=cost).reasons if r.rule == "cost"]

    assert "skipped" in cost_reasons(None)[0].message
    assert cost_reasons(CostEvidence(1.5, "bench"))[0].passed
    assert not cost_reasons(CostEvidence(2.5, "bench"))[0].passed
    assert not [r for r in decide(POLICY, better).reasons if r.rule == "cost"]  # no budget


def test_identical_challenger_is_no_change(data: GateData, reports) -> None:
    """The champion's own predictions as the challenger's: every comparison ties, and the
    `no_change` rule keeps it from becoming a new champion; the summary says NO CHANGE.
    With `block_unchanged` off it would pass; any disagreement passes the rule."""
    champion = data.predictions["champion"]
    same = Predictions(champion.model_id, champion.classes, champion.probs, champion.labels)
    relaxed = POLICY.model_copy(update={"slice_accuracy_floor": None})
    verdict = decide(relaxed, reports["champion"], paired=_paired(data, same))
    assert [r.rule for r in verdict.failures] == ["no_change"], verdict.summary()
    assert verdict.unchanged and verdict.summary().startswith("NO CHANGE")
    assert verdict.failures[0].details == {"disagreements": 0, "n": len(data.golden)}
    allowed = relaxed.model_copy(update={"block_unchanged": False})
    assert decide(allowed, reports["champion"], paired=_paired(data, same)).passed
    better = decide(POLICY, reports["better"], paired=_paired(data, data.predictions["better"]))
    (rule,) = [r for r in better.reasons if r.rule == "no_change"]
    assert rule.passed and rule.details["disagreements"] > 0
