"""`driftwise label`: the annotation server (Label Studio) and the label loop, by hand.

`up` installs it on first use (its own venv under the runtime home) and starts it on
127.0.0.1; `sync` does what the label_sync_sensor does each minute (push waiting queues,
harvest finished annotations into the landing zone); `status` shows the queues and the live
accuracy the reviewed labels give per model version (inclusion-weighted, with its interval).
"""

from typing import Any

import typer
from rich.console import Console

from orchestration.cli import offline

label_app = typer.Typer(
    no_args_is_help=True,
    help="The annotation server (Label Studio) and the review loop: predictions worth a "
    "human look go out, labels come back as a batch.",
)
# Wide enough for one line per result when piped (tests, CI logs).
console = Console(width=None if Console().is_terminal else 200)


def _parts():  # type: ignore[no-untyped-def]
    from orchestration.environments import get_resources
    from orchestration.settings import load_settings

    offline.apply()
    settings = load_settings()
    resources = get_resources(settings)
    return settings, resources


@label_app.command("up")
def up() -> None:
    """Install (first time, a few minutes) and start Label Studio; idempotent."""
    _, resources = _parts()
    server = resources["annotation"].server()
    url = server.up()
    console.print(f"Label Studio at {url} (user driftwise@localhost)")
    console.print(
        f"API token: {server.root / 'api-token'} (0600); password: {server.root / 'password'}"
    )
    console.print(
        "queue a day: the `review` job in the Dagster UI; harvest: turn on label_sync_sensor "
        "there, or run `driftwise label sync`"
    )


@label_app.command("down")
def down() -> None:
    """Stop the Label Studio this home started."""
    _, resources = _parts()
    stopped = resources["annotation"].server().down()
    console.print("stopped" if stopped else "not running")


@label_app.command("sync")
def sync_now() -> None:
    """Push waiting review queues and harvest finished annotations now."""
    from orchestration.sensors.label_loop import sync

    _, r = _parts()
    console.print(sync(r["home"], r["annotation"], r["registry"], r["dataset"]))


@label_app.command("status")
def status() -> None:
    """The server, the queues, and live accuracy per model version from reviewed labels."""
    import pandas as pd

    from evaluation.review.estimate import reviewed_accuracy
    from evaluation.review.store import queue_dir, reviewed_rows

    settings, resources = _parts()
    server = resources["annotation"].server()
    running = server.running()
    console.print(f"Label Studio: {'up at ' + server.url if running else 'down'}")
    for path in sorted(queue_dir(settings.layout).glob("*.parquet")):
        queue = pd.read_parquet(path, columns=["reason"])
        pushed = "pushed" if path.with_suffix(".pushed").exists() else "waiting"
        by_reason = ", ".join(f"{k} {v}" for k, v in queue["reason"].value_counts().items())
        console.print(f"queue {path.stem}: {len(queue)} items ({by_reason or 'none'}), {pushed}")
    for row in reviewed_accuracy(reviewed_rows(settings.layout)):
        console.print(
            f"live accuracy v{row.model_version} from {row.reviewed} reviewed labels: "
            f"{row.estimate:.3f} [{row.low:.3f}, {row.high:.3f}] inclusion-weighted "
            f"(unweighted {row.unweighted:.3f}; effective n {row.effective_n:.1f})"
        )


@label_app.command("queue")
def queue(
    day: str = typer.Option(
        "", help="The day of the prediction log (YYYY-MM-DD, UTC); default today."
    ),
) -> None:
    """Build one day's review queue now (the `review` job, a real run on this home's
    instance, shown in the Dagster UI) and push it when Label Studio is up."""
    from datetime import UTC, datetime

    import dagster as dg

    from orchestration.cli.instance import ensure_dagster_home
    from orchestration.definitions import build_definitions

    settings, _ = _parts()
    day = day or datetime.now(UTC).strftime("%Y-%m-%d")
    try:
        datetime.strptime(day, "%Y-%m-%d")
    except ValueError as exc:
        raise typer.BadParameter(f"{day!r} is not a day (YYYY-MM-DD)", param_hint="--day") from exc
    ensure_dagster_home(settings.layout.dagster_home, settings.env)
    job = build_definitions(settings).resolve_job_def("review")
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(partition_key=day, instance=instance, raise_on_error=False)
    if not result.success:
        console.print(f"the review run for {day} failed (run {result.run_id}): see the Dagster UI")
        raise typer.Exit(1)
    (event,) = result.asset_materializations_for_node("review_queue")
    md = {k: v.value for k, v in event.metadata.items()}
    console.print(
        f"review queue {day}: {md['queued']} of {md['logged_answers']} logged answers "
        f"{md['by_reason']}; {md['pushed']} (run {result.run_id})"
    )
    slices: dict[str, Any] = md["drifted_slices"]  # type: ignore[assignment]
    against = f" against {slices['reference']}" if slices.get("reference") else ""
    detail = (
        f" (AUC {slices['auc']:.3f}, {slices['items_over_lift']} texts at >= "
        f"{slices['min_lift']}x; words: {', '.join(slices['terms'][:5])})"
        if slices["status"] == "drifted"
        else ""
    )
    console.print(f"drifted slices: {slices['status']}{against}{detail}")
