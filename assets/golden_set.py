"""The golden set as an asset: frozen, versioned, and registered in the DVC registry."""

import dagster as dg

from data.golden_set import GOLDEN_PATH, GoldenRef, load_golden
from data.schema import DOMAIN, LABEL
from orchestration.resources import DataRegistryResource


@dg.asset(group_name="data", kinds={"dvc", "pandas"})
def golden_set(context: dg.AssetExecutionContext, registry: DataRegistryResource) -> dg.Output:
    """Curated, stratified, frozen evaluation set (all four domains); never used for training."""
    golden = load_golden()
    tag = f"golden/{golden.version}-{golden.sha256[:12]}"
    commit = registry.registry().commit_table(
        GOLDEN_PATH, golden.frame, tag=tag, message=f"Golden set {golden.version}"
    )
    cells = golden.frame.groupby([DOMAIN, LABEL]).size()
    context.log.info("golden set %s: %d rows, tag %s", golden.version, len(golden.frame), tag)
    return dg.Output(
        GoldenRef(
            version=golden.version, sha256=golden.sha256, tag=commit.tag, rows=len(golden.frame)
        ),
        metadata={
            "version": golden.version,
            "sha256": golden.sha256,
            "dvc_tag": commit.tag,
            "dagster/row_count": len(golden.frame),
            "cells": dg.MetadataValue.md(cells.rename("rows").to_frame().to_markdown()),
        },
    )
