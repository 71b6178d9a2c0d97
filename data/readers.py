"""Read a landed file into raw records, refusing what cannot be read with a clear reason.

Two failure levels, both losing nothing:
- the whole file is unreadable (binary, wrong encoding, truncated inside a quote, broken
  Parquet, missing text column): `UnreadableFile` is raised and the file is quarantined whole;
- single records are malformed (wrong field count, invalid JSON line, a NUL byte): they come
  back as rejected records with a reason, next to the good ones.

Row numbering (`source_row`, the one definition every reader and the quarantine use): the
1-based position of a record among the file's data rows - header and blank lines not counted,
rejected records counted - so row N is `pd.read_csv(f).iloc[N - 1]` (or `read_json(f,
lines=True)`, `read_parquet(f)`) for a clean file. Not file line numbers: a quoted CSV field
can span lines and Parquet has none, so only this numbering means the same in every format.

Types: JSONL and Parquet carry them, so a value that is not a string (a JSON number, a bool)
is recorded in `RawBatch.types` beside its text form; validation decides which columns must
be strings (data/validation.py: `wrong_type`). CSV/TSV have no types: every field is text.

Compression: `name.csv.gz` (any supported format + `.gz`) is read through a bounded gunzip:
a file that inflates past `max_file_bytes` is refused whole as `too_large` after reading at
most that many bytes, so a small zip bomb costs nothing.
"""

import csv
import gzip
import io
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".parquet", ".jsonl", ".ndjson")
COMPRESSED_SUFFIX = ".gz"
# csv's default field limit (128 KiB) would turn one oversized text into a whole-file failure;
# we let it through here and reject that row alone as "text_too_long".
_CSV_FIELD_LIMIT = 256 * 2**20
# How much of a malformed raw line the quarantine keeps (the landed file itself is kept whole).
_RAW_KEEP = 2000
# A NUL in a text file is one corrupt row (a crash mid-write, a stray byte), but NULs this
# dense mean UTF-16 or a binary file: nothing in it is a row.
_BINARY_NUL_SHARE = 0.1
_SNIFF = 8192


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
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (source_row, raw, reason)
    # source_row of each record (module docstring); empty means 1..n (no rejects interleaved).
    source_rows: list[int] = field(default_factory=list)
    # index into `records` -> {column: type name} for values that were not strings (JSONL,
    # Parquet); absent for a record whose values all were.
    types: dict[int, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.source_rows:
            self.source_rows = list(range(1, len(self.records) + 1))
        if len(self.source_rows) != len(self.records):
            raise ValueError("one source_row per record")

    @property
    def received(self) -> int:
        return len(self.records) + len(self.rejected)


def file_format(path: Path) -> tuple[str, bool]:
    """(format suffix, gzip-compressed?) of a file name: `a.csv.gz` -> (".csv", True)."""
    suffixes = [x.lower() for x in path.suffixes]
    if len(suffixes) >= 2 and suffixes[-1] == COMPRESSED_SUFFIX:
        return suffixes[-2], True
    return path.suffix.lower(), False


def is_supported(path: Path) -> bool:
    """Whether `path`'s name says a format we read (compressed or not)."""
    return file_format(path)[0] in SUPPORTED_SUFFIXES


def _gunzip(payload: bytes, max_bytes: int) -> bytes:
    """Inflate at most `max_bytes` (+1, to tell "exactly at" from "over") of a gzip payload."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(payload)) as fh:
            out = fh.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise UnreadableFile(f"corrupt_gzip: {exc}") from exc
    if len(out) > max_bytes:
        raise UnreadableFile(
            f"too_large: the {len(payload)}-byte gzip file inflates past the "
            f"{max_bytes}-byte limit (reading stopped there)"
        )
    return out


def _non_strings(obj: dict) -> dict[str, str]:
    return {k: type(v).__name__ for k, v in obj.items() if v is not None and not isinstance(v, str)}


def _nul_reason(record: dict[str, str | None]) -> str | None:
    """Why a record with a NUL byte is refused alone (the rest of the file may be fine)."""
    hit = [k for k, v in record.items() if v and "\x00" in v]
    return f"nul_byte: NUL in column {hit[0][:80]!r}" if hit else None


def _decode(payload: bytes, encoding: str) -> str:
    head = payload[:_SNIFF]
    if head.count(0) > _BINARY_NUL_SHARE * len(head):
        raise UnreadableFile("binary content (NUL bytes): not a text file")
    try:
        return payload.decode(encoding)
    except UnicodeDecodeError as exc:
        if b"\x00" in head:  # not text and NULs in it: binary, however few
            raise UnreadableFile("binary content (NUL bytes): not a text file") from exc
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
    if any("\x00" in h for h in header):
        raise UnreadableFile("NUL byte in the header row")
    batch = RawBatch(columns=header, records=[])
    source_row = 0
    try:
        for row in reader:
            if not row:  # a blank line is not a record
                continue
            source_row += 1
            raw = delimiter.join(row)[:_RAW_KEEP]
            if len(row) != len(header):
                batch.rejected.append(
                    (source_row, raw, f"malformed_row: {len(row)} fields, header has {len(header)}")
                )
                continue
            record: dict[str, str | None] = dict(zip(header, row, strict=True))
            nul = _nul_reason(record)
            if nul:
                batch.rejected.append((source_row, raw, nul))
                continue
            batch.records.append(record)
            batch.source_rows.append(source_row)
    except csv.Error as exc:
        # Typically an unterminated quote: everything after it is one broken field, so no
        # later row can be trusted. The file goes to quarantine whole; nothing is lost.
        raise UnreadableFile(f"malformed CSV at line {reader.line_num}: {exc}") from exc
    return batch


def _read_jsonl(text: str) -> RawBatch:
    records: list[dict[str, str | None]] = []
    source_rows: list[int] = []
    rejected: list[tuple[int, str, str]] = []
    columns: list[str] = []
    types: dict[int, dict[str, str]] = {}
    lineno = 0  # the source_row (module docstring): blank lines are not rows
    # split("\n"), not splitlines(): U+2028 and friends are legal inside JSON strings.
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        lineno += 1
        if "\x00" in line:  # checked first: json would call it an "invalid control character"
            rejected.append((lineno, line[:_RAW_KEEP], "nul_byte: NUL in the line"))
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
        record = {k: None if v is None else str(v) for k, v in obj.items()}
        nul = _nul_reason(record)  # an escaped \u0000 is valid JSON
        if nul:
            rejected.append((lineno, line[:_RAW_KEEP], nul))
            continue
        typed = _non_strings(obj)
        if typed:
            types[len(records)] = typed
        records.append(record)
        source_rows.append(lineno)
    return RawBatch(
        columns=columns, records=records, rejected=rejected, source_rows=source_rows, types=types
    )


def _read_parquet(payload: bytes) -> RawBatch:
    try:
        df = pd.read_parquet(io.BytesIO(payload))
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise UnreadableFile(f"unreadable Parquet: {exc}") from exc
    df = df.astype(object).where(df.notna(), None)
    batch = RawBatch(columns=[str(c) for c in df.columns], records=[])
    for source_row, rec in enumerate(df.to_dict(orient="records"), start=1):
        record = {str(k): None if v is None else str(v) for k, v in rec.items()}
        nul = _nul_reason(record)
        if nul:
            raw = json.dumps(record, ensure_ascii=False)[:_RAW_KEEP]
            batch.rejected.append((source_row, raw, nul))
            continue
        typed = _non_strings({str(k): v for k, v in rec.items()})
        if typed:
            batch.types[len(batch.records)] = typed
        batch.records.append(record)
        batch.source_rows.append(source_row)
    return batch


def count_rows(payload: bytes, suffix: str) -> int | None:
    """Rows a file holds as far as they can be counted without parsing it; None if not.

    For a whole-file quarantine, where nothing was parsed: Parquet from its footer; text formats
    as non-blank lines (minus the CSV/TSV header; an upper bound when quoted fields span
    lines); None for binary content, unsupported types and unreadable Parquet.
    """
    suffix = suffix.lower()
    if suffix == COMPRESSED_SUFFIX:
        return None  # not inflated to count: it may be the bomb that was refused
    if suffix == ".parquet":
        try:
            return int(pq.ParquetFile(io.BytesIO(payload)).metadata.num_rows)
        except Exception:  # same as _read_parquet: a corrupt footer raises several types
            return None
    if suffix not in SUPPORTED_SUFFIXES:
        return None
    head = payload[:_SNIFF]
    if head.count(0) > _BINARY_NUL_SHARE * len(head):
        return None
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        if b"\x00" in head:
            return None  # binary (as `_decode` says): its "lines" mean nothing
    # Bytes, not text: a latin-1 file is refused as not UTF-8 but its lines still count.
    lines = sum(1 for line in payload.split(b"\n") if line.strip())
    header = 0 if suffix in (".jsonl", ".ndjson") else 1
    return max(lines - header, 0)


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
    suffix, compressed = file_format(path)
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadableFile(
            f"unsupported file type {suffix!r}; expected one of {SUPPORTED_SUFFIXES}"
        )
    size = len(payload) if payload is not None else path.stat().st_size
    if size == 0:
        raise UnreadableFile("empty file (0 bytes)")
    if size > max_bytes:
        raise UnreadableFile(f"too_large: file is {size} bytes, over the {max_bytes}-byte limit")
    if payload is None:
        payload = path.read_bytes()
    if compressed:
        payload = _gunzip(payload, max_bytes)
        if not payload:
            raise UnreadableFile("empty file (0 bytes once inflated)")
    if suffix == ".parquet":
        return _read_parquet(payload)
    # utf-8-sig: a BOM written by spreadsheet tools is not part of the first column's name.
    text = _decode(payload, "utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding)
    if suffix in (".jsonl", ".ndjson"):
        return _read_jsonl(text)
    return _read_delimited(text, "\t" if suffix == ".tsv" else ",")
