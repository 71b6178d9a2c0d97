"""The label loop's sensor and schedule: queues go out, finished annotations come back.

`label_sync_sensor` (every minute while on): push any review queue still waiting (the
server was down when `review_queue` ran), then harvest finished annotations into the
landing zone, where `new_batch_sensor` ingests them like any batch (validation, quarantine,
DVC tag) and `new_labelled_data_sensor` counts them toward a retrain.
"""

import dagster as dg

from data.labels import effective_labels
from data.schema import DatasetSpec
from orchestration.annotation.client import AnnotationServerDown
from orchestration.annotation.loop import harvest_to_landing
from orchestration.jobs import review_job
from orchestration.resources import AnnotationResource, DataRegistryResource, RuntimeHomeResource


def sync(
    home: RuntimeHomeResource,
    annotation: AnnotationResource,
    registry: DataRegistryResource,
    dataset: DatasetSpec,
) -> str:
    """One push + harvest; a line saying what happened (the server down is not an error)."""
    server = annotation.server()
    if not server.client().healthy():
        return f"annotation server {server.url} down: queues and harvests wait"
    pushed = annotation.push_waiting(dataset, effective_labels(dataset.labels, registry.registry()))
    try:
        got = harvest_to_landing(home.layout, server.client(), dataset, server.salt())
    except AnnotationServerDown as exc:
        return f"harvest waits: {exc}"
    out = f"pushed {pushed.tasks if pushed else 0} tasks; harvested {got.rows} rows"
    if got.landed:
        out += f" into landing/{got.landed}"
    if got.conflicts:
        out += f"; {got.conflicts} conflicting items quarantined in {got.conflict_dir}"
    return out


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Push waiting review queues to Label Studio; harvest finished annotations "
    "into the landing zone as a labelled batch.",
)
def label_sync_sensor(
    home: RuntimeHomeResource,
    annotation: AnnotationResource,
    registry: DataRegistryResource,
    dataset: dg.ResourceParam[DatasetSpec],
) -> dg.SkipReason:
    return dg.SkipReason(sync(home, annotation, registry, dataset))


@dg.schedule(
    job=review_job,
    cron_schedule="55 23 * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Each evening, the day's review queue (selected, then pushed to Label Studio).",
)
def review_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    day = context.scheduled_execution_time.strftime("%Y-%m-%d")
    return dg.RunRequest(run_key=f"review-{day}", partition_key=day)
