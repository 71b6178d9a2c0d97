"""How many predictions a day go to a human, and why (the dataset's `review` config)."""

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ReviewPolicy(BaseModel):
    """Per partition (a day of the prediction log): targeted strata first, then a uniform
    sample of everything else, all under one cap. The uniform share is what makes the
    reviewed labels an unbiased estimate of live accuracy; targeted items are where a label
    teaches the model most."""

    model_config = ConfigDict(extra="forbid")

    daily_cap: int = Field(200, ge=1, le=100_000, description="Most items queued per day.")
    disagreement: int = Field(
        50,
        ge=0,
        description="At most this many texts on which two answers differed: champion vs "
        "challenger (canary or shadow), or the cascade's audit vs its kept fast answer.",
    )
    drifted: int = Field(
        50,
        ge=0,
        description="At most this many texts from drifted slices: where today's traffic "
        "holds at least drift_min_lift times more than the champion's reference (a domain "
        "classifier's density ratio, evaluation/review/slices.py), a random sample of them.",
    )
    drift_min_lift: float = Field(
        2.0, gt=1.0, le=1000.0, description="Density ratio at which a text is in a slice."
    )
    drift_alpha: float = Field(
        0.01, gt=0.0, lt=0.5, description="Significance level of the traffic-moved test."
    )
    low_confidence: int = Field(
        100, ge=0, description="At most this many of the lowest-confidence answers."
    )
    max_confidence: float = Field(
        0.9,
        gt=0.0,
        le=1.0,
        description="Only answers below this confidence count as low-confidence.",
    )
    uniform: int = Field(
        20,
        ge=0,
        description="A simple random sample of the rest (known inclusion probability).",
    )
    seed: int = Field(0, description="Seed of the uniform draw (mixed with the partition).")

    @model_validator(mode="after")
    def _fits_the_cap(self) -> "ReviewPolicy":
        if self.uniform > self.daily_cap:
            raise ValueError(
                f"uniform ({self.uniform}) is over daily_cap ({self.daily_cap}): the unbiased "
                "sample must fit in a day's queue"
            )
        return self
