"""The promotion gate (evaluation.promotion.gate): the verdict from golden + traffic evidence,
and the decision record's layout.

Touches: the real VADER golden set with real TF-IDF + logistic-regression champion and
candidates (tests/evaluation/gate_data.py), golden evaluation through the real deepeval
`evaluate()` in a temp dir, the real paired statistics, and the real git of this repo (the
record's code section).
"""

from pathlib import Path

import pandas as pd
import pytest

from evaluation.golden_eval.candidate import ChampionInfo, GoldenEvaluation
from evaluation.golden_eval.report import GoldenEvalConfig, evaluate_golden
from evaluation.golden_eval.slices import build_slices
from evaluation.promotion.gate import decision_document, judge
from evaluation.promotion.policy import PromotionPolicy
from evaluation.promotion.record import canonical_json
from evaluation.traffic.candidate import TrafficEvaluation
from models.candidate import CandidateRef
from models.lineage import git_commit
from tests.evaluation.gate_data import GateData, gate_data, traffic_report

pytestmark = pytest.mark.slow  # golden evaluations + real model fits (shared per process)

CONFIG = GoldenEvalConfig()
POLICY = PromotionPolicy(
    floors={"accuracy_min": 0.6, "macro_f1_min": 0.6, "class_recall_min": 0.4, "ece_max": 0.15},
)
CANDIDATE = CandidateRef("m", "2", "run-2", "snapshot/abc", "f" * 64, {"fast": "/b"}, {})


@pytest.fixture(scope="module")
def data(vader_df: pd.DataFrame) -> GateData:
    return gate_data(vader_df)


def _golden(data: GateData, tmp: Path, challenger: str, with_champion: bool) -> GoldenEvaluation:
    golden = data.golden
    candidate = data.predictions[challenger]
    champion = data.predictions["champion"]
    return GoldenEvaluation(
        golden_tag="golden/v1-abc",
        golden_version="v1",
        golden_sha256="a" * 64,
        gate_tier="fast",
        candidate_report=evaluate_golden(golden, candidate, CONFIG, tmp),
        candidate_predictions=candidate,
        champion=ChampionInfo("m", "1", "run-1", "fast") if with_champion else None,
        champion_report=evaluate_golden(golden, champion, CONFIG, tmp) if with_champion else None,
        champion_predictions=champion if with_champion else None,
        y_true=tuple(golden["label"].astype(str)),
        slices=build_slices(golden, CONFIG.slices),
        tier_summaries={},
        report_dir=str(tmp),
    )


def _traffic(champion_version: str | None) -> TrafficEvaluation:
    report = traffic_report(0.85, 0.84 if champion_version else None)
    return TrafficEvaluation("fast", "batch/x", 5000, 0, report, None, champion_version, "/t")


def test_judge_compares_with_the_champion_and_records_the_evidence(
    data: GateData, tmp_path: Path
) -> None:
    golden = _golden(data, tmp_path, "better", with_champion=True)
    verdict = judge(POLICY, golden, _traffic("1"))
    assert verdict.passed, verdict.summary()
    assert verdict.comparison is not None
    assert verdict.comparison.challenger_id == golden.candidate_predictions.model_id

    document = decision_document(CANDIDATE, golden, _traffic("1"), POLICY, verdict, "dagster-1")
    sections = document["sections"]
    assert sections["data"]["snapshot_sha256"] == "f" * 64
    assert sections["mlflow"]["champion"]["model_version"] == "1"
    assert sections["code"] == git_commit()
    assert sections["comparison"]["challenger_id"] == verdict.comparison.challenger_id
    assert set(sections["verdict"]) == {"passed", "reasons"}  # the comparison is not doubled
    assert sections["orchestration"]["dagster_run_id"] == "dagster-1"
    canonical_json(document)  # JSON-plain throughout


def test_judge_without_champion_uses_floors_only(data: GateData, tmp_path: Path) -> None:
    verdict = judge(POLICY, _golden(data, tmp_path, "shuffled", False), _traffic(None))
    assert not verdict.passed
    assert verdict.comparison is None
    assert "champion" in {r.rule for r in verdict.reasons if r.passed}


def test_judge_refuses_evidence_from_two_different_champions(
    data: GateData, tmp_path: Path
) -> None:
    golden = _golden(data, tmp_path, "better", with_champion=True)
    with pytest.raises(RuntimeError, match="champion moved"):
        judge(POLICY, golden, _traffic("7"))
