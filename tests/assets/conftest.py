"""Fixtures for asset tests: real resources over a temp runtime home."""

from pathlib import Path

import pytest

from data.schema import DatasetSpec
from evaluation.rollout.policy import RolloutPolicy
from orchestration.resources import DataRegistryResource, RuntimeHomeResource, ServingResource


@pytest.fixture()
def resources(home: Path) -> dict:
    """The local resource set, rooted in this test's own runtime home."""
    (home / "landing").mkdir()
    return {
        "home": RuntimeHomeResource(path=str(home)),
        "registry": DataRegistryResource(root=str(home / "registry")),
        "dataset": DatasetSpec(labels=["negative", "positive"]),
        "serving": ServingResource(home=str(home)),  # nothing served: promote at the gate
        "rollout_policy": RolloutPolicy(),
    }
