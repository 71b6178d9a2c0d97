"""Row-level validation of a parsed batch: every record is accepted or quarantined with a reason.

Accounting is exact by construction: each received record lands in exactly one of the two
outputs, and `ValidationResult.check_accounting` asserts it.
"""

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from data.labels import label_key, spellings
from data.length import TextTooLong
from data.readers import RawBatch, UnreadableFile
from data.schema import (
    BATCH,
    DOMAIN,
    INVISIBLE_CHARS,
    LABEL,
    ROW_ID,
    SPLIT,
    TEXT,
    DatasetSpec,
    row_id,
)

# Names Driftwise owns in an accepted row (SPLIT is added by the snapshot).
CANONICAL = (ROW_ID, TEXT, LABEL, DOMAIN, BATCH, SPLIT)
QUARANTINE_COLUMNS = ["source_row", "reason", "record"]
_MISSING = {"", "nan", "none", "null", "na", "n/a"}


@dataclass
class ValidationResult:
    """Accepted rows (canonical columns + metadata) and quarantined rows (with reasons)."""

    accepted: pd.DataFrame
    quarantined: pd.DataFrame
    received: int
    labelled: bool
    # Accepted rows worth a look though valid, by kind: "invisible_chars" (zero-width or bidi
    # controls, removed from the identity but kept in the text), "truncated" (longer than the
    # dataset's max_text_chars and cut to it, data/length.py).
    flags: dict[str, int] = field(default_factory=dict)

    @property
    def reasons(self) -> dict[str, int]:
        # "unknown_label: 'x'" counts under "unknown_label"
        return dict(Counter(r.split(":", 1)[0] for r in self.quarantined["reason"]))

    def check_accounting(self) -> None:
        if self.received != len(self.accepted) + len(self.quarantined):
            raise AssertionError(
                f"accounting broken: received {self.received} != accepted "
                f"{len(self.accepted)} + quarantined {len(self.quarantined)}"
            )


def _is_missing(value: str | None) -> bool:
    return value is None or value.strip().lower() in _MISSING


def _metadata_names(columns: list[str], named: set[str | None]) -> dict[str, str]:
    """Where each metadata column goes in an accepted row.

    A user's own column called e.g. "text" next to a configured text column "review" must not
    overwrite the canonical one: it is kept as "meta_text" (or "meta_text_2", … if the file
    also has a "meta_text").
    """
    taken = set(CANONICAL) | {c for c in columns if c not in CANONICAL and c not in named}
    out: dict[str, str] = {}
    for column in columns:
        if column in named:
            continue
        if column not in CANONICAL:
            out[column] = column
            continue
        name, n = f"meta_{column}", 2
        while name in taken:
            name, n = f"meta_{column}_{n}", n + 1
        taken.add(name)
        out[column] = name
    return out


# Label types a typed format (JSONL, Parquet) may use: an int class id reads the same as
# its text ("1"), but a float ("1.0") or a bool ("True") would silently become another class.
_LABEL_TYPES = {"int", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}


def _type_reason(types: Mapping[str, str], spec: DatasetSpec, labelled: bool) -> str | None:
    """Why a typed record's values cannot be taken as text / a label (None: they can)."""
    kind = types.get(spec.text_column)
    if kind is not None:
        return f"wrong_type: text column {spec.text_column!r} holds a {kind}, not a string"
    kind = types.get(spec.label_column or "") if labelled else None
    if kind is not None and kind not in _LABEL_TYPES:
        return f"wrong_type: label column {spec.label_column!r} holds a {kind}, not a string"
    return None


def _reject_reason(
    record: dict[str, str | None],
    spec: DatasetSpec,
    labelled: bool,
    types: Mapping[str, str] | None = None,
    allowed: Sequence[str] | None = None,
) -> str | None:
    text = record.get(spec.text_column)
    if text is None:
        return "missing_text"
    if types:
        typed = _type_reason(types, spec, labelled)
        if typed:
            return typed
    stripped = text.strip()
    if len(stripped) < spec.min_text_chars:
        return "empty_text"
    try:
        spec.length.fit(stripped)
    except TextTooLong as exc:  # long_text = quarantine; truncate cuts it below
        return str(exc)
    if labelled:
        assert spec.label_column is not None
        label = record.get(spec.label_column)
        if _is_missing(label):
            return "missing_label"
        assert label is not None
        if allowed is not None and label_key(label) not in {label_key(x) for x in allowed}:
            return f"unknown_label: {label.strip()[:80]!r} not in {list(allowed)}"
    return None


def _repeat_reason(
    rid: str,
    label: str | None,
    seen: dict[str, tuple[str | None, int]],
    history: Mapping[str, str | None],
) -> str | None:
    """Why a valid row is a repeat: of this batch or of history; another label is a conflict.

    A conflict is not a plain duplicate: the source says one text means two things, which an
    operator must resolve (keeping the first silently would hide a labelling problem).
    """
    if rid in seen:
        first_label, first_row = seen[rid]
        if label is not None and first_label is not None and label != first_label:
            return (
                f"conflicting_label: {label[:80]!r} here, {first_label[:80]!r} "
                f"at source_row {first_row}"
            )
        return "duplicate_in_batch"
    if rid in history:
        earlier = history[rid]
        if label is not None and earlier is not None and label != earlier:
            return f"conflicting_label: {label[:80]!r} here, {earlier[:80]!r} in an earlier batch"
        return "duplicate_of_history"
    return None


def validate_batch(
    raw: RawBatch,
    spec: DatasetSpec,
    batch_id: str,
    history: Mapping[str, str | None] | Iterable[str] = (),
    labels: Sequence[str] | None = None,
) -> ValidationResult:
    """Split `raw` into accepted and quarantined rows.

    Args:
        raw: the parsed file.
        spec: which columns mean what, allowed labels, length limits.
        batch_id: stamped on every accepted row (lineage).
        history: rows already accepted in earlier batches, as row id -> label (None when
            unlabelled), or as bare row ids when labels are not known (repeats are then
            duplicates, never conflicts).
        labels: the frozen label contract (data/labels.py) when the spec declares none.
            With a label set (declared or frozen), other labels are `unknown_label`. Labels
            are compared by `label_key`, and an accepted row carries the contract's spelling
            (or, with no contract yet, the spelling history or this batch used first): a
            case or spacing variant is never a new class.

    Raises:
        UnreadableFile: the text column is missing, so no row can be judged.
    """
    if spec.text_column not in raw.columns:
        raise UnreadableFile(
            f"missing required text column {spec.text_column!r}; found columns {raw.columns}"
        )
    labelled = spec.label_column is not None and spec.label_column in raw.columns
    earlier: Mapping[str, str | None] = (
        history if isinstance(history, Mapping) else dict.fromkeys(history)
    )
    seen: dict[str, tuple[str | None, int]] = {}  # row id -> (label, source_row) of its first
    accepted: list[dict[str, str | None]] = []
    quarantined: list[tuple[int, str, str]] = [
        (row_no, reason, json.dumps({"raw": line}, ensure_ascii=False))
        for row_no, line, reason in raw.rejected
    ]
    named = {spec.text_column, spec.label_column, spec.domain_column}
    renames = _metadata_names(raw.columns, named)
    allowed = spec.labels if spec.labels is not None else labels
    spelling = (
        {label_key(x): x for x in allowed}
        if allowed is not None
        else spellings(v for v in earlier.values() if v)
    )
    invisible = truncated = 0
    length = spec.length
    for index, (source_row, record) in enumerate(zip(raw.source_rows, raw.records, strict=True)):
        reason = _reject_reason(record, spec, labelled, raw.types.get(index), allowed)
        text = (record.get(spec.text_column) or "").strip()
        cut = False
        if reason is None:
            text, cut = length.fit(text)
        label = None
        if labelled and spec.label_column and reason is None:
            given = record[spec.label_column] or ""
            label = spelling.setdefault(label_key(given), " ".join(given.split()))
        rid = row_id(text) if reason is None else ""
        if reason is None:
            reason = _repeat_reason(rid, label, seen, earlier)
        if reason is not None:
            # Oversized texts are cut in the quarantine copy only: the source file itself is kept
            # in the landing zone, so nothing is lost.
            quarantined.append(
                (
                    source_row,
                    reason,
                    json.dumps(
                        {k: (v[:2000] if v else v) for k, v in record.items()}, ensure_ascii=False
                    ),
                )
            )
            continue
        seen[rid] = (label, source_row)
        invisible += bool(INVISIBLE_CHARS.search(text))
        truncated += cut
        row: dict[str, str | None] = {
            ROW_ID: rid,
            TEXT: text,
            LABEL: label,
            DOMAIN: record.get(spec.domain_column) if spec.domain_column else None,
            BATCH: batch_id,
        }
        for key, value in record.items():
            if key in renames:
                row[renames[key]] = value
        accepted.append(row)
    accepted_df = pd.DataFrame(accepted)
    if accepted_df.empty:
        accepted_df = pd.DataFrame(columns=list(CANONICAL))
    quarantined.sort(key=lambda q: q[0])  # source order: reader rejects interleave with these
    result = ValidationResult(
        accepted=accepted_df,
        quarantined=pd.DataFrame(quarantined, columns=QUARANTINE_COLUMNS),
        received=raw.received,
        labelled=labelled,
        flags={k: v for k, v in (("invisible_chars", invisible), ("truncated", truncated)) if v},
    )
    result.check_accounting()
    return result
