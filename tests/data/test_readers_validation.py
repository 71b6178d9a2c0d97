"""Reading and validating landed files: real parsers on a hostile corpus, no Dagster.

Touches only temp files. Every hostile file must end in a clear reason, and every received
record must be either accepted or quarantined (exact accounting).
"""

from pathlib import Path

import pandas as pd
import pytest

from data.readers import UnreadableFile, read_file
from data.schema import DatasetSpec, normalise_text, row_id
from data.validation import validate_batch
from tests.data.hostile import write_hostile_corpus

SPEC = DatasetSpec(labels=["negative", "positive"])


@pytest.fixture()
def corpus(tmp_path: Path) -> dict[str, Path]:
    return write_hostile_corpus(tmp_path / "landing")


def _validate(path: Path, history: set[str] | None = None):
    return validate_batch(read_file(path), SPEC, "b1", history or set())


@pytest.mark.parametrize(
    ("name", "reason_part"),
    [
        ("truncated_quote.csv", "malformed CSV"),
        ("latin1.csv", "not valid utf-8"),
        ("empty.csv", "empty file"),
        ("garbage.csv", "binary content"),
        ("broken.parquet", "unreadable Parquet"),
        ("unsupported.xlsx", "unsupported file type"),
    ],
)
def test_unreadable_files_raise_with_reason(corpus, name, reason_part):
    with pytest.raises(UnreadableFile) as exc:
        read_file(corpus[name])
    assert reason_part in exc.value.reason


def test_missing_text_column_is_refused_whole(corpus):
    with pytest.raises(UnreadableFile, match="missing required text column 'text'"):
        _validate(corpus["missing_text_column.csv"])


def test_truncated_row_is_quarantined_alone(corpus):
    result = _validate(corpus["truncated_row.csv"])
    assert result.received == 2
    assert list(result.accepted["text"]) == ["good one"]
    assert result.quarantined["reason"].iloc[0].startswith("malformed_row: 2 fields")


def test_missing_and_unknown_labels(corpus):
    result = _validate(corpus["labels_nan_unknown.csv"])
    assert result.received == 4
    assert list(result.accepted["label"]) == ["positive"]
    assert result.reasons == {"missing_label": 2, "unknown_label": 1}


def test_one_megabyte_text_cut_by_default_quarantined_on_request(corpus):
    """The dataset's length policy at landing (data/length.py): by default the 1 MB text is
    kept, cut to max_text_chars and counted; with long_text=quarantine it is quarantined as
    text_too_long. Either way its neighbour row is kept."""
    result = _validate(corpus["huge_text.csv"])
    assert len(result.accepted) == 2 and result.quarantined.empty
    assert sorted(result.accepted["text"].str.len())[-1] == 20_000
    assert result.flags == {"truncated": 1}
    strict = SPEC.model_copy(update={"long_text": "quarantine"})
    result = validate_batch(read_file(corpus["huge_text.csv"]), strict, "b1", set())
    assert len(result.accepted) == 1
    assert result.quarantined["reason"].iloc[0] == "text_too_long: 1000000 chars > 20000"
    # The quarantine copy is cut; the landed file itself stays untouched.
    assert len(result.quarantined["record"].iloc[0]) < 3000


def test_empty_texts_and_header_only(corpus):
    result = _validate(corpus["empty_texts.csv"])
    assert result.reasons == {"empty_text": 2}
    assert len(result.accepted) == 1
    header_only = _validate(corpus["header_only.csv"])
    assert (header_only.received, len(header_only.accepted)) == (0, 0)


def test_duplicates_within_batch_and_against_history(corpus):
    within = _validate(corpus["dupes.csv"])
    assert within.reasons == {"duplicate_in_batch": 1}
    history = {row_id("same text")}
    against = _validate(corpus["dupes.csv"], history)
    assert against.reasons == {"duplicate_of_history": 2}
    assert against.accepted.empty


def test_jsonl_bad_lines_quarantined(corpus):
    result = _validate(corpus["bad_lines.jsonl"])
    assert result.received == 3
    assert len(result.accepted) == 1
    assert result.reasons == {"malformed_json": 2}


def test_parquet_and_bom_csv_read(tmp_path: Path):
    frame = pd.DataFrame(
        {
            "text": ["a good one", "a bad one"],
            "label": ["positive", "negative"],
            "source": ["s1", "s2"],
        }
    )
    frame.to_parquet(tmp_path / "ok.parquet")
    (tmp_path / "bom.csv").write_bytes("\ufefftext,label\nhello there,positive\n".encode())
    assert len(_validate(tmp_path / "ok.parquet").accepted) == 2
    assert list(read_file(tmp_path / "bom.csv").columns) == ["text", "label"]


def test_metadata_columns_kept_and_canonical_names_protected(tmp_path: Path):
    (tmp_path / "m.csv").write_text("review,stars,text,when\nlovely,5,shadow,2026-01-01\n")
    spec = DatasetSpec(
        text_column="review",
        label_column="stars",
        domain_column=None,
        labels=["1", "2", "3", "4", "5"],
    )
    result = validate_batch(read_file(tmp_path / "m.csv"), spec, "b", set())
    row = result.accepted.iloc[0]
    assert (row["text"], row["label"], row["meta_text"], row["when"]) == (
        "lovely",
        "5",
        "shadow",
        "2026-01-01",
    )


def test_unlabelled_file_is_accepted_as_unlabelled(tmp_path: Path):
    (tmp_path / "u.csv").write_text("text\nno label column here\n")
    result = _validate(tmp_path / "u.csv")
    assert not result.labelled
    assert result.accepted["label"].isna().all()


def test_normalisation_identity():
    assert normalise_text("  Great\tFILM! ") == normalise_text("great film!")
    assert row_id("Great film!") == row_id("great   film!")
    assert row_id("great film") != row_id("great film!")


def test_spec_rejects_bad_config():
    with pytest.raises(ValueError, match="at least two labels"):
        DatasetSpec(labels=["only"])
    with pytest.raises(ValueError, match="must differ"):
        DatasetSpec(text_column="x", label_column="x")
    with pytest.raises(ValueError, match="max_text_chars"):
        DatasetSpec(min_text_chars=10, max_text_chars=5)


def test_user_columns_never_overwrite_each_other(tmp_path: Path):
    (tmp_path / "c.csv").write_text("review,text,meta_text,split\nlovely film,a,b,holdout\n")
    spec = DatasetSpec(text_column="review", label_column=None, domain_column=None)
    row = validate_batch(read_file(tmp_path / "c.csv"), spec, "b", set()).accepted.iloc[0]
    assert (row["text"], row["meta_text"], row["meta_text_2"], row["meta_split"]) == (
        "lovely film",
        "b",
        "a",
        "holdout",
    )
    assert "split" not in row.index  # reserved for the snapshot


def test_jsonl_line_separators_inside_strings_and_nested_values(tmp_path: Path):
    (tmp_path / "u.jsonl").write_text(
        '{"text": "one\u2028record\u2029still", "label": "positive"}\n'
        '{"text": {"nested": 1}, "label": "negative"}\n',
        encoding="utf-8",
    )
    result = _validate(tmp_path / "u.jsonl")
    assert result.received == 2
    assert len(result.accepted) == 1
    assert result.quarantined["reason"].iloc[0].startswith("malformed_json: nested value")
