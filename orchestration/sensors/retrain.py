"""Sensors and schedules that start retrains, all behind one guard (sensors/guard.py).

| trigger | default | evidence id on the run |
|---|---|---|
| drift_sensor | RUNNING | drift report id (`drift_report`, `traffic_drift_report`) |
| performance_sensor | RUNNING | live accuracy from feedback, else the label-free estimate |
| new_labelled_data_sensor | STOPPED | storage id of the batch that crossed the threshold |
| retrain_floor_schedule | STOPPED | the ISO week |
| drift_check_schedule | STOPPED | (runs the traffic drift check; the drift sensor reacts) |

Drift and performance react to evidence the platform produces itself, so they run by default.
New-data and periodic retrains are policies a team opts into (and a laptop is not always on).
Evidence that arrives while a retrain is in flight or cooling down is kept (the cursor does
not move past it) and acted on later; evidence older than the start of the last retrain is
dropped as covered, because that retrain's snapshot already held its batch.

A retrain can only change the model through new labelled rows. When no labelled row was
ingested since the last training snapshot, a trigger launches nothing: drift evidence is
recorded as an alert (an observation on `training_snapshot`, naming the drift reports) and
consumed; the label loop turns such texts into labelling requests.
"""

import json
import time

import dagster as dg

from models.lineage import RUN_TAG_TRIGGER
from orchestration.jobs import drift_check_job, retrain_job
from orchestration.resources import RuntimeHomeResource, TriggerPolicyResource
from orchestration.sensors.guard import RETRAIN_JOB, Evidence, RetrainDecision, decide_retrain

_ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]
BATCH_DRIFT = dg.AssetKey("drift_report")
DRIFT_ASSETS = [BATCH_DRIFT, dg.AssetKey("traffic_drift_report")]


def retrain_state(instance: dg.DagsterInstance) -> tuple[list[str], float | None]:
    """(ids of retrain runs queued or running, creation time of the latest retrain run)."""
    active = instance.get_run_ids(dg.RunsFilter(job_name=RETRAIN_JOB, statuses=_ACTIVE))
    latest = instance.get_run_records(dg.RunsFilter(job_name=RETRAIN_JOB), limit=1)
    return list(active), (latest[0].create_timestamp.timestamp() if latest else None)


def last_successful_retrain(instance: dg.DagsterInstance) -> float | None:
    """Creation time of the latest retrain that succeeded (its snapshot covers older batches).

    A retrain blocked by the promotion gate still trained on that snapshot, so it counts
    too; a failed or cancelled one does not.
    """
    records = instance.get_run_records(
        dg.RunsFilter(
            job_name=RETRAIN_JOB,
            statuses=[dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE],
        ),
        limit=20,
    )
    for record in records:
        if record.dagster_run.status == dg.DagsterRunStatus.SUCCESS or _trained(instance, record):
            return record.create_timestamp.timestamp()
    return None


def _trained(instance: dg.DagsterInstance, record: dg.RunRecord) -> bool:
    events = instance.all_logs(
        record.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    )
    return any(
        e.dagster_event is not None and e.dagster_event.asset_key == dg.AssetKey("candidate_model")
        for e in events
    )


SNAPSHOT = dg.AssetKey("training_snapshot")
NOTHING_NEW = (
    "no labelled rows ingested since the last training snapshot: a retrain would train on "
    "the same data"
)


def labelled_rows_since_snapshot(instance: dg.DagsterInstance) -> int | None:
    """Labelled rows accepted by ingests recorded after the latest training snapshot (None:
    no snapshot yet, so nothing was trained and any trigger may help)."""
    latest = instance.fetch_materializations(SNAPSHOT, limit=1).records
    if not latest:
        return None
    rows = 0
    page_cursor: str | None = None
    while True:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey("ingested_batch"), after_storage_id=latest[0].storage_id
            ),
            limit=500,
            cursor=page_cursor,
        )
        for record in page.records:
            md = record.asset_materialization.metadata  # type: ignore[union-attr]
            if md.get("labelled") is not None and md["labelled"].value:
                rows += int(md["rows_accepted"].value)  # type: ignore[arg-type]
        if not page.has_more:
            return rows
        page_cursor = page.cursor


def _drift_alert(evidence: list[Evidence]) -> dg.AssetObservation:
    return dg.AssetObservation(
        asset_key=SNAPSHOT,
        metadata={
            "alert": "drift, retrain not launched",
            "why": NOTHING_NEW,
            "drift_reports": dg.MetadataValue.json([e.evidence_id for e in evidence]),
            "shift": " | ".join(sorted({e.summary for e in evidence if e.summary}))[:500],
        },
    )


def _to_result(decision: RetrainDecision, cursor: str) -> dg.SensorResult:
    if not decision.launch:
        return dg.SensorResult(skip_reason=decision.skip_reason, cursor=cursor)
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=decision.run_key, tags=decision.tags)],
        cursor=cursor,
    )


def drift_evidence(
    instance: dg.DagsterInstance, after: int, covered_before: float | None
) -> tuple[list[Evidence], int]:
    """Drift verdicts materialised after storage id `after`; returns (evidence, newest id)."""
    evidence: list[Evidence] = []
    newest = after
    for key in DRIFT_ASSETS:
        page_cursor: str | None = None
        while True:  # page through everything new, so no record is skipped for good
            page = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key, after_storage_id=after),
                limit=200,
                cursor=page_cursor,
                ascending=True,
            )
            for record in page.records:
                newest = max(newest, record.storage_id)
                md = record.asset_materialization.metadata  # type: ignore[union-attr]
                if md.get("verdict") is None or md["verdict"].value != "drift":
                    continue
                # A batch's drift is covered by a later successful retrain (its snapshot held
                # the batch); serving-traffic drift is not covered by any snapshot.
                if (
                    key == BATCH_DRIFT
                    and covered_before is not None
                    and record.timestamp < covered_before
                ):
                    continue
                # The kind of shift when the report says it (older reports: the signal names).
                detail = md.get("shift") or md["drifted_signals"]
                evidence.append(Evidence("drift", str(md["report_id"].value), str(detail.value)))
            if not page.has_more:
                break
            page_cursor = page.cursor
    return evidence, newest


@dg.sensor(
    job=retrain_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A drift report with verdict 'drift' starts one retrain (debounced).",
)
def drift_sensor(context: dg.SensorEvaluationContext, trigger_policy: TriggerPolicyResource):
    after = int(context.cursor or 0)
    in_flight, last_start = retrain_state(context.instance)
    evidence, newest = drift_evidence(
        context.instance, after, last_successful_retrain(context.instance)
    )
    decision = decide_retrain(
        evidence, in_flight, last_start, time.time(), trigger_policy.cooldown_s
    )
    if decision.launch and labelled_rows_since_snapshot(context.instance) == 0:
        # Consumed (the cursor moves on): the alert is the record, not a retry every tick.
        return dg.SensorResult(
            skip_reason=f"drift alert only: {NOTHING_NEW}",
            cursor=str(newest),
            asset_events=[_drift_alert(evidence)],
        )
    # Deferred evidence stays ahead of the cursor, so it is seen again next tick.
    keep = evidence and not decision.launch
    return _to_result(decision, str(after if keep else newest))


FEEDBACK_WINDOW = 2000


def live_accuracy(home: RuntimeHomeResource, min_feedback: int) -> tuple[float, int] | None:
    """Champion accuracy on the most recent predictions that got feedback labels.

    Only the serving arm `champion` counts (challenger/shadow records of the same request
    would be counted twice), and only a recent window, so feedback on a model that has
    since been replaced fades out instead of re-triggering retrains forever.
    """
    from bento.prediction_log import read_jsonl_log
    from evaluation.traffic.feedback import champion_accuracy

    feedback = read_jsonl_log(home.layout.feedback, newest=FEEDBACK_WINDOW).frame
    return champion_accuracy(
        feedback, lambda: read_jsonl_log(home.layout.prediction_log).frame, min_feedback
    )


def reviewed_accuracy_of_champion(home: RuntimeHomeResource):  # type: ignore[no-untyped-def]
    """The served champion's accuracy from the label loop's reviewed labels (a
    WeightedAccuracy), or None when nothing of that version was reviewed."""
    from bento.state import read_state, tag_version
    from evaluation.review.estimate import reviewed_accuracy
    from evaluation.review.store import reviewed_rows

    version = tag_version(read_state(home.root).champion)
    rows = reviewed_rows(home.layout)
    found = [r for r in reviewed_accuracy(rows) if r.model_version == version]
    return found[0] if found else None


@dg.sensor(
    job=retrain_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Live accuracy (feedback labels, else reviewed labels) or its label-free "
    "estimate below the "
    "floor starts one retrain (debounced).",
)
def performance_sensor(
    context: dg.SensorEvaluationContext,
    home: RuntimeHomeResource,
    trigger_policy: TriggerPolicyResource,
):
    evidence: list[Evidence] = []
    live = live_accuracy(home, trigger_policy.min_feedback)
    reviewed = reviewed_accuracy_of_champion(home) if live is None else None
    if live is not None:
        accuracy, n = live
        source = f"feedback accuracy {accuracy:.3f} over {n} labels"
        if accuracy < trigger_policy.performance_floor:
            evidence.append(Evidence("performance", f"feedback-{n}-{accuracy:.3f}", source))
    elif reviewed is not None:
        # the review queue over-samples hard texts: only the inclusion-weighted estimate
        # says anything about all traffic, and only its interval's top below the floor
        # is evidence (a handful of reviewed labels cannot trigger on noise)
        source = (
            f"reviewed labels: v{reviewed.model_version} {reviewed.estimate:.3f} "
            f"[{reviewed.low:.3f}, {reviewed.high:.3f}] over {reviewed.reviewed} "
            "(inclusion-weighted)"
        )
        if reviewed.high < trigger_policy.performance_floor:
            key = f"reviewed-{reviewed.reviewed}-{reviewed.estimate:.3f}"
            evidence.append(Evidence("performance", key, source))
    else:
        event = context.instance.get_latest_materialization_event(
            dg.AssetKey("reference_free_evaluation")
        )
        if event is None or event.asset_materialization is None:
            return dg.SkipReason("no feedback labels and no label-free estimate yet")
        md = event.asset_materialization.metadata
        if "estimated_accuracy" not in md:
            return dg.SkipReason("no feedback labels and no label-free estimate yet")
        accuracy = float(md["estimated_accuracy"].value)  # type: ignore[arg-type]
        source = f"label-free estimate {accuracy:.3f}"
        if accuracy < trigger_policy.performance_floor:
            evidence.append(Evidence("performance", f"estimate-{int(event.timestamp)}", source))
    if not evidence:
        return dg.SkipReason(f"{source} >= floor {trigger_policy.performance_floor}")
    in_flight, last_start = retrain_state(context.instance)
    decision = decide_retrain(
        evidence, in_flight, last_start, time.time(), trigger_policy.cooldown_s
    )
    if decision.launch and labelled_rows_since_snapshot(context.instance) == 0:
        return dg.SkipReason(f"{source} below the floor, but {NOTHING_NEW}")
    return _to_result(decision, context.cursor or "")


@dg.sensor(
    job=retrain_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Enough new labelled rows since it last fired start a retrain (debounced).",
)
def new_labelled_data_sensor(
    context: dg.SensorEvaluationContext, trigger_policy: TriggerPolicyResource
):
    state = json.loads(context.cursor) if context.cursor else {"after": 0, "rows": 0}
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=dg.AssetKey("ingested_batch"), after_storage_id=state["after"]
        ),
        limit=500,
        ascending=True,
    ).records
    for record in records:
        md = record.asset_materialization.metadata  # type: ignore[union-attr]
        state["after"] = max(state["after"], record.storage_id)
        if md.get("labelled") is not None and md["labelled"].value:
            state["rows"] += int(md["rows_accepted"].value)  # type: ignore[arg-type,operator]
    if state["rows"] < trigger_policy.new_labelled_rows:
        return dg.SensorResult(
            skip_reason=f"{state['rows']}/{trigger_policy.new_labelled_rows} new labelled rows",
            cursor=json.dumps(state),
        )
    in_flight, last_start = retrain_state(context.instance)
    decision = decide_retrain(
        [Evidence("new_data", f"rows-after-{state['after']}")],
        in_flight,
        last_start,
        time.time(),
        trigger_policy.cooldown_s,
    )
    if decision.launch:
        state["rows"] = 0
    return _to_result(decision, json.dumps(state))


@dg.schedule(
    job=retrain_job,
    cron_schedule="0 3 * * 1",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Weekly floor: retrain if no retrain ran in floor_days.",
)
def retrain_floor_schedule(
    context: dg.ScheduleEvaluationContext, trigger_policy: TriggerPolicyResource
):
    in_flight, last_start = retrain_state(context.instance)
    when = context.scheduled_execution_time
    now = when.timestamp() if when else time.time()
    if last_start is not None and now - last_start < trigger_policy.floor_days * 86400:
        return dg.SkipReason(f"a retrain ran within {trigger_policy.floor_days} days")
    week = time.strftime("%G-W%V", time.gmtime(now))
    decision = decide_retrain(
        [Evidence("schedule", week)],
        in_flight,
        last_start,
        now,
        trigger_policy.cooldown_s,
        ignore_cooldown=True,
    )
    if not decision.launch:
        return dg.SkipReason(decision.skip_reason)
    if labelled_rows_since_snapshot(context.instance) == 0:
        return dg.SkipReason(NOTHING_NEW)
    return dg.RunRequest(run_key=decision.run_key, tags=decision.tags)


drift_check_schedule = dg.ScheduleDefinition(
    name="drift_check_schedule",
    job=drift_check_job,
    cron_schedule="0 * * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Hourly drift check of the serving-log window; the drift sensor reacts.",
    tags={RUN_TAG_TRIGGER: "schedule"},
)
