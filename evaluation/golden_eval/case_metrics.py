"""Deterministic per-case deepeval metrics for a classifier's prediction on one golden row.

A test case carries the golden label in `expected_output`, the model's label in
`actual_output` and its class probabilities in `metadata["probs"]` ({class: p}). No LLM is
involved: these are plain `BaseMetric` subclasses, so deepeval runs fully offline.

deepeval scores one case at a time, so only per-case quantities live here (is the label
right, how confident was the model, what probability went to the true class). Corpus
metrics - accuracy, macro-F1, per-class recall, ECE - are not averages of independent
per-case scores that a threshold per case could judge (macro-F1 is not even a mean over
cases), so `evaluation.golden_eval.report` computes them from these per-case outputs, with
intervals.
"""

from deepeval.config.eval_mode import EvalMode
from deepeval.metrics import BaseMetric
from deepeval.test_case import LLMTestCase

PROBS_KEY = "probs"


def _probs(test_case: LLMTestCase) -> dict[str, float]:
    meta = test_case.metadata or {}
    if PROBS_KEY not in meta:
        raise ValueError(f"test case {test_case.name!r} has no metadata[{PROBS_KEY!r}]")
    return meta[PROBS_KEY]


class _CaseMetric(BaseMetric):
    """Shared plumbing: deterministic score in [0, 1], pass if score >= threshold."""

    metric_name = "case metric"

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._min_score = threshold
        self.include_reason = True
        self.async_mode = False
        self.strict_mode = False
        # No LLM decides anything here. Said explicitly because deepeval otherwise resolves
        # the mode from its settings for every case (~12 s of env hashing per 800-row run).
        self.eval_mode = EvalMode.LLM

    def _score(self, test_case: LLMTestCase) -> tuple[float, str]:
        raise NotImplementedError

    def measure(self, test_case: LLMTestCase, *args: object, **kwargs: object) -> float:
        self.error = None
        score, self.reason = self._score(test_case)
        self.score = score
        self.success = score >= self._min_score
        return score

    async def a_measure(self, test_case: LLMTestCase, *args: object, **kwargs: object) -> float:
        return self.measure(test_case)

    def is_successful(self) -> bool:
        return bool(self.success) and self.error is None

    @property
    def __name__(self) -> str:  # deepeval names results after this property
        return self.metric_name


class CorrectnessMetric(_CaseMetric):
    """1 if the predicted label equals the golden label, else 0 (threshold 1)."""

    metric_name = "Correctness"

    def __init__(self) -> None:
        super().__init__(threshold=1.0)

    def _score(self, test_case: LLMTestCase) -> tuple[float, str]:
        ok = test_case.actual_output == test_case.expected_output
        verdict = "matches" if ok else "differs from"
        return float(ok), f"predicted {test_case.actual_output!r} {verdict} golden label"


class ConfidenceMetric(_CaseMetric):
    """Probability the model gave to its own label; passes when at least `threshold`."""

    metric_name = "Confidence"

    def _score(self, test_case: LLMTestCase) -> tuple[float, str]:
        probs = _probs(test_case)
        score = float(probs[str(test_case.actual_output)])
        return score, f"p({test_case.actual_output})={score:.3f}"


class TrueClassProbabilityMetric(_CaseMetric):
    """Probability the model gave to the golden label (0 for a label it does not know)."""

    metric_name = "TrueClassProbability"

    def _score(self, test_case: LLMTestCase) -> tuple[float, str]:
        probs = _probs(test_case)
        score = float(probs.get(str(test_case.expected_output), 0.0))
        return score, f"p({test_case.expected_output})={score:.3f}"
