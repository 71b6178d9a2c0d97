"""Retrain sensors and schedules through `build_sensor_context` / `build_schedule_context`
on a temporary Dagster instance.

Drift and data evidence are real materialisation events written to the instance (as the
drift and ingest assets write them); runs in flight are real run records. Checks: run request
tags name the evidence, de-duplication, one retrain in flight, cooldown, evidence kept
while deferred and dropped once a later retrain covers it, the new-data threshold, the
performance floor on feedback labels, the weekly floor.
"""

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from models.lineage import RUN_TAG_EVIDENCE, RUN_TAG_REASONS
from orchestration.definitions import build_definitions
from orchestration.resources import RuntimeHomeResource, TriggerPolicyResource
from orchestration.sensors.retrain import (
    drift_sensor,
    new_labelled_data_sensor,
    performance_sensor,
    retrain_floor_schedule,
)
from orchestration.settings import DriftwiseSettings

POLICY = TriggerPolicyResource(cooldown_s=600, new_labelled_rows=100, min_feedback=3)


def _drift_event(instance: dg.DagsterInstance, report_id: str, verdict: str = "drift") -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            "drift_report",
            partition="b1",
            metadata={"verdict": verdict, "report_id": report_id, "drifted_signals": "text"},
        )
    )


def _retrain_run(instance: dg.DagsterInstance, status: dg.DagsterRunStatus) -> str:
    defs = build_definitions(DriftwiseSettings())
    job = defs.resolve_job_def("retrain")
    run = instance.create_run_for_job(job, status=status)
    return run.run_id


@pytest.fixture()
def instance(home: Path):
    with dg.instance_for_test() as inst:
        yield inst


def _tick(sensor, instance, cursor=None, **resources):
    ctx = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"trigger_policy": POLICY, **resources}
    )
    return sensor(ctx)


def test_drift_report_starts_one_tagged_retrain(instance):
    _drift_event(instance, "rep-1")
    _drift_event(instance, "rep-2")
    _drift_event(instance, "rep-3", verdict="no_drift")
    result = _tick(drift_sensor, instance)
    (request,) = result.run_requests
    assert request.tags[RUN_TAG_REASONS] == "drift"
    assert "drift:rep-1" in request.tags[RUN_TAG_EVIDENCE]
    assert "drift:rep-2" in request.tags[RUN_TAG_EVIDENCE]
    # Nothing new: no second run.
    assert not _tick(drift_sensor, instance, result.cursor).run_requests


def test_in_flight_defers_and_keeps_evidence(instance):
    _retrain_run(instance, dg.DagsterRunStatus.STARTED)
    _drift_event(instance, "rep-9")
    deferred = _tick(drift_sensor, instance)
    assert not deferred.run_requests
    assert "in flight" in deferred.skip_reason.skip_message
    assert deferred.cursor == "0"  # evidence not consumed


def test_cooldown_defers_and_keeps_evidence(instance):
    _retrain_run(instance, dg.DagsterRunStatus.SUCCESS)  # just finished: cooldown running
    _drift_event(instance, "rep-new")  # newer than that retrain: deferred by cooldown
    cooling = _tick(drift_sensor, instance)
    assert "cooldown" in cooling.skip_reason.skip_message
    assert cooling.cursor == "0"


def test_evidence_older_than_last_retrain_is_covered(instance):
    _drift_event(instance, "rep-old")
    _retrain_run(instance, dg.DagsterRunStatus.SUCCESS)
    result = _tick(drift_sensor, instance)
    assert not result.run_requests
    assert result.cursor != "0"  # consumed: that retrain's snapshot held the batch


def test_failed_retrain_does_not_cover_evidence(instance):
    _drift_event(instance, "rep-old")
    _retrain_run(instance, dg.DagsterRunStatus.FAILURE)  # crashed before training anything
    result = _tick(drift_sensor, instance)
    # Not covered; only the cooldown (counted from any retrain start) defers it.
    assert "cooldown" in result.skip_reason.skip_message
    assert result.cursor == "0"


def test_more_than_one_page_of_reports_is_read(instance):
    for i in range(205):
        _drift_event(instance, f"n{i}", verdict="no_drift")
    _drift_event(instance, "late")
    (request,) = _tick(drift_sensor, instance).run_requests
    assert "drift:late" in request.tags[RUN_TAG_EVIDENCE]


def test_new_labelled_data_threshold(instance):
    for rows in (60, 30):
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                "ingested_batch", partition="b", metadata={"labelled": True, "rows_accepted": rows}
            )
        )
    below = _tick(new_labelled_data_sensor, instance)
    assert "90/100" in below.skip_reason.skip_message
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            "ingested_batch", partition="c", metadata={"labelled": False, "rows_accepted": 500}
        )
    )
    assert not _tick(new_labelled_data_sensor, instance, below.cursor).run_requests
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            "ingested_batch", partition="d", metadata={"labelled": True, "rows_accepted": 20}
        )
    )
    fired = _tick(new_labelled_data_sensor, instance, below.cursor)
    (request,) = fired.run_requests
    assert request.tags[RUN_TAG_REASONS] == "new_data"
    assert json.loads(fired.cursor)["rows"] == 0


def test_performance_sensor_on_feedback_labels(instance, home: Path):
    (home / "prediction_log").mkdir()
    (home / "feedback").mkdir()
    preds = [{"request_id": f"r{i}", "label": "positive"} for i in range(4)]
    truth = [
        {"request_id": f"r{i}", "label": lab}
        for i, lab in enumerate(["negative", "negative", "positive", "negative"])
    ]
    (home / "prediction_log" / "p.jsonl").write_text("\n".join(map(json.dumps, preds)))
    (home / "feedback" / "f.jsonl").write_text("\n".join(map(json.dumps, truth)))
    result = _tick(performance_sensor, instance, home=RuntimeHomeResource(path=str(home)))
    (request,) = result.run_requests
    assert request.tags[RUN_TAG_REASONS] == "performance"
    assert "feedback-4-0.250" in request.tags[RUN_TAG_EVIDENCE]


def test_performance_sensor_on_self_contained_feedback(instance, home: Path):
    """Feedback records as bento/engine.py writes them (with what was served) need no log
    join: predictions the sampled log skipped still count; challenger feedback does not; a
    prediction labelled again (a client retry) counts once."""
    (home / "feedback").mkdir()
    rows = [
        {"request_id": f"r{i}-0", "label": "positive", "predicted": pred, "arm": arm}
        for i, (pred, arm) in enumerate(
            [
                ("negative", "champion"),
                ("negative", "champion"),
                ("positive", "champion"),
                ("negative", "champion"),
                ("positive", "challenger"),
            ]
        )
    ]
    rows += [rows[2]] * 3  # the one right answer, sent four times
    (home / "feedback" / "f.jsonl").write_text("\n".join(map(json.dumps, rows)))
    result = _tick(performance_sensor, instance, home=RuntimeHomeResource(path=str(home)))
    (request,) = result.run_requests
    assert "feedback-4-0.250" in request.tags[RUN_TAG_EVIDENCE]


def test_performance_sensor_label_free_estimate(instance, home: Path):
    home_res = RuntimeHomeResource(path=str(home))
    assert "no feedback" in _tick(performance_sensor, instance, home=home_res).skip_message
    instance.report_runless_asset_event(
        dg.AssetMaterialization("reference_free_evaluation", metadata={"estimated_accuracy": 0.91})
    )
    assert "0.910 >= floor" in _tick(performance_sensor, instance, home=home_res).skip_message
    instance.report_runless_asset_event(
        dg.AssetMaterialization("reference_free_evaluation", metadata={"estimated_accuracy": 0.55})
    )
    (request,) = _tick(performance_sensor, instance, home=home_res).run_requests
    assert request.tags[RUN_TAG_REASONS] == "performance"


def test_weekly_floor_schedule(instance):
    monday = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)  # runs are created "now"
    ctx = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=monday, resources={"trigger_policy": POLICY}
    )
    request = retrain_floor_schedule(ctx)
    assert isinstance(request, dg.RunRequest)
    assert request.tags[RUN_TAG_REASONS] == "schedule"
    _retrain_run(instance, dg.DagsterRunStatus.SUCCESS)
    ctx = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=monday, resources={"trigger_policy": POLICY}
    )
    skipped = retrain_floor_schedule(ctx)
    assert isinstance(skipped, dg.SkipReason)


def _snapshot_event(instance: dg.DagsterInstance) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization("training_snapshot", metadata={"dvc_tag": "snapshot/x"})
    )


def _ingest_event(instance: dg.DagsterInstance, labelled: bool, rows: int) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            "ingested_batch", partition="b", metadata={"labelled": labelled, "rows_accepted": rows}
        )
    )


def test_drift_without_new_labelled_rows_is_an_alert_not_a_retrain(instance):
    """Drift on an unlabelled batch after the last snapshot launches nothing: the evidence is
    consumed and returned as an observation on training_snapshot naming the report; once a
    labelled batch lands, the next drift report launches a retrain."""
    _snapshot_event(instance)
    _ingest_event(instance, labelled=False, rows=1084)
    _drift_event(instance, "rep-unlabelled")
    alert = _tick(drift_sensor, instance)
    assert not alert.run_requests
    assert "no labelled rows" in alert.skip_reason.skip_message
    assert alert.cursor != "0"  # consumed: not re-raised every tick
    (observed,) = alert.asset_events  # the daemon stores it with the tick
    assert observed.asset_key == dg.AssetKey("training_snapshot")
    md = observed.metadata
    assert md["drift_reports"].value == ["rep-unlabelled"]
    assert "no labelled rows" in md["why"].value

    _ingest_event(instance, labelled=True, rows=40)
    _drift_event(instance, "rep-labelled")
    (request,) = _tick(drift_sensor, instance, alert.cursor).run_requests
    assert "drift:rep-labelled" in request.tags[RUN_TAG_EVIDENCE]


def test_schedule_floor_skips_when_nothing_new(instance):
    """The weekly floor launches nothing when no labelled row came since the last snapshot."""
    _snapshot_event(instance)
    ctx = dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=dt.datetime(2026, 12, 7, 3, tzinfo=dt.UTC),
        resources={"trigger_policy": POLICY},
    )
    skipped = retrain_floor_schedule(ctx)
    assert isinstance(skipped, dg.SkipReason) and "no labelled rows" in skipped.skip_message


def test_performance_sensor_on_reviewed_labels(instance, home: Path):
    """No feedback: the label loop's reviewed labels of the served champion's version speak,
    inclusion-weighted (evaluation/review/estimate.py), and only an interval wholly under
    the floor is evidence. Reviewed rows of another version are not the champion's."""
    from bento.state import ServingState, write_state

    write_state(home, ServingState(champion="driftwise-sentiment:v2"))
    home_res = RuntimeHomeResource(path=str(home))
    harvested = home / "review" / "harvested"
    harvested.mkdir(parents=True)

    def reviewed(name: str, version: str, right: list[bool]) -> None:
        pd.DataFrame(
            {
                "text": [f"{name} {i}" for i in range(len(right))],
                "label": ["positive" if ok else "negative" for ok in right],
                "predicted_label": "positive",
                "inclusion_probability": 0.5,
                "model_version": version,
            }
        ).to_csv(harvested / f"{name}.csv", index=False)

    reviewed("other", "1", [False] * 40)  # v1's errors say nothing about the served v2
    assert "no feedback" in _tick(performance_sensor, instance, home=home_res).skip_message
    reviewed("few", "2", [True, False, False])  # 0.33, but 3 labels: the interval is wide
    skipped = _tick(performance_sensor, instance, home=home_res).skip_message
    assert "reviewed labels: v2 0.333" in skipped and "inclusion-weighted" in skipped
    reviewed("more", "2", [True] * 3 + [False] * 37)
    result = _tick(performance_sensor, instance, home=home_res)
    (request,) = result.run_requests
    assert request.tags[RUN_TAG_REASONS] == "performance"
    assert "reviewed-43-" in request.tags[RUN_TAG_EVIDENCE]
