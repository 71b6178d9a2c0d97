"""Library noise known to be harmless, filtered where our code calls the library.

Each filter names one message of one library and says why it is moot for us; everything
else, and every error, still reaches the console and the logs. Filtering at the call site
(not in the CLI) keeps `make run`, the daemon's run logs and the tests equally quiet.
"""

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

# (message regex, category, why it is moot)
KNOWN_WARNINGS: list[tuple[str, type[Warning], str]] = [
    (
        r".*isinstance\(treespec, LeafSpec\)",
        Warning,
        "Lightning 2.6's own pytree shim on torch 2.13: a deprecation inside Lightning",
    ),
    (
        r"Sparse invariant checks are implicitly disabled",
        UserWarning,
        "torch's Adagrad on the bag net's sparse gradients, which torch builds itself",
    ),
]


def quiet_training_warnings() -> None:
    """Ignore KNOWN_WARNINGS in this process (idempotent: `filterwarnings` dedupes)."""
    for message, category, _why in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)


def no_progress_bars() -> None:
    """transformers' "Loading weights" bar: a bar per model load, noise in a log file."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def no_artifact_progress() -> None:
    """MLflow's "Downloading artifacts" bar (a bar per bundle download); a user's own
    MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR wins."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


class _DropMessage(logging.Filter):
    def __init__(self, start: str) -> None:
        super().__init__()
        self.start = start

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.start)


@contextmanager
def drop_root_log(start: str) -> Iterator[None]:
    """Drop root-logger records starting with `start` for the block (ONNX Runtime's
    quantiser logs its advice with `logging.warning`, on the root logger)."""
    root = logging.getLogger()
    rule = _DropMessage(start)
    root.addFilter(rule)
    try:
        yield
    finally:
        root.removeFilter(rule)
