"""The label loop's files: `<home>/review/queue/<partition>.parquet` (+ `.pushed` once
every item is a task on the annotation server; orchestration/annotation/loop.py pushes) and
`<home>/review/harvested/*.csv` (every harvested row, canonical `text`/`label` + lineage)."""

import os
from pathlib import Path

import pandas as pd

from data.home import HomeLayout
from evaluation.review.harvest import LINEAGE


def queue_dir(layout: HomeLayout) -> Path:
    return layout.review / "queue"


def write_queue(layout: HomeLayout, partition: str, queue: pd.DataFrame) -> Path:
    folder = queue_dir(layout)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{partition}.parquet"
    tmp = folder / f".{partition}.parquet.tmp"
    queue.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    (folder / f"{partition}.pushed").unlink(missing_ok=True)  # a new queue waits to be pushed
    return path


def queued_keys(layout: HomeLayout, except_partition: str | None = None) -> set[str]:
    """Review keys of every queue but `except_partition` (an item is queued once, ever)."""
    keys: set[str] = set()
    for path in sorted(queue_dir(layout).glob("*.parquet")):
        if path.stem != except_partition:
            keys |= set(pd.read_parquet(path, columns=["review_key"])["review_key"])
    return keys


def harvested_dir(layout: HomeLayout) -> Path:
    return layout.review / "harvested"


def reviewed_rows(layout: HomeLayout) -> pd.DataFrame:
    """Every row harvested so far: `text`, `label` (the reviewer's) and the lineage columns."""
    files = sorted(harvested_dir(layout).glob("*.csv"))
    if not files:
        return pd.DataFrame(columns=["text", "label", *LINEAGE])
    return pd.concat(
        [pd.read_csv(p, dtype={"model_version": str}) for p in files], ignore_index=True
    )
