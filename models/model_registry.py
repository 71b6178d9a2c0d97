"""MLflow registry aliases: find the champion, fetch its bundles, promote, roll back.

Pure MLflow (no dagster). Aliases carry the serving roles of a registered model:
- `challenger`: set by training (models.tracking) on every new version.
- `champion`: the version in production. Only `promote` moves it.
- `previous`: the champion `promote` replaced, kept so that `rollback` is one call.

Crash safety: `promote` sets `previous` before `champion`, so an interruption between the two
leaves the old champion serving (with `previous` pointing at it too), and calling `promote`
again completes the move. `rollback` moves `champion` back before deleting `previous`.
"""

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import mlflow.artifacts
from mlflow import MlflowClient

from models.bundle import CONFIG_FILE
from models.lineage import VERDICT_TAG
from models.quiet import no_artifact_progress
from models.tracking import CHALLENGER, CHAMPION, TrackingConfig, client_for

log = logging.getLogger(__name__)

PREVIOUS = "previous"
__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "PREVIOUS",
    "AliasMove",
    "AliasedVersion",
    "ServingModel",
    "aliased_version",
    "download_bundles",
    "find_model",
    "promote",
    "rollback",
]


@dataclass(frozen=True)
class AliasedVersion:
    """A registered model version that an alias points at."""

    model_name: str
    version: str
    run_id: str | None
    source: str | None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AliasMove:
    """The aliases after a promotion or rollback; `changed` is False for a no-op."""

    model_name: str
    champion: str
    previous: str | None
    replaced: str | None
    changed: bool


def _aliases(client: MlflowClient, name: str) -> dict[str, str]:
    """alias -> version of `name`; empty when the model is not registered at all."""
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        return {}
    return {k: str(v) for k, v in client.get_registered_model(name).aliases.items()}


def aliased_version(config: TrackingConfig, name: str, alias: str) -> AliasedVersion | None:
    """The version `alias` points at, or None when the model or the alias does not exist."""
    client = client_for(config)
    version = _aliases(client, name).get(alias)
    if version is None:
        return None
    mv = client.get_model_version(name, version)
    return AliasedVersion(name, str(mv.version), mv.run_id, mv.source, dict(mv.tags))


def download_bundles(
    config: TrackingConfig, version: AliasedVersion, cache_root: Path
) -> dict[str, Path]:
    """The version's tier bundles (`<source>/<tier>/config.json`) in a local cache.

    Versions are immutable, so a version downloaded once is reused: the files land under
    `<cache_root>/<name>/v<version>/`, written to a temp folder first and renamed, so a
    crashed download never looks complete.

    Returns:
        tier -> bundle directory.
    """
    target = Path(cache_root) / version.model_name / f"v{version.version}"
    if not target.exists():
        if not version.source:
            raise ValueError(f"{version.model_name} v{version.version} has no source to fetch")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".download-"))
        try:
            no_artifact_progress()
            got = mlflow.artifacts.download_artifacts(
                artifact_uri=version.source, dst_path=str(staging), tracking_uri=config.tracking_uri
            )
            os.replace(got, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        log.info("downloaded %s v%s to %s", version.model_name, version.version, target)
    bundles = {d.name: d for d in sorted(target.iterdir()) if (d / CONFIG_FILE).exists()}
    if not bundles:
        raise FileNotFoundError(f"{version.model_name} v{version.version}: no bundles in {target}")
    return bundles


@dataclass(frozen=True)
class ServingModel:
    """A registered version found by alias, with its tier bundles on local disk."""

    alias: str
    version: AliasedVersion
    bundles: dict[str, Path]  # tier -> bundle directory

    @property
    def label(self) -> str:
        return f"{self.version.model_name}@{self.alias} v{self.version.version}"


def find_model(
    config: TrackingConfig,
    name: str,
    cache_root: Path,
    aliases: tuple[str, ...] = (CHAMPION,),
    exclude_version: str | None = None,
) -> ServingModel | None:
    """The first of `aliases` that points at a version other than `exclude_version`.

    The one lookup behind "who is the champion" (evaluation compares against it, drift uses
    its training data as the reference). None when no alias is set; an unreachable tracking
    store raises, so callers never mistake an outage for "no model yet".
    """
    for alias in aliases:
        version = aliased_version(config, name, alias)
        if version is None:
            continue
        if version.version == exclude_version:
            return None  # e.g. a re-evaluation of the champion itself: nothing to compare
        return ServingModel(alias, version, download_bundles(config, version, cache_root))
    return None


def promote(config: TrackingConfig, name: str, version: str) -> AliasMove:
    """Make `version` the champion; the champion it replaces becomes `previous`.

    Idempotent: promoting the current champion changes nothing (and keeps `previous`).
    """
    client = client_for(config)
    version = str(version)
    client.get_model_version(name, version)  # raises for an unknown version
    aliases = _aliases(client, name)
    current = aliases.get(CHAMPION)
    if current == version:
        return AliasMove(name, version, aliases.get(PREVIOUS), None, changed=False)
    if current is not None:
        client.set_registered_model_alias(name, PREVIOUS, current)
    client.set_registered_model_alias(name, CHAMPION, version)
    log.info("%s: champion %s -> %s", name, current, version)
    previous = current if current is not None else aliases.get(PREVIOUS)
    return AliasMove(name, version, previous, current, changed=True)


def rollback(config: TrackingConfig, name: str) -> AliasMove:
    """Swap `champion` and `previous`: the version rolled back from becomes `previous`, so a
    second rollback rolls forward again (there is always a way back).

    Raises:
        LookupError: there is no `previous` version to return to.
    """
    client = client_for(config)
    aliases = _aliases(client, name)
    target = aliases.get(PREVIOUS)
    if target is None:
        raise LookupError(f"{name} has no {PREVIOUS!r} version to roll back to")
    current = aliases.get(CHAMPION)
    # champion first: a crash between the two writes leaves champion == previous, which a
    # rollback or promotion repairs, never two aliases pointing nowhere
    client.set_registered_model_alias(name, CHAMPION, target)
    if current is not None and current != target:
        client.set_registered_model_alias(name, PREVIOUS, current)
    log.info("%s: rolled back champion %s -> %s", name, current, target)
    return AliasMove(name, target, current, current, changed=current != target)


def gate_passed(config: TrackingConfig, name: str, version: str) -> bool:
    """The promotion gate passed this registered version (its verdict tag); raises for an
    unknown version."""
    mv = client_for(config).get_model_version(name, str(version))
    return dict(mv.tags).get(VERDICT_TAG) == "passed"
