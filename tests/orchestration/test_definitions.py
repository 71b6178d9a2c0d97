"""Definitions load; settings come from env and driftwise.toml; offline switches agree.

Touches no services: loads the code location as Dagster would, in-process.
"""

from pathlib import Path

import dagster as dg
import pytest
from pydantic import ValidationError

from orchestration.cli import offline
from orchestration.definitions import build_definitions
from orchestration.environments import get_resources
from orchestration.settings import DriftwiseSettings

REPO = Path(__file__).resolve().parents[2]


def test_definitions_load(home: Path):
    # A live instance of its own: Dagster keeps the last instance's defs-state storage as a
    # process global, and an earlier test's temporary instance may be gone by now.
    with dg.instance_for_test():
        defs = build_definitions(DriftwiseSettings())
        dg.Definitions.validate_loadable(defs)
    assert {j.name for j in defs.jobs} >= {"ingest", "snapshot", "retrain"}
    assert defs.resolve_job_def("ingest").partitions_def is not None
    graph = defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} >= {
        "golden_set",
        "ingested_batch",
        "training_snapshot",
        "candidate_model",
    }


def test_settings_env_and_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "driftwise.toml").write_text(
        'home = "state"\n[dataset]\ntext_column = "body"\nlabels = ["a", "b", "c"]\n'
    )
    monkeypatch.delenv("DRIFTWISE_HOME", raising=False)
    settings = DriftwiseSettings()
    assert settings.root == tmp_path / "state"
    assert settings.dataset.text_column == "body"
    assert settings.dataset.labels == ["a", "b", "c"]
    monkeypatch.setenv("DRIFTWISE_DATASET__TEXT_COLUMN", "review")
    assert DriftwiseSettings().dataset.text_column == "review"  # env beats the file


def test_bad_settings_fail_clearly(monkeypatch: pytest.MonkeyPatch, home: Path):
    monkeypatch.setenv("DRIFTWISE_DATASET__LABELS", '["only-one"]')
    with pytest.raises(ValidationError, match="at least two labels"):
        DriftwiseSettings()
    monkeypatch.delenv("DRIFTWISE_DATASET__LABELS")
    monkeypatch.setenv("DRIFTWISE_ENV", "staging")
    with pytest.raises(ValueError, match="expected one of"):
        get_resources(DriftwiseSettings())
    monkeypatch.setenv("DRIFTWISE_UNKNOWN_KNOB", "1")  # unknown env vars are ignored, not fatal
    monkeypatch.setenv("DRIFTWISE_ENV", "prod")
    prod = get_resources(DriftwiseSettings())
    # Secrets and URLs come from the environment at run time, never from code.
    assert isinstance(prod["registry"].remote_url, dg.EnvVar)
    assert prod["registry"].remote_url.env_var_name == "DRIFTWISE_DVC_REMOTE_URL"
    assert isinstance(prod["mlflow"].tracking_uri, dg.EnvVar)


def test_dotenv_for_dagster_dev_matches_offline_switches():
    pairs = dict(
        line.split("=", 1)
        for line in (REPO / ".env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert pairs == offline.OFFLINE_ENV
    makefile = (REPO / "Makefile").read_text()
    for key, value in offline.OFFLINE_ENV.items():
        assert f"export {key} := {value}" in makefile


def test_the_dataset_resource_is_the_settings_spec(tmp_path, monkeypatch):
    """The assets get the settings' DatasetSpec itself (no copy of its fields to go stale)."""
    from data.schema import DatasetSpec

    monkeypatch.setenv("DRIFTWISE_DATASET__TEXT_COLUMN", "body")
    settings = DriftwiseSettings(home=tmp_path)
    dataset = get_resources(settings)["dataset"]
    assert isinstance(dataset, DatasetSpec)
    assert dataset == settings.dataset and dataset.text_column == "body"
