"""Registered versions in the BentoML model store: import from MLflow, load for serving.

A store model is one registered version with all its tier bundles as sub-folders
(`fast/`, `accurate/`), named `<registered name>:v<version>` and labelled with its lineage
(MLflow version, snapshot tag, decision record id), so `bentoml models list` says what each
one is. Versions are immutable, so importing twice is a no-op. The store lives in
$BENTOML_HOME (the CLI points it into the runtime home).
"""

import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data.home import HomeLayout
from models.bundle import read_bundle_config
from models.lineage import RECORD_TAG, SNAPSHOT_TAG
from models.model_registry import AliasedVersion, download_bundles
from models.tracking import TrackingConfig, client_for

CASCADE_KEY = "cascade_threshold"  # store metadata: the tuned cascade threshold, if any
VARIANT_KEY = "encoder_variant"  # store metadata: the accurate tier's runtime (fp32 if absent)
# store metadata: tier disagreement on the texts the cascade keeps fast, on the golden window
KEPT_DISAGREEMENT_KEY = "cascade_kept_disagreement"
RUN_LABEL = "mlflow_run_id"  # store label: the MLflow run the bundles came from
_UNSAFE = re.compile(r"[^a-z0-9_.-]+")
log = logging.getLogger(__name__)


def store_name(registered_name: str) -> str:
    """BentoML names are lowercase [a-z0-9_.-]; MLflow names are freer."""
    return _UNSAFE.sub("-", registered_name.lower()).strip("-.") or "driftwise"


def store_tag(registered_name: str, version: str) -> str:
    return f"{store_name(registered_name)}:v{version}"


@dataclass(frozen=True)
class StoredModel:
    tag: str
    path: Path
    registered_name: str
    version: str
    tiers: dict[str, Path]
    labels: list[str]
    metadata: dict[str, Any]


def _lineage_labels(version: AliasedVersion) -> dict[str, str]:
    labels = {"registered_name": version.model_name, "mlflow_version": version.version}
    if version.run_id:
        labels[RUN_LABEL] = version.run_id
    for key in (SNAPSHOT_TAG, RECORD_TAG):
        if version.tags.get(key):
            labels[key] = _UNSAFE.sub("_", version.tags[key].lower())[:63]
    return labels


def import_version(
    tracking: TrackingConfig,
    registered_name: str,
    version: str,
    cache_root: Path,
    metadata: dict[str, Any] | None = None,
) -> StoredModel:
    """Copy registered `version`'s bundles into the BentoML store (idempotent).

    Idempotent per MLflow run: a store model under this tag that came from another run (a
    second registry sharing the store, e.g. two runtime homes with one $BENTOML_HOME) is not
    this version, and is replaced rather than served in its place."""
    import bentoml

    tag = store_tag(registered_name, version)
    client = client_for(tracking)
    try:
        existing = bentoml.models.get(tag)
    except bentoml.exceptions.NotFound:
        existing = None
    mv = None
    if existing is not None:
        stored_run = existing.info.labels.get(RUN_LABEL)
        if stored_run is None:  # imported before runs were labelled: trusted as before
            return load_stored(tag)
        mv = client.get_model_version(registered_name, str(version))
        if stored_run == mv.run_id:
            return load_stored(tag)
        log.warning(
            "store model %s came from MLflow run %s, not %s: replaced", tag, stored_run, mv.run_id
        )
        bentoml.models.delete(tag)
    mv = mv or client.get_model_version(registered_name, str(version))
    aliased = AliasedVersion(registered_name, str(mv.version), mv.run_id, mv.source, dict(mv.tags))
    bundles = download_bundles(tracking, aliased, cache_root)
    with bentoml.models.create(
        tag, labels=_lineage_labels(aliased), metadata=dict(metadata or {})
    ) as ref:
        for tier, src in bundles.items():
            shutil.copytree(src, ref.path_of(tier))
    return load_stored(tag)


def load_stored(tag: str) -> StoredModel:
    """A store model's tiers and labels. Raises bentoml.exceptions.NotFound if absent."""
    import bentoml

    ref = bentoml.models.get(tag)
    path = Path(ref.path)
    tiers = {d.name: d for d in sorted(path.iterdir()) if (d / "config.json").exists()}
    if not tiers:
        raise FileNotFoundError(f"store model {tag} holds no tier bundles")
    labels = {tier: read_bundle_config(d).labels for tier, d in tiers.items()}
    first = next(iter(labels.values()))
    if any(v != first for v in labels.values()):
        raise ValueError(f"store model {tag}: tiers disagree on labels {labels}")
    return StoredModel(
        tag=str(ref.tag),
        path=path,
        registered_name=ref.info.labels.get("registered_name", ref.tag.name),
        version=ref.info.labels.get("mlflow_version", str(ref.tag.version).lstrip("v")),
        tiers=tiers,
        labels=list(first),
        metadata=dict(ref.info.metadata),
    )


def load_tiers(stored: StoredModel, cache_dir: Path) -> dict[str, Any]:
    """tier -> warmed predictor of a store model, on the runtime `model_variants` chose for it
    (the fastest within policy; torch fp32 when none was recorded). The service and
    `driftwise predict` load through here, so a batch is scored as a request would be."""
    from models.inference import load_predictor

    variant = stored.metadata.get(VARIANT_KEY) or "torch-fp32"
    tiers = {
        t: load_predictor(p, encoder_variant=variant, cache_dir=cache_dir)
        for t, p in stored.tiers.items()
    }
    for predictor in tiers.values():
        predictor.predict_proba(["warm up"])  # first call allocates; not a request's
    return tiers


def load_for_scoring(
    tracking: TrackingConfig, registered_name: str, version: str, layout: HomeLayout
) -> tuple[dict[str, Any], list[str], float | None]:
    """A registered version as batch scoring uses it: (warmed tiers, labels, cascade
    threshold), imported into the store as `driftwise serve` imports it and
    loaded on the runtime the service would use. `driftwise predict` and the
    `batch_predictions` asset both come through here."""
    stored = import_version(tracking, registered_name, version, layout.model_imports)
    return load_tiers(stored, layout.cache), stored.labels, stored.metadata.get(CASCADE_KEY)
