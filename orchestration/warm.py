"""What the warm run launcher's forkserver imports once (orchestration/launcher.py).

The Definitions, and the libraries the steps import lazily (so that loading the Definitions
stays cheap for the UI and sensors): Evidently and the drift report, transformers and torch
for MiniLM, Lightning for training, DVC for the registry, MLflow. Import only: no model is
loaded and no thread is started here, so the children fork from a single-threaded process.

A failing import must not kill the forkserver (every run would then fail to launch): it is
logged, and runs import what they need themselves, as in a fresh interpreter.
"""

import importlib
import logging

log = logging.getLogger(__name__)

MODULES = (
    "orchestration.cli.offline",  # first: telemetry switches are read when libraries import
    "orchestration.definitions",
    "evaluation.drift.report",
    "evidently",
    "evidently.legacy.calculations.stattests",
    "evidently.metrics.embeddings",
    "scipy.stats",
    "torch",
    "transformers",
    "models.components.encoder",
    "models.embedding_cache",
    "models.training",
    "mlflow",
    "dvc.repo",
)


def preload() -> list[str]:
    """Import MODULES; return the ones that failed."""
    failed = []
    for name in MODULES:
        try:
            module = importlib.import_module(name)
            if name == "orchestration.cli.offline":
                module.apply()
        except Exception as exc:  # any failure: see the module docstring
            log.warning("warm launcher: could not preload %s: %s", name, exc)
            failed.append(name)
    return failed


FAILED = preload()
