"""orchestration/jobs.py's `rollback_now` (the `rollback` job's step) outside a rollout:
the way back both ways and to any gate-passed version, each move in a decision record.
Touches: a real embedded MLflow registry (SQLite) in a temp home with registered versions;
no service is running, so the move is the aliases' (what the served champion follows on
its next load).
"""

from pathlib import Path

import pytest

from evaluation.promotion.record import load_record
from models.lineage import VERDICT_TAG
from models.model_registry import CHAMPION, PREVIOUS, aliased_version, promote
from models.tracking import TrackingConfig, client_for
from orchestration.jobs import rollback_now
from orchestration.resources import ServingResource
from tests.models.test_model_registry import NAME, _register


def _champion(config: TrackingConfig) -> tuple[str | None, str | None]:
    found = [aliased_version(config, NAME, a) for a in (CHAMPION, PREVIOUS)]
    return tuple(v.version if v else None for v in found)  # type: ignore[return-value]


def test_rollback_both_ways_and_to_a_gate_passed_version(home: Path, tmp_path: Path) -> None:
    config = TrackingConfig.embedded(home, registered_model_name=NAME)
    v1, v2, v3 = (_register(config, tmp_path, m) for m in ("one", "two", "three"))
    promote(config, NAME, v1)
    promote(config, NAME, v2)
    serving = ServingResource(home=str(home))  # no server: client() is None

    back = rollback_now(home, serving, config, "bad release")
    assert back["action"] == "champion rolled back" and _champion(config) == (v1, v2)
    forward = rollback_now(home, serving, config, "it was fine")
    assert _champion(config) == (v2, v1) and forward["replaced"] == v1

    # v3 was never judged: refused, nothing moves
    with pytest.raises(LookupError, match="did not pass the promotion gate"):
        rollback_now(home, serving, config, "try v3", to=v3)
    assert _champion(config) == (v2, v1)
    client_for(config).set_model_version_tag(NAME, v3, VERDICT_TAG, "passed")
    to = rollback_now(home, serving, config, "serve v3", to=v3)
    assert to["action"] == f"champion set to v{v3}" and _champion(config) == (v3, v2)
    with pytest.raises(LookupError, match="has no version 99"):
        rollback_now(home, serving, config, "nope", to="99")

    record = load_record(home / "decisions", to["record_id"]).sections["manual"]
    assert record["champion"] == v3 and record["replaced"] == v2
    assert record["reason"] == "serve v3" and record["by"] and record["at"] > 0
    assert load_record(home / "decisions", back["record_id"]).sections["manual"]["champion"] == v1
