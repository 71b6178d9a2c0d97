"""Start and stop a real `dagster-daemon` (sensors, run queue) for the CLI's main loop."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg


def start_daemon(dagster_home: Path, log_path: Path) -> subprocess.Popen:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, DAGSTER_HOME=str(dagster_home))
    exe = Path(sys.executable).with_name("dagster-daemon")
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [str(exe), "run", "-m", "orchestration.definitions"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: we stop it and every child
        )


def stop_daemon(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_for_runs(
    instance: dg.DagsterInstance,
    tags: dict[str, str],
    expected: int,
    timeout: float,
    proc: subprocess.Popen | None = None,
) -> list[dg.DagsterRun]:
    """Wait until `expected` runs with `tags` have finished; raise on timeout or dead daemon."""
    deadline = time.monotonic() + timeout
    finished = {
        dg.DagsterRunStatus.SUCCESS,
        dg.DagsterRunStatus.FAILURE,
        dg.DagsterRunStatus.CANCELED,
    }
    while True:
        runs = instance.get_runs(filters=dg.RunsFilter(tags=tags))
        done = [r for r in runs if r.status in finished]
        if len(done) >= expected:
            return done
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"dagster-daemon exited with {proc.returncode}; see its log")
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{len(done)}/{expected} runs tagged {tags} finished within {timeout:.0f}s"
            )
        time.sleep(1.0)
