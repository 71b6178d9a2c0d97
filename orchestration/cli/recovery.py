"""One `driftwise run` per runtime home, and recovery from one that was killed.

The CLI that runs the loop records its pid in `logs/run.pid` for as long as it owns the
home. The next `driftwise run` then knows what the last one left:
- the pid file of a process that is still alive: another loop is running here, refused;
- the pid file of a dead process: it was killed (SIGKILL, a lost terminal) - its daemon pair
  is stopped (orchestration/cli/daemon.stop_stale) and every run it left unfinished, in
  process or the daemon's, is marked failed, so nothing waits on them; the loop then redoes
  what they had not finished (main_loop.py).
A loop ended by Ctrl-C or an error fails its own unfinished runs on the way out and
releases the pid file; only a kill that skips that (SIGKILL, or a second signal during it)
leaves the work to the next run.

A pair kept by `driftwise daemon up` is stopped cleanly for the loop (which runs its own,
with the code it was started with) and started again when the loop ends, unless Ctrl-C
ended it.
"""

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from rich.console import Console

from orchestration.cli.daemon import alive_as, keep_up, kept_pair, stop_stale
from orchestration.cli.runs import fail_orphans
from orchestration.settings import DriftwiseSettings

PID_FILE = "run.pid"  # in the home's logs/
KEPT_STOP_S = 30.0  # a kept daemon's grace to end its runs before it is killed


class LoopBusy(RuntimeError):
    """Another `driftwise run` owns this runtime home."""


def loop_owner(path: Path) -> int | None:
    """The pid recorded in `path` if that process is a live `driftwise run`, else None."""
    text = path.read_text().strip() if path.exists() else ""
    pid = int(text) if text.isdigit() else 0
    return pid if pid and alive_as(pid, b"driftwise", b"orchestration.cli") else None


def claim(path: Path) -> bool:
    """Write this process's pid to `path`; True if an earlier owner died without clean-up.

    Raises:
        LoopBusy: the recorded owner is alive.
    """
    killed = False
    if path.exists():
        owner = loop_owner(path)
        if owner is not None and owner != os.getpid():
            raise LoopBusy(
                f"another `driftwise run` (pid {owner}) is running in this runtime home; wait "
                f"for it or stop it (a killed one is cleaned up by the next run)"
            )
        killed = path.read_text().strip() != str(os.getpid())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(os.getpid()))
    return killed


@contextlib.contextmanager
def owning_loop(
    settings: DriftwiseSettings, instance: dg.DagsterInstance, console: Console
) -> Iterator[list[dg.DagsterRun]]:
    """Own the home's loop for the block; yields the runs a killed earlier loop left
    unfinished (now marked failed)."""
    path = settings.layout.logs / PID_FILE
    dagster_home = settings.layout.dagster_home
    killed = claim(path)
    kept = interrupted = False
    try:
        if kept_pair(dagster_home) is not None:
            kept = stop_stale(dagster_home, grace_s=KEPT_STOP_S)
            console.print("the kept dagster-daemon is paused for this run (started again after it)")
        stale = stop_stale(dagster_home)
        orphans = fail_orphans(instance) if killed or stale else []
        if killed or stale:
            console.print(
                "recovering from a killed `driftwise run`: "
                + ("its daemon stopped; " if stale else "")
                + f"{len(orphans)} unfinished run(s) marked failed"
            )
        yield orphans
    except BaseException as exc:
        # Ctrl-C or a failure: nothing of this loop runs on (its daemon was stopped on the
        # way out), so what it left STARTED is failed now, not on the next run
        interrupted = isinstance(exc, KeyboardInterrupt)
        with contextlib.suppress(Exception):
            fail_orphans(instance)
        raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            if path.read_text().strip() == str(os.getpid()):
                path.unlink()
        if kept and not interrupted:
            keep_up(dagster_home, settings.layout.daemon_log)
            console.print("the kept dagster-daemon runs again (`driftwise daemon down` stops it)")
