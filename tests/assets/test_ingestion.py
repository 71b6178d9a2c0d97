"""Ingestion assets through real `dg.materialize` on a temporary Dagster instance.

Touches: a temp runtime home, a real DVC registry (git + DVC + local remote) inside it, the
default data wheel cache. Covers accounting checks, whole-file quarantine, idempotent
re-landing, bring-your-own multi-class data, the snapshot, and the golden disjointness check
(which must fail when violated).
"""

import json
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from assets.golden_set import golden_set
from assets.ingestion import (
    batch_partitions,
    check_golden_disjoint,
    ingested_batch,
    training_snapshot,
)
from data.default_batches import land_default_batches
from data.golden_set import GOLDEN_PATH, GoldenRef, load_golden
from data.landing import batch_id_for
from data.schema import DatasetSpec
from data.snapshot import SnapshotRef
from tests.data.hostile import write_hostile_corpus


def _ingest(instance: dg.DagsterInstance, resources: dict, path: Path) -> dg.ExecuteInProcessResult:
    key = batch_id_for(path)
    instance.add_dynamic_partitions(batch_partitions.name, [key])
    return dg.materialize(
        [ingested_batch],
        partition_key=key,
        instance=instance,
        resources=resources,
        raise_on_error=True,
    )


def _meta(result: dg.ExecuteInProcessResult) -> dict:
    mat = result.asset_materializations_for_node("ingested_batch")[0]
    return {k: v.value for k, v in mat.metadata.items()}


def _check(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation


def test_default_batch_ingests_with_exact_accounting(vader_df, resources, home: Path):
    (path,) = land_default_batches(vader_df, home / "landing", ["03_tweets.csv"])
    with dg.instance_for_test() as instance:
        result = _ingest(instance, resources, path)
    meta = _meta(result)
    assert meta["status"] == "ingested"
    assert meta["rows_received"] == 4196
    assert meta["rows_received"] == meta["rows_accepted"] + meta["rows_quarantined"]
    assert meta["quarantine_reasons"] == {"duplicate_in_batch": meta["rows_quarantined"]}
    assert meta["dvc_tag"] == f"batch/{batch_id_for(path)}"
    check = _check(result)
    assert check.passed and check.metadata["accepted_persisted"].value == meta["rows_accepted"]
    quarantined = (home / "quarantine" / batch_id_for(path) / "rows.jsonl").read_text().splitlines()
    assert len(quarantined) == meta["rows_quarantined"]


@pytest.mark.parametrize(
    ("name", "status", "reason"),
    [
        ("garbage.csv", "file_quarantined", "binary content"),
        ("latin1.csv", "file_quarantined", "not valid utf-8"),
        ("missing_text_column.csv", "file_quarantined", "missing required text column"),
        ("labels_nan_unknown.csv", "ingested", None),
        ("huge_text.csv", "ingested", None),
        ("header_only.csv", "nothing_accepted", None),
    ],
)
def test_hostile_files_end_with_reason_and_accounting(resources, home: Path, name, status, reason):
    path = write_hostile_corpus(home / "landing")[name]
    with dg.instance_for_test() as instance:
        result = _ingest(instance, resources, path)
    meta = _meta(result)
    assert meta["status"] == status
    assert _check(result).passed
    qdir = home / "quarantine" / batch_id_for(path)
    if reason:
        assert reason in meta["file_reason"]
        assert (qdir / path.name).read_bytes() == path.read_bytes()  # kept whole
        assert reason in json.loads((qdir / "summary.json").read_text())["file_reason"]
    else:
        assert meta["rows_received"] == meta["rows_accepted"] + meta["rows_quarantined"]


def test_relanding_same_content_is_idempotent(vader_df, resources, home: Path):
    (path,) = land_default_batches(vader_df, home / "landing", ["05_nyt.csv"])
    copy = home / "landing" / "nyt_again.csv"
    copy.write_bytes(path.read_bytes())
    with dg.instance_for_test() as instance:
        first = _meta(_ingest(instance, resources, path))
        second = _meta(_ingest(instance, resources, path))
        renamed = _meta(_ingest(instance, resources, copy))
    assert first["status"] == "ingested"
    assert second["status"] == renamed["status"] == "already_ingested"
    assert second["dvc_tag"] == renamed["dvc_tag"] == first["dvc_tag"]


def test_bring_your_own_multiclass_csv(tmp_path: Path, resources, home: Path):
    """Another dataset, other column names, 3 imbalanced classes, extra metadata: config only."""
    rows = (
        [("the battery died fast", "hardware")] * 1
        + [("app crashes on start", "software")]
        + [("where is my refund", "billing")]
    )
    texts = (
        [f"{t} #{i}" for i in range(40) for t, _ in rows[:1]]
        + [f"{t} #{i}" for i in range(10) for t, _ in rows[1:2]]
        + [f"{t} #{i}" for i in range(3) for t, _ in rows[2:]]
    )
    labels = ["hardware"] * 40 + ["software"] * 10 + ["billing"] * 3
    frame = pd.DataFrame(
        {"ticket_body": texts, "team": labels, "channel": "email", "opened": "2026-11-01T10:00:00Z"}
    )
    path = home / "landing" / "support_tickets.csv"
    frame.to_csv(path, index=False)
    resources = dict(
        resources,
        dataset=DatasetSpec(
            text_column="ticket_body",
            label_column="team",
            domain_column="channel",
            labels=["hardware", "software", "billing"],
        ),
    )
    with dg.instance_for_test() as instance:
        meta = _meta(_ingest(instance, resources, path))
        assert meta["rows_accepted"] == 53
        golden = dg.materialize(
            [golden_set, training_snapshot],
            instance=instance,
            resources=resources,
            selection=[training_snapshot, golden_set],
        )
    snap = golden.output_for_node("training_snapshot")
    assert snap.per_label == {"hardware": 40, "software": 10, "billing": 3}
    stored = resources["registry"].registry().read_table(snap.path, snap.tag)
    assert "opened" in stored.columns  # extra metadata travels untouched
    assert set(stored["domain"]) == {"email"}  # the configured domain column
    assert set(stored["split"]) <= {"train", "val", "test"}


def test_snapshot_excludes_golden_rows_and_check_passes(vader_df, resources, home: Path):
    golden_rows = load_golden().frame.head(5)
    batch = pd.concat(
        [golden_rows[["text", "label", "domain"]], vader_df[["text", "label", "domain"]].iloc[:200]]
    )
    path = home / "landing" / "with_golden.csv"
    batch.to_csv(path, index=False)
    with dg.instance_for_test() as instance:
        _ingest(instance, resources, path)
        result = dg.materialize(
            [golden_set, training_snapshot, check_golden_disjoint],
            instance=instance,
            resources=resources,
        )
    snap: SnapshotRef = result.output_for_node("training_snapshot")
    stored = resources["registry"].registry().read_table(snap.path, snap.tag)
    assert not set(golden_rows["row_id"]) & set(stored["row_id"])
    assert all(e.passed for e in result.get_asset_check_evaluations())
    assert snap.tag.startswith("snapshot/") and len(snap.sha256) == 64


def test_golden_disjoint_check_fails_when_violated(resources, home: Path):
    reg = resources["registry"].registry()
    golden = load_golden()
    gtag = "golden/test"
    reg.commit_table(GOLDEN_PATH, golden.frame, gtag, "golden")
    leaked = golden.frame.head(3).assign(split="train")
    reg.commit_table("snapshots/training.parquet", leaked, "snapshot/leaky", "leaky")
    ref = SnapshotRef(
        tag="snapshot/leaky",
        sha256="x",
        path="snapshots/training.parquet",
        rows=3,
        per_split={"train": 3},
        per_label={},
    )
    gref = GoldenRef(version=golden.version, sha256=golden.sha256, tag=gtag, rows=len(golden.frame))
    result = check_golden_disjoint(
        training_snapshot=ref, golden_set=gref, registry=resources["registry"]
    )
    assert not result.passed
    assert result.metadata["overlapping_rows"].value == 3


def test_label_contract_freezes_then_guards_then_admits(resources, home: Path):
    """An inferring dataset (`labels = []`): the first snapshot freezes its labels into the
    registry; a later typo is quarantined as unknown_label (value shown), a case variant takes
    the contract's spelling; `driftwise labels add`'s contract change admits the class and the
    next snapshot names it as new. Real ingest runs and snapshots on a real registry."""
    from data.labels import read_contract, save_contract

    spec = DatasetSpec(name="tickets", text_column="body", label_column="team", labels=[])
    resources = dict(resources, dataset=spec)
    reg = resources["registry"].registry()
    first = home / "landing" / "tickets.csv"
    pd.DataFrame(
        {
            "body": [f"ticket {t} number {i}" for t in ("hw", "sw") for i in range(30)],
            "team": ["hardware"] * 30 + ["software"] * 30,
        }
    ).to_csv(first, index=False)
    with dg.instance_for_test() as instance:
        _ingest(instance, resources, first)
        snapshots = [golden_set, training_snapshot]
        one = dg.materialize(snapshots, instance=instance, resources=resources)
        contract = read_contract(reg)
        assert contract is not None and contract.labels == ["hardware", "software"]
        assert contract.audit[0]["action"] == "frozen"

        later = home / "landing" / "tickets-2.csv"
        pd.DataFrame(
            {
                "body": ["new case a", "new case b", "new case c"],
                "team": ["HARDWARE", "hardwar", "billing"],
            }
        ).to_csv(later, index=False)
        meta = _meta(_ingest(instance, resources, later))
        assert meta["rows_accepted"] == 1 and meta["rows_quarantined"] == 2
        qfile = next((home / "quarantine").glob("tickets-2-*/rows.jsonl"))
        reasons = sorted(json.loads(line)["reason"] for line in qfile.read_text().splitlines())
        assert reasons == [
            "unknown_label: 'billing' not in ['hardware', 'software']",
            "unknown_label: 'hardwar' not in ['hardware', 'software']",
        ]

        save_contract(reg, contract.admit("billing", "new team"), "add billing")
        third = home / "landing" / "tickets-3.csv"
        pd.DataFrame(
            {"body": [f"refund please {i}" for i in range(5)], "team": ["Billing"] * 5}
        ).to_csv(third, index=False)
        assert _meta(_ingest(instance, resources, third))["rows_accepted"] == 5
        two = dg.materialize(snapshots, instance=instance, resources=resources)
    first_meta = one.asset_materializations_for_node("training_snapshot")[0].metadata
    assert first_meta["new_labels"].value == []
    assert "frozen now" in first_meta["label_contract"].value
    snap_meta = two.asset_materializations_for_node("training_snapshot")[0].metadata
    assert snap_meta["new_labels"].value == ["billing"]
    snap = two.output_for_node("training_snapshot")
    assert snap.per_label["billing"] == 5  # "Billing" rows, in the contract's spelling
    stored = reg.read_table(snap.path, snap.tag)
    assert set(stored["label"]) <= {"hardware", "software", "billing"}  # one spelling each
