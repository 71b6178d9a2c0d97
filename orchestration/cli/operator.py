"""The operator commands: `driftwise status`, `promote`, `rollback`, `explain` (rich tables).

They act on a real home: MLflow aliases, the running service's admin API, the rollout
state, the Dagster instance (drift verdicts, sensor switches) and the decision records.
"""

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from evaluation.promotion.record import load_record
from evaluation.rollout.store import read_pending, read_rollout, summary
from models.model_registry import CHALLENGER, CHAMPION, PREVIOUS, aliased_version
from orchestration.cli.serve import tracking_config
from orchestration.cli.tables import rule_rows
from orchestration.resources import ServingResource
from orchestration.settings import DriftwiseSettings


def _kv_table(title: str, rows: list[tuple[str, Any]]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in rows:
        table.add_row(escape(key), "-" if value is None or value == "" else escape(str(value)))
    return table


def _sensors(settings: DriftwiseSettings, daemon: bool = True) -> list[tuple[str, str]]:
    """Each sensor and schedule: its stored switch in the instance, else its default - and
    "stopped (no daemon)" for a switched-on one when no daemon runs it."""
    import dagster as dg

    from orchestration.definitions import build_definitions

    repo = build_definitions(settings).get_repository_def()
    instance = dg.DagsterInstance.get()
    # DECLARED_IN_CODE = nobody switched it in the UI: the code's default applies.
    stored = {
        s.name: s.status.value
        for s in instance.all_instigator_state()
        if s.status.value != "DECLARED_IN_CODE"
    }
    rows = []
    for sensor in repo.sensor_defs:
        default = (
            "RUNNING" if sensor.default_status == dg.DefaultSensorStatus.RUNNING else "STOPPED"
        )
        rows.append((f"sensor {sensor.name}", stored.get(sensor.name, f"{default} (default)")))
    for schedule in repo.schedule_defs:
        running = schedule.default_status == dg.DefaultScheduleStatus.RUNNING
        default = "RUNNING" if running else "STOPPED"
        rows.append(
            (f"schedule {schedule.name}", stored.get(schedule.name, f"{default} (default)"))
        )
    if daemon:
        return rows
    return [
        (k, f"stopped (no daemon; switched {v})" if v.startswith("RUNNING") else v) for k, v in rows
    ]


def _drift(settings: DriftwiseSettings) -> str:
    import dagster as dg

    instance = dg.DagsterInstance.get()
    records = instance.fetch_materializations(dg.AssetKey("drift_report"), limit=1).records
    if not records:
        return "no drift report yet"
    event = records[0]
    md = {k: v.value for k, v in event.asset_materialization.metadata.items()}  # type: ignore[union-attr]
    return f"{md.get('verdict')} ({md.get('drifted_signals', '-')}) on batch {event.partition_key}"


def status(settings: DriftwiseSettings, console: Console) -> dict[str, Any]:
    tracking = tracking_config(settings)
    name = tracking.registered_model_name
    settled = _settle_pending(settings, tracking)
    aliases = {a: aliased_version(tracking, name, a) for a in (CHAMPION, CHALLENGER, PREVIOUS)}
    serving = ServingResource(home=str(settings.root))
    roles = serving.roles()
    client = serving.client()
    rollout = read_rollout(settings.root)
    info: dict[str, Any] = {
        "model": name,
        **{a: (f"v{v.version}" if v else None) for a, v in aliases.items()},
        "service": f"{client.url} ({'up' if roles else 'not answering'})"
        if client
        else "not running",
    }
    if roles:
        info["served"] = (
            f"champion v{roles['champion_version']}, challenger "
            f"{'v' + roles['challenger_version'] if roles['challenger_version'] else 'none'}, "
            f"routing {roles['mode']} {float(roles['weight'] or 0):.0%}"
        )
        for version, cost in sorted(_served_costs(client).items()):
            info[f"cost v{version}"] = served_cost(cost)
    if rollout is not None:
        s = summary(rollout)
        info["rollout"] = f"{s['rollout_id']} {s['status']} at stage {s['stage']} ({s['routing']})"
        info["last decision"] = f"{s['last_verdict']}: {s['last_reasons']}"
    if settled is not None:
        info["settled now"] = f"{settled.action}: v{settled.champion} (a move left pending)"
    info["drift"] = _drift(settings)
    info.update(_last_runs())
    daemon = heartbeat_now()
    info["dagster-daemon"] = daemon_line(settings, daemon)
    console.print(_kv_table(f"Driftwise status ({settings.root})", list(info.items())))
    info["daemon"] = daemon
    title = "Sensors and schedules" + ("" if daemon else " (no dagster-daemon is running)")
    console.print(_kv_table(title, _sensors(settings, daemon)))
    return info


def _settle_pending(settings: DriftwiseSettings, tracking: Any) -> Any:
    """A rollback whose background settling died: its registry side and record, now (the
    aliases shown must be where the traffic went)."""
    from evaluation.rollout.controller import RegistryAliases, RolloutController
    from orchestration.cli.rollback import home_router

    if read_pending(settings.root) is None:
        return None
    controller = RolloutController(settings.root, home_router(settings.root))
    return controller.settle(RegistryAliases(tracking))


def _served_costs(client: Any) -> dict[str, dict[str, Any]]:
    """Per version: cost units, predictions, per 1k, escalations since the service started."""
    from bento.admin_client import AdminError

    try:
        return dict(client.state().get("cost") or {})
    except AdminError:
        return {}


def served_cost(cost: dict[str, Any]) -> str:
    """One version's served cost since the service started, as status prints it."""
    n = int(cost.get("predictions", 0))
    escalated = int(cost.get("escalated", 0))
    share = f", {escalated / n:.0%} escalated to the accurate tier" if n else ""
    per_1k = float(cost.get("cost_units_per_1k", 0.0))
    return f"{per_1k:.3g} units per 1k predictions ({n} served{share})"


def daemon_line(settings: DriftwiseSettings, heartbeat: bool) -> str:
    """Who runs the sensors now, in one line (`driftwise status`, `driftwise daemon status`)."""
    from orchestration.cli.daemon import kept_pair

    kept = kept_pair(settings.layout.dagster_home)
    if kept is not None:
        beat = "heartbeat current" if heartbeat else "no heartbeat yet"
        return (
            f"kept by `driftwise daemon up` (daemon pid {kept['daemon']}, code server pid "
            f"{kept['code_server']}; {beat}); `driftwise daemon down` stops it"
        )
    if heartbeat:
        return "running (a `driftwise run` or `make dagster`): the sensors stop with it"
    return "not running: dropped files wait; `driftwise daemon up` keeps the sensors running"


def heartbeat_now() -> bool:
    import dagster as dg

    from orchestration.cli.runs import daemon_alive

    return daemon_alive(dg.DagsterInstance.get())


def _last_runs() -> dict[str, str | None]:
    """The last run of each job the loop waits for, with its failure if it failed."""
    import dagster as dg

    from orchestration.cli.runs import describe, last_run
    from orchestration.sensors.guard import RETRAIN_JOB
    from orchestration.sensors.rollout import CANARY_FINISH_JOB

    instance = dg.DagsterInstance.get()
    jobs = ("ingest", RETRAIN_JOB, CANARY_FINISH_JOB)
    return {f"last {job} run": describe(instance, last_run(instance, job)) for job in jobs}


def promote_now(settings: DriftwiseSettings, console: Console) -> dict[str, Any]:
    """Skip the running rollout's remaining stages: the operator's word replaces the test.

    The controller marks the rollout `promoting` (on its timeline), then the same finish as
    the sensor's runs (canary_result: service, aliases, decision record)."""
    from evaluation.rollout.controller import RolloutController

    state = RolloutController(settings.root, None).promote_now()
    return finish(settings, state.rollout_id)


def finish(settings: DriftwiseSettings, rollout_id: str) -> dict[str, Any]:
    """Run the `canary_finish` job in this process (as the sensor's run would)."""
    import dagster as dg

    from orchestration.definitions import build_definitions

    job = build_definitions(settings).resolve_job_def("canary_finish")
    result = job.execute_in_process(
        instance=dg.DagsterInstance.get(),
        run_config={"ops": {"canary_result": {"config": {"rollout_id": rollout_id}}}},
        tags={"driftwise/trigger": "cli"},
    )
    return dict(result.output_for_node("canary_result"))


def _scalar(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_scalar(v)}" for k, v in list(value.items())[:8])
    if isinstance(value, list):
        return f"[{len(value)} items]"
    return str(value)


def _when(value: Any) -> str:
    """Epoch seconds as UTC time (records store timestamps as numbers)."""
    import datetime as dt

    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return _scalar(value)


def explain_run(console: Console, run_id: str) -> bool:
    """A Dagster run as tables: what ran, why, its status and each failed step's whole error
    (what `driftwise run` prints the first lines of). False if no run has that id prefix."""
    import dagster as dg

    from orchestration.cli.runs import failures, find_run

    instance = dg.DagsterInstance.get()
    run = find_run(instance, run_id)
    if run is None:
        return False
    record = instance.get_run_record_by_id(run.run_id)
    rows: list[tuple[str, Any]] = [("job", run.job_name), ("status", run.status.value)]
    if record is not None:
        rows += [("started", _when(record.start_time)), ("ended", _when(record.end_time))]
    rows += [(k, v) for k, v in sorted(run.tags.items()) if not k.startswith(".dagster")]
    console.print(_kv_table(f"Run {run.run_id}", rows))
    for step, error in failures(instance, run.run_id, lines=400, stack=True):
        console.print(f"[bold red]{step}[/bold red]\n    {escape(error)}")
    return True


def explain(settings: DriftwiseSettings, console: Console, decision: str) -> None:
    """A decision record as readable tables: verdict and reasons first, then each section.
    A Dagster run id (or its first 8 characters) shows that run and its failed steps."""
    folder = settings.layout.decisions
    matches = sorted(folder.glob(f"{decision}*.json")) if folder.exists() else []
    if not matches and explain_run(console, decision):
        return
    if len(matches) != 1:
        raise LookupError(
            f"{len(matches)} decision records match {decision!r} in {folder}"
            + (": give more characters" if matches else "")
        )
    record = load_record(folder, Path(matches[0]).stem)
    sections = record.sections
    verdict = sections.get("verdict", {})
    head = Table(
        title=f"Decision {record.record_id[:12]}: "
        f"{'PASSED' if verdict.get('passed') else 'BLOCKED'}",
        title_justify="left",
    )
    head.add_column("rule")
    head.add_column("ok")
    head.add_column("reason", overflow="fold")
    reasons = verdict.get("reasons", [])
    for row in rule_rows(reasons, limit=len(reasons)):  # explain shows them all
        head.add_row(*row)
    console.print(head)
    for name, payload in sections.items():
        if name == "verdict":
            continue
        if isinstance(payload, dict):
            rows = [
                (k, _when(v) if k.endswith("_at") else _scalar(v))
                for k, v in payload.items()
                if k != "timeline"
            ]
            console.print(_kv_table(f"section {name}", rows))
            if name == "canary":
                timeline = Table(title="canary timeline", title_justify="left")
                for col in ("s", "stage", "share", "verdict", "reasons"):
                    timeline.add_column(col, overflow="fold")
                start = payload.get("started_at") or 0
                for e in payload.get("timeline", []):
                    timeline.add_row(
                        f"{e['at'] - start:.0f}",
                        e["stage"],
                        f"{e['weight']:.0%}",
                        e["verdict"],
                        "; ".join(e["reasons"]),
                    )
                console.print(timeline)
        else:
            console.print(_kv_table(f"section {name}", [(name, _scalar(payload))]))
