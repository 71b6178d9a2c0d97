"""The golden set as an asset: frozen, versioned, and registered in the DVC registry.

Which golden set depends on the dataset (data.golden_source): the user's own file, the
curated VADER set for the default data, or one carved once from the first labelled data.
"""

import dagster as dg

from data.golden_set import GOLDEN_PATH, GoldenRef
from data.golden_source import resolve_golden
from data.schema import DOMAIN, LABEL, DatasetSpec
from orchestration.resources import DataRegistryResource


class GoldenConfig(dg.Config):
    """`new_version`: draw a new carved version (the `new_golden_version` job sets it);
    otherwise the newest registered version is reused, never re-drawn silently."""

    new_version: bool = False


@dg.asset(group_name="data", kinds={"dvc", "pandas"})
def golden_set(
    context: dg.AssetExecutionContext,
    config: GoldenConfig,
    registry: DataRegistryResource,
    dataset: dg.ResourceParam[DatasetSpec],
) -> dg.Output[GoldenRef]:
    """Stratified, frozen evaluation set of this dataset; its rows never enter training."""
    reg = registry.registry()
    reg.ensure()
    # Under the writer lock: a carve reads the batches and registers in one step.
    with reg.locked():
        golden = resolve_golden(dataset, reg, new_version=config.new_version)
        commit = reg.commit_table(
            GOLDEN_PATH,
            golden.frame,
            tag=golden.tag,
            message=f"Golden set {dataset.name} {golden.version} ({golden.source})",
        )
    frame = golden.frame
    by = [DOMAIN, LABEL] if DOMAIN in frame.columns and frame[DOMAIN].notna().any() else [LABEL]
    cells = frame.groupby(by, dropna=False).size()
    context.log.info(
        "golden set %s %s (%s): %d rows (%d from reviewed traffic), tag %s",
        dataset.name,
        golden.version,
        golden.source,
        len(frame),
        golden.reviewed,
        commit.tag,
    )
    return dg.Output(
        GoldenRef(version=golden.version, sha256=golden.sha256, tag=commit.tag, rows=len(frame)),
        metadata={
            "dataset": dataset.name,
            "source": golden.source,
            "version": golden.version,
            "sha256": golden.sha256,
            "dvc_tag": commit.tag,
            "dagster/row_count": len(frame),
            "reviewed_rows": golden.reviewed,
            "labels": dg.MetadataValue.json(sorted(frame[LABEL].astype(str).unique().tolist())),
            "cells": dg.MetadataValue.md(cells.rename("rows").to_frame().to_markdown()),
        },
    )
