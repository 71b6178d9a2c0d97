"""`driftwise run --data FILE...`: from your own labelled files to a judged champion.

The same machinery as the default loop: the files are landed atomically into the landing
zone, a real `dagster-daemon` runs the landing sensor (one ingest run per file: validation,
quarantine, DVC, drift), then the `retrain` job runs on this instance: golden set (yours, or
carved once from these files), snapshot, training, evaluation, the gate, and @champion of
`driftwise-<dataset name>`. The dataset's columns come from driftwise.toml / DRIFTWISE_*.
"""

import os
import shutil
from pathlib import Path

import dagster as dg
from rich.console import Console

from data.landing import batch_id_for, check_readable
from orchestration.cli.daemon import start_daemon, stop_daemon
from orchestration.cli.main_loop import (
    _candidate_table,
    _decision_table,
    _execute,
    _ingest_table,
    _metadata,
    _wait_ingested,
)
from orchestration.cli.recovery import owning_loop
from orchestration.definitions import build_definitions
from orchestration.sensors.guard import RETRAIN_JOB
from orchestration.settings import DriftwiseSettings


def land_files(files: list[Path], landing: Path) -> list[str]:
    """Copy `files` into the landing zone atomically (hidden temp name, then rename)."""
    check_readable(files)
    landing.mkdir(parents=True, exist_ok=True)
    ids = []
    for src in files:
        dest = landing / src.name
        if not dest.exists():
            tmp = landing / f".{src.name}.part"
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        ids.append(batch_id_for(dest))
    return ids


def run_own_data(
    settings: DriftwiseSettings,
    console: Console,
    files: list[Path],
    timeout: float,
    tiers: list[str],
) -> None:
    instance = dg.DagsterInstance.get()
    with owning_loop(settings, instance, console):
        _run_own_data(settings, console, files, timeout, tiers, instance)


def _run_own_data(
    settings: DriftwiseSettings,
    console: Console,
    files: list[Path],
    timeout: float,
    tiers: list[str],
    instance: dg.DagsterInstance,
) -> None:
    registry = settings.data_registry()
    defs = build_definitions(settings)
    batch_ids = land_files(files, settings.layout.landing)
    daemon = start_daemon(settings.layout.dagster_home, settings.layout.daemon_log)
    try:
        console.print(f"landed {len(batch_ids)} file(s): the landing sensor ingests each one")
        _wait_ingested(instance, registry, batch_ids, timeout, daemon)
    finally:
        stop_daemon(daemon)
    console.print(_ingest_table(instance, batch_ids))
    console.print(f"retrain ({', '.join(tiers)}) of dataset {settings.dataset.name!r}…")
    result = _execute(
        defs, instance, RETRAIN_JOB, console, ops={"candidate_model": {"config": {"tiers": tiers}}}
    )
    golden = _metadata(instance, "golden_set") or {}
    console.print(
        f"golden set {golden.get('dvc_tag')} ({golden.get('source')}, "
        f"{golden.get('dagster/row_count')} rows)"
    )
    console.print(_candidate_table(_metadata(instance, "candidate_model") or {}, "Challenger"))
    console.print(_decision_table(instance, settings))
    console.print(f"retrain run {result.run_id}: `make dagster` to browse it")
