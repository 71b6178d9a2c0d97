"""Each ingestion quarantine reason added by issue #9 item 7, on real files.

Touches: data/readers.py (NUL rows, source_row numbering, count_rows), data/validation.py
(conflicting_label, invisible characters), data/ingest.py (whole-file row counts, into a real
git+DVC registry), data/csv_export.py and data/quarantine.py (spreadsheet-safe export).
"""

import json
from pathlib import Path

import pandas as pd
import pytest

from data.csv_export import neutralise_formula
from data.data_registry import DataRegistry
from data.ingest import ingest_file
from data.quarantine import export_rows_csv
from data.readers import UnreadableFile, count_rows, read_file
from data.schema import DatasetSpec, row_id
from data.validation import validate_batch

SPEC = DatasetSpec(labels=None)


def _validate(path: Path, history=()):
    return validate_batch(read_file(path), SPEC, "b1", history)


def test_conflicting_label_in_batch_and_against_history(tmp_path: Path):
    """Same text, other label: `conflicting_label` naming both; same label: a plain duplicate."""
    path = tmp_path / "c.csv"
    path.write_text(
        "text,label\nthe plot is thin,neg\nThe plot  is thin,pos\nthe plot is thin,neg\n"
        "seen before,pos\nseen also,neg\n"
    )
    history = {row_id("seen before"): "neg", row_id("seen also"): "neg"}
    result = _validate(path, history)
    reasons = dict(zip(result.quarantined["source_row"], result.quarantined["reason"], strict=True))
    assert reasons[2] == "conflicting_label: 'pos' here, 'neg' at source_row 1"
    assert reasons[3] == "duplicate_in_batch"
    assert reasons[4] == "conflicting_label: 'pos' here, 'neg' in an earlier batch"
    assert reasons[5] == "duplicate_of_history"
    assert result.reasons == {
        "conflicting_label": 2,
        "duplicate_in_batch": 1,
        "duplicate_of_history": 1,
    }
    # Bare row ids (labels unknown): a repeat is a duplicate, never a conflict.
    bare = _validate(path, set(history))
    assert bare.reasons["duplicate_of_history"] == 2


def test_invisible_characters_leave_the_identity_and_are_flagged(tmp_path: Path):
    """Zero-width and bidi controls do not make a new row; accepted rows with them are flagged."""
    path = tmp_path / "z.csv"
    path.write_text(
        "text,label\ngreat film,pos\ngreat\u200b film,pos\nfine\u202e text,neg\n",
        encoding="utf-8",
    )
    result = _validate(path)
    assert row_id("great\u200b film") == row_id("great film")
    assert list(result.quarantined["reason"]) == ["duplicate_in_batch"]
    assert result.flags == {"invisible_chars": 1}
    assert "fine\u202e text" in set(result.accepted["text"])  # kept as sent, only flagged


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_nul_byte_quarantines_its_row_only(tmp_path: Path, fmt: str):
    """A NUL in one record rejects that record (`nul_byte`); the rows around it are accepted."""
    frame = pd.DataFrame({"text": ["before", "bro\x00ken", "after"], "label": ["a", "b", "a"]})
    path = tmp_path / f"n.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True)  # NUL escaped as \u0000
    else:
        frame.to_parquet(path)
    result = _validate(path)
    assert list(result.accepted["text"]) == ["before", "after"]
    (row,) = result.quarantined.itertuples()
    assert row.source_row == 2 and row.reason.startswith("nul_byte")


def test_dense_nul_bytes_still_mean_a_binary_file(tmp_path: Path):
    """UTF-16 text is NUL-dense: refused whole as binary, not read as rows of garbage."""
    path = tmp_path / "u16.csv"
    path.write_bytes("text,label\nhello,a\n".encode("utf-16-le"))
    with pytest.raises(UnreadableFile, match="binary content"):
        read_file(path)


def test_source_row_is_one_numbering_across_readers_and_validation(tmp_path: Path):
    """source_row N is `pd.read_csv(f).iloc[N-1]`: multi-line quoted fields and blank lines do
    not shift it, and reader rejects and validation rejects use the same count."""
    path = tmp_path / "s.csv"
    path.write_text(
        'text,label\n"a review\nover two lines",a\n\nshort,a\n'
        "too,many,fields\n,a\nshort,a\nlast,b\n"
    )
    result = _validate(path)
    reasons = dict(zip(result.quarantined["source_row"], result.quarantined["reason"], strict=True))
    assert sorted(reasons) == [3, 4, 5]
    assert reasons[3].startswith("malformed_row")
    assert reasons[4] == "empty_text"
    assert reasons[5] == "duplicate_in_batch"
    clean = pd.read_csv(path, on_bad_lines="skip", skip_blank_lines=True)
    assert clean.iloc[1]["text"] == "short"  # source_row 2 is "short" in pandas' numbering too


def test_whole_file_quarantine_counts_its_rows(tmp_path: Path):
    """A file refused whole (not UTF-8) still says how many rows it held; binary says uncountable.

    Real `ingest_file` into a git+DVC registry; the quarantine summary carries the count."""
    registry = DataRegistry(tmp_path / "registry")
    landing = tmp_path / "landing"
    landing.mkdir()
    latin = landing / "latin.csv"
    latin.write_bytes("text,label\ncafé crème,a\nthé,b\nolé,a\n".encode("latin-1"))
    report = ingest_file(latin, SPEC, registry, tmp_path / "quarantine")
    assert report.status == "file_quarantined"
    assert (report.file_rows, report.received, report.quarantined) == (3, 3, 3)
    summary = json.loads((Path(report.quarantine_dir) / "summary.json").read_text())
    assert summary["file_rows"] == 3 and summary["received"] == 3
    assert list(summary["reasons"].values()) == [3]
    assert count_rows(bytes(range(256)) * 64, ".csv") is None
    assert count_rows(b"PAR1 not parquet PAR1", ".parquet") is None
    parquet = tmp_path / "ok.parquet"
    pd.DataFrame({"text": ["x"] * 7}).to_parquet(parquet)
    assert count_rows(parquet.read_bytes(), ".parquet") == 7


def test_quarantine_csv_export_neutralises_formulas(tmp_path: Path):
    """Rejected rows exported for review: formula-looking cells are quoted, other text unchanged."""
    qdir = tmp_path / "q"
    qdir.mkdir()
    rows = [
        {"source_row": 1, "reason": "empty_text", "record": json.dumps({"text": "=1+2"})},
        {"source_row": 2, "reason": "missing_label", "record": json.dumps({"text": "@SUM(A1)"})},
        {"source_row": 3, "reason": "missing_label", "record": json.dumps({"text": "plain"})},
    ]
    (qdir / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "export.csv"
    assert export_rows_csv(qdir, out) == 3
    back = pd.read_csv(out, dtype=str)
    assert list(back["record.text"]) == ["'=1+2", "'@SUM(A1)", "plain"]
    assert neutralise_formula("-2+3") == "'-2+3"
    assert neutralise_formula(-2) == -2  # numbers are not formulas
    assert neutralise_formula("a=b") == "a=b"
