"""Which golden set judges a dataset's models: supplied by the user, built in, or carved.

- `dataset.golden_path` set: the user's file, validated with the dataset's own column
  mapping and limits, checked against its manifest (`<file>.manifest.json` with `version`
  and the file's `sha256`), so nobody edits it silently.
- the default dataset (`name = "sentiment"`): the curated VADER golden set in data/golden/.
- otherwise: carved once from the labelled data landed so far (data.golden_carve) and frozen
  in the data registry as `golden/<name>-v<N>-<hash12>`; every later run reuses the newest
  version. A new version is only ever drawn by an explicit `new_version=True` (the
  `new_golden_version` job, `driftwise new-golden`), and only from labelled rows that no
  training snapshot ever held (a model must never be judged on rows it learnt from) and
  that the current version does not hold.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data.data_registry import DataRegistry
from data.golden_carve import carve_golden, golden_sha256
from data.golden_set import GOLDEN_PATH, GoldenSetError, load_golden
from data.ingest import accepted_batches
from data.readers import read_file
from data.schema import LABEL, ROW_ID, DatasetSpec
from data.snapshot import SNAPSHOT_PATH, SNAPSHOT_TAG_PREFIX
from data.validation import validate_batch

DEFAULT_DATASET = "sentiment"


@dataclass(frozen=True)
class ResolvedGolden:
    frame: pd.DataFrame
    version: str
    sha256: str
    tag: str
    source: str  # "file" | "builtin" | "carved" | "registered"


def _tag(spec: DatasetSpec, version: str, sha: str) -> str:
    return f"golden/{spec.name}-{version}-{sha[:12]}"


def _from_file(spec: DatasetSpec) -> ResolvedGolden:
    path = Path(str(spec.golden_path))
    manifest_path = path.with_name(path.name + ".manifest.json")
    if not manifest_path.exists():
        raise GoldenSetError(
            f"{manifest_path} is missing: a supplied golden set needs a manifest with its "
            '"version" and "sha256" (sha256sum of the file)'
        )
    manifest = json.loads(manifest_path.read_text())
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if manifest.get("sha256") != actual:
        raise GoldenSetError(f"{path} differs from its manifest (sha256 {actual})")
    version = str(manifest.get("version") or "")
    if not version:
        raise GoldenSetError(f"{manifest_path} names no version")
    result = validate_batch(read_file(path, max_bytes=spec.max_file_bytes), spec, "golden")
    if not result.labelled or result.accepted.empty:
        raise GoldenSetError(f"{path}: no labelled rows passed validation")
    if len(result.quarantined):
        raise GoldenSetError(
            f"{path}: {len(result.quarantined)} golden rows fail validation {result.reasons}; "
            "a golden set must be clean"
        )
    frame = result.accepted.reset_index(drop=True)
    return ResolvedGolden(frame, version, actual, _tag(spec, version, actual), "file")


def _versions(registry: DataRegistry, spec: DatasetSpec) -> list[str]:
    return registry.tags(f"golden/{spec.name}-v")


def _ever_trained(registry: DataRegistry) -> set[str]:
    """Row ids held by any training snapshot (any split: val/test rows steered training too)."""
    ids: set[str] = set()
    for _, frame in registry.tagged_tables(SNAPSHOT_TAG_PREFIX, lambda _: SNAPSHOT_PATH, [ROW_ID]):
        ids.update(frame[ROW_ID])
    return ids


def resolve_golden(
    spec: DatasetSpec, registry: DataRegistry, new_version: bool = False
) -> ResolvedGolden:
    """The golden set for `spec` (see the module docstring for the order of sources)."""
    if spec.golden_path:
        if new_version:
            raise GoldenSetError(
                f"the golden set of {spec.name!r} is your file {spec.golden_path}: a new "
                "version is a new file and manifest (version + sha256), not a new carve"
            )
        return _from_file(spec)
    if spec.name == DEFAULT_DATASET:
        if new_version:
            raise GoldenSetError(
                "the default dataset's golden set is curated in data/golden/ "
                "(`driftwise build-golden`, maintainers); it is never re-carved"
            )
        golden = load_golden()
        tag = f"golden/{golden.version}-{golden.sha256[:12]}"
        return ResolvedGolden(golden.frame, golden.version, golden.sha256, tag, "builtin")
    existing = _versions(registry, spec)
    if existing and not new_version:
        tag = existing[-1]
        version = tag.removeprefix(f"golden/{spec.name}-").split("-")[0]
        frame = registry.read_table(GOLDEN_PATH, rev=tag)
        return ResolvedGolden(frame, version, golden_sha256(frame), tag, "registered")
    labelled = [f for _, f in accepted_batches(registry) if LABEL in f and f[LABEL].notna().any()]
    if not labelled:
        raise GoldenSetError(
            f"dataset {spec.name!r} has no golden set yet and no labelled data to carve one "
            "from: land a labelled batch first, or supply dataset.golden_path"
        )
    pool = pd.concat(labelled, ignore_index=True)
    if existing:
        # A new version: rows no model has trained (or early-stopped) on, and not the current
        # version's (those become trainable from the next snapshot on).
        current = registry.read_table(GOLDEN_PATH, rev=existing[-1])[ROW_ID]
        pool = pool[~pool[ROW_ID].isin(_ever_trained(registry) | set(current))]
        if pool.empty:
            raise GoldenSetError(
                f"every labelled row of {spec.name!r} is in a training snapshot already: "
                "land new labelled data before drawing a new golden version"
            )
    version = f"v{len(existing) + 1}"
    frame = carve_golden(pool, salt=f"{spec.name}-{version}")
    sha = golden_sha256(frame)
    return ResolvedGolden(frame, version, sha, _tag(spec, version, sha), "carved")
