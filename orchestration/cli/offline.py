"""Every telemetry / hub switch of every dependency, in one place.

Why here and not only in the Makefile: the CLI, the tests and `dagster dev` (through `.env`)
must all stay offline however they are started. `apply()` must run before the libraries are
imported, so entry points call it first thing.
"""

import os

OFFLINE_ENV: dict[str, str] = {
    "DAGSTER_DISABLE_TELEMETRY": "1",
    "BENTOML_DO_NOT_TRACK": "true",  # "1" does NOT work for BentoML
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DEEPEVAL_TELEMETRY_OPT_OUT": "1",  # without it every deepeval run waits ~7 s on PostHog
    "DEEPEVAL_DISABLE_DOTENV": "1",
    # deepeval re-reads ./.deepeval/.deepeval on every settings lookup (several per case);
    # our metrics use no keys, so the legacy keyfile is never needed.
    "DEEPEVAL_DISABLE_LEGACY_KEYFILE": "1",
    "DVC_NO_ANALYTICS": "1",
    "DO_NOT_TRACK": "true",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}


def apply() -> None:
    """Set the switches in this process (and so in every child it starts)."""
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value
