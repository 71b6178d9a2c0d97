"""evaluation/rollout/machine.py: the pure rollout state machine on simulated serving logs.

Each test plays ticks the way the sensor does: traffic lands in the log, the service view
says what is routed, `tick` decides. No Dagster, no HTTP."""

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from evaluation.rollout.machine import RolloutState, ServiceView, start, tick
from evaluation.rollout.policy import RolloutPolicy, Stage
from tests.evaluation.rollout.sim import Model, traffic

FAST = dict(
    bake_s=10, min_requests=150, max_silence_s=60, max_stage_s=600, non_inferiority_margin=1.0
)


def _view(state: RolloutState, **override) -> ServiceView:
    mode, weight = state.routing()
    base = dict(
        reachable=True,
        champion_version=state.champion_version,
        challenger_version=state.challenger_version,
        mode=mode,
        weight=weight,
    )
    return ServiceView(**{**base, **override})


def _play(
    state, champion, challenger, seed=0, per_tick=100, ticks=60, seconds_per_tick=None, feedback=0.5
):
    """Tick until the rollout ends; returns (state, decisions, challenger exposure share)."""
    rng = np.random.default_rng(seed)
    preds, fb = pd.DataFrame(), pd.DataFrame()
    now, decisions, exposed, served = state.started_at, [], 0, 0
    for _ in range(ticks):
        mode, weight = state.routing()
        p, f = traffic(
            rng, champion, challenger, mode, weight, per_tick, now, feedback_share=feedback
        )
        preds, fb = pd.concat([preds, p]), pd.concat([fb, f])
        exposed += int((p["arm"] == "challenger").sum())
        served += per_tick
        now += seconds_per_tick or per_tick / 10.0
        state, decision = tick(state, preds, fb, _view(state), now)
        decisions.append(decision)
        if not state.active:
            break
    return state, decisions, exposed / served


def test_a_good_challenger_is_promoted_stage_by_stage():
    """Same quality as the champion: every stage passes, in order, then promote."""
    state = start("m", "1", "2", now=1000.0, policy=RolloutPolicy(**FAST))
    state, _, _ = _play(state, Model("1"), Model("2"))
    assert state.status == "promoting"
    advanced = [e.stage for e in state.timeline if e.verdict in ("advance", "promote")]
    assert advanced == ["shadow", "5%", "25%", "50%", "100%"]
    assert state.thresholds is not None and state.thresholds["slow_ms"] > 0


def test_a_moderately_worse_challenger_is_never_promoted():
    """Accuracy 0.6 vs 0.8 - twice the wrong answers, beyond the 50% margin: over 5 seeds it
    is never promoted (a harm test rejects, or non-inferiority is never shown in time)."""
    policy = RolloutPolicy(**{**FAST, "non_inferiority_margin": 0.5, "max_stage_s": 200})
    for seed in range(5):
        state = start("m", "1", "2", now=0.0, policy=policy)
        state, _, _ = _play(state, Model("1"), Model("2", accuracy=0.6), seed=seed, ticks=300)
        assert state.status == "rolled_back", (seed, state.last_reasons)


def test_without_feedback_unsure_answers_carry_the_non_inferiority_evidence():
    """No feedback labels at all: the equal challenger is still promoted, on the evidence of
    its unsure answers (the step into 100% says it was shown not worse)."""
    state = start("m", "1", "2", now=0.0, policy=RolloutPolicy(**FAST))
    state, decisions, _ = _play(state, Model("1"), Model("2"), ticks=200, feedback=0.0)
    assert state.status == "promoting"
    assert all("wrong" not in " ".join(d.reasons) for d in decisions)
    assert any("shown not worse than the margin" in r for d in decisions for r in d.reasons)


def test_a_mislabelling_challenger_is_rolled_back_in_shadow():
    """Accuracy 0.2 vs 0.8: disagreement and wrong answers reject before any user sees it."""
    state = start("m", "1", "2", now=0.0, policy=RolloutPolicy(**FAST))
    state, decisions, exposure = _play(state, Model("1"), Model("2", accuracy=0.2))
    assert state.status == "rolled_back"
    assert state.timeline[-1].stage == "shadow" and exposure == 0.0
    text = " ".join(decisions[-1].reasons)
    assert "disagreement" in text or "wrong" in text


def test_a_failing_challenger_is_rolled_back_at_the_first_live_stage():
    """No shadow stage; 20% errors: rolled back at 5% with at most ~5% of traffic exposed."""
    policy = RolloutPolicy(
        stages=[
            Stage(name="5%", mode="canary", weight=0.05),
            Stage(name="100%", mode="canary", weight=1.0),
        ],
        **FAST,
    )
    state = start("m", "1", "2", now=0.0, policy=policy)
    state, decisions, exposure = _play(state, Model("1"), Model("2", error_rate=0.2))
    assert state.status == "rolled_back" and state.timeline[-1].stage == "5%"
    assert exposure <= 0.08
    assert any("error" in r for r in decisions[-1].reasons)
    assert decisions[-1].routing == ("off", 0.0)


def test_a_slow_challenger_is_rolled_back():
    """4x the champion's latency at 25%: the slow-request test rejects."""
    policy = RolloutPolicy(
        stages=[
            Stage(name="25%", mode="canary", weight=0.25),
            Stage(name="100%", mode="canary", weight=1.0),
        ],
        **FAST,
    )
    state = start("m", "1", "2", now=0.0, policy=policy)
    state, decisions, _ = _play(state, Model("1"), Model("2", latency_ms=80.0))
    assert state.status == "rolled_back"
    assert any(r.startswith("slow") for r in decisions[-1].reasons)


def test_low_traffic_holds_and_never_passes():
    """One request every 2 s never reaches min_requests: hold, hold, ... then roll back at
    the stage timeout instead of passing."""
    policy = RolloutPolicy(**{**FAST, "max_stage_s": 100})
    state = start("m", "1", "2", now=0.0, policy=policy)
    state, decisions, _ = _play(
        state, Model("1"), Model("2"), per_tick=1, ticks=100, seconds_per_tick=2.0
    )
    verdicts = [d.verdict for d in decisions]
    assert "advance" not in verdicts and verdicts[:-1] == ["hold"] * (len(verdicts) - 1)
    assert verdicts[-1] == "rollback" and "too little evidence" in decisions[-1].reasons[0]


@pytest.mark.parametrize(
    "override,expected",
    [
        ({"challenger_version": None}, "is not loaded"),
        ({"champion_version": "9"}, "service champion is v9"),
        ({"mode": "canary", "weight": 0.5}, "service routes canary 0.50"),
    ],
)
def test_misconfiguration_rolls_back(override, expected):
    """A service that does not hold or route what the rollout says: roll back at once."""
    state = start("m", "1", "2", now=0.0, policy=RolloutPolicy(**FAST))
    state, decision = tick(state, pd.DataFrame(), pd.DataFrame(), _view(state, **override), 1.0)
    assert decision.verdict == "rollback" and expected in decision.reasons[0]


def test_clock_skew_unreachable_service_and_silent_challenger_roll_back():
    """Records from the future, a service gone past max_silence_s, a challenger never seen."""
    rng = np.random.default_rng(1)
    state = start("m", "1", "2", now=0.0, policy=RolloutPolicy(**FAST))
    future, _ = traffic(rng, Model("1"), Model("2"), "shadow", 0.0, 10, start=500.0)
    _, skew = tick(state, future, pd.DataFrame(), _view(state), 1.0)
    assert skew.verdict == "rollback" and "clock skew" in skew.reasons[0]

    held, first = tick(state, pd.DataFrame(), pd.DataFrame(), ServiceView(reachable=False), 30.0)
    assert first.verdict == "hold"
    _, gone = tick(held, pd.DataFrame(), pd.DataFrame(), ServiceView(reachable=False), 100.0)
    assert gone.verdict == "rollback" and "unreachable" in gone.reasons[0]

    # champion traffic only (shadow scoring broken): the challenger is silent
    champ_only, _ = traffic(rng, Model("1"), Model("2"), "canary", 0.0, 300, start=0.0)
    _, silent = tick(state, champ_only, pd.DataFrame(), _view(state), 90.0)
    assert silent.verdict == "rollback" and "no evidence from the challenger" in silent.reasons[0]


def test_policy_refuses_unsafe_stages():
    """Weights out of range, shrinking weights, no 100% stage, a weighted shadow: refused."""
    bad = [
        [Stage(name="a", mode="canary", weight=0.5)],
        [
            Stage(name="a", mode="canary", weight=0.5),
            Stage(name="b", mode="canary", weight=0.2),
            Stage(name="c", mode="canary", weight=1.0),
        ],
        [Stage(name="s", mode="shadow", weight=0.1), Stage(name="c", mode="canary", weight=1.0)],
        [Stage(name="a", mode="canary", weight=0.0), Stage(name="c", mode="canary", weight=1.0)],
    ]
    for stages in bad:
        with pytest.raises(ValidationError):
            RolloutPolicy(stages=stages)
    with pytest.raises(ValidationError):
        Stage(name="x", mode="canary", weight=1.5)
    with pytest.raises(ValidationError):
        RolloutPolicy(alpha=0.0)


def test_state_round_trips_through_json():
    """What the sensor persists reads back equal, mid-rollout."""
    state = start("m", "1", "2", now=0.0, policy=RolloutPolicy(**FAST))
    state, _, _ = _play(state, Model("1"), Model("2"), ticks=3)
    again = RolloutState.model_validate_json(state.model_dump_json())
    assert again.model_dump_json() == state.model_dump_json()
    assert (again.stage, again.carried, again.thresholds) == (
        state.stage,
        state.carried,
        state.thresholds,
    )
