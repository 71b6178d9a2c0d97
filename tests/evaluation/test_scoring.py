"""Which tier the gate judges and how evaluation names models (evaluation/scoring.py). Pure."""

import pytest

from evaluation.scoring import gate_tier, model_id


def test_gate_tier_prefers_accurate_else_the_first_trained() -> None:
    assert gate_tier({"fast": "a", "accurate": "b"}) == "accurate"
    assert gate_tier({"fast": "a"}) == "fast"
    assert gate_tier({"custom": "a", "fast": "b"}) == "custom"
    with pytest.raises(ValueError, match="without tiers"):
        gate_tier({})


def test_model_id_names_name_version_and_tier() -> None:
    assert model_id("driftwise-topics", "3", "fast") == "driftwise-topics/v3/fast"
