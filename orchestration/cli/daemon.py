"""Start and stop a real `dagster-daemon` (sensors, run queue) for the CLI's main loop, with
one long-lived code server it reads the Definitions from.

Why our own code server: a daemon given `-m module` manages one itself and, every 60 s
(Dagster's RELOAD_WORKSPACE_INTERVAL, so that code edits are picked up), drops it and starts
a new interpreter that imports the Definitions again: ~8-9 CPU-s a minute on these 2 cores,
competing with training, and a sensor tick that lands on a restart waits for the import.
Here the daemon reads a workspace that points at our server (`grpc_server`), so its refresh
only re-reads the snapshot. The trade-off is the launcher's (orchestration/launcher.py): a
code change reaches the sensors when the loop restarts the pair.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

LOCATION = "orchestration.definitions"  # the location name a `-m` workspace gives it
_STARTUP_S = 180.0  # importing the Definitions takes ~10 s here; a loaded machine, more


PID_FILE = "daemon.pid"  # in DAGSTER_HOME: the pair's process groups, while they run


class DaemonProcess:
    """A dagster-daemon and its code server, each leading its own process group."""

    def __init__(
        self, daemon: subprocess.Popen, code_server: subprocess.Popen, pid_file: Path
    ) -> None:
        self.daemon, self.code_server, self.pid_file = daemon, code_server, pid_file

    def send_signal(self, sig: int) -> None:
        """Signal both process groups (the daemon's run workers and the server's children
        included); a group already gone is skipped."""
        for proc in (self.daemon, self.code_server):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)

    def poll(self) -> int | None:
        """Exit status once either process ended: a daemon without its code server cannot
        run a sensor."""
        daemon = self.daemon.poll()
        return daemon if daemon is not None else self.code_server.poll()

    @property
    def returncode(self) -> int | None:
        return self.poll()

    def wait(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        for proc in (self.daemon, self.code_server):
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            proc.wait(timeout=left)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_serving(port: int, server: subprocess.Popen, log_path: Path) -> None:
    from dagster._grpc.client import DagsterGrpcClient

    client = DagsterGrpcClient(port=port, host="127.0.0.1")
    deadline = time.monotonic() + _STARTUP_S
    while True:
        try:
            client.ping("")
            return
        except Exception as exc:  # not listening yet
            if server.poll() is not None:
                raise RuntimeError(
                    f"the code server exited with {server.returncode}; see {log_path}"
                ) from exc
            if time.monotonic() > deadline:
                server.kill()
                raise TimeoutError(
                    f"the code server did not answer within {_STARTUP_S:.0f}s"
                ) from exc
            time.sleep(0.5)


def alive_as(pid: int, *markers: bytes) -> bool:
    """The process lives and its command line names one of `markers`: a pid file can
    outlive its process, and pids are reused. Without /proc (macOS) a live pid counts."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return not Path("/proc").exists()
    return any(marker in cmdline for marker in markers)


def _default_sigterm() -> None:
    """In the child before exec: SIGTERM unblocked and at its default action. A blocked or
    ignored SIGTERM is inherited across exec, so a pair started from a process that has one
    (a test runner after some library blocked it) would outlive `daemon down`'s SIGTERM
    and only die to the SIGKILL after the grace period."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _recorded(dagster_home: Path) -> tuple[dict[str, int], bool]:
    """The pair's pids from DAGSTER_HOME/daemon.pid and whether it is a kept one
    (({}, False) when there is no file)."""
    path = Path(dagster_home) / PID_FILE
    if not path.exists():
        return {}, False
    record = json.loads(path.read_text())
    pids = {name: int(record[name]) for name in ("daemon", "code_server") if name in record}
    return pids, bool(record.get("kept"))


def kept_pair(dagster_home: Path) -> dict[str, int] | None:
    """The pids of a pair `driftwise daemon up` left running for this home (both alive),
    else None."""
    pids, kept = _recorded(dagster_home)
    alive = kept and len(pids) == 2 and all(alive_as(pid, b"dagster") for pid in pids.values())
    return pids if alive else None


def stop_stale(dagster_home: Path, grace_s: float = 0.0) -> bool:
    """Stop the daemon and code server recorded for this home: the pair a killed `driftwise
    run` left (SIGKILL or a lost terminal skip its clean-up: two daemons on one instance
    would tick every sensor twice), or a kept one (`grace_s` > 0: SIGTERM first, so its
    runs end cleanly). True if any of them was still alive."""
    path = Path(dagster_home) / PID_FILE
    alive = [pid for pid in _recorded(dagster_home)[0].values() if alive_as(pid, b"dagster")]
    if grace_s > 0:
        for pid in alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(alive_as(p, b"dagster") for p in alive):
            time.sleep(0.2)
    for pid in alive:
        if alive_as(pid, b"dagster"):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
    path.unlink(missing_ok=True)
    return bool(alive)


def take_down(dagster_home: Path, grace_s: float) -> bool:
    """`driftwise daemon down`: stop the recorded pair (SIGTERM, SIGKILL after `grace_s`)
    and wipe the daemon heartbeats it wrote - they would say "running" for another
    HEARTBEAT_STALE_S (a `make dagster` daemon, if any, writes its own again within ~30 s).
    True if any of them was still alive."""
    stopped = stop_stale(dagster_home, grace_s=grace_s)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        instance.wipe_daemon_heartbeats()
    return stopped


def keep_up(dagster_home: Path, log_path: Path) -> dict[str, int]:
    """Start the home's daemon pair in their own sessions, so they outlive the terminal,
    recorded as kept; returns their pids. Callers check `kept_pair` first (`driftwise
    daemon up` answers a running one without starting anything)."""
    stop_stale(dagster_home)  # a pair a killed run left, or half of one
    proc = start_daemon(dagster_home, log_path, kept=True)
    return {"daemon": proc.daemon.pid, "code_server": proc.code_server.pid}


def start_daemon(dagster_home: Path, log_path: Path, kept: bool = False) -> DaemonProcess:
    """Start the code server, wait until it answers, then the daemon on a workspace file
    (in `dagster_home`) that points at it; their pids go to DAGSTER_HOME/daemon.pid, with
    `kept` when they are to outlive the command (`driftwise daemon up`)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, DAGSTER_HOME=str(dagster_home))
    bin_dir = Path(sys.executable).parent
    port = _free_port()
    workspace = Path(dagster_home) / "workspace-daemon.yaml"
    workspace.write_text(
        "load_from:\n  - grpc_server:\n      host: 127.0.0.1\n"
        f"      port: {port}\n      location_name: {LOCATION}\n"
    )
    with log_path.open("ab") as log:
        server = subprocess.Popen(
            [
                *(str(bin_dir / "dagster"), "api", "grpc", "-m", LOCATION),
                *("--host", "127.0.0.1", "--port", str(port)),
                *("--location-name", LOCATION, "--log-level", "warning"),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_default_sigterm,
            start_new_session=True,  # its own process group: stopped with every child
        )
        try:
            _wait_serving(port, server, log_path)
            daemon = subprocess.Popen(
                [str(bin_dir / "dagster-daemon"), "run", "-w", str(workspace)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_default_sigterm,
            )
        except BaseException:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
            raise
    pid_file = Path(dagster_home) / PID_FILE
    record = {"daemon": daemon.pid, "code_server": server.pid, "kept": kept}
    pid_file.write_text(json.dumps(record))
    return DaemonProcess(daemon, server, pid_file)


def stop_daemon(proc: DaemonProcess, timeout: float = 30.0) -> None:
    """Stop the daemon, its code server and their children (SIGTERM, then SIGKILL)."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    proc.pid_file.unlink(missing_ok=True)


def wait_for_runs(
    instance: dg.DagsterInstance,
    tags: dict[str, str],
    expected: int,
    timeout: float,
    proc: DaemonProcess | None = None,
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
