"""MLflow tracking of a candidate (models/tracking.py).

Real MLflow on a temp SQLite database with file artifacts under tmp_path (no server, no
global tracking URI): one run with both session-trained tiers, per-epoch metrics, report
JSON + confusion PNG, bundles as artifacts, lineage tags, a registered version with the
`challenger` alias, and no `champion`.
"""

import multiprocessing as mp
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from models.inference import load_predictor
from models.tracking import CHALLENGER, CHAMPION, TrackingConfig, client_for, track_candidate

LINEAGE = {
    "snapshot_tag": "snapshot-0007",
    "snapshot_sha256": "abc123",
    "git_commit": "deadbeef",
    "config_hash": "c0ffee",
    "dagster_run_id": "run-42",
    "trigger": "drift",
}


@pytest.fixture()
def config(tmp_path: Path) -> TrackingConfig:
    return TrackingConfig.embedded(tmp_path / "home", registered_model_name="test-sentiment")


def test_embedded_defaults_live_under_home(tmp_path):
    config = TrackingConfig.embedded(tmp_path)
    assert config.tracking_uri == f"sqlite:///{tmp_path.resolve()}/mlflow/mlflow.db"
    assert config.artifact_location == (tmp_path.resolve() / "mlflow" / "artifacts").as_uri()


@pytest.mark.slow
def test_candidate_run_registry_and_alias(config, fast_result, accurate_result, tmp_path):
    tracked = track_candidate([fast_result, accurate_result], config, LINEAGE, "candidate")
    client = client_for(config)
    assert isinstance(client, MlflowClient)

    run = client.get_run(tracked.run_id)
    assert run.info.status == "FINISHED"
    assert {k: run.data.tags[k] for k in LINEAGE} == LINEAGE
    assert run.data.params["fast.tier"] == "fast"
    assert run.data.params["accurate.mode"] == "frozen_encoder"
    # per-epoch curves: one point per epoch, step = epoch
    curve = client.get_metric_history(tracked.run_id, "fast/val/macro_f1")
    assert [m.step for m in curve] == [int(h["epoch"]) for h in fast_result.history]
    assert run.data.metrics["accurate/final/val/macro_f1"] == pytest.approx(
        accurate_result.macro_f1
    )
    # How much of the training text the accurate tier's token window cut off: metric + tags.
    share = accurate_result.truncation.share
    assert run.data.metrics["accurate/final/train/truncated_share"] == pytest.approx(share)
    assert run.data.tags["driftwise.accurate.truncated_share"] == f"{share:.4f}"
    assert "128-token window" in run.data.tags["driftwise.accurate.truncation"]
    assert "driftwise.fast.truncated_share" not in run.data.tags

    artifacts = Path(tracked.artifact_uri.removeprefix("file://"))
    assert str(artifacts).startswith(str(tmp_path))  # not ./mlruns in the cwd
    for tier in ("fast", "accurate"):
        assert (artifacts / "reports" / tier / "val_report.json").is_file()
        assert (artifacts / "reports" / tier / "val_confusion.png").stat().st_size > 1000
        assert (artifacts / "bundles" / tier / "config.json").is_file()
    # the logged bundle is a working model
    logged = load_predictor(artifacts / "bundles" / "fast")
    texts = ["a wonderful, moving film", "dull and far too long"]
    assert logged.predict(texts) == load_predictor(fast_result.bundle_dir).predict(texts)

    version = client.get_model_version_by_alias("test-sentiment", CHALLENGER)
    assert str(version.version) == tracked.model_version == "1"
    assert version.run_id == tracked.run_id
    assert version.tags["trigger"] == "drift"
    with pytest.raises(MlflowException):
        client.get_model_version_by_alias("test-sentiment", CHAMPION)

    second = track_candidate([fast_result], config, {**LINEAGE, "trigger": "schedule"})
    assert second.model_version == "2"
    assert str(client.get_model_version_by_alias("test-sentiment", CHALLENGER).version) == "2"
    assert client.get_experiment_by_name(config.experiment_name).artifact_location == (
        config.artifact_location
    )


def _first_use(home: str, out: "mp.Queue[str]") -> None:
    from models.tracking import TrackingConfig, client_for

    client = client_for(TrackingConfig.embedded(Path(home)))
    out.put(str(len(client.search_experiments())))


@pytest.mark.slow
def test_concurrent_first_use_of_the_sqlite_store(tmp_path):
    """Two processes creating the embedded store at once (two Dagster runs starting
    together) both get a working store: the schema migration is serialised.

    Plain processes, not a `Pool`: a pool whose worker dies hangs `map` for ever (seen once
    in CI); here a dead or stuck worker fails the test with its exit code."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_first_use, args=(str(tmp_path), out)) for _ in range(2)]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=300) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert results == ["1", "1"]  # the Default experiment, seen by both
