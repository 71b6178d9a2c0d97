"""The operator's moves on what is served: roll back, serve a chosen version, and settle
what a fast move left for the registry.

Plain Python (no Dagster, no BentoML; MLflow only inside `RegistryAliases`' methods), so the
CLI can flip traffic without paying seconds of imports. It talks to the world through two
small protocols:
- `Router`: the running service (load a version into a role, set the split, say which
  version it keeps warm as `previous`); `bento.admin_client.HomeRouter` is one. None when
  no service runs: then a move is the registry's alone, which the next service start obeys.
- `AliasStore`: the registry's `champion`/`previous` aliases; `RegistryAliases` is the
  MLflow one.

Every move holds the rollout lock and follows the rollout's rule, traffic first: the warm
version takes all traffic, a `PendingMove` is written ahead, and `settle` moves the aliases
and writes the decision record, then clears it. `rollback(..., settle_now=False)` returns
after the flip (the CLI settles in a child process); a crash in between leaves the pending
move, which the next controller call or `driftwise status` settles, so the registry always
ends up where the traffic went.
"""

import getpass
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from evaluation.rollout.machine import abort
from evaluation.rollout.outcome import record_manual, record_outcome
from evaluation.rollout.store import (
    PendingMove,
    clear_pending,
    locked,
    read_pending,
    read_rollout,
    write_pending,
    write_rollout,
)


class Unsettled(RuntimeError):
    """A fast move was asked for while an earlier one still waits for the registry."""


class Router(Protocol):
    def load(self, version: str, role: str) -> Any: ...

    def set_routing(self, mode: str, weight: float = 0.0) -> Any: ...

    def served_versions(self) -> tuple[str | None, str | None]:
        """(champion, previous): what it serves and what it keeps warm for a flip."""
        ...


class Moved(Protocol):
    @property
    def champion(self) -> str: ...

    @property
    def replaced(self) -> str | None: ...


class AliasStore(Protocol):
    def champion(self) -> str | None: ...

    def rollback(self) -> Moved: ...

    def promote(self, version: str) -> Moved: ...

    def gate_passed(self, version: str) -> bool: ...


class RegistryAliases:
    """The MLflow registry's aliases of one registered model (`models.model_registry`)."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.name = config.registered_model_name

    def champion(self) -> str | None:
        from models.model_registry import CHAMPION, aliased_version

        found = aliased_version(self.config, self.name, CHAMPION)
        return found.version if found else None

    def rollback(self) -> Moved:
        from models.model_registry import rollback

        return rollback(self.config, self.name)

    def promote(self, version: str) -> Moved:
        from models.model_registry import promote

        return promote(self.config, self.name, version)

    def gate_passed(self, version: str) -> bool:
        from models.model_registry import gate_passed

        try:
            return gate_passed(self.config, self.name, version)
        except Exception as exc:  # MLflow's RestException: no such version
            raise LookupError(f"{self.name} has no version {version}") from exc


@dataclass
class Flip:
    """What a move did. `seconds`: from the call to all traffic on `champion` (None when no
    service runs); `champion` None while the registry has still to say (no warm version)."""

    action: str
    champion: str | None
    seconds: float | None
    replaced: str | None = None
    rollout_id: str | None = None
    record_id: str | None = None
    pending: bool = False


@dataclass
class RolloutController:
    home: Path
    router: Router | None

    def rollback(
        self, reason: str, aliases: AliasStore | None = None, *, settle_now: bool = True
    ) -> Flip:
        """All traffic to the champion now. During a rollout: the rollout is aborted (the
        challenger keeps no traffic; aliases untouched). Otherwise the warm `previous` takes
        all traffic, and on settling the aliases swap (a second rollback rolls forward)."""
        started = time.perf_counter()
        by = getpass.getuser()
        with locked(self.home):
            if aliases is not None:
                self._settle_locked(aliases)  # an earlier move first: moves apply in order
            elif read_pending(self.home) is not None:
                raise Unsettled("an earlier move is still settling: pass the alias store")
            state = read_rollout(self.home)
            if state is not None and state.status in ("running", "promoting"):
                self._route_off()
                seconds = time.perf_counter() - started
                state = abort(state, f"manual rollback: {reason}", time.time())
                write_rollout(self.home, state)
                move = PendingMove(
                    kind="abort", reason=reason, by=by, at=time.time(), seconds=seconds,
                    rollout_id=state.rollout_id,
                )  # fmt: skip
                flip = Flip("rollout aborted", state.champion_version, seconds, None,
                            state.rollout_id)  # fmt: skip
            else:
                replaced, warm = (None, None)
                if self.router is not None:
                    replaced, warm = self.router.served_versions()
                seconds = None
                if self.router is not None and warm is not None:
                    self.router.load(warm, "champion")  # the old champion stays warm
                    seconds = time.perf_counter() - started
                move = PendingMove(
                    kind="rollback", reason=reason, by=by, at=time.time(), seconds=seconds,
                    target=warm, replaced=replaced,
                )  # fmt: skip
                flip = Flip("champion rolled back", warm, seconds, replaced)
            write_pending(self.home, move)
            if settle_now:
                if aliases is None:
                    raise ValueError("settling needs the alias store")
                settled = self._settle_locked(aliases)
                if settled is not None:
                    flip.champion, flip.replaced = settled.champion, settled.replaced
                    flip.record_id = settled.record_id
            flip.pending = read_pending(self.home) is not None
        return flip

    def serve_version(self, version: str, reason: str, aliases: AliasStore) -> Flip:
        """Make a registered, gate-passed `version` the champion, outside any rollout
        (registry first here: the version may not be loaded anywhere yet)."""
        started = time.perf_counter()
        with locked(self.home):
            self._settle_locked(aliases)
            state = read_rollout(self.home)
            if state is not None and state.status in ("running", "promoting"):
                raise LookupError(
                    f"rollout {state.rollout_id} is running: `driftwise rollback` aborts it first"
                )
            if not aliases.gate_passed(version):
                raise LookupError(f"v{version} did not pass the promotion gate: not served")
            move = aliases.promote(version)
            if self.router is not None:
                self.router.load(version, "champion")
            seconds = time.perf_counter() - started
            record_id = record_manual(
                self.home, f"champion set to v{version}", version, move.replaced, reason,
                getpass.getuser(), seconds=seconds,
            )  # fmt: skip
        return Flip(f"champion set to v{version}", version, seconds, move.replaced, None, record_id)

    def settle(self, aliases: AliasStore) -> Flip | None:
        """Apply a pending move's registry side and record it; None if nothing was pending."""
        with locked(self.home):
            return self._settle_locked(aliases)

    def _route_off(self) -> None:
        if self.router is not None:
            self.router.set_routing("off", 0.0)

    def _settle_locked(self, aliases: AliasStore) -> Flip | None:
        move = read_pending(self.home)
        if move is None:
            return None
        if move.kind == "abort":
            state = read_rollout(self.home)
            if state is not None and state.rollout_id == move.rollout_id and not state.recorded:
                record_outcome(self.home, state, None)
                write_rollout(self.home, state.model_copy(update={"recorded": True}))
            clear_pending(self.home)
            return Flip("rollout aborted", None, move.seconds, None, move.rollout_id)
        champion, replaced = aliases.champion(), move.replaced
        if move.target is None or champion != move.target:
            moved = aliases.rollback()
            champion, replaced = moved.champion, moved.replaced
            if self.router is not None and champion != move.target:
                # the registry is the truth: serve what it names (a load, not a flip)
                self.router.load(champion, "champion")
        record_id = record_manual(
            self.home, "champion rolled back", champion, replaced, move.reason, move.by,
            at=move.at, seconds=move.seconds,
        )  # fmt: skip
        clear_pending(self.home)
        return Flip("champion rolled back", champion, move.seconds, replaced, None, record_id)
