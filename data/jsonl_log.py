"""Tolerant reading of append-only JSONL logs (the serving log, feedback).

A writer that crashed mid-line leaves a partial last line; one bad line must not make every
later reader fail. Malformed lines are skipped and counted (and logged), never guessed at.
"""

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)


@dataclass
class LogRead:
    frame: pd.DataFrame
    malformed: int


def read_jsonl_log(folder: Path, newest: int | None = None) -> LogRead:
    """Records of `folder/*.jsonl` (files in name order, lines in order).

    Args:
        folder: the log folder (missing = empty log).
        newest: keep only the last `newest` records (files are read newest first until
            the window is full, so old history is not re-read on every call).
    """
    files = sorted(folder.glob("*.jsonl")) if folder.exists() else []
    chunks: list[list[dict]] = []
    total = malformed = 0
    for path in reversed(files):
        records = []
        # split("\n"), not splitlines(): U+2028 and friends are legal inside JSON strings.
        for line in path.read_text(encoding="utf-8", errors="replace").split("\n"):
            line = line.rstrip("\r")
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                malformed += 1
                continue
            if isinstance(obj, dict):
                records.append(obj)
            else:
                malformed += 1
        chunks.append(records)
        total += len(records)
        if newest is not None and total >= newest:
            break
    if malformed:
        log.warning("%s: skipped %d malformed log lines", folder, malformed)
    rows = [r for chunk in reversed(chunks) for r in chunk]
    if newest is not None:
        rows = rows[-newest:] if newest else []
    return LogRead(pd.DataFrame(rows), malformed)
