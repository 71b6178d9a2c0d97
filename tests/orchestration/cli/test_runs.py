"""orchestration/cli/runs.py: failed runs told as the failed step and its error, the last
runs of a job, and whether a daemon is alive - read from a real Dagster instance (temp
SQLite via `instance_for_test`) where a real job ran and failed in process. And the CLI:
`driftwise run` prints such a failure with no traceback and exits 2; `driftwise explain`
shows the whole error of that run id.
"""

import time

import dagster as dg
import pytest

from orchestration.cli.runs import (
    RunFailed,
    daemon_alive,
    describe,
    failures,
    find_run,
    last_run,
    run_failed,
)
from tests.conftest import free_port


@dg.op
def build_bento_step() -> None:
    raise OSError("[Errno 36] File name too long: '/home/.driftwise/bentoml/tmp/x'")


@dg.op
def fine() -> int:
    return 1


@dg.job
def broken() -> None:
    build_bento_step()


@dg.job
def works() -> None:
    fine()


def _failed_run(instance: dg.DagsterInstance) -> dg.DagsterRun:
    result = broken.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    return result.dagster_run


def test_a_failed_run_names_its_step_and_error() -> None:
    with dg.instance_for_test() as instance:
        run = _failed_run(instance)
        steps = failures(instance, run.run_id)
        assert [step for step, _ in steps] == ["build_bento_step"]
        assert "File name too long" in steps[0][1]
        error = run_failed(instance, run, " or the log at X")
        text = str(error)
        assert f"the broken run {run.run_id[:8]} ended FAILURE at build_bento_step" in text
        assert f"`driftwise explain {run.run_id[:8]}` or the log at X" in text
        assert "Traceback" not in text.splitlines()[1]  # the error's head, not the stack


def test_find_and_describe_runs_by_prefix() -> None:
    with dg.instance_for_test() as instance:
        run = _failed_run(instance)
        ok = works.execute_in_process(instance=instance).dagster_run
        assert find_run(instance, run.run_id[:8]).run_id == run.run_id
        assert find_run(instance, "zz") is None  # too short to be an id
        assert find_run(instance, "ffffffff-none") is None
        assert last_run(instance, "broken").run_id == run.run_id
        assert last_run(instance, "retrain") is None
        line = describe(instance, run)
        assert line.startswith(f"{run.run_id[:8]} FAILURE (manual): build_bento_step: OSError")
        assert describe(instance, ok) == f"{ok.run_id[:8]} SUCCESS (manual)"


def _beat(instance: dg.DagsterInstance, at: float) -> None:
    from dagster._daemon.types import DaemonHeartbeat as Beat

    instance.add_daemon_heartbeat(Beat(at, "SENSOR", "daemon-1", None))


def test_a_daemon_is_alive_only_while_it_beats() -> None:
    with dg.instance_for_test() as instance:
        assert not daemon_alive(instance)  # no daemon ever ran
        _beat(instance, time.time() - 600)
        assert not daemon_alive(instance)  # one ran, ten minutes ago
        _beat(instance, time.time())
        assert daemon_alive(instance)


def test_cli_run_prints_a_failed_run_without_traceback(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`driftwise run` when the loop's retrain failed: exit 2, the step and error shown,
    and the explain command for the rest."""
    from typer.testing import CliRunner

    from orchestration.cli import app as cli

    failed = RunFailed(
        "0123abcd-ffff", "retrain", "FAILURE", [("candidate_bento", "OSError: [Errno 36]")]
    )

    def boom(*args: object, **kwargs: object) -> None:
        raise failed

    monkeypatch.setenv("DRIFTWISE_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(cli, "init", lambda: None)
    monkeypatch.setattr("orchestration.cli.main_loop.run_main_loop", boom)
    result = CliRunner().invoke(cli.app, ["run", "--sample", "0.25", "--port", str(free_port())])
    assert result.exit_code == 2
    assert "the retrain run 0123abcd ended FAILURE at candidate_bento" in result.output
    assert "OSError: [Errno 36]" in result.output and "driftwise explain 0123abcd" in result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, RunFailed)


def test_explain_shows_a_runs_whole_error(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`driftwise explain RUN` on a home whose instance holds a failed run."""
    from typer.testing import CliRunner

    from orchestration.cli import app as cli
    from orchestration.cli.instance import ensure_dagster_home

    home = tmp_path / "home"
    monkeypatch.setenv("DRIFTWISE_HOME", str(home))
    ensure_dagster_home(home / "dagster")
    with dg.DagsterInstance.get() as instance:
        run = _failed_run(instance)
    result = CliRunner().invoke(cli.app, ["explain", run.run_id[:8]])
    assert result.exit_code == 0, result.output
    assert "build_bento_step" in result.output and "File name too long" in result.output
    missing = CliRunner().invoke(cli.app, ["explain", "deadbeef"])
    assert missing.exit_code != 0 and "decision records match" in missing.output


@pytest.fixture(autouse=True)
def _restore_dagster_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """ensure_dagster_home exports DAGSTER_HOME: undone after each test."""
    import os

    monkeypatch.setenv("DAGSTER_HOME", os.environ.get("DAGSTER_HOME", ""))


def test_status_says_sensors_are_stopped_without_a_daemon(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`driftwise status`'s sensor table on a home no daemon serves: a switched-on sensor
    reads "stopped (no daemon ...)", never plain RUNNING; with a daemon, its switch."""
    from orchestration.cli.instance import ensure_dagster_home
    from orchestration.cli.operator import _sensors
    from orchestration.settings import DriftwiseSettings

    home = tmp_path / "home"
    ensure_dagster_home(home / "dagster")
    settings = DriftwiseSettings(home=home)
    idle = dict(_sensors(settings, daemon=False))
    assert idle["sensor new_batch_sensor"].startswith("stopped (no daemon; switched RUNNING")
    assert not any(v.startswith("RUNNING") for v in idle.values())
    served = dict(_sensors(settings, daemon=True))
    assert served["sensor new_batch_sensor"].startswith("RUNNING")


def test_stale_daemon_processes_are_killed_and_their_runs_failed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What a SIGKILLed `driftwise run` leaves: its daemon pair alive (here two real
    processes named like them, each leading its own group) and a run left STARTED. The
    next run's clean-up kills exactly those and marks the run failed; a pid file naming
    a process that is not ours (pid reuse) kills nothing."""
    import json
    import subprocess

    from orchestration.cli.daemon import PID_FILE, stop_stale
    from orchestration.cli.runs import ORPHAN_MESSAGE, fail_orphans

    def fake(name: str) -> subprocess.Popen:
        return subprocess.Popen(["bash", "-c", f"exec -a {name} sleep 120"], start_new_session=True)

    daemon, server, stranger = fake("dagster-daemon"), fake("dagster"), fake("my-editor")
    try:
        pid_file = tmp_path / PID_FILE
        assert not stop_stale(tmp_path)  # no pid file: nothing to do
        time.sleep(0.2)  # let `exec -a` rename them
        pid_file.write_text(json.dumps({"daemon": daemon.pid, "code_server": server.pid}))
        assert stop_stale(tmp_path)
        assert daemon.wait(timeout=10) == -9 and server.wait(timeout=10) == -9
        assert not pid_file.exists()
        pid_file.write_text(json.dumps({"daemon": stranger.pid}))
        assert not stop_stale(tmp_path)
        assert stranger.poll() is None  # not ours: alive
    finally:
        for proc in (daemon, server, stranger):
            proc.kill()
            proc.wait()

    with dg.instance_for_test() as instance:
        left = instance.create_run_for_job(works, status=dg.DagsterRunStatus.STARTED)
        done = works.execute_in_process(instance=instance).dagster_run
        assert [r.run_id for r in fail_orphans(instance)] == [left.run_id]
        assert instance.get_run_by_id(left.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(done.run_id).status == dg.DagsterRunStatus.SUCCESS
        assert ORPHAN_MESSAGE in failures(instance, left.run_id)[0][1]
