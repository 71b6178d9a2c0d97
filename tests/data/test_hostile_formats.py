"""Compressed uploads, typed values and control bytes, as a user's own files bring them.

Touches: data/readers.py (`.gz` read with a bounded inflate, per-record value types from
JSONL), data/validation.py (`wrong_type`), data/csv_export.py (control bytes escaped in the
reviewer's export), data/ingest.py (a clean batch still writes its accounting, into a real
git+DVC registry).
"""

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from data.csv_export import neutralise_formula
from data.data_registry import DataRegistry
from data.ingest import ingest_file
from data.quarantine import export_rows_csv
from data.readers import UnreadableFile, is_supported, read_file
from data.schema import DatasetSpec
from data.validation import validate_batch

SPEC = DatasetSpec(labels=None)


@pytest.mark.parametrize("name", ["posts.csv.gz", "posts.jsonl.gz", "posts.parquet.gz"])
def test_gzip_files_read_like_their_plain_twin(tmp_path: Path, name: str):
    """A `.csv.gz` / `.jsonl.gz` / `.parquet.gz` holds the same rows as the plain file."""
    frame = pd.DataFrame({"text": ["good film", "bad film", "so-so"], "label": ["p", "n", "p"]})
    plain = tmp_path / name.removesuffix(".gz")
    if plain.suffix == ".csv":
        frame.to_csv(plain, index=False)
    elif plain.suffix == ".jsonl":
        frame.to_json(plain, orient="records", lines=True)
    else:
        frame.to_parquet(plain)
    packed = tmp_path / name
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert is_supported(packed) and not is_supported(tmp_path / "posts.txt.gz")
    result = validate_batch(read_file(packed), SPEC, "b1", ())
    assert list(result.accepted["text"]) == ["good film", "bad film", "so-so"]
    assert list(result.accepted["label"]) == ["p", "n", "p"]


def test_gzip_bomb_and_broken_gzip_are_refused_whole(tmp_path: Path):
    """A small file inflating past the size limit stops reading at the limit: `too_large`."""
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(b"text,label\n" + b"a" * 5_000_000 + b",x\n"))
    assert bomb.stat().st_size < 20_000
    with pytest.raises(UnreadableFile, match=r"^too_large: .*inflates past the 100000-byte"):
        read_file(bomb, max_bytes=100_000)
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(gzip.compress(b"text,label\nhi,x\n")[:-12])
    with pytest.raises(UnreadableFile, match=r"^corrupt_gzip: "):
        read_file(broken)


def test_gzip_bomb_is_quarantined_by_ingest_with_its_reason(tmp_path: Path):
    """Through real `ingest_file`: the spec's `max_file_bytes` bounds the inflated size."""
    landing = tmp_path / "landing"
    landing.mkdir()
    bomb = landing / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(b"text,label\n" + b"hello there,x\n" * 200_000))
    spec = DatasetSpec(labels=None, max_file_bytes=50_000)
    report = ingest_file(bomb, spec, DataRegistry(tmp_path / "registry"), tmp_path / "q")
    assert report.status == "file_quarantined"
    summary = json.loads((Path(report.quarantine_dir) / "summary.json").read_text())
    assert summary["file_reason"].startswith("too_large: ")


def test_non_string_text_is_wrong_type_not_coerced(tmp_path: Path):
    """JSONL `{"text": 42}` is refused as wrong_type; int labels pass, float/bool labels do not."""
    path = tmp_path / "typed.jsonl"
    lines = [
        {"text": 42, "label": "a"},
        {"text": "fine words", "label": 3},
        {"text": "other words", "label": 2.5},
        {"text": "more words", "label": True},
        {"text": "plain words", "label": "b"},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = validate_batch(read_file(path), SPEC, "b1", ())
    reasons = dict(zip(result.quarantined["source_row"], result.quarantined["reason"], strict=True))
    assert reasons[1] == "wrong_type: text column 'text' holds a int, not a string"
    assert reasons[3].startswith("wrong_type: label") and "float" in reasons[3]
    assert reasons[4].startswith("wrong_type: label") and "bool" in reasons[4]
    assert sorted(result.accepted["text"]) == ["fine words", "plain words"]
    assert set(result.accepted["label"]) == {"3", "b"}


def test_export_escapes_control_bytes(tmp_path: Path):
    """NUL/ESC in a rejected row reach the reviewer's CSV as visible `\\xNN`, never raw."""
    assert neutralise_formula("a\x1b[31mred") == "a\\x1b[31mred"
    assert neutralise_formula("\x00=1+2") == "\\x00=1+2"  # escaped first: no longer a formula
    assert neutralise_formula("keep\ttabs\nand lines") == "keep\ttabs\nand lines"
    qdir = tmp_path / "q"
    qdir.mkdir()
    row = {"source_row": 1, "reason": "nul_byte", "record": json.dumps({"text": "x\x00y\x1bz"})}
    (qdir / "rows.jsonl").write_text(json.dumps(row) + "\n")
    out = tmp_path / "export.csv"
    assert export_rows_csv(qdir, out) == 1
    raw = out.read_bytes()
    assert b"\x00" not in raw and b"\x1b" not in raw
    assert pd.read_csv(out, dtype=str)["record.text"][0] == "x\\x00y\\x1bz"


def test_clean_batch_still_writes_its_accounting(tmp_path: Path):
    """A batch with nothing quarantined has a summary.json too (received = accepted)."""
    landing = tmp_path / "landing"
    landing.mkdir()
    path = landing / "clean.csv"
    pd.DataFrame({"text": ["one", "two"], "label": ["a", "b"]}).to_csv(path, index=False)
    report = ingest_file(path, SPEC, DataRegistry(tmp_path / "registry"), tmp_path / "q")
    assert report.quarantine_dir is None  # no rejected rows to hold
    summary = json.loads((tmp_path / "q" / report.batch_id / "summary.json").read_text())
    assert (summary["received"], summary["accepted"], summary["quarantined"]) == (2, 2, 0)
