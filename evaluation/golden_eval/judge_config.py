"""The LLM judge's configuration and criterion (evaluation/golden_eval/judge.py runs it).

Apart from the judge itself so that the Dagster asset that exposes the judge's settings
(assets/evaluation.py) does not import deepeval when the Definitions load.
"""

from collections.abc import Sequence

from pydantic import BaseModel, Field


def judge_criteria(
    dataset: str, labels: Sequence[str], description: str | None = None, max_labels: int = 50
) -> str:
    """The G-Eval criterion in the dataset's own terms: its name, its label set (the first
    `max_labels`: a prompt has a budget) and the description from its config, if any."""
    shown = ", ".join(repr(x) for x in list(labels)[:max_labels])
    more = f" and {len(labels) - max_labels} more" if len(labels) > max_labels else ""
    about = f" The data: {description.strip()}" if description and description.strip() else ""
    return (
        f"The task is text classification for the dataset {dataset!r}, with the labels "
        f"{shown}{more}.{about} Judge whether the Actual Output is the correct label for the "
        "Input text, using the Expected Output as the reference label."
    )


class JudgeConfig(BaseModel):
    """The LLM judge's endpoint and criterion."""

    enabled: bool = Field(default=False, description="The judge calls a paid service: opt in.")
    base_url: str = Field(
        default="http://127.0.0.1:8000/v1", description="OpenAI-compatible API root."
    )
    model: str = Field(default="gpt-4o-mini", description="Model name sent to the endpoint.")
    api_key_env: str = Field(
        default="DRIFTWISE_JUDGE_API_KEY", description="Env var holding the key."
    )
    criteria: str | None = Field(
        default=None,
        description="The G-Eval criterion; unset: built from the dataset's name, labels and "
        "description (judge_criteria).",
    )
    name: str = "label correctness"
    threshold: float = Field(default=0.5, ge=0, le=1)
    max_cases: int = Field(default=50, ge=1, description="Cap on judged cases (each costs calls).")
    timeout_s: float = Field(default=60.0, gt=0)
