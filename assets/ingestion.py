"""Ingestion: landed files -> validated, quarantined, DVC-versioned batches -> snapshot."""

from typing import Any

import dagster as dg
import pandas as pd

from assets.golden_set import golden_set
from data.golden_set import GOLDEN_PATH, GoldenRef
from data.ingest import accepted_batches, count_persisted, ingest_file
from data.labels import LabelContract, conform, effective_labels, new_classes, save_contract
from data.landing import find_landed
from data.reingest import reingest_batch
from data.schema import DOMAIN, LABEL, SPLIT, DatasetSpec, row_id
from data.snapshot import (
    SNAPSHOT_PATH,
    SNAPSHOT_TAG_PREFIX,
    SnapshotRef,
    build_snapshot,
    content_hash,
    golden_overlap,
)
from orchestration.resources import DataRegistryResource, RuntimeHomeResource

batch_partitions = dg.DynamicPartitionsDefinition(name="batches")


class IngestConfig(dg.Config):
    """`reingest`: validate the batch's stored file again under the current dataset config
    (the `reingest` job sets it; the earlier accounting moves to the quarantine's history)."""

    reingest: bool = False


def _counts_md(counts: dict[str, int], name: str) -> dg.MetadataValue:
    frame = pd.Series(counts, name="rows", dtype="int64").rename_axis(name).to_frame()
    return dg.MetadataValue.md(frame.to_markdown() if len(frame) else "_none_")


@dg.asset(
    group_name="data",
    kinds={"dvc", "pandas"},
    partitions_def=batch_partitions,
    check_specs=[dg.AssetCheckSpec("check_accounting", asset="ingested_batch", blocking=True)],
)
def ingested_batch(
    context: dg.AssetExecutionContext,
    config: IngestConfig,
    home: RuntimeHomeResource,
    registry: DataRegistryResource,
    dataset: dg.ResourceParam[DatasetSpec],
):
    """One landed file, validated: good rows committed + tagged in DVC, bad rows quarantined."""
    layout = home.layout
    if config.reingest:
        report = reingest_batch(
            context.partition_key, dataset, registry.registry(), layout.landing, layout.quarantine
        )
    else:
        path = find_landed(layout.landing, context.partition_key)
        report = ingest_file(path, dataset, registry.registry(), layout.quarantine)
    context.log.info("%s: %s", report.batch_id, report.status)
    metadata: dict[str, Any] = {
        "status": report.status,
        "reingest": config.reingest,
        "source": dg.MetadataValue.path(report.source),
        "rows_received": report.received,
        "rows_accepted": report.accepted,
        "rows_quarantined": report.quarantined,
        "dagster/row_count": report.accepted,
        "labelled": report.labelled,
        "dvc_tag": report.dvc_tag or "",
        "quarantine_reasons": dg.MetadataValue.json(report.reasons),
        "per_label": _counts_md(report.per_label, LABEL),
        "per_domain": _counts_md(report.per_domain, DOMAIN),
    }
    if report.quarantine_dir:
        metadata["quarantine"] = dg.MetadataValue.path(report.quarantine_dir)
    if report.file_reason:
        metadata["file_reason"] = report.file_reason
        # None: the rows could not be counted (binary, unreadable Parquet): said, not hidden.
        metadata["file_rows"] = "uncountable" if report.file_rows is None else report.file_rows
    if report.flags:
        metadata["flags"] = dg.MetadataValue.json(report.flags)
        context.log.warning("%s: accepted rows flagged: %s", report.batch_id, report.flags)
    yield dg.MaterializeResult(metadata=metadata)

    # The check re-counts what was persisted (DVC table at its tag + quarantine file), so a
    # write that lost rows fails it even if the in-memory counts agree.
    stored_accepted, stored_quarantined = count_persisted(registry.registry(), report)
    if report.status == "already_ingested":
        passed, detail = True, f"same content already ingested as {report.dvc_tag}"
    elif report.status == "file_quarantined":
        rows = "an uncountable number of" if report.file_rows is None else report.file_rows
        passed, detail = True, f"file quarantined whole ({rows} rows): {report.file_reason}"
    else:
        passed = report.received == stored_accepted + stored_quarantined
        detail = f"{report.received} = {stored_accepted} + {stored_quarantined}"
    yield dg.AssetCheckResult(
        check_name="check_accounting",
        passed=passed,
        metadata={
            "received": report.received,
            "accepted_persisted": stored_accepted,
            "quarantined_persisted": stored_quarantined,
            "detail": detail,
        },
    )


@dg.asset(group_name="data", kinds={"dvc", "pandas"}, deps=[ingested_batch])
def training_snapshot(
    context: dg.AssetExecutionContext,
    golden_set: GoldenRef,
    registry: DataRegistryResource,
    dataset: dg.ResourceParam[DatasetSpec],
) -> dg.Output[SnapshotRef]:
    """Every accepted labelled row, deduplicated, golden rows excluded, stratified split column.

    Rows follow the label contract (data/labels.py): the config's labels, else the frozen
    ones; with neither, this first snapshot's labels are frozen into the registry.
    """
    reg = registry.registry()
    # Under the writer lock: an ingest committing meanwhile is either fully in or fully out.
    with reg.locked():
        allowed = effective_labels(dataset.labels, reg)
        batches = [frame for _, frame in accepted_batches(reg)]
        before = sum(len(b) for b in batches)
        if allowed is not None:
            batches = [conform(b, allowed) for b in batches]
        outside = before - sum(len(b) for b in batches)
        golden = reg.read_table(GOLDEN_PATH, rev=golden_set.tag)
        snapshot = build_snapshot(batches, exclude_row_ids=golden["row_id"])
        sha = content_hash(snapshot)
        commit = reg.commit_table(
            SNAPSHOT_PATH,
            snapshot,
            tag=f"{SNAPSHOT_TAG_PREFIX}{sha[:12]}",
            message=f"Training snapshot {sha[:12]}: {len(snapshot)} rows from "
            f"{len(batches)} batches",
        )
        source = "declared in config" if dataset.labels is not None else "frozen"
        if allowed is None:
            found = set(snapshot[LABEL].astype(str)) | set(golden[LABEL].dropna().astype(str))
            contract = LabelContract.frozen_from(dataset.name, sorted(found), commit.tag)
            save_contract(reg, contract, f"Label contract frozen at {commit.tag}")
            allowed, source = contract.labels, f"frozen now, at {commit.tag}"
            context.log.info("label contract frozen: %s", allowed)
    per_split = {str(k): int(v) for k, v in snapshot[SPLIT].value_counts().items()}
    per_label = {str(k): int(v) for k, v in snapshot[LABEL].value_counts().items()}
    ref = SnapshotRef(
        tag=commit.tag,
        sha256=sha,
        path=SNAPSHOT_PATH,
        rows=len(snapshot),
        per_split=per_split,
        per_label=per_label,
    )
    context.log.info("snapshot %s: %d rows", commit.tag, len(snapshot))
    previous = context.instance.get_latest_materialization_event(context.asset_key)
    last = (
        previous.asset_materialization.metadata.get("labels")
        if previous and previous.asset_materialization
        else None
    )
    added = new_classes(sorted(per_label), last.value if last is not None else None)
    if added:
        context.log.warning("new classes since the last snapshot: %s", added)
    by_domain = snapshot.groupby([DOMAIN, LABEL], dropna=False).size().rename("rows").to_frame()
    return dg.Output(
        ref,
        metadata={
            "dvc_tag": commit.tag,
            "sha256": sha,
            "dagster/row_count": len(snapshot),
            "batches": len(batches),
            "per_split": dg.MetadataValue.json(per_split),
            "per_label": _counts_md(per_label, LABEL),
            "per_domain_label": dg.MetadataValue.md(by_domain.to_markdown()),
            "golden_version": golden_set.version,
            "labels": dg.MetadataValue.json(sorted(per_label)),
            "label_contract": f"{', '.join(allowed)} ({source})",
            "new_labels": dg.MetadataValue.json(added),
            "rows_outside_contract": outside,
        },
    )


@dg.asset_check(asset=training_snapshot, blocking=True, additional_ins={"golden_set": dg.AssetIn()})
def check_golden_disjoint(
    training_snapshot: SnapshotRef, golden_set: GoldenRef, registry: DataRegistryResource
) -> dg.AssetCheckResult:
    """No golden row may be in a training snapshot (read back from DVC by tag, not trusted)."""
    reg = registry.registry()
    snapshot = reg.read_table(training_snapshot.path, rev=training_snapshot.tag)
    golden = reg.read_table(GOLDEN_PATH, rev=golden_set.tag)
    # Identity recomputed from the golden texts, not the stored ids the builder used.
    overlap = golden_overlap(snapshot, golden["text"].map(row_id))
    return dg.AssetCheckResult(
        passed=not overlap,
        metadata={
            "overlapping_rows": len(overlap),
            "threshold": 0,
            "examples": dg.MetadataValue.json(overlap[:10]),
        },
    )


__all__ = [
    "batch_partitions",
    "check_golden_disjoint",
    "golden_set",
    "ingested_batch",
    "training_snapshot",
]
