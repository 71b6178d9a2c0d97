"""The rollout sensor: every tick, read the rollout state and the serving logs, let the pure
state machine decide (evaluation/rollout/machine.py), apply the traffic split through the
service's admin API, persist the state - all under the rollout lock.

Crash safety: the state is written before the routing is applied, flagged `applied=False`
until the service confirms it, so a tick that dies in between is resumed by the next one
(re-applied), while a split nobody asked for is a misconfiguration (rolled back). A rollback
flips the weight first - through the API, or, with the service down, in the serving state
it restarts from - and then records. Promote and rollback launch the `canary_finish` job
(one per rollout: the run key), which moves aliases and writes the decision record.
"""

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from bento.admin_client import AdminError
from bento.prediction_log import read_jsonl_log
from bento.state import set_routing_offline
from data.home import HomeLayout
from evaluation.rollout.machine import Decision, RolloutState, ServiceView, tick
from evaluation.rollout.store import CorruptState, locked, read_rollout, write_rollout
from orchestration.resources import RuntimeHomeResource, ServingResource

log = logging.getLogger(__name__)
CANARY_FINISH_JOB = "canary_finish"


@dataclass
class TickResult:
    state: RolloutState | None
    decision: Decision | None = None
    flip_seconds: float | None = None  # decision -> 100% champion traffic, on a rollback
    note: str = ""


def _flip_off(home: Path, serving: ServingResource) -> float:
    started = time.perf_counter()
    client = serving.client()
    try:
        if client is None:
            raise AdminError(0, "no server")
        client.set_routing("off", 0.0)
    except AdminError:
        set_routing_offline(home, "off", 0.0)  # the service restarts from this
    return time.perf_counter() - started


def rollout_tick(home: Path, serving: ServingResource, now: float | None = None) -> TickResult:
    """One look at the running rollout (no-op without one)."""
    layout = HomeLayout(home)
    with locked(home):
        try:
            state = read_rollout(home)
        except CorruptState as exc:
            seconds = _flip_off(home, serving)
            return TickResult(None, None, seconds, f"{exc}: all traffic to the champion")
        if state is None or not state.active:
            return TickResult(state)
        now = time.time() if now is None else now
        client = serving.client()
        if not state.applied and client is not None:
            try:  # resume an advance a crash interrupted
                client.set_routing(*state.routing())
                # the stage's evidence starts once its split is live
                state = state.model_copy(update={"applied": True, "stage_started_at": time.time()})
                write_rollout(home, state)
            except AdminError as exc:
                log.warning("could not re-apply the routing: %s", exc)
        roles = serving.roles()
        view = ServiceView(reachable=roles is not None, **(roles or {}))
        predictions = read_jsonl_log(layout.prediction_log).frame
        feedback = read_jsonl_log(layout.feedback).frame
        new, decision = tick(state, predictions, feedback, view, now)
        flip = None
        if decision.verdict == "rollback":
            flip = _flip_off(home, serving)
            write_rollout(home, new)
        elif decision.verdict == "advance":
            new = new.model_copy(update={"applied": False})
            write_rollout(home, new)
            try:
                if client is None:
                    raise AdminError(0, "no server")
                client.set_routing(*new.routing())
                # The stage's clock starts when its split is live, not when the tick began
                # (reading the logs takes a while, with the old split still routing).
                new = new.model_copy(update={"applied": True, "stage_started_at": time.time()})
                write_rollout(home, new)
            except AdminError as exc:  # the next tick re-applies, or rolls back if it can't
                log.warning("stage %s not applied yet: %s", new.current.name, exc)
        else:
            write_rollout(home, new)
        return TickResult(new, decision, flip)


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
