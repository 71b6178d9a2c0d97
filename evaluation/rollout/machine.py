"""The rollout state machine: one pure `tick` from (state, logs, service view, clock) to a
verdict and the next state. The Dagster sensor persists the state and applies the weights.

Verdicts, checked in this order each tick:
1. roll back on misconfiguration: clock skew, service unreachable for too long, the
   service not holding the rollout's champion / challenger, routing other than the stage's,
   traffic split not what the weights say (a sample-ratio test), the challenger silent while
   the champion serves, a stage that cannot gather its minimum sample in `max_stage_s`;
2. roll back when any anytime-valid test says the challenger is worse (errors, slow
   requests, unsure answers, wrong answers on feedback, disagreement with the champion on
   shadow traffic, error rate above the bar);
3. hold while the stage is younger than its bake time or has fewer than `min_requests`
   (too little traffic never passes);
4. otherwise advance to the next stage, or promote after the last one - except that leaving
   the last stage that compares the arms (into 100%) also needs the challenger *shown* not
   worse than the non-inferiority margin; until then it holds, past `max_stage_s` it rolls
   back.
"""

import math
import uuid
from typing import Literal

import pandas as pd
from pydantic import BaseModel, Field

from evaluation.rollout.evidence import StageEvidence, Thresholds, champion_thresholds, collect
from evaluation.rollout.policy import RolloutPolicy, Stage
from evaluation.rollout.sequential import (
    CountTest,
    boundary_share,
    carry_forward,
    count_test,
    rate_test,
)

Verdict = Literal["hold", "advance", "promote", "rollback"]
Status = Literal["running", "promoting", "promoted", "rolled_back"]
TESTS = (
    "traffic_split",
    "errors_vs_champion",
    "error_rate",
    "slow",
    "unsure",
    "wrong",
    "disagreement",
)
TIMELINE_EVERY_S = 30.0  # a hold is recorded at most this often (every change always is)


class ServiceView(BaseModel):
    """What the service says it serves (its admin state), as the sensor saw it."""

    reachable: bool
    champion_version: str | None = None
    challenger_version: str | None = None
    mode: str | None = None
    weight: float | None = None


class TimelineEntry(BaseModel):
    at: float
    stage: str
    mode: str
    weight: float
    verdict: Verdict
    reasons: list[str]
    champion: dict
    challenger: dict
    tests: list[dict]


class RolloutState(BaseModel):
    rollout_id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    model_name: str
    champion_version: str
    challenger_version: str
    record_id: str | None = None  # the challenger's decision record
    policy: RolloutPolicy = Field(default_factory=RolloutPolicy)
    status: Status = "running"
    stage: int = 0
    started_at: float
    stage_started_at: float
    last_contact: float
    ended_at: float | None = None
    thresholds: dict | None = None
    carried: dict[str, float] = Field(default_factory=dict)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    last_verdict: Verdict | None = None
    last_reasons: list[str] = Field(default_factory=list)
    # False between writing a new stage and the service confirming its routing: a crash in
    # that gap is resumed (the routing re-applied), not mistaken for a misconfiguration.
    applied: bool = True
    recorded: bool = False  # the finish job wrote the outcome (decision record, plot)

    @property
    def current(self) -> Stage:
        return self.policy.stages[self.stage]

    @property
    def active(self) -> bool:
        return self.status == "running"

    def routing(self) -> tuple[str, float]:
        """The (mode, weight) the service should have now."""
        if self.status in ("rolled_back",):
            return "off", 0.0
        return self.current.mode, self.current.weight


class Decision(BaseModel):
    verdict: Verdict
    reasons: list[str]
    tests: list[dict] = Field(default_factory=list)
    evidence: dict = Field(default_factory=dict)
    routing: tuple[str, float]  # what the service must be set to after this tick


def start(
    model_name: str,
    champion_version: str,
    challenger_version: str,
    now: float,
    policy: RolloutPolicy | None = None,
    record_id: str | None = None,
) -> RolloutState:
    return RolloutState(
        model_name=model_name,
        champion_version=str(champion_version),
        challenger_version=str(challenger_version),
        record_id=record_id,
        policy=policy or RolloutPolicy(),
        started_at=now,
        stage_started_at=now,
        last_contact=now,
    )


def _tests(state: RolloutState, ev: StageEvidence) -> list[CountTest]:
    """The stage's anytime-valid tests, each at alpha / len(TESTS) (Bonferroni)."""
    p, stage = state.policy, state.current
    alpha = p.alpha / len(TESTS)

    def carried(name: str) -> float:
        return state.carried.get(name, 0.0)

    ch, c, pe = ev.challenger, ev.champion, ev.paired
    tests: list[CountTest] = []
    if stage.mode == "shadow":
        if pe.pairs:
            tests.append(
                rate_test(
                    "disagreement",
                    pe.disagree,
                    pe.pairs,
                    p.max_disagreement,
                    alpha,
                    carried("disagreement"),
                )
            )
        if pe.shadow_texts:
            tests.append(
                rate_test(
                    "error_rate",
                    pe.shadow_errors,
                    pe.shadow_texts,
                    p.max_error_rate,
                    alpha,
                    carried("error_rate"),
                )
            )
        for name, pair in (("unsure", pe.unsure), ("slow", pe.slow), ("wrong", pe.wrong)):
            tests.append(count_test(name, pair, 0.5, alpha, carried(name)))
        return tests + _non_inferiority(state, pe.wrong, pe.unsure, 0.5)
    if ch.requests:
        tests.append(
            rate_test(
                "error_rate", ch.errors, ch.requests, p.max_error_rate, alpha, carried("error_rate")
            )
        )
    if stage.weight < 1.0:  # a comparison needs both arms live
        w = stage.weight
        tests += [
            count_test("traffic_split", (c.requests, ch.requests), w, alpha),
            count_test(
                "errors_vs_champion", (c.errors, ch.errors), w, alpha, carried("errors_vs_champion")
            ),
            count_test("slow", (c.slow, ch.slow), w, alpha, carried("slow")),
            count_test("unsure", (c.unsure, ch.unsure), w, alpha, carried("unsure")),
            count_test("wrong", (c.wrong, ch.wrong), w, alpha, carried("wrong")),
        ]
        tests += _non_inferiority(state, (c.wrong, ch.wrong), (c.unsure, ch.unsure), w)
    return tests


def _non_inferiority(
    state: RolloutState, wrong: tuple[int, int], unsure: tuple[int, int], share: float
) -> list[CountTest]:
    """Tests that the challenger's wrong (and unsure) events stay below the share they would
    have at (1 + margin) x the champion's rate - evidence *for* promotion, at alpha each."""
    p = state.policy
    boundary = boundary_share(share, p.non_inferiority_margin)
    return [
        count_test(name, counts, boundary, p.alpha, state.carried.get(name, 0.0), side="below")
        for name, counts in (("wrong_ni", wrong), ("unsure_ni", unsure))
    ]


def _shown_not_worse(state: RolloutState, ev: StageEvidence, tests: list[CountTest]) -> str | None:
    """None when the challenger is shown not worse than the margin on the quality signal
    (wrong answers where feedback labels exist, else unsure answers); else why not yet."""
    live = state.current.mode == "canary"
    labelled = ev.challenger.labelled if live else ev.paired.labelled
    name = "wrong_ni" if labelled else "unsure_ni"
    test = next((t for t in tests if t.name == name), None)
    if test is not None and test.shown_below:
        return None
    e = test.e_value if test is not None else 1.0
    return (
        f"not yet shown not worse: {name.removesuffix('_ni')} events e-value {e:.3g} < "
        f"{1 / state.policy.alpha:.0f} (margin {state.policy.non_inferiority_margin:.0%})"
    )


def _misconfigured(
    state: RolloutState, ev: StageEvidence, service: ServiceView, now: float
) -> list[str]:
    p, stage = state.policy, state.current
    skew = p.max_clock_skew_s
    problems = []
    if state.stage_started_at > now + skew:
        problems.append(f"clock skew: the stage starts {state.stage_started_at - now:.0f}s ahead")
    if ev.newest_timestamp is not None and ev.newest_timestamp > now + skew:
        problems.append(
            f"clock skew: log records stamped {ev.newest_timestamp - now:.0f}s in the future"
        )
    if not service.reachable:
        silent = now - state.last_contact
        if silent > p.max_silence_s:
            problems.append(f"service unreachable for {silent:.0f}s")
        return problems
    if service.champion_version != state.champion_version:
        problems.append(
            f"service champion is v{service.champion_version}, not v{state.champion_version}"
        )
    if service.challenger_version != state.challenger_version:
        problems.append(
            f"challenger v{state.challenger_version} is not loaded "
            f"(service has {service.challenger_version or 'none'})"
        )
    weight = service.weight if service.weight is not None else math.nan
    if service.mode != stage.mode or not math.isclose(weight, stage.weight, abs_tol=1e-9):
        problems.append(
            f"service routes {service.mode} {weight:.2f}, stage {stage.name} needs "
            f"{stage.mode} {stage.weight:.2f}"
        )
    return problems


def _stats(ev: StageEvidence) -> tuple[dict, dict]:
    def arm(a: object) -> dict:
        d = dict(vars(a))
        d.pop("last_seen", None)
        return d

    return arm(ev.champion), {**arm(ev.challenger), "paired": dict(vars(ev.paired))}


def decide(state: RolloutState, ev: StageEvidence, service: ServiceView, now: float) -> Decision:
    p, stage = state.policy, state.current
    elapsed = now - state.stage_started_at
    problems = _misconfigured(state, ev, service, now)
    tests = _tests(state, ev)
    worse = [
        t
        for t in tests
        if t.name in TESTS and (t.rejected if t.name == "traffic_split" else t.challenger_worse)
    ]
    live = stage.mode == "canary"
    samples = ev.challenger.requests if live else ev.paired.pairs
    if elapsed > p.max_silence_s and samples == 0 and ev.champion.requests >= 20:
        problems.append(
            f"no evidence from the challenger in {elapsed:.0f}s while the champion served "
            f"{ev.champion.requests} requests"
        )
    reasons = [f"misconfiguration: {m}" for m in problems]
    for t in worse:
        reasons.append(
            f"{t.name}: challenger share of events {t.observed_share:.3f} vs "
            f"{t.null_share:.3f} expected, e-value {t.e_value:.3g} >= {1 / t.alpha:.0f}"
        )
    verdict: Verdict
    if reasons:
        verdict = "rollback"
    elif not service.reachable:  # never pass a stage without seeing what the service routes
        verdict = "hold"
        reasons = [
            f"service unreachable for {now - state.last_contact:.0f}s (rolls back after "
            f"{p.max_silence_s:.0f}s)"
        ]
    elif elapsed < p.bake_s or samples < p.min_requests:
        if elapsed >= p.max_stage_s:
            verdict = "rollback"
            reasons = [
                f"stage {stage.name} gathered {samples}/{p.min_requests} samples in "
                f"{elapsed:.0f}s (max_stage_s {p.max_stage_s:.0f}): too little evidence"
            ]
        else:
            verdict = "hold"
            if elapsed < p.bake_s:
                reasons.append(f"baking {elapsed:.0f}/{p.bake_s:.0f}s")
            if samples < p.min_requests:
                reasons.append(f"samples {samples}/{p.min_requests}")
    else:
        last = state.stage == len(p.stages) - 1
        verdict = "promote" if last else "advance"
        reasons = [f"stage {stage.name}: {samples} samples over {elapsed:.0f}s, no test rejected"]
        full_next = not last and p.stages[state.stage + 1].weight == 1.0
        comparing = stage.mode == "shadow" or stage.weight < 1.0
        if comparing and (full_next or last):  # the last look with a comparison arm
            missing = _shown_not_worse(state, ev, tests)
            if missing is not None and elapsed >= p.max_stage_s:
                verdict, reasons = "rollback", [f"{missing} within max_stage_s"]
            elif missing is not None:
                verdict, reasons = "hold", [missing]
            else:
                reasons.append("shown not worse than the margin")
    if verdict == "rollback":
        routing: tuple[str, float] = ("off", 0.0)
    elif verdict == "advance":
        following = p.stages[state.stage + 1]
        routing = (following.mode, following.weight)
    else:  # hold, or promote: the split stays until the finish job serves the new champion
        routing = (stage.mode, stage.weight)
    return Decision(
        verdict=verdict,
        reasons=reasons,
        tests=[t.to_dict() for t in tests],
        evidence=ev.to_dict(),
        routing=routing,
    )


def apply(
    state: RolloutState, decision: Decision, ev: StageEvidence, service: ServiceView, now: float
) -> RolloutState:
    """The state after `decision` (a new object; `state` is left as it was)."""
    new = state.model_copy(deep=True)
    if service.reachable:
        new.last_contact = now
    champion, challenger = _stats(ev)
    stage = state.current
    last = state.timeline[-1] if state.timeline else None
    changed = last is None or last.verdict != decision.verdict or last.stage != stage.name
    if changed or decision.verdict != "hold" or now - last.at >= TIMELINE_EVERY_S:  # type: ignore[union-attr]
        new.timeline.append(
            TimelineEntry(
                at=now,
                stage=stage.name,
                mode=stage.mode,
                weight=stage.weight,
                verdict=decision.verdict,
                reasons=decision.reasons,
                champion=champion,
                challenger=challenger,
                tests=decision.tests,
            )
        )
    new.last_verdict, new.last_reasons = decision.verdict, decision.reasons
    if decision.verdict == "advance":
        finished = {t["test"]: t for t in decision.tests}
        for name, t in finished.items():
            if name == "traffic_split":
                continue  # about this stage's routing only
            test = CountTest(
                name,
                tuple(t["counts"]),
                t["null_share"],  # type: ignore[arg-type]
                t["log_e"],
                t["carried_log_e"],
                1.0,
                t["side"],
            )
            new.carried[name] = carry_forward(test)
        new.stage += 1
        new.stage_started_at = now
    elif decision.verdict == "promote":
        new.status = "promoting"
    elif decision.verdict == "rollback":
        new.status, new.ended_at = "rolled_back", now
    return new


def tick(
    state: RolloutState,
    predictions: pd.DataFrame,
    feedback: pd.DataFrame,
    service: ServiceView,
    now: float,
) -> tuple[RolloutState, Decision]:
    """One look: thresholds (once the champion has served enough), evidence, verdict."""
    if not state.active:
        raise ValueError(f"rollout {state.rollout_id} is {state.status}, not running")
    p = state.policy
    if state.thresholds is None:
        found = champion_thresholds(
            predictions,
            state.started_at,
            state.champion_version,
            p.slow_quantile,
            p.low_confidence_quantile,
        )
        if found is not None:
            state = state.model_copy(update={"thresholds": vars(found)})
    thresholds = Thresholds(**state.thresholds) if state.thresholds else None
    ev = collect(
        predictions,
        feedback,
        state.stage_started_at,
        state.champion_version,
        state.challenger_version,
        thresholds,
        routing=(state.current.mode, state.current.weight),
    )
    decision = decide(state, ev, service, now)
    return apply(state, decision, ev, service, now), decision


def _by_hand(state: RolloutState, verdict: Verdict, reason: str, now: float) -> RolloutState:
    """A person's move on the timeline: the current stage, the verdict, the reason."""
    new = state.model_copy(deep=True)
    stage = state.current
    new.timeline.append(
        TimelineEntry(
            at=now,
            stage=stage.name,
            mode=stage.mode,
            weight=stage.weight,
            verdict=verdict,
            reasons=[reason],
            champion={},
            challenger={},
            tests=[],
        )
    )
    new.last_verdict, new.last_reasons = verdict, [reason]
    return new


def abort(state: RolloutState, reason: str, now: float) -> RolloutState:
    """A person's rollback (or a broken state): rolled back, with the reason on the timeline."""
    new = _by_hand(state, "rollback", reason, now)
    new.status, new.ended_at = "rolled_back", now
    return new


def promote_now(state: RolloutState, reason: str, now: float) -> RolloutState:
    """A person's promote: the remaining stages skipped, the rollout `promoting` (the finish
    then serves the challenger as champion)."""
    new = _by_hand(state, "promote", reason, now)
    new.status = "promoting"
    return new


def unapplied(state: RolloutState) -> RolloutState:
    """The split is about to be sent to the service: written first, so a crash before the
    service confirms it is resumed by the next tick (re-applied)."""
    return state.model_copy(update={"applied": False})


def applied(state: RolloutState, now: float) -> RolloutState:
    """The service confirmed the split: the stage's clock starts now (its evidence is what
    was served under the split, not what the old split routed while the tick was reading)."""
    return state.model_copy(update={"applied": True, "stage_started_at": now})


def promoted(state: RolloutState, now: float) -> RolloutState:
    """The finish served the challenger as champion and moved the aliases."""
    return state.model_copy(update={"status": "promoted", "ended_at": now})


def recorded(state: RolloutState) -> RolloutState:
    """The outcome is in the decision record: a second finish changes nothing."""
    return state.model_copy(update={"recorded": True})
