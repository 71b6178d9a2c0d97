"""assets/policy_config.py: Dagster run configs derived from the pydantic models that hold
the rules. Touches: the real PromotionPolicy and JudgeConfig, a model defined here (a new
field must appear in the config with no second edit), and a real in-process Dagster run
whose launchpad config goes through the derived class."""

import dagster as dg
import pytest
from pydantic import BaseModel, Field, ValidationError

from assets.evaluation import EvaluationConfig, GoldenEvaluationConfig
from assets.policy_config import config_from
from evaluation.golden_eval.judge_config import JudgeConfig
from evaluation.golden_eval.report import CorpusThresholds
from evaluation.promotion.policy import PromotionPolicy


def test_every_policy_field_is_a_config_field_with_its_default() -> None:
    """The gate's config is the policy: same fields (floors flattened in, the dataset's cost
    budget left out), same defaults, and it turns back into the same policy."""
    expected = (set(PromotionPolicy.model_fields) - {"floors", "max_cost_units_per_1k"}) | set(
        CorpusThresholds.model_fields
    )
    assert set(EvaluationConfig.model_fields) == expected
    assert EvaluationConfig().to_model() == PromotionPolicy()
    tuned = EvaluationConfig(accuracy_min=0.62, alpha=0.1, slice_margins={"tweets": 0.1})
    policy = tuned.to_model()
    assert policy.floors.accuracy_min == 0.62 and policy.floors.ece_max == 0.1
    assert (policy.alpha, policy.slice_margins) == (0.1, {"tweets": 0.1})


def test_the_models_bounds_and_choices_hold_in_the_config() -> None:
    with pytest.raises(ValidationError, match="alpha"):
        EvaluationConfig(alpha=2.0)
    with pytest.raises(ValidationError, match="accuracy_min"):
        EvaluationConfig(accuracy_min=1.5)
    with pytest.raises(ValidationError, match="slice_test"):
        EvaluationConfig(slice_test="sometimes")
    with pytest.raises(ValidationError, match="judge_max_cases"):
        GoldenEvaluationConfig(judge_max_cases=0)


def test_the_judge_config_keeps_its_run_config_keys() -> None:
    config = GoldenEvaluationConfig(judge=True, judge_model="m", judge_max_cases=3)
    judge = config.to_model()
    assert isinstance(judge, JudgeConfig) and judge.enabled and judge.model == "m"
    assert judge.max_cases == 3 and judge.criteria is None  # built from the dataset


def test_a_new_model_field_needs_no_second_edit() -> None:
    class Rules(BaseModel):
        limit: float = Field(0.5, ge=0, le=1, description="A bound.")
        mode: str = "a"

    class MoreRules(Rules):
        window: int = Field(7, ge=1, description="Added later.")

    assert set(config_from(Rules, "RulesConfig").model_fields) == {"limit", "mode"}
    derived = config_from(MoreRules, "MoreRulesConfig")
    assert derived.model_fields["window"].description == "Added later."
    assert derived(window=3).to_model() == MoreRules(window=3)
    with pytest.raises(ValidationError, match="window"):
        derived(window=0)


def test_a_dagster_run_takes_the_derived_config_from_its_run_config() -> None:
    @dg.asset
    def gate(config: EvaluationConfig) -> float:
        return config.to_model().floors.accuracy_min

    run_config = {"ops": {"gate": {"config": {"accuracy_min": 0.55, "alpha": 0.1}}}}
    result = dg.materialize([gate], run_config=run_config)
    assert result.success and result.output_for_node("gate") == 0.55
    with pytest.raises(dg.DagsterInvalidConfigError):
        dg.materialize([gate], run_config={"ops": {"gate": {"config": {"alfa": 0.1}}}})
