"""Golden-set evaluation (evaluation.golden_eval.report + case_metrics + deepeval_run) on real data.

Touches: the real VADER data (800-row golden set, 200 per domain), real scikit-learn models,
and the real deepeval 4.3 `evaluate()` with our offline per-case metrics, run inside a temp
workdir. A socket guard fails any non-loopback connection during evaluation.
"""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, recall_score

from evaluation.golden_eval.deepeval_run import run_deepeval
from evaluation.golden_eval.report import (
    CorpusThresholds,
    GoldenEvalConfig,
    GoldenReport,
    check_thresholds,
    evaluate_golden,
    to_evaluation_dataset,
    to_test_cases,
)
from evaluation.golden_eval.slices import SliceConfig
from evaluation.stats import metrics as M
from evaluation.stats.predictions import Predictions
from tests.evaluation.gate_data import GOLDEN_PER_DOMAIN, GateData, gate_data
from tests.evaluation.network_guard import NetworkGuard

CONFIG = GoldenEvalConfig(slices=SliceConfig(metadata_columns=["intensity"]))


@pytest.fixture(scope="module")
def data(vader_df: pd.DataFrame) -> GateData:
    return gate_data(vader_df)


@pytest.mark.slow  # shares the real-data build (model fits)
def test_golden_rows_become_goldens_and_test_cases(data: GateData) -> None:
    dataset = to_evaluation_dataset(data.golden)
    goldens = dataset.goldens
    assert len(goldens) == len(data.golden) == 4 * GOLDEN_PER_DOMAIN
    first = data.golden.iloc[0]
    assert goldens[0].input == first["text"]
    assert goldens[0].expected_output == first["label"]
    assert goldens[0].additional_metadata == {
        "row_id": first["row_id"],
        "domain": first["domain"],
        "intensity": first["intensity"],
    }
    # Predictions in a different order are aligned by row id.
    pred = data.predictions["better"]
    order = np.arange(len(pred))[::-1]
    shuffled = Predictions(
        pred.model_id,
        pred.classes,
        pred.probs[order],
        tuple(pred.labels[i] for i in order),
        tuple(pred.row_ids[i] for i in order),
    )  # type: ignore[index]
    cases = to_test_cases(dataset, shuffled)
    assert cases[0].name == first["row_id"]
    assert cases[0].actual_output == pred.labels[0]
    assert cases[0].metadata["probs"]["positive"] == pytest.approx(pred.probs[0, 1])


@pytest.fixture(scope="module")
def better_report(data: GateData, tmp_path_factory: pytest.TempPathFactory) -> GoldenReport:
    workdir = tmp_path_factory.mktemp("deepeval")
    return evaluate_golden(data.golden, data.predictions["better"], CONFIG, workdir)


@pytest.mark.slow  # shares the real-data build (model fits)
def test_corpus_metrics_match_a_direct_computation(
    data: GateData, better_report: GoldenReport
) -> None:
    pred = data.predictions["better"]
    report = better_report
    y = data.golden["label"].to_numpy()
    labels = np.asarray(pred.labels)
    overall = report.overall
    assert overall.n == len(y)
    assert overall.accuracy.point == pytest.approx(np.mean(labels == y))
    assert overall.macro_f1.point == pytest.approx(f1_score(y, labels, average="macro"))
    recalls = recall_score(y, labels, average=None, labels=["negative", "positive"])
    assert overall.class_recall["negative"].point == pytest.approx(recalls[0])
    assert overall.ece.point == pytest.approx(
        float(M.batched_ece(pred.confidence, labels == y, CONFIG.ece_bins))
    )
    for ci in (overall.accuracy, overall.macro_f1, overall.ece):
        assert ci.low <= ci.point <= ci.high
    assert 0.0 < overall.accuracy.half_width < 0.06  # 800 rows: about ±3 points
    # deepeval's per-case verdicts are the source of the corpus numbers.
    assert overall.deepeval_pass_rate["Correctness"] == pytest.approx(overall.accuracy.point)
    assert report.per_case["Correctness"].sum() == pytest.approx(np.sum(labels == y))
    assert report.deepeval["n_cases"] == len(y)

    amazon = report.slice("domain=amazon")
    mask = (data.golden["domain"] == "amazon").to_numpy()
    assert amazon.n == GOLDEN_PER_DOMAIN
    assert amazon.accuracy.point == pytest.approx(np.mean(labels[mask] == y[mask]))
    assert amazon.accuracy.half_width > overall.accuracy.half_width  # fewer rows, wider
    names = {s.name for s in report.slices}
    assert {"class=negative", "length=<=64", "meta:intensity=strong"} <= names
    assert sum(report.slice(f"domain={d}").n for d in ("movies", "tweets", "amazon", "nyt")) == 800


@pytest.mark.slow  # shares the real-data build (model fits)
def test_thresholds_are_checked_on_point_or_interval(better_report: GoldenReport) -> None:
    overall = better_report.overall
    acc = overall.accuracy
    # The default floors (accuracy/macro-F1 0.7, recall 0.5, ECE 0.1) as evaluated:
    expected = {"accuracy": acc.point >= 0.7, "ece": overall.ece.point <= 0.1}
    got = {c.metric: c.passed for c in better_report.checks}
    assert {k: got[k] for k in expected} == expected
    assert {"accuracy", "macro_f1", "recall[negative]", "recall[positive]", "ece"} == set(got)

    floor = CorpusThresholds(
        accuracy_min=acc.point - 0.005, macro_f1_min=None, class_recall_min=None, ece_max=None
    )
    (by_point,) = check_thresholds(overall, floor, "point")
    (by_interval,) = check_thresholds(overall, floor, "interval")
    assert by_point.passed and by_point.value == acc.point
    # The lower CI bound sits more than 0.005 below the point: the interval check fails.
    assert not by_interval.passed and by_interval.value == acc.low
    (ece_check,) = check_thresholds(
        overall,
        CorpusThresholds(
            accuracy_min=None,
            macro_f1_min=None,
            class_recall_min=None,
            ece_max=overall.ece.point + 1e-9,
        ),
        "interval",
    )
    assert not ece_check.passed and ece_check.value == overall.ece.high  # pessimistic side


@pytest.mark.slow  # shares the real-data build (model fits)
def test_deepeval_runs_offline_and_writes_only_under_workdir(
    data: GateData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert os.environ.get("DEEPEVAL_TELEMETRY_OPT_OUT") == "1"
    guard = NetworkGuard(monkeypatch)
    guard.assert_live()

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    workdir = tmp_path / "deepeval"
    report = evaluate_golden(data.golden, data.predictions["champion"], CONFIG, workdir)
    assert report.n == 800
    assert guard.attempts == []
    assert Path.cwd() == cwd
    assert list(cwd.iterdir()) == []  # nothing left in the caller's directory
    assert (workdir / ".deepeval").is_dir()


@pytest.mark.slow  # shares the real-data build (model fits)
def test_refuses_to_run_with_deepeval_telemetry_on(
    data: GateData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEEPEVAL_TELEMETRY_OPT_OUT", "0")
    with pytest.raises(RuntimeError, match="telemetry"):
        evaluate_golden(data.golden, data.predictions["champion"], CONFIG, tmp_path)


@pytest.mark.slow  # shares the real-data build (model fits)
def test_predictions_missing_golden_rows_are_refused(data: GateData, tmp_path: Path) -> None:
    pred = data.predictions["champion"]
    partial = Predictions(
        pred.model_id, pred.classes, pred.probs[:-1], pred.labels[:-1], pred.row_ids[:-1]
    )  # type: ignore[index]
    with pytest.raises(ValueError, match="miss 1 rows"):
        evaluate_golden(data.golden, partial, CONFIG, tmp_path)


def test_golden_label_unknown_to_the_model_counts_as_a_class(tmp_path: Path) -> None:
    golden = pd.DataFrame(
        {
            "row_id": ["r1", "r2", "r3", "r4"],
            "text": ["good", "bad", "meh", "great"],
            "label": ["pos", "neg", "neutral", "pos"],
        }
    )
    pred = Predictions.from_probs(
        np.array([[0.2, 0.8], [0.9, 0.1], [0.4, 0.6], [0.7, 0.3]]),
        ["neg", "pos"],
        model_id="two-class",
        row_ids=golden["row_id"].tolist(),
    )
    config = GoldenEvalConfig(slices=SliceConfig(length_edges=[]), n_resamples=200)
    report = evaluate_golden(golden, pred, config, tmp_path)
    assert report.classes == ["neg", "pos", "neutral"]
    assert report.overall.accuracy.point == pytest.approx(0.5)
    assert report.overall.class_recall["neutral"].point == 0.0
    # Predicted pos, neg, pos, neg. F1 = 2TP/(2TP+FP+FN): neg 2/3, pos 2/4, neutral 0.
    assert report.overall.macro_f1.point == pytest.approx((2 / 3 + 0.5 + 0.0) / 3)
    assert report.overall.small  # 4 rows < min_slice_size


def test_run_deepeval_rejects_an_incomplete_result(tmp_path: Path) -> None:
    from deepeval.test_case import LLMTestCase

    from evaluation.golden_eval.case_metrics import ConfidenceMetric

    case = LLMTestCase(
        name="x", input="t", actual_output="pos", expected_output="pos", metadata={"row_id": "x"}
    )  # no probabilities: the metric must error
    with pytest.raises(Exception, match="probs"):
        run_deepeval([case], [ConfidenceMetric(threshold=0.5)], tmp_path)
