"""Golden-set evaluation: deepeval scores each case, we aggregate per slice with intervals.

Design (why two layers):
1. The golden table becomes a deepeval `EvaluationDataset` of `Golden`s (text → input, label →
   expected_output, row id and metadata → additional_metadata); a model's `Predictions`
   become one `LLMTestCase` per golden, and `deepeval.evaluate` runs the deterministic
   per-case metrics of `evaluation.golden_eval.case_metrics` (correctness, confidence,
   probability of the true class) offline. deepeval's TestResults are the per-case record.
2. Corpus metrics are not per-case quantities (macro-F1 is not a mean over cases; ECE needs
   the whole confidence histogram), so they are computed here from deepeval's per-case
   outputs: accuracy, macro-F1, per-class recall and ECE for every slice, each with a
   seeded percentile-bootstrap interval resampled *within* the slice. Thresholds on these
   corpus metrics (`CorpusThresholds`) are checked on the overall slice.
"""

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from data.schema import LABEL, ROW_ID, TEXT
from evaluation.golden_eval.slices import ALL, Slice, SliceConfig, build_slices
from evaluation.stats import metrics as M
from evaluation.stats.bootstrap import Interval, bootstrap_samples, percentile_interval
from evaluation.stats.predictions import Predictions

logger = logging.getLogger(__name__)


class CorpusThresholds(BaseModel):
    """Thresholds on corpus metrics; None switches a check off."""

    accuracy_min: float | None = Field(default=0.7, ge=0, le=1)
    macro_f1_min: float | None = Field(default=0.7, ge=0, le=1)
    class_recall_min: float | None = Field(
        default=0.5, ge=0, le=1, description="Every class's recall must reach this."
    )
    ece_max: float | None = Field(default=0.1, ge=0, le=1)


class GoldenEvalConfig(BaseModel):
    """How to evaluate a model on the golden set.

    `thresholds` feed the report's own checks (e.g. a Dagster asset check on the golden
    evaluation); the promotion decision applies `PromotionPolicy.floors` to the same numbers.
    """

    slices: SliceConfig = Field(default_factory=lambda: SliceConfig())
    thresholds: CorpusThresholds = Field(default_factory=lambda: CorpusThresholds())
    check_on: Literal["point", "interval"] = Field(
        default="point",
        description="Compare thresholds with the point estimate or the worst CI bound.",
    )
    n_resamples: int = Field(default=1000, ge=100)
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1)
    seed: int = 0
    ece_bins: int = Field(default=M.DEFAULT_ECE_BINS, ge=2)
    min_confidence: float = Field(
        default=0.6, ge=0, le=1, description="Per-case Confidence metric threshold (deepeval)."
    )
    min_slice_size: int = Field(
        default=30, ge=1, description="Smaller slices are flagged as small."
    )


@dataclass(frozen=True)
class SliceMetrics:
    """Corpus metrics of one slice, each with its bootstrap interval."""

    name: str
    column: str | None
    value: str | None
    n: int
    small: bool
    accuracy: Interval
    macro_f1: Interval
    ece: Interval
    class_recall: dict[str, Interval]
    nll: float
    deepeval_pass_rate: dict[str, float]


@dataclass(frozen=True)
class MetricCheck:
    """One threshold check: `value` is what was compared (point or CI bound)."""

    metric: str
    value: float
    threshold: float
    direction: Literal["min", "max"]
    passed: bool


@dataclass
class GoldenReport:
    """A model's golden-set evaluation."""

    model_id: str
    n: int
    classes: list[str]
    slices: list[SliceMetrics]
    checks: list[MetricCheck]
    deepeval: dict[str, Any]
    per_case: pd.DataFrame = field(repr=False)

    @property
    def overall(self) -> SliceMetrics:
        return self.slices[0]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def slice(self, name: str) -> SliceMetrics:
        for item in self.slices:
            if item.name == name:
                return item
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (per-case rows left out: they belong in an artifact)."""
        return {
            "model_id": self.model_id,
            "n": self.n,
            "classes": self.classes,
            "slices": [asdict(s) for s in self.slices],
            "checks": [asdict(c) for c in self.checks],
            "deepeval": self.deepeval,
        }


# deepeval (~1 s with the openai client it imports) is imported where cases are built and
# scored: every Dagster run loads this module with the Definitions; most never evaluate.
if TYPE_CHECKING:
    from deepeval.dataset import EvaluationDataset
    from deepeval.evaluate.types import EvaluationResult
    from deepeval.test_case import LLMTestCase


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return None if isinstance(value, float) and np.isnan(value) else value
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if pd.isna(value):
        return None
    return str(value)


def to_evaluation_dataset(golden: pd.DataFrame) -> "EvaluationDataset":
    """The golden table as a deepeval dataset: one `Golden` per row.

    Every column other than text and label (row id, domain, metadata) goes into
    `additional_metadata`, values made JSON-safe.
    """
    _validate_golden(golden)
    from deepeval.dataset import EvaluationDataset, Golden

    extra = [c for c in golden.columns if c not in (TEXT, LABEL)]
    goldens = [
        Golden.model_validate(
            {
                "input": str(row[TEXT]),
                "expected_output": str(row[LABEL]),
                "additional_metadata": {c: _jsonable(row[c]) for c in extra},
            }
        )
        for row in golden.to_dict(orient="records")
    ]
    return EvaluationDataset(goldens=goldens)


def to_test_cases(dataset: "EvaluationDataset", predictions: Predictions) -> list["LLMTestCase"]:
    """One test case per golden: the model's label as actual output, its probabilities in
    metadata. `predictions` must be aligned to the goldens' row ids."""
    from deepeval.dataset import Golden
    from deepeval.test_case import LLMTestCase

    from evaluation.golden_eval.case_metrics import PROBS_KEY

    goldens = [g for g in dataset.goldens if isinstance(g, Golden)]
    if len(goldens) != len(dataset.goldens):
        raise TypeError("golden evaluation needs single-turn Goldens")
    metas = [g.additional_metadata or {} for g in goldens]
    row_ids = [str(m[ROW_ID]) for m in metas]
    aligned = predictions.aligned_to(row_ids)
    cases = []
    for i, golden in enumerate(goldens):
        probs = {c: float(p) for c, p in zip(aligned.classes, aligned.probs[i], strict=True)}
        cases.append(
            LLMTestCase(
                name=row_ids[i],
                input=golden.input,
                actual_output=aligned.labels[i],
                expected_output=golden.expected_output,
                metadata={**metas[i], PROBS_KEY: probs},
            )
        )
    return cases


def per_case_frame(result: "EvaluationResult") -> pd.DataFrame:
    """deepeval's TestResults as a table: row_id, expected, predicted, one column per metric
    score and one `<metric>_pass` per metric success."""
    rows = []
    for test_result in result.test_results:
        row: dict[str, Any] = {
            ROW_ID: test_result.name,
            "expected": test_result.expected_output,
            "predicted": test_result.actual_output,
        }
        for data in test_result.metrics_data or []:
            row[data.name] = data.score
            row[f"{data.name}_pass"] = bool(data.success)
        rows.append(row)
    return pd.DataFrame(rows)


def _validate_golden(golden: pd.DataFrame) -> None:
    missing = {ROW_ID, TEXT, LABEL} - set(golden.columns)
    if missing:
        raise ValueError(f"golden table lacks columns {sorted(missing)}")
    if golden[ROW_ID].duplicated().any():
        raise ValueError("golden table repeats row ids")
    if golden[LABEL].isna().any():
        raise ValueError("golden table has unlabelled rows")


def _slice_metrics(
    sl: Slice,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    confidence: np.ndarray,
    p_true: np.ndarray,
    passes: dict[str, np.ndarray],
    classes: list[str],
    config: GoldenEvalConfig,
) -> SliceMetrics:
    k = len(classes)
    t, p = y_true[sl.mask], y_pred[sl.mask]
    conf, correct = confidence[sl.mask], (t == p)
    n = len(t)

    def stat(idx: np.ndarray) -> np.ndarray:
        cm = M.batched_confusion(t, p, k, idx)
        ece = M.batched_ece(conf, correct, config.ece_bins, idx)
        return np.column_stack([M.accuracy(cm), M.macro_f1(cm), ece, M.per_class_recall(cm)])

    cm = M.batched_confusion(t, p, k)
    points = np.concatenate(
        [
            [M.accuracy(cm), M.macro_f1(cm), M.batched_ece(conf, correct, config.ece_bins)],
            M.per_class_recall(cm),
        ]
    )
    # ECE is biased upward on small samples (noise never cancels inside |acc - conf|), so its
    # resampled values sit mostly above the point estimate: read its interval as a range of
    # plausible miscalibration, not as centred on the point.
    samples = bootstrap_samples(stat, n, n_resamples=config.n_resamples, seed=config.seed)
    cis = [
        percentile_interval(float(points[j]), samples[:, j], config.confidence_level, n)
        for j in range(points.size)
    ]
    support = np.bincount(t, minlength=k)
    recall = {classes[j]: cis[3 + j] for j in range(k) if support[j] > 0}
    nll = float(np.mean(-np.log(np.clip(p_true[sl.mask], 1e-12, 1.0))))
    return SliceMetrics(
        name=sl.name,
        column=sl.column,
        value=sl.value,
        n=n,
        small=n < config.min_slice_size,
        accuracy=cis[0],
        macro_f1=cis[1],
        ece=cis[2],
        class_recall=recall,
        nll=nll,
        deepeval_pass_rate={m: float(v[sl.mask].mean()) for m, v in passes.items()},
    )


def check_thresholds(
    overall: SliceMetrics, thresholds: CorpusThresholds, on: Literal["point", "interval"]
) -> list[MetricCheck]:
    """Threshold checks on a slice. With `on="interval"` the pessimistic CI bound is compared
    (lower bound for a minimum, upper bound for ECE's maximum)."""

    def lower(ci: Interval) -> float:
        return ci.point if on == "point" else ci.low

    checks = []
    if thresholds.accuracy_min is not None:
        v = lower(overall.accuracy)
        checks.append(
            MetricCheck("accuracy", v, thresholds.accuracy_min, "min", v >= thresholds.accuracy_min)
        )
    if thresholds.macro_f1_min is not None:
        v = lower(overall.macro_f1)
        checks.append(
            MetricCheck("macro_f1", v, thresholds.macro_f1_min, "min", v >= thresholds.macro_f1_min)
        )
    if thresholds.class_recall_min is not None:
        for cls, ci in overall.class_recall.items():
            v = lower(ci)
            checks.append(
                MetricCheck(
                    f"recall[{cls}]",
                    v,
                    thresholds.class_recall_min,
                    "min",
                    v >= thresholds.class_recall_min,
                )
            )
    if thresholds.ece_max is not None:
        v = overall.ece.point if on == "point" else overall.ece.high
        checks.append(MetricCheck("ece", v, thresholds.ece_max, "max", v <= thresholds.ece_max))
    return checks


def evaluate_golden(
    golden: pd.DataFrame,
    predictions: Predictions,
    config: GoldenEvalConfig,
    workdir: Path,
) -> GoldenReport:
    """Evaluate one model's predictions on the golden table.

    Args:
        golden: Columns row_id, text, label (+ domain and any metadata columns).
        predictions: The model's predictions carrying row ids covering every golden row.
        config: Slices, thresholds and bootstrap settings.
        workdir: Where deepeval may write its run files.

    Returns:
        Per-slice metrics with intervals, threshold checks and the per-case table.
    """
    golden = golden.reset_index(drop=True)
    dataset = to_evaluation_dataset(golden)
    cases = to_test_cases(dataset, predictions)
    from evaluation.golden_eval.case_metrics import (
        ConfidenceMetric,
        CorrectnessMetric,
        TrueClassProbabilityMetric,
    )
    from evaluation.golden_eval.deepeval_run import run_deepeval

    case_metrics = [
        CorrectnessMetric(),
        ConfidenceMetric(threshold=config.min_confidence),
        TrueClassProbabilityMetric(threshold=0.5),
    ]
    started = time.perf_counter()
    result = run_deepeval(
        cases,
        case_metrics,
        workdir,
        identifier=f"golden:{predictions.model_id}",
        hyperparameters={"model_id": predictions.model_id},
    )
    deepeval_seconds = time.perf_counter() - started
    per_case = per_case_frame(result).set_index(ROW_ID).loc[golden[ROW_ID]].reset_index()

    # Class index space: the model's classes, then golden labels it does not know (always
    # wrong for it, but they must count as classes with support).
    classes = list(predictions.classes)
    classes += sorted(set(golden[LABEL].astype(str)) - set(classes))
    lookup = {c: i for i, c in enumerate(classes)}
    y_true = per_case["expected"].map(lookup).to_numpy(dtype=np.int64)
    y_pred = per_case["predicted"].map(lookup).to_numpy(dtype=np.int64)
    confidence = per_case["Confidence"].to_numpy(dtype=np.float64)
    p_true = per_case["TrueClassProbability"].to_numpy(dtype=np.float64)
    passes = {m.__name__: per_case[f"{m.__name__}_pass"].to_numpy(bool) for m in case_metrics}

    slices = [
        _slice_metrics(sl, y_true, y_pred, confidence, p_true, passes, classes, config)
        for sl in build_slices(golden, config.slices)
        if sl.size > 0
    ]
    if slices[0].name != ALL:
        raise AssertionError("the first slice must be 'all'")
    checks = check_thresholds(slices[0], config.thresholds, config.check_on)
    logger.info(
        "golden evaluation of %s: n=%d accuracy=%.3f macro_f1=%.3f (%d slices)",
        predictions.model_id,
        len(golden),
        slices[0].accuracy.point,
        slices[0].macro_f1.point,
        len(slices),
    )
    return GoldenReport(
        model_id=predictions.model_id,
        n=len(golden),
        classes=classes,
        slices=slices,
        checks=checks,
        deepeval={
            "metrics": [m.__name__ for m in case_metrics],
            "n_cases": len(cases),
            "seconds": round(deepeval_seconds, 3),
        },
        per_case=per_case,
    )
