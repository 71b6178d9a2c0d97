"""orchestration/sensors/rollout.py: the rollout sensor's tick against a real home with no
service running (the service-up paths run on a real `bentoml serve` in
tests/bento/test_canary_process.py). What a dead service, a dead daemon (ticks that resume
from the persisted state) and a corrupt state file do."""

import dagster as dg

from bento.state import ServingState, read_state, write_state
from evaluation.rollout.machine import start
from evaluation.rollout.policy import RolloutPolicy
from evaluation.rollout.store import read_rollout, rollout_dir, write_rollout
from orchestration.resources import RuntimeHomeResource, ServingResource
from orchestration.sensors.rollout import rollout_sensor, rollout_tick


def _begin(home, now: float, **policy):
    state = start("driftwise-x", "1", "2", now=now, policy=RolloutPolicy(**policy))
    write_rollout(home, state)
    write_state(home, ServingState(champion="driftwise-x:v1", challenger="driftwise-x:v2"))
    return state


def test_a_dead_service_holds_then_rolls_back_offline(home):
    """Unreachable: hold; past max_silence_s: roll back by writing the serving state the
    service restarts from (routing off), then the sensor asks for the finish run once."""
    state = _begin(home, now=1000.0, max_silence_s=60)
    serving = ServingResource(home=str(home))
    held = rollout_tick(home, serving, now=1030.0)
    assert held.decision.verdict == "hold"
    assert held.decision.reasons[0].startswith("service unreachable for 30s")
    gone = rollout_tick(home, serving, now=1100.0)
    assert gone.decision.verdict == "rollback" and gone.state.status == "rolled_back"
    assert read_state(home).routing.mode == "off"
    assert read_rollout(home).rollout_id == state.rollout_id
    assert (rollout_dir(home) / "history" / f"{state.rollout_id}.json").exists()

    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(
            instance=instance,
            resources={"serving": serving, "home": RuntimeHomeResource(path=str(home))},
        )
        request = rollout_sensor(context)
        assert isinstance(request, dg.RunRequest)
        assert request.run_key == f"canary-finish-{state.rollout_id}"
        config = request.run_config["ops"]["canary_result"]["config"]
        assert config == {"rollout_id": state.rollout_id}


def test_ticks_resume_from_the_persisted_state(home):
    """A daemon that dies between ticks loses nothing: a fresh tick reads the same stage,
    start time and timeline from disk (nothing lives in the sensor's memory)."""
    state = _begin(home, now=1000.0, max_silence_s=600)
    serving = ServingResource(home=str(home))
    one = rollout_tick(home, serving, now=1010.0)
    again = rollout_tick(home, serving, now=1020.0)  # "after a restart": only disk is shared
    assert again.state.stage_started_at == state.stage_started_at == one.state.stage_started_at
    assert len(again.state.timeline) >= 1 and again.state.active


def test_a_corrupt_state_file_rolls_back_and_is_kept(home):
    """Unparseable state: moved aside (not guessed at) and all traffic to the champion."""
    _begin(home, now=1000.0)
    (rollout_dir(home) / "state.json").write_text('{"rollout_id": "x", "stage": ')
    write_state(
        home,
        ServingState.model_validate(
            {
                "champion": "m:v1",
                "challenger": "m:v2",
                "routing": {"mode": "canary", "challenger_weight": 0.25},
            }
        ),
    )
    result = rollout_tick(home, ServingResource(home=str(home)), now=1001.0)
    assert "unreadable" in result.note and result.state is None
    assert read_state(home).routing.mode == "off"
    kept = list(rollout_dir(home).glob("corrupt-*.json"))
    assert len(kept) == 1 and kept[0].read_text().startswith('{"rollout_id": "x"')
    assert read_rollout(home) is None
