"""The rollout's persisted state: `<home>/rollout/state.json`, written atomically.

One rollout at a time. Every writer (the sensor's tick, `driftwise rollback`, the finish
job) holds `<home>/rollout/.lock` across read-decide-write, so a person's rollback can never
be overwritten by a tick that read the state before it. A finished rollout is also kept as
`history/<rollout_id>.json`. A state file that does not parse is moved aside (never
guessed at) and reported, so the caller can roll back to the champion.

An operator's move whose traffic is already flipped but whose registry aliases and decision
record are still to be written is a `PendingMove` in `<home>/rollout/pending.json` (the
controller's write-ahead entry: whoever holds the registry next settles it).
"""

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock
from pydantic import BaseModel, ValidationError

from data.home import HomeLayout
from evaluation.rollout.machine import RolloutState

STATE_FILE = "state.json"
PENDING_FILE = "pending.json"


class CorruptState(RuntimeError):
    """The state file did not parse; it was moved to `moved_to`."""

    def __init__(self, moved_to: Path, error: str) -> None:
        super().__init__(f"rollout state unreadable ({error}); moved to {moved_to}")
        self.moved_to = moved_to


def rollout_dir(home: Path) -> Path:
    return HomeLayout(Path(home)).rollout


@contextmanager
def locked(home: Path, timeout: float = 30.0) -> Iterator[None]:
    folder = rollout_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / ".lock"), timeout=timeout):
        yield


def read_rollout(home: Path) -> RolloutState | None:
    path = rollout_dir(home) / STATE_FILE
    if not path.exists():
        return None
    try:
        return RolloutState.model_validate_json(path.read_text())
    except (ValidationError, ValueError) as exc:
        moved = path.with_name(f"corrupt-{int(time.time())}.json")
        os.replace(path, moved)
        raise CorruptState(moved, str(exc).splitlines()[0]) from exc


def write_rollout(home: Path, state: RolloutState) -> Path:
    folder = rollout_dir(home)
    _atomic_write(folder / STATE_FILE, state.model_dump_json(indent=2))
    if state.status in ("promoted", "rolled_back"):
        history = folder / "history"
        history.mkdir(exist_ok=True)
        (history / f"{state.rollout_id}.json").write_text(state.model_dump_json(indent=2))
    return folder / STATE_FILE


class PendingMove(BaseModel):
    """Traffic already moved by an operator; the registry and the record still to follow.

    `kind` "rollback": `target` (None = ask the registry) becomes champion, `replaced` its
    previous. `kind` "abort": rollout `rollout_id` was aborted; its outcome is unrecorded."""

    kind: str
    reason: str
    by: str
    at: float
    seconds: float | None = None
    target: str | None = None
    replaced: str | None = None
    rollout_id: str | None = None


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_pending(home: Path, move: PendingMove) -> None:
    _atomic_write(rollout_dir(home) / PENDING_FILE, move.model_dump_json(indent=2))


def read_pending(home: Path) -> PendingMove | None:
    path = rollout_dir(home) / PENDING_FILE
    return PendingMove.model_validate_json(path.read_text()) if path.exists() else None


def clear_pending(home: Path) -> None:
    (rollout_dir(home) / PENDING_FILE).unlink(missing_ok=True)


def summary(state: RolloutState) -> dict:
    """The compact form for CLI tables and Dagster metadata."""
    mode, weight = state.routing()
    return {
        "rollout_id": state.rollout_id,
        "status": state.status,
        "stage": state.current.name,
        "routing": f"{mode} {weight:.0%}",
        "champion": f"v{state.champion_version}",
        "challenger": f"v{state.challenger_version}",
        "last_verdict": state.last_verdict,
        "last_reasons": "; ".join(state.last_reasons),
        "started_at": state.started_at,
        "ended_at": state.ended_at,
        "timeline_entries": len(state.timeline),
    }
