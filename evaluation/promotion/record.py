"""The decision record: one content-addressed JSON document per promotion decision.

Scheme:
- A record is a JSON object `{"schema", "parent_id", "created_at", "sections": {...}}`.
  Its id is the sha256 of its canonical JSON (sorted keys, no whitespace, UTF-8, no NaN), and
  the file `<dir>/<id>.json` holds exactly those bytes, so `sha256sum <id>.json` = id.
- Records are immutable. `append_section(dir, id, name, payload)` writes a *new* record: the
  parent's sections plus the new one, with `parent_id` = the parent's id. Later stages (drift,
  cost, canary) thus add evidence without rewriting history; `lineage` walks back the chain.
- Sections are append-only: a name that already exists is refused.
MLflow logging of the record is the caller's job (it logs the file as an artifact).
"""

import dataclasses
import datetime as dt
import enum
import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

SCHEMA = "driftwise.decision/1"


def to_jsonable(obj: Any) -> Any:
    """Plain JSON values from our result types (dataclasses, pydantic, numpy, paths).

    NaN and infinities become None (JSON has no NaN). Objects with a `to_dict()` method are
    serialised through it, which is how reports leave out bulky per-row tables. DataFrames are
    refused: tables belong in artifacts, not in the record.
    """
    if hasattr(obj, "to_dict") and not isinstance(obj, pd.DataFrame | pd.Series):
        return to_jsonable(obj.to_dict())
    if isinstance(obj, BaseModel):
        return to_jsonable(obj.model_dump(mode="json"))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        items = [to_jsonable(v) for v in obj]
        return sorted(items, key=repr) if isinstance(obj, set | frozenset) else items
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, str | bool | int):
        return obj
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, dt.datetime | dt.date):
        return obj.isoformat()
    raise TypeError(f"cannot put {type(obj).__name__} into a decision record")


def canonical_json(obj: Any) -> str:
    return json.dumps(
        to_jsonable(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def content_id(document: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class DecisionRecord:
    record_id: str
    document: dict[str, Any]
    path: Path

    @property
    def sections(self) -> dict[str, Any]:
        return self.document["sections"]

    @property
    def parent_id(self) -> str | None:
        return self.document["parent_id"]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def new_document(
    sections: dict[str, Any], *, parent_id: str | None = None, created_at: str | None = None
) -> dict[str, Any]:
    """A record body (not yet written): sections made JSON-plain."""
    return {
        "schema": SCHEMA,
        "parent_id": parent_id,
        "created_at": created_at or _now(),
        "sections": to_jsonable(sections),
    }


def build_decision_document(
    *,
    data: dict[str, Any],
    code: dict[str, Any],
    mlflow: dict[str, Any],
    policy: Any,
    verdict: Any,
    golden: Any,
    champion_golden: Any | None = None,
    comparison: Any | None = None,
    reference_free: Any | None = None,
    extra: dict[str, Any] | None = None,
    created_at: str | None = None,
) -> dict[str, Any]:
    """The promotion decision's first record body.

    Args:
        data: Data lineage: snapshot/golden DVC tags and content hashes.
        code: `models.lineage.git_commit()` output (commit, dirty).
        mlflow: Run ids and registered model versions of candidate (and champion).
        policy: The PromotionPolicy used.
        verdict: The policy's Verdict (passed + reasons).
        golden: The candidate's GoldenReport (or its dict).
        champion_golden: The champion's GoldenReport, when there is one.
        comparison: PairedComparison, when there is a champion.
        reference_free: ReferenceFreeReport on recent traffic.
        extra: Any further sections.
        created_at: ISO timestamp (defaults to now, UTC).
    """
    sections: dict[str, Any] = {
        "data": data,
        "code": code,
        "mlflow": mlflow,
        "policy": policy,
        "golden": {"candidate": golden, "champion": champion_golden},
        "comparison": comparison,
        "reference_free": reference_free,
        "verdict": verdict,
    }
    for name, payload in (extra or {}).items():
        if name in sections:
            raise ValueError(f"section {name!r} is already part of the decision")
        sections[name] = payload
    return new_document(sections, created_at=created_at)


def write_record(document: dict[str, Any], directory: Path) -> DecisionRecord:
    """Write `document` as `<directory>/<id>.json` (atomically) and return it with its id."""
    body = canonical_json(document)
    record_id = hashlib.sha256(body.encode("utf-8")).hexdigest()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{record_id}.json"
    if not path.exists():
        # Write-then-rename: a crash never leaves a half-written record under a valid id.
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(body)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return DecisionRecord(record_id, json.loads(body), path)


def load_record(directory: Path, record_id: str) -> DecisionRecord:
    """Read a record and verify its content hash."""
    path = directory / f"{record_id}.json"
    body = path.read_text(encoding="utf-8")
    actual = hashlib.sha256(body.encode("utf-8")).hexdigest()
    if actual != record_id:
        raise ValueError(f"decision record {path} is corrupt: sha256 {actual}")
    return DecisionRecord(record_id, json.loads(body), path)


def append_section(
    directory: Path,
    record_id: str,
    name: str,
    payload: Any,
    *,
    created_at: str | None = None,
) -> DecisionRecord:
    """A new record = the parent's sections + `name`; the parent stays as it was."""
    parent = load_record(directory, record_id)
    if name in parent.sections:
        raise ValueError(
            f"section {name!r} already in record {record_id}; sections are append-only"
        )
    sections = {**parent.sections, name: payload}
    return write_record(
        new_document(sections, parent_id=record_id, created_at=created_at), directory
    )


def lineage(directory: Path, record_id: str) -> list[str]:
    """Ids from `record_id` back to the first decision record (newest first)."""
    chain = []
    current: str | None = record_id
    while current is not None:
        chain.append(current)
        current = load_record(directory, current).parent_id
    return chain
