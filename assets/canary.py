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
- `rollback_now`: what `driftwise rollback` and the `rollback` job call.
"""

import time
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from assets.evaluation import ChampionModel
from evaluation.promotion.record import append_section
from evaluation.rollout.machine import RolloutState, abort, start
from evaluation.rollout.plot import timeline_plot
from evaluation.rollout.policy import RolloutPolicy
from evaluation.rollout.store import locked, read_rollout, summary, write_rollout
from models.model_registry import promote as promote_alias
from models.model_registry import rollback as rollback_alias
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


def record_outcome(home: Path, state: RolloutState, run_id: str | None) -> tuple[Any, Path]:
    """The canary section of the decision record and the timeline plot."""
    plot = timeline_plot(state, home / "reports" / "canary" / f"{state.rollout_id}.png")
    record = None
    if state.record_id:
        record = append_section(
            home / "decisions",
            state.record_id,
            "canary",
            {
                "rollout_id": state.rollout_id,
                "verdict": state.status,
                "reasons": state.last_reasons,
                "champion": state.champion_version,
                "challenger": state.challenger_version,
                "policy": state.policy.model_dump(mode="json"),
                "thresholds": state.thresholds,
                "timeline": [
                    e.model_dump(mode="json") for e in state.timeline if e.verdict != "hold"
                ],
                "started_at": state.started_at,
                "ended_at": state.ended_at,
                "plot": str(plot),
                "dagster_run_id": run_id,
            },
        )
    return record, plot


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


def _record_manual(home: Path, done: dict, reason: str) -> str:
    """A decision record of an operator's move: who, what, when, from which version."""
    import getpass

    from evaluation.promotion.record import new_document, write_record

    section = {
        "action": done["action"],
        "champion": done["champion"],
        "replaced": done.get("replaced"),
        "reason": reason,
        "by": getpass.getuser(),
        "at": time.time(),
        "seconds_to_full_traffic": round(done["seconds"], 4),
    }
    return write_record(new_document({"manual": section}), home / "decisions").record_id


def rollback_now(
    home: Path, serving: ServingResource, mlflow_config: Any, reason: str, to: str | None = None
) -> dict:
    """All traffic to the champion now. During a rollout: the rollout is aborted (the
    challenger keeps no traffic; aliases untouched). Otherwise: the champion alias goes back
    to `previous` (and `previous` to the version rolled back from: a second rollback rolls
    forward) and the service serves it (it is kept warm, so this is a flip). With `to`: any
    registered version the gate passed becomes champion (loaded, then flipped).

    Returns what was done, with `seconds` from the call to 100% champion traffic."""
    started = time.perf_counter()
    client = serving.client()
    if to is not None:
        return _serve_version(home, client, mlflow_config, reason, str(to), started)
    with locked(home):
        state = read_rollout(home)
        if state is not None and state.status in ("running", "promoting"):
            if client is not None:
                client.set_routing("off", 0.0)
            else:
                from bento.state import set_routing_offline

                set_routing_offline(home, "off", 0.0)
            seconds = time.perf_counter() - started
            state = abort(state, f"manual rollback: {reason}", time.time())
            write_rollout(home, state)
            return {
                "action": "rollout aborted",
                "rollout_id": state.rollout_id,
                "champion": state.champion_version,
                "seconds": seconds,
                "state": state,
            }
    # Traffic first (the rollout's rule too): the warm `previous` the service holds takes
    # all traffic before the registry's aliases are written, which takes a second or two.
    warm = _warm_previous(home)
    flipped: float | None = None
    if client is not None and warm is not None:
        client.load(warm, "champion")
        flipped = time.perf_counter() - started
    move = rollback_alias(mlflow_config, mlflow_config.registered_model_name)
    if client is not None and move.champion != warm:  # the registry is the truth
        client.load(move.champion, "champion")
        flipped = None
    done = {
        "action": "champion rolled back",
        "champion": move.champion,
        "replaced": move.replaced,
        "seconds": flipped if flipped is not None else time.perf_counter() - started,
        "state": None,
    }
    return {**done, "record_id": _record_manual(home, done, reason)}


def _warm_previous(home: Path) -> str | None:
    """The version the service keeps warm as `previous` (its serving state), if any."""
    from bento.state import read_state

    tag = read_state(home).previous
    return tag.rsplit(":v", 1)[-1] if tag and ":v" in tag else None


def _serve_version(
    home: Path, client: Any, mlflow_config: Any, reason: str, version: str, started: float
) -> dict:
    """Make a registered, gate-passed `version` the champion, outside any rollout."""
    from models.model_registry import gate_passed

    name = mlflow_config.registered_model_name
    with locked(home):
        state = read_rollout(home)
        if state is not None and state.status in ("running", "promoting"):
            raise LookupError(
                f"rollout {state.rollout_id} is running: `driftwise rollback` aborts it first"
            )
        try:
            passed = gate_passed(mlflow_config, name, version)
        except Exception as exc:  # MLflow's RestException: no such version
            raise LookupError(f"{name} has no version {version}") from exc
        if not passed:
            raise LookupError(f"{name} v{version} did not pass the promotion gate: not served")
        move = promote_alias(mlflow_config, name, version)
        if client is not None:
            client.load(version, "champion")
    done = {
        "action": f"champion set to v{version}",
        "champion": version,
        "replaced": move.replaced,
        "seconds": time.perf_counter() - started,
        "state": None,
    }
    return {**done, "record_id": _record_manual(home, done, reason)}


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
    state = done.pop("state")
    if state is not None:
        with locked(home.root):
            record_outcome(home.root, state, context.run_id)
            write_rollout(home.root, state.model_copy(update={"recorded": True}))
    context.log.info("%s in %.3fs", done["action"], done["seconds"])
    return done


@dg.job(
    description="All traffic back to the champion now (aborts a rollout, or moves the "
    "champion alias back to `previous`)."
)
def rollback() -> None:
    rollback_op()
