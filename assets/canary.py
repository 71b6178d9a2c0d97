"""The staged canary, start and finish (the rollout sensor ticks in between). Both are
callers of the rollout controller (evaluation/rollout/controller.py), which holds the lock,
the state machine's transitions and the crash rules.

- `canary_rollout` (end of the retrain job): a gate-passed challenger is loaded into the
  running service next to the champion, routed as the first stage says (shadow by default),
  and the rollout state is written. A version promoted at the gate is loaded as the served
  champion instead (nothing to canary against).
- `canary_result` (the `canary_finish` job, launched by the rollout sensor): on "promote",
  the service serves the new champion with the old one kept warm and the MLflow aliases
  move (champion <- challenger, previous <- old champion); on "rollback", the champion alias
  is untouched and all traffic is already the champion's. Either way the decision record
  gets a `canary` section (verdict, timeline, tests) and the timeline plot.
"""

from typing import Any

import dagster as dg
import pandas as pd

from assets.evaluation import ChampionModel
from evaluation.rollout.controller import RegistryAliases, RolloutController
from evaluation.rollout.machine import RolloutState
from evaluation.rollout.policy import RolloutPolicy
from evaluation.rollout.store import summary
from orchestration.resources import MlflowResource, RuntimeHomeResource, ServingResource


def _stages_md(policy: RolloutPolicy) -> dg.MetadataValue:
    rows = [f"| {s.name} | {s.mode} | {s.weight:.0%} |" for s in policy.stages]
    return dg.MetadataValue.md(
        "| stage | mode | challenger share |\n|---|---|---|\n"
        + "\n".join(rows)
        + f"\n\nbake {policy.bake_s:.0f}s, >= {policy.min_requests} samples per stage, "
        f"alpha {policy.alpha} over the whole rollout"
    )


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
    controller = RolloutController(home.root, serving.router())
    version = champion_model.model_version
    if not champion_model.canary:
        served = controller.serve_promoted(version)
        context.log.info("v%s promoted at the gate; served now: %s", version, served)
        return dg.Output(
            {"rollout_id": None, "served": served},
            metadata={"route": "promoted at the gate", "served_now": served},
        )
    state = controller.begin(
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
    controller = RolloutController(home.root, serving.router())
    done = controller.finish(config.rollout_id, RegistryAliases(mlflow.config()), context.run_id)
    state = done.state
    if done.repeat:  # finished already (the CLI's promote and the sensor's run race)
        context.log.info("rollout %s was already finished and recorded", state.rollout_id)
        return dg.Output(summary(state), metadata={"verdict": state.status, "repeat": True})
    frame = pd.DataFrame([summary(state)])
    return dg.Output(
        summary(state),
        metadata={
            "verdict": state.status,
            "reasons": "; ".join(state.last_reasons),
            "timeline": _timeline_md(state),
            "timeline_plot": dg.MetadataValue.path(str(done.plot)),
            "summary": dg.MetadataValue.md(frame.to_markdown(index=False)),
            "decision_record_id": done.record.record_id if done.record else "none",
        },
    )
