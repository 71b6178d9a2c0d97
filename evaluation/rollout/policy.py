"""How a rollout proceeds: its stages and the evidence each stage needs (typed, validated).

A configuration that cannot be run safely is refused when it is built (weights outside
[0, 1], live stages that do not grow, no final 100% stage, alpha outside (0, 0.5]), so a
typo cannot turn into a rollout that passes silently.
"""

import itertools
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    mode: Literal["shadow", "canary"]
    weight: float = Field(ge=0.0, le=1.0, description="Challenger share of live traffic.")


def _default_stages() -> list[Stage]:
    return [
        Stage(name="shadow", mode="shadow", weight=0.0),
        Stage(name="5%", mode="canary", weight=0.05),
        Stage(name="25%", mode="canary", weight=0.25),
        Stage(name="50%", mode="canary", weight=0.5),
        Stage(name="100%", mode="canary", weight=1.0),
    ]


class RolloutPolicy(BaseModel):
    """Defaults suit a service with a few requests per second; tests shrink the clocks."""

    model_config = ConfigDict(extra="forbid")

    stages: list[Stage] = Field(default_factory=_default_stages)
    bake_s: float = Field(300.0, ge=0, description="Least time in a stage before it may pass.")
    min_requests: int = Field(
        200, ge=1, description="Least challenger requests (shadow: paired texts) per stage."
    )
    max_stage_s: float = Field(
        6 * 3600.0, gt=0, description="A stage without enough evidence by then rolls back."
    )
    alpha: float = Field(
        0.05, gt=0, le=0.5, description="False-rollback bound of the whole rollout."
    )
    max_error_rate: float = Field(0.01, gt=0, lt=1, description="Challenger error-rate bar.")
    max_disagreement: float = Field(
        0.35, gt=0, lt=1, description="Shadow: share of texts the challenger may label differently."
    )
    slow_quantile: float = Field(
        0.95, gt=0.5, lt=1, description="'Slow' = above this quantile of the champion's latency."
    )
    low_confidence_quantile: float = Field(
        0.2, gt=0, lt=0.5, description="'Unsure' = below this quantile of champion confidence."
    )
    max_silence_s: float = Field(
        120.0, gt=0, description="Challenger silent this long while the champion serves: broken."
    )
    max_clock_skew_s: float = Field(30.0, ge=0, description="Log timestamps this far ahead: skew.")
    non_inferiority_margin: float = Field(
        0.5,
        gt=0,
        description="Before the challenger takes all traffic, its rate of wrong answers "
        "(with feedback; else unsure answers) must be shown at most (1 + margin) x the "
        "champion's - evidence of safety, not just no evidence of harm.",
    )

    @model_validator(mode="after")
    def _stages(self) -> "RolloutPolicy":
        if not self.stages:
            raise ValueError("a rollout needs at least one stage")
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"stage names repeat: {names}")
        live = [s for s in self.stages if s.mode == "canary"]
        for s in self.stages:
            if s.mode == "shadow" and s.weight != 0.0:
                raise ValueError(f"shadow stage {s.name!r} must have weight 0 (it answers none)")
            if s.mode == "canary" and s.weight <= 0.0:
                raise ValueError(f"canary stage {s.name!r} needs a weight in (0, 1]")
        if self.stages[0].mode != "shadow" and any(s.mode == "shadow" for s in self.stages):
            raise ValueError("a shadow stage can only come first")
        weights = [s.weight for s in live]
        if any(b <= a for a, b in itertools.pairwise(weights)):
            raise ValueError(f"canary weights must grow stage by stage, got {weights}")
        if not live or live[-1].weight != 1.0:
            raise ValueError("the last stage must send 100% of traffic to the challenger")
        if all(s.mode == "canary" and s.weight == 1.0 for s in self.stages):
            raise ValueError("a rollout needs a stage that compares (shadow or weight < 1)")
        return self
