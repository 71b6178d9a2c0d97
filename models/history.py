"""Per-epoch metric history as JSON lines: a Lightning logger that survives interruptions.

Why a file and not in-memory state: with spawn-based DDP the training processes are not
the caller's, and a resumed run must continue the history of the interrupted one. Each
`log_metrics` call appends one line at once (rank zero only); `read_history` merges lines by
epoch, the latest line winning, so an epoch re-run after a resume replaces its first try.
"""

import json
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers.logger import Logger
from lightning.pytorch.utilities import rank_zero_only


class JsonlHistoryLogger(Logger):
    """Appends `{"step": ..., "epoch": ..., <metric>: value}` lines to `path`."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)

    @property
    def name(self) -> str:
        return "history"

    @property
    def version(self) -> str:
        return "0"

    @property
    def save_dir(self) -> str:
        return str(self.path.parent)

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        # The spec is the run's configuration of record; the trackers log it from there.
        pass

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        row = {"step": step, **{k: float(v) for k, v in metrics.items()}}
        with self.path.open("a") as fh:
            fh.write(json.dumps(row) + "\n")


def read_history(path: Path) -> list[dict[str, float]]:
    """One dict per epoch (sorted), merging every line logged for that epoch."""
    if not path.exists():
        return []
    epochs: dict[int, dict[str, float]] = {}
    with path.open() as fh:
        for line in fh:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                # A run killed mid-write leaves a torn last line; the epoch it described is
                # re-run on resume, so skipping it loses nothing.
                continue
            if "epoch" not in row:
                continue
            epoch = int(row["epoch"])
            epochs.setdefault(epoch, {}).update(row)
    return [epochs[e] for e in sorted(epochs)]
