"""`driftwise rollback`: all traffic on the target version in about a second, the registry
right after.

The command's own path imports no MLflow, Dagster or BentoML (their imports alone take
seconds on 2 cores). The rollout controller flips traffic through the service's admin API
and writes the move ahead (`<home>/rollout/pending.json`); a child process, `driftwise
settle`, then moves the MLflow aliases and writes the decision record, and `driftwise
status` or the next move settles it should that child die. With no service running, with
`--to`, with `--wait`, or with an earlier move still pending, the registry is written before
the command returns.
"""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from evaluation.rollout.controller import Flip, RegistryAliases, RolloutController
from evaluation.rollout.store import read_pending
from orchestration.settings import DriftwiseSettings


def home_router(home: Path) -> Any:
    """This home's running service as a router, or None when none runs."""
    from orchestration.router import running_router

    return running_router(home)


def _aliases(settings: DriftwiseSettings) -> RegistryAliases:
    from orchestration.cli.serve import tracking_config  # MLflow: the slow path only

    return RegistryAliases(tracking_config(settings))


def rollback(
    settings: DriftwiseSettings,
    console: Console,
    reason: str,
    to: str | None = None,
    wait: bool = False,
) -> Flip:
    home = settings.root
    controller = RolloutController(home, home_router(home))
    fast = to is None and not wait and controller.router is not None
    if fast and read_pending(home) is None:
        flip = controller.rollback(reason, settle_now=False)
        pid = _spawn_settle(settings)
        console.print(
            f"{flip.action}: v{flip.champion}, all traffic to it "
            f"{(flip.seconds or 0) * 1000:.0f} ms after the command; the registry's aliases "
            f"and the decision record follow (pid {pid}, log {_settle_log(settings)})"
        )
        return flip
    aliases = _aliases(settings)
    flip = (
        controller.serve_version(str(to), reason, aliases)
        if to is not None
        else controller.rollback(reason, aliases)
    )
    took = "" if flip.seconds is None else f", all traffic to it {flip.seconds * 1000:.0f} ms after"
    console.print(
        f"{flip.action}: champion v{flip.champion}{took}"
        + (f" (record {flip.record_id[:12]})" if flip.record_id else "")
    )
    return flip


def settle(settings: DriftwiseSettings) -> Flip | None:
    """What `driftwise settle` runs: the pending move's registry side and its record."""
    return RolloutController(settings.root, home_router(settings.root)).settle(_aliases(settings))


def _settle_log(settings: DriftwiseSettings) -> Path:
    return settings.layout.logs / "settle.log"


def _spawn_settle(settings: DriftwiseSettings) -> int:
    """`driftwise settle` in its own session: it outlives this command and its terminal."""
    log = _settle_log(settings)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "orchestration.cli.app", "settle"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "DRIFTWISE_HOME": str(settings.root)},
        )
    return child.pid
