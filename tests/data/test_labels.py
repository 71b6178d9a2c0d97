"""The label contract's pure parts and its use in validation (data/labels.py,
data/validation.py, data/schema.py), plus the contract stored in a real git+DVC registry.

Ingest-level freezing by the first snapshot is in tests/assets/test_ingestion.py.
"""

from pathlib import Path

import pandas as pd
import pytest

from data.data_registry import DataRegistry
from data.ingest import ingest_file
from data.labels import (
    LabelContract,
    conform,
    effective_labels,
    label_key,
    new_classes,
    read_contract,
    save_contract,
    spellings,
)
from data.readers import read_file
from data.schema import DatasetSpec
from data.validation import validate_batch


def test_label_identity_ignores_case_width_and_spacing():
    """`POSITIVE`, ` positive `, full-width `ｐｏｓｉｔｉｖｅ` are one class; `neutral` is not."""
    assert {label_key(x) for x in ["POSITIVE", " positive ", "ｐｏｓｉｔｉｖｅ"]} == {"positive"}
    assert label_key("very  positive") == label_key("Very positive")
    assert label_key("neutral") != label_key("positive")
    assert spellings(["pos", "POS", "pos", "neg"]) == {"pos": "pos", "neg": "neg"}


def test_contract_admit_audit_and_round_trip():
    """Admitting adds one audited class; a variant of an existing class is refused."""
    contract = LabelContract.frozen_from("tickets", ["sw", "hw", "hw"], "snapshot/abc")
    assert contract.labels == ["hw", "sw"]
    grown = contract.admit(" billing ", "new team")
    assert grown.labels == ["billing", "hw", "sw"] and contract.labels == ["hw", "sw"]
    assert [e["action"] for e in grown.audit] == ["frozen", "added"]
    assert grown.audit[1]["reason"] == "new team" and grown.audit[1]["labels"] == "billing"
    with pytest.raises(ValueError, match="already a class"):
        grown.admit("HW", "typo")
    with pytest.raises(ValueError, match="empty"):
        grown.admit("  ", "blank")
    assert LabelContract.from_json(grown.to_json()) == grown


def test_default_dataset_declares_its_labels_and_variants_are_not_classes(tmp_path: Path):
    """The default spec declares negative/positive: a typo is unknown_label with its value,
    case/space variants are stored in the declared spelling. `[]` still means infer."""
    assert DatasetSpec().labels == ["negative", "positive"]
    assert DatasetSpec(labels=[]).labels is None and DatasetSpec(name="x").labels is None
    with pytest.raises(ValueError, match="duplicate labels"):
        DatasetSpec(labels=["Pos", "pos "])
    path = tmp_path / "b.csv"
    path.write_text("text,label\nfine,POSITIVE\nok then, negative \nhmm,neutral-ish\n")
    result = validate_batch(read_file(path), DatasetSpec(), "b1")
    assert list(result.accepted["label"]) == ["positive", "negative"]
    assert list(result.quarantined["reason"]) == [
        "unknown_label: 'neutral-ish' not in ['negative', 'positive']"
    ]


def test_inferring_dataset_takes_the_first_spelling(tmp_path: Path):
    """No contract yet: any label goes, but a variant of a known label is that label."""
    path = tmp_path / "b.csv"
    path.write_text("text,label\na,Sports\nb,SPORTS\nc,news\nd,NEWS \n")
    spec = DatasetSpec(name="feed", labels=[])
    history = {"x": "news", "y": "news", "z": "News"}
    result = validate_batch(read_file(path), spec, "b1", history)
    assert list(result.accepted["label"]) == ["Sports", "Sports", "news", "news"]
    frozen = validate_batch(read_file(path), spec, "b1", (), labels=["sports", "weather"])
    assert list(frozen.accepted["label"]) == ["sports", "sports"]
    assert frozen.reasons == {"unknown_label": 2}


def test_contract_in_registry_guards_ingest(tmp_path: Path):
    """A frozen contract committed to a real registry makes `ingest_file` refuse other labels;
    the config's declared labels win over it."""
    registry = DataRegistry(tmp_path / "registry")
    registry.ensure()
    spec = DatasetSpec(name="feed", labels=[])
    assert read_contract(registry) is None and effective_labels(None, registry) is None
    save_contract(registry, LabelContract.frozen_from("feed", ["news", "sports"], "t"), "freeze")
    assert effective_labels(None, registry) == ["news", "sports"]
    assert effective_labels(["a", "b"], registry) == ["a", "b"]
    landing = tmp_path / "landing"
    landing.mkdir()
    path = landing / "feed.csv"
    path.write_text("text,label\nscore 2-1,SPORTS\nrain today,weather\n")
    report = ingest_file(path, spec, registry, tmp_path / "q")
    assert (report.accepted, report.quarantined) == (1, 1)
    assert report.reasons == {"unknown_label": 1}


def test_conform_and_new_classes():
    """Snapshot rows take the contract's spelling; rows outside it are left out."""
    frame = pd.DataFrame({"label": ["POS", "neg", "other", None], "text": list("abcd")})
    out = conform(frame, ["pos", "neg"])
    assert list(out["label"]) == ["pos", "neg", None] and list(out["text"]) == ["a", "b", "d"]
    assert new_classes(["a", "b", "c"], ["A", "b"]) == ["c"]
    assert new_classes(["a"], None) == []
