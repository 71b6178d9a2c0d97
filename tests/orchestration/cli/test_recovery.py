"""orchestration/cli/recovery.py: one `driftwise run` per home, and the clean-up after a
killed one. Touches: real processes (a live stand-in of another `driftwise run`, a dead
pid), a pid file in a temp home, and a real Dagster instance (`instance_for_test`) holding
a run that a killed loop left STARTED.
"""

import contextlib
import os
import subprocess
from pathlib import Path

import dagster as dg
import pytest
from rich.console import Console

from orchestration.cli.recovery import PID_FILE, LoopBusy, claim, owning_loop
from orchestration.settings import DriftwiseSettings


@dg.op
def step() -> int:
    return 1


@dg.job
def loop_job() -> None:
    step()


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_claim_refuses_a_live_loop_and_notices_a_killed_one(tmp_path: Path) -> None:
    path = tmp_path / "logs" / PID_FILE
    assert claim(path) is False and path.read_text() == str(os.getpid())
    assert claim(path) is False  # this process again: not a killed owner

    path.write_text(str(_dead_pid()))
    assert claim(path) is True  # its owner died without clean-up

    other = subprocess.Popen(["bash", "-c", "exec -a driftwise-run sleep 60"])
    try:
        import time

        time.sleep(0.2)  # let `exec -a` rename it
        path.write_text(str(other.pid))
        with pytest.raises(LoopBusy, match=f"pid {other.pid}"):
            claim(path)
        assert path.read_text() == str(other.pid)  # the live owner keeps the home
    finally:
        other.kill()
        other.wait()


def test_owning_loop_fails_what_a_killed_loop_left(tmp_path: Path) -> None:
    settings = DriftwiseSettings(home=tmp_path / "home")
    pid_file = settings.layout.logs / PID_FILE
    pid_file.parent.mkdir(parents=True)
    pid_file.write_text(str(_dead_pid()))
    console = Console(record=True, width=200)
    with dg.instance_for_test() as instance:
        left = instance.create_run_for_job(loop_job, status=dg.DagsterRunStatus.STARTED)
        with owning_loop(settings, instance, console) as orphans:
            assert [r.run_id for r in orphans] == [left.run_id]
            assert pid_file.read_text() == str(os.getpid())
        assert not pid_file.exists()  # released at the end
        assert instance.get_run_by_id(left.run_id).status == dg.DagsterRunStatus.FAILURE
        assert "recovering from a killed `driftwise run`" in console.export_text()

        # a clean previous run (no pid file): nothing is touched
        running = instance.create_run_for_job(loop_job, status=dg.DagsterRunStatus.STARTED)
        with owning_loop(settings, instance, Console(record=True)) as orphans:
            assert orphans == []
        assert instance.get_run_by_id(running.run_id).status == dg.DagsterRunStatus.STARTED


def test_an_interrupted_loop_fails_its_own_runs_on_the_way_out(tmp_path: Path) -> None:
    """Ctrl-C inside the loop: the runs it left STARTED are failed before the exception
    goes on, and the pid file is released (the next run has nothing to recover)."""
    settings = DriftwiseSettings(home=tmp_path / "home")
    with dg.instance_for_test() as instance:
        with pytest.raises(KeyboardInterrupt), owning_loop(settings, instance, Console()):
            left = instance.create_run_for_job(loop_job, status=dg.DagsterRunStatus.STARTED)
            raise KeyboardInterrupt
        assert instance.get_run_by_id(left.run_id).status == dg.DagsterRunStatus.FAILURE
        assert not (settings.layout.logs / PID_FILE).exists()


def _fake_pair(dagster_home: Path, kept: bool) -> list[subprocess.Popen]:
    """Two real processes named like the daemon pair, each leading its own group, recorded
    in DAGSTER_HOME/daemon.pid as `driftwise daemon up` (kept) or a run records them."""
    import json
    import time

    from orchestration.cli.daemon import PID_FILE as DAEMON_PID
    from orchestration.cli.daemon import _default_sigterm

    procs = [
        subprocess.Popen(
            ["bash", "-c", f"exec -a {name} sleep 120"],
            start_new_session=True,
            preexec_fn=_default_sigterm,  # as the real pair is started (see daemon.py)
        )
        for name in ("dagster-daemon", "dagster")
    ]
    # Wait until `exec -a` has renamed them (a fixed 0.2 s was too short on a busy machine:
    # the pair was then not recognised and was SIGKILLed instead of stopped).
    deadline = time.monotonic() + 30
    for proc, name in zip(procs, ("dagster-daemon", "dagster"), strict=True):
        cmdline = Path(f"/proc/{proc.pid}/cmdline")
        while not cmdline.read_bytes().startswith(name.encode() + b"\0"):
            assert time.monotonic() < deadline, f"{name} was never exec'd"
            time.sleep(0.05)
    dagster_home.mkdir(parents=True, exist_ok=True)
    record = {"daemon": procs[0].pid, "code_server": procs[1].pid, "kept": kept}
    (dagster_home / DAEMON_PID).write_text(json.dumps(record))
    return procs


@pytest.mark.parametrize("interrupt", [False, True])
def test_a_kept_daemon_is_paused_for_the_loop_and_started_again_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interrupt: bool
) -> None:
    """`driftwise daemon up`'s pair (two real processes named like it) is stopped with
    SIGTERM when a loop takes the home, and started again when the loop ends - not after
    Ctrl-C. Starting a real pair (orchestration/cli/daemon.keep_up) is replaced by a
    recorder here; the e2e test test_daemon_cli.py starts real ones."""
    from orchestration.cli import recovery
    from orchestration.cli.daemon import kept_pair

    settings = DriftwiseSettings(home=tmp_path / "home")
    procs = _fake_pair(settings.layout.dagster_home, kept=True)
    assert kept_pair(settings.layout.dagster_home) == {
        "daemon": procs[0].pid,
        "code_server": procs[1].pid,
    }
    started: list[Path] = []
    monkeypatch.setattr(recovery, "keep_up", lambda home, log: started.append(home))
    console = Console(record=True, width=200)
    try:
        with (
            dg.instance_for_test() as instance,
            pytest.raises(KeyboardInterrupt) if interrupt else contextlib.nullcontext(),
            owning_loop(settings, instance, console) as orphans,
        ):
            assert orphans == []  # a kept pair is no killed run's left-over
            assert [p.wait(timeout=10) for p in procs] == [-15, -15]  # SIGTERM, clean
            if interrupt:
                raise KeyboardInterrupt
        assert "kept dagster-daemon is paused" in console.export_text()
        assert started == ([] if interrupt else [settings.layout.dagster_home])
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def test_a_pair_not_kept_or_half_dead_is_not_a_kept_daemon(tmp_path: Path) -> None:
    """A run's own pair (no `kept` flag) is not `driftwise daemon up`'s, and a kept record
    whose code server died is no running daemon: `daemon up` then starts a new pair."""
    from orchestration.cli.daemon import kept_pair

    procs = _fake_pair(tmp_path, kept=False)
    try:
        assert kept_pair(tmp_path) is None
        procs += _fake_pair(tmp_path, kept=True)
        procs[3].kill()
        procs[3].wait()
        assert kept_pair(tmp_path) is None
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
