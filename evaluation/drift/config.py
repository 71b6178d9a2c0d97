"""Configuration of a drift check (one pydantic model; the drift asset exposes it as config)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Signal = Literal["text", "descriptors", "embedding", "prediction"]
SIGNALS: tuple[Signal, ...] = ("text", "descriptors", "embedding", "prediction")


class DriftConfig(BaseModel):
    """How a drift check samples, tests and decides.

    The defaults make the whole check's false-positive rate on same-distribution data at most
    0.05 (union bound: four signals at 0.0125 each, drift when any one drifts), whatever the
    number of rows, because every signal is a test with a valid p-value and both sides are
    compared at the same fixed size. Measured by `bench/drift_rates.py` on VADER movies vs
    disjoint movies: 0.042 at 1,000 rows per side (1,000 draws; 0.025 / 0.045 at 100 / 300
    rows, 200 draws); with min_drifted_signals=2, 0 of 1,000. Movies vs tweets / amazon / nyt
    is detected in 50 of 50 draws at every size from 100 rows.

    A periodic check repeats this per-check rate: sensors that retrain on a verdict may want
    min_drifted_signals=2 or two consecutive "drift" verdicts.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_samples: int = Field(
        200,
        ge=20,
        description="Below this many rows on either side the verdict is 'insufficient_data'.",
    )
    sample_size: int | None = Field(
        1000,
        ge=20,
        description=(
            "Both sides are subsampled (seeded, without replacement) to the same size: "
            "min(sample_size, n_reference, n_current). None compares min(n_reference, "
            "n_current) rows. A fixed size keeps power and cost independent of traffic volume."
        ),
    )
    text_alpha: float = Field(
        0.0125, gt=0, lt=1, description="Significance level of the raw-text domain classifier."
    )
    descriptor_alpha: float = Field(
        0.0125,
        gt=0,
        lt=1,
        description="Significance level of the descriptor family (Bonferroni over descriptors).",
    )
    embedding_alpha: float = Field(
        0.0125, gt=0, lt=1, description="Significance level of the embedding domain classifier."
    )
    prediction_alpha: float = Field(
        0.0125,
        gt=0,
        lt=1,
        description="Significance level of the prediction family (class mix + confidence).",
    )
    min_drifted_signals: int = Field(
        1,
        ge=1,
        le=len(SIGNALS),
        description="Verdict 'drift' when at least this many signals drift.",
    )
    effect_floors: dict[str, float] = Field(
        default_factory=lambda: {
            "text": 0.60,
            "embedding": 0.60,
            "descriptors": 0.10,
            "prediction": 0.10,
        },
        description=(
            "Practical floor of each signal's effect size: a signal drifts only when it is "
            "significant *and* its score reaches the floor (domain-classifier AUC for text "
            "and embedding; largest KS statistic for descriptors; max of class-mix TVD and "
            "confidence KS for predictions). Significance alone says 'detectable', which any "
            "tiny difference becomes with enough rows. A signal left out has no floor."
        ),
    )
    seed: int = Field(0, description="Seed of the subsampling (same seed, same rows).")
    embedding_plot: bool = Field(
        False,
        description=(
            "Put Evidently's EmbeddingsDrift widget in the HTML. It always fits a t-SNE on up "
            "to 2,500 + 2,500 rows for its plot (tens of seconds per check on 2 CPU cores); "
            "the embedding drift score is the same either way (same method, same seed)."
        ),
    )

    @model_validator(mode="after")
    def _check(self) -> "DriftConfig":
        unknown = set(self.effect_floors) - set(SIGNALS)
        if unknown:
            raise ValueError(f"effect_floors: unknown signals {sorted(unknown)} ({SIGNALS})")
        if self.sample_size is not None and self.sample_size < self.min_samples:
            raise ValueError(
                f"sample_size ({self.sample_size}) must be >= min_samples ({self.min_samples})"
            )
        return self

    def alpha(self, signal: Signal) -> float:
        """The significance level of one signal."""
        return {
            "text": self.text_alpha,
            "descriptors": self.descriptor_alpha,
            "embedding": self.embedding_alpha,
            "prediction": self.prediction_alpha,
        }[signal]
