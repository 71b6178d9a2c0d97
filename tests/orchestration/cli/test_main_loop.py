"""`driftwise run` end to end where users stand: the runtime home the README gives
(`.driftwise/` inside this checkout, DRIFTWISE_HOME unset), a real dagster-daemon and its
sensors, real ingest runs on a real SQLite instance, a real DVC registry, real Lightning
training of both tiers, real MLflow, real Evidently drift, a real `bentoml serve`.

The loop itself is `make run`: CI runs it first in its clean checkout, then this stage
(`make test-e2e`) checks what it left and runs it a second time. On a machine where the
home holds no finished loop yet, the module runs `driftwise run` first, as `make run` would.

The point: landing the tweets batch leads - through the drift sensor, not a direct call -
to a retrain run whose tags name the drift report, and that challenger goes live through
the staged canary on the served champion with replayed traffic, ended by the rollout
sensor's `canary_finish` run (promoted, or rolled back) and recorded in its decision record.
A second run is idempotent: it launches nothing but the cheap snapshot job. (And, quick: a
first model the gate blocked, or a failed run, stops the loop as an outcome, not a traceback.)
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from data.default_batches import FIRST_BATCHES
from data.landing import batch_id_for
from evaluation.promotion.record import load_record
from evaluation.rollout.store import read_rollout
from models.lineage import RUN_TAG_BATCH, RUN_TAG_EVIDENCE, RUN_TAG_REASONS
from models.model_registry import CHAMPION, aliased_version
from models.tracking import TrackingConfig
from orchestration.cli.main_loop import DRIFT_BATCH
from tests.conftest import free_port, user_env

REPO = Path(__file__).resolve().parents[3]
HOME = REPO / ".driftwise"  # the README's runtime home (`make run`'s default)
EXE = Path(sys.executable).with_name("driftwise")


def _driftwise(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EXE), *args],
        cwd=REPO,
        env=user_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _loop_finished(home: Path) -> bool:
    state = read_rollout(home)
    return state is not None and not state.active and state.recorded


def _instance() -> dg.DagsterInstance:
    os.environ["DAGSTER_HOME"] = str(HOME / "dagster")
    return dg.DagsterInstance.get()


@pytest.fixture(scope="module")
def loop_home() -> Path:
    """The README's home after a finished `make run` (run here if CI's has not)."""
    if not _loop_finished(HOME):
        first = _driftwise("run", "--timeout", "900", timeout=2400)
        assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
        assert "Ingestion accounting" in first.stdout
    assert _loop_finished(HOME), "the loop did not finish in the README's home"
    yield HOME
    os.environ.pop("DAGSTER_HOME", None)


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.integration
def test_the_loop_in_the_readmes_home(loop_home: Path) -> None:
    home = loop_home
    # One code server for the daemon's whole life (orchestration/cli/daemon.py): a server
    # the daemon managed itself was dropped every 60 s and died, which its log says.
    daemon_log = (home / "logs" / "dagster-daemon.log").read_text()
    assert "No heartbeat received" not in daemon_log
    assert (home / "dagster" / "workspace-daemon.yaml").is_file()
    sample = json.loads((home / "default-data.json").read_text())["sample"]

    with _instance() as instance:
        # one ingest run per default file, each launched by the landing sensor
        landed = {p.name: p for p in (home / "landing").iterdir()}
        for name in [*FIRST_BATCHES, DRIFT_BATCH]:
            batch = batch_id_for(landed[name])
            runs = instance.get_runs(filters=dg.RunsFilter(tags={RUN_TAG_BATCH: batch}))
            assert any(r.status == dg.DagsterRunStatus.SUCCESS for r in runs), name
            assert all(r.tags.get("dagster/sensor_name") == "new_batch_sensor" for r in runs)
        drift_runs = {
            r.run_id: r
            for r in instance.get_runs(filters=dg.RunsFilter(job_name="retrain"))
            if "drift" in r.tags.get(RUN_TAG_REASONS, "")
        }
        (run,) = [r for r in drift_runs.values() if r.status == dg.DagsterRunStatus.SUCCESS]
        # launched by the drift sensor - or, in a home where a killed `driftwise run` was
        # recovered, run again from the sensor's run the kill left (same tags)
        launched = drift_runs[run.tags.get("driftwise/recovers", run.run_id)]
        assert launched.tags["dagster/sensor_name"] == "drift_sensor"
        assert len(drift_runs) == 1 + ("driftwise/recovers" in run.tags)
        report_id = run.tags[RUN_TAG_EVIDENCE].split("drift:")[1].split(",")[0]
        assert (home / "reports" / "drift" / f"{report_id}.json").exists()
        # the canary: finished by the rollout sensor's canary_finish run
        (finish,) = instance.get_runs(filters=dg.RunsFilter(job_name="canary_finish"))
        assert finish.tags["dagster/sensor_name"] == "rollout_sensor"
        assert finish.status == dg.DagsterRunStatus.SUCCESS
        n_runs = len(instance.get_runs())

    rollout = read_rollout(home)
    assert rollout is not None and rollout.status in ("promoted", "rolled_back")
    stages = [e.stage for e in rollout.timeline if e.verdict != "hold"]
    assert stages[0] == "shadow"  # every rollout starts in shadow (no user exposed)
    tracking = TrackingConfig.embedded(home, registered_model_name="driftwise-sentiment")
    champion = aliased_version(tracking, "driftwise-sentiment", CHAMPION)
    expected = (
        rollout.challenger_version if rollout.status == "promoted" else rollout.champion_version
    )
    assert champion is not None and champion.version == expected
    # the record of the challenger's decision carries the canary's evidence
    records = [load_record(home / "decisions", p.stem) for p in (home / "decisions").glob("*.json")]
    canary = [r for r in records if "canary" in r.sections]
    assert len(canary) == 1 and canary[0].sections["canary"]["verdict"] == rollout.status
    explained = _driftwise("explain", canary[0].record_id[:12], timeout=300)
    assert explained.returncode == 0, explained.stdout[-2000:] + explained.stderr[-2000:]
    assert "canary timeline" in explained.stdout and "section promotion" in explained.stdout
    assert json.loads((home / "serving" / "state.json").read_text())["champion"]

    # the second `make run`: idempotent, and it serves (the service `make run` left, or anew)
    second = _driftwise("run", "--sample", f"{sample:g}", timeout=1200)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "already trained" in second.stdout
    assert "Canary " in second.stdout and "The loop, end to end" in second.stdout
    assert "POST /classify of " in second.stdout  # a golden row, shown with its true label:
    assert re.search(r"true\s+label\s+'(positive|negative)'", second.stdout)
    with _instance() as instance:
        runs = instance.get_runs()  # newest first
        new_runs = runs[: len(runs) - n_runs]
        # Exactly the cheap snapshot rebuild ran again (same tag); nothing was retrained
        # or re-ingested. An empty list would mean the second run did nothing at all.
        assert [r.job_name for r in new_runs] == ["snapshot"]
    status = _driftwise("status", timeout=300)
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"v{champion.version}" in status.stdout
    (retrain_row,) = [line for line in status.stdout.splitlines() if "last retrain run" in line]
    assert "SUCCESS" in retrain_row
    # the served champion's cost since the service started (the smoke request at least)
    assert f"cost v{champion.version}" in status.stdout, status.stdout


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
    result = CliRunner().invoke(cli.app, ["run", "--sample", "0.25", "--port", str(free_port())])
    assert result.exit_code == 1
    assert "stopped: the promotion gate blocked" in result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, GateStopped)


def test_a_taken_port_is_refused_before_anything_is_set_up(tmp_path: Path) -> None:
    """Another process (here a plain listening socket) holds the service's port: `driftwise
    run` refuses at once - exit 2, the port named - instead of failing after the bootstrap
    retrain with a traceback. Touches: the real CLI in a subprocess, a temp home."""
    import socket

    home = tmp_path / "home"
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        proc = subprocess.run(
            [str(EXE), "run", "--port", str(port)],
            cwd=REPO,
            env={**user_env(), "DRIFTWISE_HOME": str(home)},
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    # typer's error panel wraps at the terminal width, borders and all
    assert f"127.0.0.1:{port}istaken" in re.sub(r"[\s│]+", "", proc.stderr)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (home / "landing").exists() and not (home / "dagster").exists()
