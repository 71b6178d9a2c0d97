"""The reference row of the gate's golden report (evaluation/golden_eval/reference.py and its
wiring in candidate.py): the TF-IDF+LR baseline fitted on the challenger's training split,
shown beside the models and judged by the policy's `baseline` rule (blocking below its
interval, or reported only); and the truncation notices.

Touches: the real VADER data (the shared 800-row golden set and a disjoint training pool), a
real fast-tier bundle trained with models.training on that pool (CPU, two epochs) and scored
through the real BundleScorer, real deepeval runs and report files in tmp dirs, and the
real promotion policy (`judge`). The truncation notice test writes a bundle config for an
accurate tier and uses the real MiniLM tokenizer.
"""

import json
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score

from data.golden_set import GoldenRef
from evaluation.golden_eval.candidate import (
    GoldenArtifacts,
    GoldenEvaluation,
    evaluate_on_golden,
    model_table,
)
from evaluation.golden_eval.reference import baseline_gap_notice, truncation_notices
from evaluation.golden_eval.report import GoldenEvalConfig
from evaluation.promotion.gate import judge
from evaluation.promotion.policy import PromotionPolicy
from evaluation.scoring import BundleScorer
from evaluation.traffic.candidate import TrafficEvaluation
from models.baseline import NAME, TfidfBaseline
from models.bundle import BundleConfig, HeadConfig, encoder_ref
from models.candidate import CandidateRef
from models.truncation import TRUNCATED_SHARE
from tests.evaluation.gate_data import gate_data
from tests.models.snapshots import make_snapshot

CONFIG = GoldenEvalConfig(n_resamples=200)
GOLDEN_REF = GoldenRef(version="test", sha256="0" * 64, tag="golden/test", rows=800)
NO_TRAFFIC = TrafficEvaluation("fast", None, 0, 0, None, None, None, "")


@dataclass(frozen=True)
class Runs:
    golden: pd.DataFrame
    snapshot: pd.DataFrame
    with_baseline: tuple[GoldenEvaluation, GoldenArtifacts]
    without: tuple[GoldenEvaluation, GoldenArtifacts]


@pytest.fixture(scope="module")
def runs(vader_df: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    from models.spec import TrainSpec
    from models.training import train

    data = gate_data(vader_df)
    snapshot = make_snapshot(data.pool, {"train": 1600, "val": 300, "test": 100})
    result = train(snapshot, TrainSpec(tier="fast", max_epochs=2), tmp_path_factory.mktemp("fast"))
    assert result is not None
    candidate = CandidateRef(
        "test-model", "3", "run", "snapshot/x", "0" * 64, {"fast": str(result.bundle_dir)}, {}
    )
    scorer = BundleScorer(tmp_path_factory.mktemp("embeddings"))
    golden = data.golden

    def evaluate(name: str, snap: pd.DataFrame | None) -> tuple[GoldenEvaluation, GoldenArtifacts]:
        out = tmp_path_factory.mktemp(name)
        return evaluate_on_golden(candidate, golden, GOLDEN_REF, None, scorer, out, CONFIG, snap)

    return Runs(golden, snapshot, evaluate("with", snapshot), evaluate("without", None))


@pytest.mark.slow  # a real fit and three golden evaluations (~20 s)
def test_baseline_row_is_reported_on_the_same_golden_rows(runs: Runs) -> None:
    evaluation, artifacts = runs.with_baseline
    report = evaluation.baseline_report
    assert report is not None and report.n == len(runs.golden) == 800
    # The same numbers as the baseline fitted directly on the snapshot's train split.
    direct = TfidfBaseline().fit_snapshot(runs.snapshot).predict(runs.golden["text"].tolist())
    truth = runs.golden["label"].tolist()
    assert report.overall.accuracy.point == pytest.approx(accuracy_score(truth, direct))
    assert report.overall.macro_f1.point == pytest.approx(f1_score(truth, direct, average="macro"))

    models = artifacts.models.set_index("model")
    assert models.loc[NAME, "role"] == "floor (block_below_baseline)"
    assert models.loc["challenger v3 fast", "role"] == "judged by the gate"
    assert f"{NAME} macro_f1" in artifacts.by_slice.columns
    assert set(artifacts.by_slice["slice"]) >= {"all", "domain=tweets"}
    assert artifacts.metrics["baseline/macro_f1"] == round(report.overall.macro_f1.point, 4)
    gap = evaluation.candidate_report.overall.macro_f1.point - report.overall.macro_f1.point
    assert artifacts.metrics["baseline/macro_f1_gap"] == round(gap, 4)
    assert any("(policy `block_below_baseline`)" in n or "equal to" in n for n in artifacts.notices)
    saved = json.loads(artifacts.reports_json.read_text())  # type: ignore[union-attr]
    assert saved["baseline"]["model_id"] == "baseline/tfidf-lr"


@pytest.mark.slow
def test_the_baseline_rule_blocks_below_its_interval(runs: Runs) -> None:
    """The baseline is judged, not only shown: a `baseline` reason with both numbers; a
    challenger below the baseline's interval blocks, unless the policy only reports it; no
    baseline row (no snapshot), no baseline rule."""
    with_baseline, _ = runs.with_baseline
    without, artifacts = runs.without
    assert without.baseline_report is None and NAME not in set(artifacts.models["model"])
    for key in ("slices", "checks", "classes"):  # (deepeval's run time differs, naturally)
        assert (
            with_baseline.candidate_report.to_dict()[key] == without.candidate_report.to_dict()[key]
        )
    lenient = PromotionPolicy.model_validate(
        {"floors": {"accuracy_min": 0.5, "macro_f1_min": 0.5, "ece_max": None}}
    )
    assert "baseline" not in {r.rule for r in judge(lenient, without, NO_TRAFFIC).reasons}
    verdict = judge(lenient, with_baseline, NO_TRAFFIC)
    (rule,) = [r for r in verdict.reasons if r.rule == "baseline"]
    base = with_baseline.baseline_report.overall.macro_f1  # type: ignore[union-attr]
    ours = with_baseline.candidate_report.overall.macro_f1.point
    assert rule.details == {"macro_f1": ours, "baseline": base.point, "baseline_low": base.low}
    assert rule.passed == (ours >= base.low)
    # The same challenger against a baseline made to look better than it: blocked, said why.
    better = replace(base, point=ours + 0.05, low=ours + 0.01, high=ours + 0.09)
    stronger = replace(
        with_baseline,
        baseline_report=replace(
            with_baseline.baseline_report,  # type: ignore[type-var]
            slices=[replace(with_baseline.baseline_report.overall, macro_f1=better)],  # type: ignore[union-attr]
        ),
    )
    blocked = judge(lenient, stronger, NO_TRAFFIC)
    assert not blocked.passed and [r.rule for r in blocked.failures] == ["baseline"]
    assert "below the TF-IDF+LR baseline" in blocked.failures[0].message
    report_only = lenient.model_copy(update={"block_below_baseline": False})
    assert judge(report_only, stronger, NO_TRAFFIC).passed


def test_gap_notice_and_model_table_say_what_is_judged() -> None:
    assert baseline_gap_notice("challenger v3 accurate", 0.70, 0.75) == (
        "challenger v3 accurate macro-F1 0.700 is BELOW the baseline (TF-IDF+LR) reference "
        "(0.750, -0.050); the gate blocks below the baseline's interval (policy "
        "`block_below_baseline`)."
    )
    assert " above " in baseline_gap_notice("c", 0.8, 0.75)
    # the 20-class run's "0.877 is BELOW the baseline (0.877, -0.000)": equal, said so
    same = baseline_gap_notice("c", 0.87702, 0.87731)
    assert "is equal to the baseline" in same and "within 0.0005" in same and "BELOW" not in same
    assert "BELOW" in baseline_gap_notice("c", 0.8765, 0.8773)  # prints as -0.001: a gap
    assert model_table({}, "x").empty


def test_truncation_notice_for_an_accurate_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "accurate"
    bundle.mkdir()
    (bundle / "head.safetensors").write_bytes(b"")  # the notice reads the config only
    config = BundleConfig(
        tier="accurate",
        architecture="frozen_encoder",
        labels=["a", "b"],
        version="v",
        encoder=encoder_ref(16, "package"),
        head=HeadConfig(input_dim=384, hidden=0, dropout=0.0),
        weights=["head.safetensors"],
        metrics={TRUNCATED_SHARE: 0.25},
    )
    (bundle / "config.json").write_text(config.model_dump_json())
    golden = pd.DataFrame({"text": ["short one", " ".join(["word"] * 40)]})
    (notice,) = truncation_notices({"accurate": str(bundle)}, golden)
    assert (notice.tier, notice.max_tokens, notice.golden_share) == ("accurate", 16, 0.5)
    assert notice.training_share == 0.25
    assert notice.message == (
        "accurate: 50% of golden texts (1 of 2) exceed the accurate tier's 16-token window; "
        "its encoder reads only their first 16 tokens and nothing reads the rest (median length "
        "23 tokens). Training texts: 25% exceeded it."
    )
