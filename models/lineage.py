"""The names lineage travels under, in one place, and the code version it points at.

Training writes the MLflow run/version tags; drift, evaluation and serving read them back.
The Dagster run tags are set by the retrain guard and read by training and the CLI. Keeping
the literals here means a rename cannot leave a reader looking for the old key.
"""

import subprocess
from pathlib import Path
from typing import Any

# MLflow run and model-version tags written by training (models.tracking).
SNAPSHOT_TAG = "snapshot_tag"
SNAPSHOT_SHA256 = "snapshot_sha256"
GIT_COMMIT = "git_commit"
CONFIG_HASH = "config_hash"
DAGSTER_RUN_ID = "dagster_run_id"
TRIGGER = "trigger"
LINEAGE_KEYS = (SNAPSHOT_TAG, SNAPSHOT_SHA256, GIT_COMMIT, CONFIG_HASH, DAGSTER_RUN_ID, TRIGGER)

# Model-version tags written by the promotion gate.
VERDICT_TAG = "promotion_verdict"
RECORD_TAG = "decision_record"

# Dagster run tags: why a retrain run started and on what evidence (orchestration.sensors).
RUN_TAG_TRIGGER = "driftwise/trigger"
RUN_TAG_EVIDENCE = "driftwise/evidence"
RUN_TAG_REASONS = "driftwise/reasons"
RUN_TAG_DETAIL = "driftwise/detail"  # the evidence in words, e.g. "covariate shift (text)"
RUN_TAG_BATCH = "driftwise/batch"  # the landed batch an ingest run is for
RUN_TAG_GATE = "driftwise/gate"  # outcome of a retrain's promotion gate: passed | blocked
GATE_PASSED, GATE_BLOCKED = "passed", "blocked"
RUN_TAG_RETRAIN = "driftwise/retrain"  # concurrency key: the run queue holds one retrain at a time

# The checkout this code runs from (models/ is one level below it).
REPO_ROOT = Path(__file__).resolve().parents[1]


def git_commit(repo: Path = REPO_ROOT) -> dict[str, Any]:
    """HEAD commit of `repo` and whether the working tree is dirty (both None outside git)."""

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)

    head = git("rev-parse", "HEAD")
    if head.returncode != 0:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain")
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def commit_tag(repo: Path = REPO_ROOT) -> str:
    """The `git_commit` tag value: the HEAD sha, `+dirty` when the tree has edits.

    Raises outside a git checkout: a model whose code version is unknown cannot be
    reproduced, so training refuses to register one rather than tagging it "unknown".
    """
    info = git_commit(repo)
    if info["commit"] is None:
        raise RuntimeError(f"{repo} is not a git checkout: cannot record the code version")
    return info["commit"] + ("+dirty" if info["dirty"] else "")
