"""Which golden set judges a dataset's models: supplied by the user, built in, or carved.

- `dataset.golden_path` set: the user's file, validated with the dataset's own column
  mapping and limits, checked against its manifest (`<file>.manifest.json` with `version`
  and the file's `sha256`), so nobody edits it silently.
- the default dataset (`name = "sentiment"`): the curated VADER golden set in data/golden/
  (v1), until a new version is drawn.
- otherwise: carved once from the labelled data landed so far (data.golden_carve) and frozen
  in the data registry as `golden/<name>-v<N>-<hash12>`; every later run reuses the newest
  version.

A new version is only ever drawn by an explicit `new_version=True` (the `new_golden_version`
job, `driftwise new-golden`), and only from labelled rows that no training snapshot ever held
(a model must never be judged on rows it learnt from) and that the current version does not
hold. It is a base - a fresh carve of such rows, or, when there are none (and always for the
default dataset, whose base is its curated rows), the current version's own rows - plus
`golden_reviewed_share` of it drawn from reviewed traffic: the rows the label loop landed
(`reviewed-*` batches), marked with domain `reviewed` so the gate reports them as a slice.
That is how the golden set follows traffic without ever holding a trained-on row.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data.batch_tags import batch_id_of
from data.data_registry import DataRegistry
from data.golden_carve import carve_golden, golden_sha256
from data.golden_set import GOLDEN_PATH, GoldenSetError, load_golden
from data.ingest import accepted_batches
from data.readers import read_file
from data.schema import DOMAIN, LABEL, ROW_ID, DatasetSpec
from data.snapshot import SNAPSHOT_PATH, SNAPSHOT_TAG_PREFIX
from data.validation import validate_batch

DEFAULT_DATASET = "sentiment"
# Batches the label loop lands (orchestration/annotation/loop.py names them reviewed-<hash>).
REVIEWED_BATCH_PREFIX = "reviewed-"
REVIEWED_DOMAIN = "reviewed"


@dataclass(frozen=True)
class ResolvedGolden:
    frame: pd.DataFrame
    version: str
    sha256: str
    tag: str
    source: str  # "file" | "builtin" | "carved" | "registered"

    @property
    def reviewed(self) -> int:
        """Rows drawn from reviewed production traffic (marked by their domain)."""
        return int(_is_reviewed(self.frame).sum())


def _is_reviewed(frame: pd.DataFrame) -> pd.Series:
    if DOMAIN not in frame:
        return pd.Series(False, index=frame.index)
    return frame[DOMAIN] == REVIEWED_DOMAIN


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


def _registered(registry: DataRegistry, spec: DatasetSpec, tag: str) -> ResolvedGolden:
    version = tag.removeprefix(f"golden/{spec.name}-").split("-")[0]
    frame = registry.read_table(GOLDEN_PATH, rev=tag)
    return ResolvedGolden(frame, version, golden_sha256(frame), tag, "registered")


def _builtin() -> ResolvedGolden:
    golden = load_golden()
    tag = f"golden/{golden.version}-{golden.sha256[:12]}"
    return ResolvedGolden(golden.frame, golden.version, golden.sha256, tag, "builtin")


def _labelled_rows(registry: DataRegistry) -> pd.DataFrame:
    """Every accepted labelled row, with `reviewed`: whether the label loop landed it."""
    frames = [
        f.assign(reviewed=batch_id_of(tag).startswith(REVIEWED_BATCH_PREFIX))
        for tag, f in accepted_batches(registry)
        if LABEL in f and f[LABEL].notna().any()
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _draw_reviewed(reviewed: pd.DataFrame, n: int, salt: str) -> pd.DataFrame:
    """`n` reviewed rows, the smallest salted hashes of their row ids (deterministic, a
    simple random sample of what was reviewed), marked with the `reviewed` domain when they
    carry none so the golden report and the gate show them as their own slice."""
    picked = reviewed.drop_duplicates(ROW_ID)
    order = picked[ROW_ID].map(lambda i: hashlib.sha256(f"{salt}:{i}".encode()).hexdigest())
    picked = picked.loc[order.sort_values().index[:n]]
    domain = picked[DOMAIN] if DOMAIN in picked else pd.Series(None, index=picked.index)
    return picked.assign(**{DOMAIN: domain.where(domain.notna(), REVIEWED_DOMAIN)})


def _new_version(spec: DatasetSpec, registry: DataRegistry, existing: list[str]) -> ResolvedGolden:
    """A new golden version: a base (a fresh carve of labelled rows no snapshot held, or else
    the current version's rows) plus `golden_reviewed_share` of reviewed traffic."""
    builtin = spec.name == DEFAULT_DATASET
    current = (
        _registered(registry, spec, existing[-1]) if existing else (_builtin() if builtin else None)
    )
    pool = _labelled_rows(registry)
    if pool.empty and current is None:
        raise GoldenSetError(f"dataset {spec.name!r} has no labelled data to carve from")
    landed_reviewed = int(pool["reviewed"].sum()) if not pool.empty else 0
    if not pool.empty:
        held = _ever_trained(registry) | set(current.frame[ROW_ID] if current else [])
        pool = pool[~pool[ROW_ID].isin(held)]
    reviewed = pool[pool["reviewed"]] if not pool.empty else pool
    fresh = pool[~pool["reviewed"]] if not pool.empty else pool
    share = spec.golden_reviewed_share
    if builtin and (share == 0 or reviewed.empty):
        raise GoldenSetError(
            "the default dataset's golden set is curated in data/golden/ (`driftwise "
            "build-golden`, maintainers); a new version adds reviewed traffic to it, and of "
            f"{landed_reviewed} reviewed rows landed none is free (each is in a training "
            "snapshot or the current golden set already); `driftwise label sync` lands more"
            if share
            else "the default dataset's golden set is curated in data/golden/ and "
            "golden_reviewed_share is 0: there is nothing to add to it"
        )
    version = f"v{len(existing) + (2 if builtin else 1)}"  # the built-in set is v1
    if not fresh.empty and not builtin:
        base = carve_golden(fresh.drop(columns="reviewed"), salt=f"{spec.name}-{version}")
    elif current is not None and (share and not reviewed.empty):
        # The current version's own rows stay (never trainable); its reviewed rows make way
        # for newer traffic, so the reviewed share stays the configured one.
        base = current.frame[~_is_reviewed(current.frame)]
    else:
        raise GoldenSetError(
            f"every labelled row of {spec.name!r} is in a training snapshot already: "
            "land new labelled data (or reviewed traffic) before drawing a new golden version"
        )
    n_reviewed = min(len(reviewed), round(share / (1 - share) * len(base))) if share else 0
    added = _draw_reviewed(reviewed, n_reviewed, salt=f"{spec.name}-{version}")
    frame = pd.concat([base, added[base.columns.intersection(added.columns)]])
    frame = frame.drop_duplicates(ROW_ID).reset_index(drop=True)
    sha = golden_sha256(frame)
    return ResolvedGolden(frame, version, sha, _tag(spec, version, sha), "carved")


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
    existing = _versions(registry, spec)
    if new_version:
        return _new_version(spec, registry, existing)
    if existing:
        return _registered(registry, spec, existing[-1])
    if spec.name == DEFAULT_DATASET:
        return _builtin()
    labelled = _labelled_rows(registry)
    if labelled.empty:
        raise GoldenSetError(
            f"dataset {spec.name!r} has no golden set yet and no labelled data to carve one "
            "from: land a labelled batch first, or supply dataset.golden_path"
        )
    frame = carve_golden(labelled.drop(columns="reviewed"), salt=f"{spec.name}-v1")
    sha = golden_sha256(frame)
    return ResolvedGolden(frame, "v1", sha, _tag(spec, "v1", sha), "carved")
