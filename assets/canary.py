"""The staged canary, start and finish (the rollout sensor ticks in between).

- `canary_rollout` (end of the retrain job): a gate-passed challenger is loaded into the
  running service next to the champion, routed as the first stage says (shadow by default),
  and the rollout state is written. A version promoted at the gate is loaded as the served
  champion instead (nothing to canary against).
- `canary_result` (the `canary_finish` job, launched by the rollout sensor): on "promote",
  the MLflow aliases move (champion <- challenger, previous <- old champion) and the service
  serves the new champion with the old one kept warm; on "rollback", the champion alias is
  untouched and all traffic is already the champion's. Either way the decision record gets
  a `canary` section (verdict, timeline, tests) and the timeline plot.
- `rollback_now`: what the `rollback` job (and `driftwise rollback --to`) call: the rollout
  controller's rollback, settled before it returns.
"""

import dataclasses
import time
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from assets.evaluation import ChampionModel
from bento.admin_client import HomeRouter
from evaluation.rollout.controller import RegistryAliases, RolloutController
from evaluation.rollout.machine import RolloutState, abort, start
from evaluation.rollout.outcome import record_outcome
from evaluation.rollout.policy import RolloutPolicy
from evaluation.rollout.store import locked, read_rollout, summary, write_rollout
from models.model_registry import promote as promote_alias
from orchestration.resources import MlflowResource, RuntimeHomeResource, ServingResource


def _stages_md(policy: RolloutPolicy) -> dg.MetadataValue:
    rows = [f"| {s.name} | {s.mode} | {s.weight:.0%} |" for s in policy.stages]
    return dg.MetadataValue.md(
        "| stage | mode | challenger share |\n|---|---|---|\n"
        + "\n".join(rows)
        + f"\n\nbake {policy.bake_s:.0f}s, >= {policy.min_requests} samples per stage, "
        f"alpha {policy.alpha} over the whole rollout"
    )


def begin_rollout(
    home: Path,
    client: Any,
    model_name: str,
    champion_version: str,
    challenger_version: str,
    policy: RolloutPolicy,
    record_id: str | None = None,
) -> RolloutState:
    """Load the challenger next to the champion, route the first stage, write the state (an
    older running rollout is aborted: one rollout at a time)."""
    with locked(home):
        previous = read_rollout(home)
        if previous is not None and previous.active:
            client.set_routing("off", 0.0)
            write_rollout(
                home, abort(previous, f"superseded by v{challenger_version}", time.time())
            )
        client.load(challenger_version, "challenger")
        state = start(
            model_name,
            champion_version=champion_version,
            challenger_version=challenger_version,
            now=time.time(),
            policy=policy,
            record_id=record_id,
        )
        client.set_routing(*state.routing())
        write_rollout(home, state)
    return state


@dg.asset(group_name="serving", kinds={"bentoml"})
def canary_rollout(
    context: dg.AssetExecutionContext,
    champion_model: ChampionModel,
    candidate_bento: str,
    serving: ServingResource,
    rollout_policy: dg.ResourceParam[RolloutPolicy],
    home: RuntimeHomeResource,
) -> dg.Output[dict[str, Any]]:
    """Start the staged canary of a gate-passed challenger in the running service (or, for a
    version promoted at the gate, serve it as the champion)."""
    client = serving.client()
    roles = serving.roles()
    version = champion_model.model_version
    if not champion_model.canary:
        if client is not None and roles is not None and roles["champion_version"] != version:
            client.load(version, "champion")  # the old champion stays warm as `previous`
            context.log.info("service now serves v%s (promoted at the gate)", version)
        served = roles is not None
        return dg.Output(
            {"rollout_id": None, "served": served},
            metadata={"route": "promoted at the gate", "served_now": served},
        )
    if client is None or roles is None:
        raise RuntimeError("the service went away before the canary could start")
    state = begin_rollout(
        home.root,
        client,
        champion_model.model_name,
        str(champion_model.previous_version),
        version,
        rollout_policy,
        champion_model.record_id,
    )
    context.log.info(
        "canary %s: v%s vs champion v%s, stage %s",
        state.rollout_id,
        version,
        state.champion_version,
        state.current.name,
    )
    return dg.Output(
        {"rollout_id": state.rollout_id, "served": True},
        metadata={
            "rollout_id": state.rollout_id,
            "challenger": f"v{version} ({candidate_bento})",
            "champion": f"v{state.champion_version}",
            "stages": _stages_md(rollout_policy),
            "driven_by": "rollout_sensor (ticks; `driftwise status` shows the stage)",
        },
    )


class FinishConfig(dg.Config):
    rollout_id: str


def _timeline_md(state: RolloutState) -> dg.MetadataValue:
    rows = [
        f"| {e.at - state.started_at:.0f} | {e.stage} | {e.weight:.0%} | {e.verdict} | "
        f"{e.challenger.get('requests', '-')} | {'; '.join(e.reasons)[:160]} |"
        for e in state.timeline
        if e.verdict != "hold"
    ]
    return dg.MetadataValue.md(
        "| s | stage | share | verdict | challenger requests | reasons |\n"
        + "|---|---|---|---|---|---|\n"
        + "\n".join(rows)
    )


@dg.asset(group_name="serving", kinds={"bentoml", "mlflow"}, deps=[canary_rollout])
def canary_result(
    context: dg.AssetExecutionContext,
    config: FinishConfig,
    serving: ServingResource,
    mlflow: MlflowResource,
    home: RuntimeHomeResource,
) -> dg.Output[dict[str, Any]]:
    """A finished rollout: promoted (aliases moved, new champion served) or rolled back
    (champion untouched), with its evidence in the decision record and a timeline plot."""
    with locked(home.root):
        state = read_rollout(home.root)
        if state is None or state.rollout_id != config.rollout_id:
            raise RuntimeError(f"rollout {config.rollout_id} is not the current rollout")
        if state.status == "running":
            raise RuntimeError(f"rollout {state.rollout_id} is still running")
        if state.recorded:  # finished already (the CLI's promote and the sensor's run race)
            context.log.info("rollout %s was already finished and recorded", state.rollout_id)
            return dg.Output(summary(state), metadata={"verdict": state.status, "repeat": True})
        if state.status == "promoting":
            move = promote_alias(mlflow.config(), state.model_name, state.challenger_version)
            client = serving.client()
            if client is None:
                raise RuntimeError(
                    "promoted in MLflow, but no service to serve it: `driftwise serve`"
                )
            client.load(state.challenger_version, "champion")  # old champion kept warm
            state = state.model_copy(update={"status": "promoted", "ended_at": time.time()})
            context.log.info("promoted v%s (previous v%s)", move.champion, move.previous)
        record, plot = record_outcome(home.root, state, context.run_id)
        state = state.model_copy(update={"recorded": True})
        write_rollout(home.root, state)
    frame = pd.DataFrame([summary(state)])
    return dg.Output(
        summary(state),
        metadata={
            "verdict": state.status,
            "reasons": "; ".join(state.last_reasons),
            "timeline": _timeline_md(state),
            "timeline_plot": dg.MetadataValue.path(str(plot)),
            "summary": dg.MetadataValue.md(frame.to_markdown(index=False)),
            "decision_record_id": record.record_id if record else "none",
        },
    )


def rollback_now(
    home: Path, serving: ServingResource, mlflow_config: Any, reason: str, to: str | None = None
) -> dict:
    """All traffic to the champion now, the registry and the record written before it
    returns (`evaluation/rollout/controller.py` has the rules; the CLI's fast path settles
    in a child process instead). With `to`: any gate-passed version becomes champion.

    Returns what was done, with `seconds` from the call to 100% champion traffic."""
    client = serving.client()
    router = HomeRouter(client, home) if client is not None else None
    controller = RolloutController(home, router)
    aliases = RegistryAliases(mlflow_config)
    if to is not None:
        flip = controller.serve_version(str(to), reason, aliases)
    else:
        flip = controller.rollback(reason, aliases)
    return dataclasses.asdict(flip)


class RollbackConfig(dg.Config):
    reason: str = "manual rollback from the Dagster UI"


@dg.op
def rollback_op(
    context: dg.OpExecutionContext,
    config: RollbackConfig,
    serving: ServingResource,
    mlflow: MlflowResource,
    home: RuntimeHomeResource,
) -> dict:
    """`driftwise rollback` as a Dagster job: all traffic back to the champion."""
    done = rollback_now(home.root, serving, mlflow.config(), config.reason)
    context.log.info("%s: v%s, all traffic in %ss", done["action"], done["champion"],
                     done["seconds"])  # fmt: skip
    return done


@dg.job(
    description="All traffic back to the champion now (aborts a rollout, or moves the "
    "champion alias back to `previous`)."
)
def rollback() -> None:
    rollback_op()
