"""Run `deepeval.evaluate` hermetically: offline, quiet, and writing only under a given dir.

deepeval 4.3 writes its run files to `.deepeval/` *relative to the current directory*
(`deepeval.constants.HIDDEN_DIR` is a relative path fixed at import) and prints a summary to
stdout even with `print_results=False`. We therefore chdir into the caller's `workdir` for
the duration of the call (under a process-wide lock, since the cwd is process state) and
capture stdout into the log. We also refuse to run while deepeval telemetry is on: every run
would otherwise try to reach PostHog.
"""

import contextlib
import io
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from deepeval.evaluate.configs import AsyncConfig, CacheConfig, DisplayConfig, ErrorConfig
from deepeval.evaluate.evaluate import evaluate
from deepeval.evaluate.types import EvaluationResult
from deepeval.metrics import BaseMetric
from deepeval.telemetry.client import telemetry_opt_out
from deepeval.test_case import LLMTestCase

logger = logging.getLogger(__name__)

# chdir is process-global: two evaluations in two threads must not interleave it.
_CWD_LOCK = threading.Lock()


class DeepEvalRunError(RuntimeError):
    """deepeval did not score every case with every metric."""


@contextlib.contextmanager
def _sandbox(workdir: Path) -> Iterator[io.StringIO]:
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    with _CWD_LOCK:
        previous = Path.cwd()
        os.chdir(workdir)
        try:
            with contextlib.redirect_stdout(buffer):
                yield buffer
        finally:
            os.chdir(previous)


def run_deepeval(
    test_cases: Sequence[LLMTestCase],
    metrics: Sequence[BaseMetric],
    workdir: Path,
    *,
    identifier: str | None = None,
    hyperparameters: dict[str, Any] | None = None,
    run_async: bool = False,
) -> EvaluationResult:
    """Score `test_cases` with `metrics` through `deepeval.evaluate`.

    Args:
        test_cases: The cases; their `name` should be unique (we key results on it).
        metrics: deepeval metrics, each with a threshold.
        workdir: Directory deepeval may write its `.deepeval/` run files into.
        identifier: Name of the deepeval test run.
        hyperparameters: Logged with the run (model id, data tag...).
        run_async: deepeval's async executor; off by default because our metrics are
            CPU-bound and the sync path keeps the result order and avoids nesting event loops.

    Returns:
        deepeval's result, one TestResult per case.

    Raises:
        RuntimeError: deepeval telemetry is not opted out.
        DeepEvalRunError: a case is missing from the result or a metric errored.
    """
    if not telemetry_opt_out():
        raise RuntimeError(
            "deepeval telemetry is on; set DEEPEVAL_TELEMETRY_OPT_OUT=1 "
            "(orchestration.cli.offline.apply()) before evaluating"
        )
    with _sandbox(workdir) as captured:
        result = evaluate(
            list(test_cases),
            list(metrics),
            identifier=identifier,
            hyperparameters=hyperparameters,
            async_config=AsyncConfig(run_async=run_async),
            display_config=DisplayConfig(
                print_results=False, show_indicator=False, inspect_after_run=False
            ),
            cache_config=CacheConfig(write_cache=False, use_cache=False),
            error_config=ErrorConfig(ignore_errors=False),
        )
    if captured.getvalue().strip():
        logger.debug("deepeval output:\n%s", captured.getvalue())
    _check_complete(result, len(test_cases), [m.__name__ for m in metrics])
    return result


def _check_complete(result: EvaluationResult, n_cases: int, metric_names: list[str]) -> None:
    if len(result.test_results) != n_cases:
        raise DeepEvalRunError(f"deepeval returned {len(result.test_results)} of {n_cases} cases")
    for test_result in result.test_results:
        data = test_result.metrics_data or []
        got = sorted(d.name for d in data)
        if got != sorted(metric_names):
            raise DeepEvalRunError(f"case {test_result.name}: metrics {got} != {metric_names}")
        errors = [f"{d.name}: {d.error}" for d in data if d.error is not None]
        if errors:
            raise DeepEvalRunError(f"case {test_result.name}: {errors}")
