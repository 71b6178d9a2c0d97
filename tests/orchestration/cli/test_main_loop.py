"""`driftwise run` end to end, as `make run` calls it, in a temp runtime home: a real
dagster-daemon and its sensors, real ingest runs on a real SQLite instance, a real DVC
registry, real Lightning training of both tiers, real MLflow, real Evidently drift.

The point of the test: landing the tweets batch leads — through the drift sensor, not a
direct call — to a retrain run whose tags name the drift report, and that challenger goes
live through the staged canary on a real `bentoml serve` with replayed traffic, ended by the
rollout sensor's `canary_finish` run (promoted, or rolled back) and recorded in its decision
record. A second run is idempotent: it launches nothing new. (And, quick: a first model the
gate blocked stops the loop as an outcome, not a traceback.)

It runs `--sample 0.25` (a quarter of each default batch, per label): the same code path,
jobs and sensors as the full data, in about half the time (MiniLM embeds ~4k texts instead of
~15k on CPU), which keeps the suite within its budget. Slow all the same (minutes).
"""

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from data.vader import WHEEL_NAME
from evaluation.promotion.record import load_record
from evaluation.rollout.store import read_rollout
from models.lineage import RUN_TAG_EVIDENCE, RUN_TAG_REASONS
from models.model_registry import CHAMPION, aliased_version
from models.tracking import TrackingConfig

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.slow
@pytest.mark.integration
def test_cli_run_whole_loop_through_the_daemon(tmp_path: Path, data_wheel: Path):
    home = tmp_path / "home"
    (home / "cache").mkdir(parents=True)
    shutil.copy(data_wheel, home / "cache" / WHEEL_NAME)
    env = dict(os.environ, DRIFTWISE_HOME=str(home))
    exe = Path(sys.executable).with_name("driftwise")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    first = subprocess.run(
        [str(exe), "run", "--timeout", "900", "--no-serve", "--port", port, "--sample", "0.25"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    assert "Ingestion accounting" in first.stdout
    # One code server for the daemon's whole life (orchestration/cli/daemon.py): a server
    # the daemon managed itself was dropped every 60 s and died, which its log says.
    daemon_log = (home / "logs" / "dagster-daemon.log").read_text()
    assert "No heartbeat received" not in daemon_log
    assert (home / "dagster" / "workspace-daemon.yaml").is_file()

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
            # the canary: finished by the rollout sensor's canary_finish run
            (finish,) = instance.get_runs(filters=dg.RunsFilter(job_name="canary_finish"))
            assert finish.tags["dagster/sensor_name"] == "rollout_sensor"
            assert finish.status == dg.DagsterRunStatus.SUCCESS
            n_runs = len(instance.get_runs())
    finally:
        del os.environ["DAGSTER_HOME"]
    rollout = read_rollout(home)
    assert rollout is not None and rollout.recorded
    assert rollout.status in ("promoted", "rolled_back")
    stages = [e.stage for e in rollout.timeline if e.verdict != "hold"]
    assert stages[0] == "shadow"  # every rollout starts in shadow (no user exposed)
    tracking = TrackingConfig.embedded(home, registered_model_name="driftwise-sentiment")
    champion = aliased_version(tracking, "driftwise-sentiment", CHAMPION)
    expected = (
        rollout.challenger_version if rollout.status == "promoted" else rollout.champion_version
    )
    assert champion is not None and champion.version == expected
    assert "Canary " in first.stdout and "The loop, end to end" in first.stdout
    # the record of the challenger's decision carries the canary's evidence
    records = [load_record(home / "decisions", p.stem) for p in (home / "decisions").glob("*.json")]
    canary = [r for r in records if "canary" in r.sections]
    assert len(canary) == 1 and canary[0].sections["canary"]["verdict"] == rollout.status
    explained = subprocess.run(
        [str(exe), "explain", canary[0].record_id[:12]],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert explained.returncode == 0, explained.stdout[-2000:] + explained.stderr[-2000:]
    assert "canary timeline" in explained.stdout and "section promotion" in explained.stdout
    assert json.loads((home / "serving" / "state.json").read_text())["champion"]

    second = subprocess.run(  # --no-serve: the service is stopped at the end
        [str(exe), "run", "--no-serve", "--port", port, "--sample", "0.25"],
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


def test_a_blocked_first_model_stops_the_loop_as_an_outcome(tmp_path: Path, monkeypatch) -> None:
    """A runtime home whose MLflow registry holds no champion (what a gate-blocked bootstrap
    leaves): orchestration.cli.main_loop.first_champion says so as `GateStopped`, not a
    crash, and `driftwise run` prints it and exits 1 without a traceback. Touches: a real
    embedded MLflow store in a temp home; the CLI through typer's runner with the loop
    raising that outcome."""
    from typer.testing import CliRunner

    from orchestration.cli import app as cli
    from orchestration.cli.main_loop import GateStopped, first_champion
    from orchestration.settings import DriftwiseSettings

    home = tmp_path / "home"
    with pytest.raises(GateStopped, match="blocked the first model"):
        first_champion(DriftwiseSettings(home=home))

    def blocked(*args: object, **kwargs: object) -> None:
        raise GateStopped("the promotion gate blocked the first model")

    monkeypatch.setenv("DRIFTWISE_HOME", str(home))
    monkeypatch.setattr(cli, "init", lambda: None)
    monkeypatch.setattr("orchestration.cli.main_loop.run_main_loop", blocked)
    result = CliRunner().invoke(cli.app, ["run", "--sample", "0.25"])
    assert result.exit_code == 1
    assert "stopped: the promotion gate blocked" in result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, GateStopped)
