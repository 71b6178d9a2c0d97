"""Read a landed file into raw records, refusing what cannot be read with a clear reason.

Two failure levels, both losing nothing:
- the whole file is unreadable (binary, wrong encoding, truncated inside a quote, broken
  Parquet, missing text column): `UnreadableFile` is raised and the file is quarantined whole;
- single records are malformed (wrong field count, invalid JSON line): they come back as
  rejected records with a reason, next to the good ones.
"""

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".parquet", ".jsonl", ".ndjson")
# csv's default field limit (128 KiB) would turn one oversized text into a whole-file failure;
# we let it through here and reject that row alone as "text_too_long".
_CSV_FIELD_LIMIT = 256 * 2**20
# How much of a malformed raw line the quarantine keeps (the landed file itself is kept whole).
_RAW_KEEP = 2000


class UnreadableFile(ValueError):
    """The file as a whole cannot be read; `reason` says why in words an operator can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class RawBatch:
    """What a file held: parsed records (all values str | None) and records refused at parse."""

    columns: list[str]
    records: list[dict[str, str | None]]
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (line/row no, raw, reason)

    @property
    def received(self) -> int:
        return len(self.records) + len(self.rejected)


def _decode(payload: bytes, encoding: str) -> str:
    if b"\x00" in payload[:8192]:
        raise UnreadableFile("binary content (NUL bytes): not a text file")
    try:
        return payload.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"not valid {encoding} at byte {exc.start}: {payload[exc.start : exc.start + 8]!r}"
        ) from exc


def _read_delimited(text: str, delimiter: str) -> RawBatch:
    csv.field_size_limit(_CSV_FIELD_LIMIT)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration as exc:
        raise UnreadableFile("no header row") from exc
    except csv.Error as exc:
        raise UnreadableFile(f"malformed header: {exc}") from exc
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        raise UnreadableFile(f"duplicate column names in header: {header}")
    batch = RawBatch(columns=header, records=[])
    try:
        for row in reader:
            if not row:  # a blank line is not a record
                continue
            if len(row) != len(header):
                raw = delimiter.join(row)[:_RAW_KEEP]
                batch.rejected.append(
                    (
                        reader.line_num,
                        raw,
                        f"malformed_row: {len(row)} fields, header has {len(header)}",
                    )
                )
                continue
            batch.records.append(dict(zip(header, row, strict=True)))
    except csv.Error as exc:
        # Typically an unterminated quote: everything after it is one broken field, so no
        # later row can be trusted. The file goes to quarantine whole; nothing is lost.
        raise UnreadableFile(f"malformed CSV at line {reader.line_num}: {exc}") from exc
    return batch


def _read_jsonl(text: str) -> RawBatch:
    records: list[dict[str, str | None]] = []
    rejected: list[tuple[int, str, str]] = []
    columns: list[str] = []
    # split("\n"), not splitlines(): U+2028 and friends are legal inside JSON strings.
    for lineno, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            rejected.append((lineno, line[:_RAW_KEEP], f"malformed_json: {exc.msg}"))
            continue
        if not isinstance(obj, dict):
            rejected.append(
                (
                    lineno,
                    line[:_RAW_KEEP],
                    f"malformed_json: expected an object, got {type(obj).__name__}",
                )
            )
            continue
        for key in obj:
            if key not in columns:
                columns.append(key)
        nested = [k for k, v in obj.items() if isinstance(v, dict | list)]
        if nested:
            rejected.append(
                (
                    lineno,
                    line[:_RAW_KEEP],
                    f"malformed_json: nested value in {nested}; expected scalars",
                )
            )
            continue
        records.append({k: None if v is None else str(v) for k, v in obj.items()})
    return RawBatch(columns=columns, records=records, rejected=rejected)


def _read_parquet(payload: bytes) -> RawBatch:
    try:
        df = pd.read_parquet(io.BytesIO(payload))
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise UnreadableFile(f"unreadable Parquet: {exc}") from exc
    df = df.astype(object).where(df.notna(), None)
    records = [
        {k: None if v is None else str(v) for k, v in rec.items()}
        for rec in df.to_dict(orient="records")
    ]
    return RawBatch(columns=[str(c) for c in df.columns], records=records)


def read_file(
    path: Path,
    encoding: str = "utf-8",
    max_bytes: int = 512 * 2**20,
    payload: bytes | None = None,
) -> RawBatch:
    """Parse one landed file by its suffix. Raises `UnreadableFile` for whole-file failures.

    `payload`: the file's bytes when the caller already read them (so that what is parsed is
    exactly what was hashed, even if the file changes meanwhile).
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadableFile(
            f"unsupported file type {suffix!r}; expected one of {SUPPORTED_SUFFIXES}"
        )
    size = len(payload) if payload is not None else path.stat().st_size
    if size == 0:
        raise UnreadableFile("empty file (0 bytes)")
    if size > max_bytes:
        raise UnreadableFile(f"file is {size} bytes, over the {max_bytes}-byte limit")
    if payload is None:
        payload = path.read_bytes()
    if suffix == ".parquet":
        return _read_parquet(payload)
    # utf-8-sig: a BOM written by spreadsheet tools is not part of the first column's name.
    text = _decode(payload, "utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding)
    if suffix in (".jsonl", ".ndjson"):
        return _read_jsonl(text)
    return _read_delimited(text, "\t" if suffix == ".tsv" else ",")
