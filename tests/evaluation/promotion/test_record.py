"""The content-addressed decision record (evaluation.promotion.record).

Touches the filesystem (tmp_path).
The evidence in the record comes from a real (tiny) golden evaluation through deepeval and a
real policy decision, so the serialiser meets the actual result types.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.golden_eval.report import GoldenEvalConfig, GoldenReport, evaluate_golden
from evaluation.golden_eval.slices import SliceConfig
from evaluation.promotion.policy import PromotionPolicy, decide
from evaluation.promotion.record import (
    append_section,
    build_decision_document,
    canonical_json,
    content_id,
    lineage,
    load_record,
    to_jsonable,
    write_record,
)
from evaluation.stats.predictions import Predictions

CREATED = "2026-01-01T00:00:00+00:00"


@pytest.fixture(scope="module")
def golden_report(tmp_path_factory: pytest.TempPathFactory) -> GoldenReport:
    golden = pd.DataFrame(
        {
            "row_id": [f"r{i}" for i in range(6)],
            "text": ["good", "bad", "fine", "awful", "great", "poor"],
            "label": ["pos", "neg", "pos", "neg", "pos", "neg"],
        }
    )
    probs = np.array([[0.1, 0.9], [0.8, 0.2], [0.6, 0.4], [0.7, 0.3], [0.2, 0.8], [0.5, 0.5]])
    pred = Predictions.from_probs(
        probs, ["neg", "pos"], model_id="m1", row_ids=golden["row_id"].tolist()
    )
    config = GoldenEvalConfig(slices=SliceConfig(length_edges=[]), n_resamples=200)
    return evaluate_golden(golden, pred, config, tmp_path_factory.mktemp("deepeval"))


def _document(report: GoldenReport) -> dict:
    policy = PromotionPolicy()
    return build_decision_document(
        data={"snapshot": {"tag": "snapshot-v3", "sha256": "ab" * 32}, "golden": {"tag": "g1"}},
        code={"commit": "0" * 40, "dirty": False},
        mlflow={"candidate_run_id": "run123", "candidate_version": "7"},
        policy=policy,
        verdict=decide(policy, report),
        golden=report,
        created_at=CREATED,
    )


def test_record_id_is_the_sha256_of_the_file(golden_report: GoldenReport, tmp_path: Path) -> None:
    record = write_record(_document(golden_report), tmp_path)
    raw = record.path.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == record.record_id
    assert record.path.name == f"{record.record_id}.json"
    assert record.record_id == content_id(_document(golden_report))
    again = write_record(_document(golden_report), tmp_path)  # same content, same record
    assert again.record_id == record.record_id
    assert len(list(tmp_path.glob("*.json"))) == 1


def test_record_holds_the_evidence_as_plain_json(
    golden_report: GoldenReport, tmp_path: Path
) -> None:
    record = write_record(_document(golden_report), tmp_path)
    body = json.loads(record.path.read_text())
    assert body["schema"] == "driftwise.decision/1" and body["parent_id"] is None
    sections = body["sections"]
    assert set(sections) == {
        "data",
        "code",
        "mlflow",
        "policy",
        "golden",
        "comparison",
        "reference_free",
        "verdict",
    }
    assert sections["data"]["snapshot"]["tag"] == "snapshot-v3"
    assert sections["mlflow"]["candidate_run_id"] == "run123"
    golden = sections["golden"]["candidate"]
    assert golden["model_id"] == "m1" and "per_case" not in golden
    overall = golden["slices"][0]
    assert overall["name"] == "all"
    assert overall["accuracy"]["point"] == pytest.approx(golden_report.overall.accuracy.point)
    assert {"low", "high", "confidence"} <= set(overall["accuracy"])
    assert sections["verdict"]["passed"] is golden_report.passed
    assert sections["verdict"]["reasons"][0]["message"]
    assert sections["policy"]["floors"]["accuracy_min"] == 0.7


def test_append_section_writes_a_child_record(golden_report: GoldenReport, tmp_path: Path) -> None:
    first = write_record(_document(golden_report), tmp_path)
    before = first.path.read_bytes()
    drift = {"drifted": True, "share": 0.4, "p_values": np.array([0.01, np.nan])}
    second = append_section(tmp_path, first.record_id, "drift", drift, created_at=CREATED)
    assert second.record_id != first.record_id
    assert second.parent_id == first.record_id
    assert second.sections["drift"] == {"drifted": True, "share": 0.4, "p_values": [0.01, None]}
    assert first.path.read_bytes() == before  # the parent is immutable
    third = append_section(tmp_path, second.record_id, "canary", {"stage": 1})
    assert lineage(tmp_path, third.record_id) == [
        third.record_id,
        second.record_id,
        first.record_id,
    ]
    assert set(third.sections) >= {"golden", "drift", "canary"}
    with pytest.raises(ValueError, match="append-only"):
        append_section(tmp_path, third.record_id, "drift", {"again": 1})


def test_corrupt_record_is_detected(golden_report: GoldenReport, tmp_path: Path) -> None:
    record = write_record(_document(golden_report), tmp_path)
    record.path.write_text(record.path.read_text().replace('"m1"', '"m2"'))
    with pytest.raises(ValueError, match="corrupt"):
        load_record(tmp_path, record.record_id)


def test_canonical_json_is_order_free_and_refuses_tables() -> None:
    assert canonical_json({"b": 1, "a": [1.5, float("inf")]}) == '{"a":[1.5,null],"b":1}'
    assert content_id({"x": 1, "y": 2}) == content_id({"y": 2, "x": 1})
    with pytest.raises(TypeError, match="DataFrame"):
        to_jsonable({"rows": pd.DataFrame({"a": [1]})})
    with pytest.raises(ValueError, match="already part"):
        build_decision_document(
            data={}, code={}, mlflow={}, policy={}, verdict={}, golden={}, extra={"golden": {}}
        )
