"""Model registry aliases (models.model_registry): the one champion lookup (`find_model`),
bundle download, promote and rollback.

Touches a real MLflow (SQLite + file artifacts) in the test's runtime home: versions are
logged and registered through models.tracking's own `log`/`register_challenger` path with
small bundle folders, and every alias is read back through a fresh MlflowClient.
"""

import json
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from models.model_registry import (
    CHALLENGER,
    CHAMPION,
    PREVIOUS,
    aliased_version,
    download_bundles,
    find_model,
    gate_passed,
    promote,
    rollback,
)
from models.tracking import (
    TrackedCandidate,
    TrackingConfig,
    client_for,
    ensure_experiment,
    register_challenger,
)

NAME = "driftwise-sentiment"


@pytest.fixture()
def config(home: Path) -> TrackingConfig:
    return TrackingConfig.embedded(home)


def _register(config: TrackingConfig, tmp: Path, marker: str) -> str:
    """Log a run whose `bundles/` holds two tiers, register it; returns the version."""
    for tier in ("fast", "accurate"):
        bundle = tmp / marker / tier
        bundle.mkdir(parents=True)
        (bundle / "config.json").write_text(json.dumps({"tier": tier, "marker": marker}))
        (bundle / "model.safetensors").write_bytes(marker.encode() * 10)
    client = client_for(config)
    run = client.create_run(ensure_experiment(client, config))
    client.log_artifacts(run.info.run_id, str(tmp / marker), "bundles")
    client.set_terminated(run.info.run_id)
    tracked = TrackedCandidate(
        run.info.run_id, run.info.experiment_id, run.info.artifact_uri, None, None
    )
    version = register_challenger(config, tracked).model_version
    assert version is not None
    return version


def _aliases(config: TrackingConfig) -> dict[str, str]:
    client = MlflowClient(tracking_uri=config.tracking_uri, registry_uri=config.tracking_uri)
    return {k: str(v) for k, v in client.get_registered_model(NAME).aliases.items()}


def test_no_model_and_no_champion_mean_none(config: TrackingConfig, tmp_path: Path) -> None:
    assert aliased_version(config, NAME, CHAMPION) is None
    v1 = _register(config, tmp_path, "one")
    assert aliased_version(config, NAME, CHAMPION) is None
    challenger = aliased_version(config, NAME, CHALLENGER)
    assert challenger is not None and challenger.version == v1


def test_promote_keeps_previous_and_rollback_restores_it(
    config: TrackingConfig, tmp_path: Path
) -> None:
    v1, v2 = _register(config, tmp_path, "one"), _register(config, tmp_path, "two")

    first = promote(config, NAME, v1)
    assert (first.champion, first.previous, first.replaced, first.changed) == (v1, None, None, True)
    assert _aliases(config) == {CHALLENGER: v2, CHAMPION: v1}

    second = promote(config, NAME, v2)
    assert (second.champion, second.previous, second.replaced) == (v2, v1, v1)
    assert _aliases(config) == {CHALLENGER: v2, CHAMPION: v2, PREVIOUS: v1}

    again = promote(config, NAME, v2)  # idempotent
    assert not again.changed and again.previous == v1
    assert _aliases(config) == {CHALLENGER: v2, CHAMPION: v2, PREVIOUS: v1}

    back = rollback(config, NAME)
    assert (back.champion, back.replaced, back.changed) == (v1, v2, True)
    assert _aliases(config) == {CHALLENGER: v2, CHAMPION: v1, PREVIOUS: v2}
    forward = rollback(config, NAME)  # the way back is kept: a second rollback rolls forward
    assert (forward.champion, forward.replaced) == (v2, v1)
    assert _aliases(config) == {CHALLENGER: v2, CHAMPION: v2, PREVIOUS: v1}
    assert gate_passed(config, NAME, v1) is False  # no verdict tag on these versions


def test_rollback_without_previous_refuses(config: TrackingConfig, tmp_path: Path) -> None:
    promote(config, NAME, _register(config, tmp_path, "one"))
    with pytest.raises(LookupError, match="previous"):
        rollback(config, NAME)


def test_promote_completes_a_move_interrupted_after_previous(
    config: TrackingConfig, tmp_path: Path
) -> None:
    v1, v2 = _register(config, tmp_path, "one"), _register(config, tmp_path, "two")
    promote(config, NAME, v1)
    # The state a crash between promote's two alias writes leaves behind.
    client_for(config).set_registered_model_alias(NAME, PREVIOUS, v1)
    assert _aliases(config)[CHAMPION] == v1
    move = promote(config, NAME, v2)
    assert move.changed
    assert _aliases(config) == {CHALLENGER: v2, CHAMPION: v2, PREVIOUS: v1}


def test_promote_refuses_an_unknown_version(config: TrackingConfig, tmp_path: Path) -> None:
    v1 = _register(config, tmp_path, "one")
    promote(config, NAME, v1)
    with pytest.raises(MlflowException):
        promote(config, NAME, "99")
    assert _aliases(config)[CHAMPION] == v1


def test_download_bundles_fetches_each_tier_once(
    config: TrackingConfig, tmp_path: Path, home: Path
) -> None:
    v1 = _register(config, tmp_path, "one")
    promote(config, NAME, v1)
    champion = aliased_version(config, NAME, CHAMPION)
    assert champion is not None
    cache = home / "cache" / "models"
    bundles = download_bundles(config, champion, cache)
    assert sorted(bundles) == ["accurate", "fast"]
    for tier, path in bundles.items():
        assert json.loads((path / "config.json").read_text()) == {"tier": tier, "marker": "one"}
        assert (path / "model.safetensors").read_bytes() == b"one" * 10
        assert path.is_relative_to(cache)
    assert not [p for p in (cache / NAME).iterdir() if p.name.startswith(".download-")]

    # A version is immutable: the second call is served from the cache, not from MLflow.
    for path in Path(champion.source.removeprefix("file://")).rglob("*"):
        if path.is_file():
            path.unlink()
    assert download_bundles(config, champion, cache) == bundles


def test_find_model_is_the_one_champion_lookup(
    config: TrackingConfig, tmp_path: Path, home: Path
) -> None:
    cache = home / "cache" / "models"
    assert find_model(config, NAME, cache) is None  # nothing registered at all
    v1 = _register(config, tmp_path, "one")
    assert find_model(config, NAME, cache) is None  # a challenger is not a champion
    fallback = find_model(config, NAME, cache, aliases=(CHAMPION, CHALLENGER))
    assert fallback is not None and fallback.alias == CHALLENGER
    assert fallback.version.version == v1 and sorted(fallback.bundles) == ["accurate", "fast"]

    promote(config, NAME, v1)
    v2 = _register(config, tmp_path, "two")
    found = find_model(config, NAME, cache, aliases=(CHAMPION, CHALLENGER))
    assert found is not None
    assert (found.alias, found.version.version) == (CHAMPION, v1)
    assert found.label == f"{NAME}@champion v{v1}"
    assert json.loads((found.bundles["fast"] / "config.json").read_text())["marker"] == "one"
    # Re-evaluating the champion itself: there is no other model to compare with.
    assert find_model(config, NAME, cache, exclude_version=v1) is None
    assert find_model(config, NAME, cache, exclude_version=v2) is not None
