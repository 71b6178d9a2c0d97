"""The serving side's logs (predictions, feedback): append-only JSONL files in a folder.

One module for both ends. The writer appends whole lines and rotates by size, keeping at
most `max_files` files, so the log stays bounded on disk. The reader is tolerant: a writer
that crashed mid-line leaves a partial last line, and one bad line must not make every later
reader fail, so malformed lines are skipped and counted (and logged), never guessed at.
Readers: drift on traffic (`read_prediction_window`), the retrain sensors (feedback).
"""

import json
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from data.schema import TEXT

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


def read_prediction_window(log_dir: Path, window: int) -> pd.DataFrame:
    """The newest `window` records of the serving log that carry their text.

    Records without their text (privacy policy) cannot feed text drift and are dropped.
    """
    frame = read_jsonl_log(log_dir).frame
    if TEXT not in frame.columns:
        return pd.DataFrame({TEXT: []})
    frame = frame[frame[TEXT].notna()]
    if "timestamp" in frame.columns:
        frame = frame.sort_values("timestamp", kind="stable")
    return frame.tail(window).reset_index(drop=True)


class JsonlLogWriter:
    """Appends records as JSON lines to `<folder>/<prefix>-<n>.jsonl`, rotating by size.

    Files are numbered so that name order is write order (what the reader relies on); past
    `max_files` the oldest file is deleted. Each record is written with a single `write` of a
    complete line under a lock, so concurrent callers in one process never interleave lines.
    """

    def __init__(
        self, folder: Path, prefix: str = "log", max_bytes: int = 64 * 2**20, max_files: int = 8
    ) -> None:
        if max_bytes < 1 or max_files < 1:
            raise ValueError("max_bytes and max_files must be positive")
        self.folder, self.prefix = Path(folder), prefix
        self.max_bytes, self.max_files = max_bytes, max_files
        self._lock = threading.Lock()

    def _files(self) -> list[Path]:
        return sorted(self.folder.glob(f"{self.prefix}-*.jsonl"))

    def _current(self, incoming: int) -> Path:
        files = self._files()
        if files and files[-1].stat().st_size + incoming <= self.max_bytes:
            return files[-1]
        number = int(files[-1].stem.rsplit("-", 1)[1]) + 1 if files else 0
        for old in files[: max(0, len(files) + 1 - self.max_files)]:
            old.unlink(missing_ok=True)
        return self.folder / f"{self.prefix}-{number:08d}.jsonl"

    def append(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Write `records` (a `timestamp` is added where missing); returns how many."""
        lines = []
        for record in records:
            row = {"timestamp": time.time(), **record}
            lines.append(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        if not lines:
            return 0
        blob = "".join(lines).encode("utf-8")
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            with self._current(len(blob)).open("ab") as fh:
                fh.write(blob)
        return len(lines)
