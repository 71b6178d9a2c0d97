"""The rollout sensor: every tick, the rollout controller (evaluation/rollout/controller.py)
reads the state and the service's logs, lets the pure state machine decide, and applies the
split through the service's admin API - under the rollout lock, with its crash rules.
Promote and rollback launch the `canary_finish` job (one per rollout: the run key), which
serves the new champion, moves aliases and writes the decision record.
"""

from pathlib import Path

import dagster as dg

from evaluation.rollout.controller import RolloutController, Tick
from evaluation.rollout.machine import RolloutState
from orchestration.resources import RuntimeHomeResource, ServingResource

CANARY_FINISH_JOB = "canary_finish"


def rollout_tick(home: Path, serving: ServingResource, now: float | None = None) -> Tick:
    """One look at the running rollout (no-op without one)."""
    return RolloutController(home, serving.router()).tick(now)


def _finish_request(state: RolloutState) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=f"canary-finish-{state.rollout_id}",
        run_config={"ops": {"canary_result": {"config": {"rollout_id": state.rollout_id}}}},
        tags={"driftwise/rollout": state.rollout_id, "driftwise/verdict": state.status},
    )


@dg.sensor(
    name="rollout_sensor",
    job_name=CANARY_FINISH_JOB,
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Ticks the staged canary: per-arm evidence from the serving logs -> hold / "
    "advance / promote / roll back -> weights through the admin API.",
)
def rollout_sensor(
    context: dg.SensorEvaluationContext, serving: ServingResource, home: RuntimeHomeResource
):
    result = rollout_tick(home.root, serving)
    state = result.state
    if result.note:
        context.log.error(result.note)
        return dg.SkipReason(result.note)
    if state is None:
        return dg.SkipReason("no rollout")
    if state.status in ("promoting", "rolled_back") and not state.recorded:
        if result.decision is not None:
            context.log.info(
                "rollout %s: %s (%s)%s",
                state.rollout_id,
                result.decision.verdict,
                "; ".join(result.decision.reasons),
                f", traffic flipped in {result.flip_seconds:.3f}s" if result.flip_seconds else "",
            )
        return _finish_request(state)
    if result.decision is None:
        return dg.SkipReason(f"rollout {state.rollout_id} is {state.status}")
    return dg.SkipReason(
        f"{state.current.name}: {result.decision.verdict} ({'; '.join(result.decision.reasons)})"
    )
