"""Optional LLM judge: a deepeval G-Eval criterion through any OpenAI-compatible endpoint.

Off by default (`JudgeConfig.enabled`). When on, the endpoint (`base_url`, `model`) comes from
configuration and the key from the environment variable named by `api_key_env`; nothing is
read at import. G-Eval asks the judge twice per criterion: once for evaluation steps
(JSON `{"steps": [...]}`) and once per case for `{"score": 0-10, "reason": "..."}`. Our
wrapper does not request log-probabilities, so deepeval uses the plain JSON score.
"""

import json
import logging
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
from deepeval.metrics import GEval
from deepeval.models import DeepEvalBaseLLM
from deepeval.test_case import LLMTestCase, SingleTurnParams
from pydantic import BaseModel

from evaluation.golden_eval.deepeval_run import run_deepeval
from evaluation.golden_eval.judge_config import JudgeConfig, judge_criteria

__all__ = ["JudgeConfig", "judge_criteria", "judge_golden", "run_judge"]

logger = logging.getLogger(__name__)


class OpenAICompatibleJudge(DeepEvalBaseLLM):
    """deepeval LLM over an OpenAI-compatible chat-completions endpoint."""

    def __init__(self, base_url: str, model: str, api_key: str, timeout_s: float = 60.0) -> None:
        self._base_url = base_url
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._model_name = model
        super().__init__(model)

    def load_model(self, *args: Any, **kwargs: Any) -> Any:
        self._client = openai.OpenAI(
            base_url=self._base_url, api_key=self._api_key, timeout=self._timeout_s, max_retries=1
        )
        return self._client

    def _complete(self, prompt: str) -> str:
        response = self._client.chat.completions.create(
            model=self._model_name,
            messages=[{"role": "user", "content": prompt}],
            temperature=0,
        )
        content = response.choices[0].message.content
        if not content:
            raise ValueError(f"judge {self._model_name} returned an empty message")
        return content

    def generate(self, prompt: str, schema: type[BaseModel] | None = None) -> Any:
        content = self._complete(prompt)
        if schema is None:
            return content
        # Validate here so a malformed judge answer fails loudly with the raw text in the error.
        return schema.model_validate(_extract_json(content))

    async def a_generate(self, prompt: str, schema: type[BaseModel] | None = None) -> Any:
        return self.generate(prompt, schema)

    def get_model_name(self, *args: Any, **kwargs: Any) -> str:
        return self._model_name


def _extract_json(content: str) -> Any:
    start, end = content.find("{"), content.rfind("}")
    if start < 0 or end < start:
        raise ValueError(f"judge answer holds no JSON object: {content[:200]!r}")
    return json.loads(content[start : end + 1])


def build_judge(config: JudgeConfig) -> OpenAICompatibleJudge:
    key = os.environ.get(config.api_key_env)
    if not key:
        raise RuntimeError(f"LLM judge enabled but ${config.api_key_env} is not set")
    return OpenAICompatibleJudge(config.base_url, config.model, key, config.timeout_s)


@dataclass(frozen=True)
class JudgeReport:
    metric: str
    model: str
    n: int
    mean_score: float
    pass_rate: float
    scores: dict[str, float]
    reasons: dict[str, str]


def run_judge(
    test_cases: list[LLMTestCase],
    config: JudgeConfig,
    workdir: Path,
    dataset: str = "sentiment",
    labels: Sequence[str] = ("negative", "positive"),
    description: str | None = None,
) -> JudgeReport | None:
    """G-Eval a seeded random sample of `config.max_cases` cases; None when disabled. The
    criterion is `config.criteria` or, unset, built from `dataset`, `labels`, `description`.

    A sample, not the first rows: the golden set is sorted by domain and label, so its head
    would be one cell only.
    """
    if not config.enabled:
        return None
    cases = random.Random(0).sample(test_cases, min(config.max_cases, len(test_cases)))
    metric = GEval(
        name=config.name,
        criteria=config.criteria or judge_criteria(dataset, labels, description),
        evaluation_params=[
            SingleTurnParams.INPUT,
            SingleTurnParams.ACTUAL_OUTPUT,
            SingleTurnParams.EXPECTED_OUTPUT,
        ],
        model=build_judge(config),
        threshold=config.threshold,
        async_mode=False,
    )
    result = run_deepeval(cases, [metric], workdir, identifier=f"judge:{config.name}")
    scores, reasons, passed = {}, {}, 0
    for test_result in result.test_results:
        (data,) = test_result.metrics_data or []
        if data.score is None:
            raise ValueError(f"judge gave no score for case {test_result.name}")
        scores[test_result.name] = float(data.score)
        reasons[test_result.name] = data.reason or ""
        passed += bool(data.success)
    logger.info("LLM judge %s on %d cases", config.model, len(cases))
    return JudgeReport(
        metric=metric.__name__,
        model=config.model,
        n=len(cases),
        mean_score=sum(scores.values()) / len(scores),
        pass_rate=passed / len(scores),
        scores=scores,
        reasons=reasons,
    )


def judge_golden(
    golden: Any,
    predictions: Any,
    config: JudgeConfig,
    workdir: Path,
    dataset: str,
    labels: Sequence[str],
    description: str | None = None,
) -> JudgeReport | None:
    """The judge on a golden table and a model's row-aligned predictions (the golden
    evaluation's gate tier); None when disabled."""
    if not config.enabled:
        return None
    from evaluation.golden_eval.report import to_evaluation_dataset, to_test_cases

    cases = to_test_cases(to_evaluation_dataset(golden), predictions)
    return run_judge(cases, config, workdir, dataset, labels, description)
