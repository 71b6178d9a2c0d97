"""`driftwise run` end to end, as `make run` calls it, in a temp runtime home: a real
dagster-daemon and its sensors, real ingest runs on a real SQLite instance, a real DVC
registry, real Lightning training of both tiers, real MLflow, real Evidently drift.

The point of the test: landing the tweets batch leads — through the drift sensor, not a
direct call — to a retrain run whose tags name the drift report. Slow (minutes: MiniLM
embeds ~14k texts on CPU). A second run is idempotent: it launches nothing new.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from data.vader import WHEEL_NAME
from models.lineage import RUN_TAG_EVIDENCE, RUN_TAG_REASONS

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.slow
@pytest.mark.integration
def test_cli_run_whole_loop_through_the_daemon(tmp_path: Path, data_wheel: Path):
    home = tmp_path / "home"
    (home / "cache").mkdir(parents=True)
    shutil.copy(data_wheel, home / "cache" / WHEEL_NAME)
    env = dict(os.environ, DRIFTWISE_HOME=str(home))
    exe = Path(sys.executable).with_name("driftwise")
    first = subprocess.run(
        [str(exe), "run", "--timeout", "900", "--no-serve"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    assert "Ingestion accounting" in first.stdout

    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    try:
        with dg.DagsterInstance.get() as instance:
            ingests = instance.get_runs(filters=dg.RunsFilter(job_name="ingest"))
            assert len(ingests) == 3  # two movie batches + tweets, one run per file
            assert all(r.tags.get("dagster/sensor_name") == "new_batch_sensor" for r in ingests)
            assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in ingests)
            drift_runs = [
                r
                for r in instance.get_runs(filters=dg.RunsFilter(job_name="retrain"))
                if "drift" in r.tags.get(RUN_TAG_REASONS, "")
            ]
            assert len(drift_runs) == 1
            (run,) = drift_runs
            assert run.tags["dagster/sensor_name"] == "drift_sensor"
            assert run.status == dg.DagsterRunStatus.SUCCESS
            report_id = run.tags[RUN_TAG_EVIDENCE].split("drift:")[1].split(",")[0]
            assert (home / "reports" / "drift" / f"{report_id}.json").exists()
            n_runs = len(instance.get_runs())
    finally:
        del os.environ["DAGSTER_HOME"]

    second = subprocess.run(  # --no-serve: serving is checked by test_own_data's run
        [str(exe), "run", "--no-serve"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "already trained" in second.stdout
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    try:
        with dg.DagsterInstance.get() as instance:
            runs = instance.get_runs()  # newest first
            new_runs = runs[: len(runs) - n_runs]
            # Exactly the cheap snapshot rebuild ran again (same tag); nothing was retrained
            # or re-ingested. An empty list would mean the second run did nothing at all.
            assert [r.job_name for r in new_runs] == ["snapshot"]
    finally:
        del os.environ["DAGSTER_HOME"]
