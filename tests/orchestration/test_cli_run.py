"""`driftwise run` end to end, as `make run` calls it: real dagster-daemon, real sensor,
real ingest runs on a real SQLite instance, real DVC registry — in a temp runtime home.

Slow (~40 s): it waits for the daemon's sensor ticks. Also proves it is idempotent (a second
run launches nothing new and prints the same accounting).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from data.vader import WHEEL_NAME

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.integration
def test_cli_run_ingests_through_the_daemon(tmp_path: Path, data_wheel: Path):
    home = tmp_path / "home"
    (home / "cache").mkdir(parents=True)
    shutil.copy(data_wheel, home / "cache" / WHEEL_NAME)
    env = dict(os.environ, DRIFTWISE_HOME=str(home))
    exe = Path(sys.executable).with_name("driftwise")
    first = subprocess.run(
        [str(exe), "run", "--timeout", "300"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "Ingestion accounting" in first.stdout
    assert "training snapshot snapshot/" in first.stdout

    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    try:
        with dg.DagsterInstance.get() as instance:
            runs = instance.get_runs(filters=dg.RunsFilter(job_name="ingest"))
            assert len(runs) == 2
            assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
            # Launched by the sensor, not by a direct call.
            assert all(r.tags.get("dagster/sensor_name") == "new_batch_sensor" for r in runs)
    finally:
        del os.environ["DAGSTER_HOME"]

    second = subprocess.run(
        [str(exe), "run"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert second.returncode == 0, second.stderr[-3000:]
    snapshot_line = [ln for ln in first.stdout.splitlines() if "training snapshot" in ln]
    assert snapshot_line[0] in second.stdout
