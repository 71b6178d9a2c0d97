"""The live-rollout control plane: every change to what is served goes through one
`RolloutController` method - begin a canary, tick it, promote now, abort, finish, roll back
(to the previous champion or to any gate-passed version) and settle what a fast move left
for the registry. The Dagster asset, sensor and jobs and the CLI are callers of a few lines.

Plain Python (no Dagster, no BentoML; MLflow only inside `RegistryAliases`' methods), so the
CLI can flip traffic without paying seconds of imports. It talks to the world through two
small protocols:
- `Router`: the running service (load a version into a role, set the split, say what it
  serves, hand over its logs); `orchestration/router.py: HomeRouter` is the live one. None
  when no service runs: then a manual move is the registry's alone, which the next service
  start obeys (a canary needs a router).
- `AliasStore`: the registry's `champion`/`previous` aliases; `RegistryAliases` is the
  MLflow one.

Each method holds the rollout lock and applies transitions of `machine.py` (every state
change, a person's included, is a function there). The crash rules, in one place:
- a split is written (`applied=False`) before it is sent, and marked applied once the
  service confirms it, so a crash in between is resumed by the next tick;
- traffic first: a rollback flips the split (through the service, or in the serving state
  it restarts from) before anything is recorded; a promotion loads the new champion before
  the aliases move; a finished rollout is marked `recorded`, so a second finish is a no-op;
- a manual move outside a rollout: the warm version takes all traffic, a `PendingMove` is
  written ahead, and `settle` moves the aliases and writes the decision record, then clears
  it. `rollback(..., settle_now=False)` returns
after the flip (the CLI settles in a child process); a crash in between leaves the pending
move, which the next controller call or `driftwise status` settles, so the registry always
ends up where the traffic went.
"""

import getpass
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from evaluation.rollout import machine
from evaluation.rollout.machine import Decision, RolloutState, ServiceView
from evaluation.rollout.outcome import record_manual, record_outcome
from evaluation.rollout.policy import RolloutPolicy
from evaluation.rollout.store import (
    CorruptState,
    PendingMove,
    clear_pending,
    locked,
    read_pending,
    read_rollout,
    write_pending,
    write_rollout,
)

log = logging.getLogger(__name__)
MANUAL_PROMOTE = "manual promote (driftwise promote)"


class Unsettled(RuntimeError):
    """A fast move was asked for while an earlier one still waits for the registry."""


class RouterDown(RuntimeError):
    """The service could not take a call (not running, unreachable, or it refused)."""


class Router(Protocol):
    """The running service. `load` and `set_routing` raise `RouterDown` when it cannot take
    the call."""

    def load(self, version: str, role: str) -> Any: ...

    def set_routing(self, mode: str, weight: float = 0.0) -> Any: ...

    def force_off(self) -> None:
        """All traffic to the champion, even with the service down (in the state it
        restarts from)."""
        ...

    def served_versions(self) -> tuple[str | None, str | None]:
        """(champion, previous): what it serves and what it keeps warm for a flip."""
        ...

    def roles(self) -> dict[str, Any] | None:
        """{champion_version, challenger_version, mode, weight}, or None if unreachable."""
        ...

    def logs(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(prediction log, feedback log): the evidence a tick judges."""
        ...


class Moved(Protocol):
    @property
    def champion(self) -> str: ...

    @property
    def previous(self) -> str | None:
        """What `previous` names after the move (a rollback returns to it)."""
        ...

    @property
    def replaced(self) -> str | None: ...

    @property
    def changed(self) -> bool: ...


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
class Tick:
    """What one tick saw and did. `flip_seconds`: decision -> 100% champion, on a rollback;
    `note`: why the tick could not judge (a corrupt state, rolled back)."""

    state: RolloutState | None
    decision: Decision | None = None
    flip_seconds: float | None = None
    note: str = ""


@dataclass
class Finished:
    """A finished rollout: its final state, decision record and timeline plot (`repeat`:
    it had been finished already, nothing was done)."""

    state: RolloutState
    record: Any = None
    plot: Path | None = None
    repeat: bool = False


@dataclass
class Admission:
    """How a gate-passed version goes live: `canary` (the served champion stays until the
    canary's verdict; `champion` is it) or promoted at the gate (`champion` is the version,
    `previous` the one it replaced, or the alias kept when nothing changed)."""

    canary: bool
    champion: str
    previous: str | None
    replaced: str | None
    changed: bool


@dataclass
class RolloutController:
    home: Path
    router: Router | None

    # -- the staged canary ------------------------------------------------------------------

    def begin(
        self,
        model_name: str,
        champion_version: str,
        challenger_version: str,
        policy: RolloutPolicy,
        record_id: str | None = None,
    ) -> RolloutState:
        """Load the challenger next to the champion and route the first stage (an older
        running rollout is aborted first: one rollout at a time)."""
        router = self._live()
        with locked(self.home):
            if router.roles() is None:
                raise RouterDown("the service went away before the canary could start")
            previous = read_rollout(self.home)
            if previous is not None and previous.active:
                router.force_off()
                reason = f"superseded by v{challenger_version}"
                write_rollout(self.home, machine.abort(previous, reason, time.time()))
            router.load(challenger_version, "challenger")
            state = machine.start(
                model_name,
                champion_version=champion_version,
                challenger_version=challenger_version,
                now=time.time(),
                policy=policy,
                record_id=record_id,
            )
            return self._route(state)

    def serve_promoted(self, version: str) -> bool:
        """A version the gate promoted (nothing served to canary against, or canaries off):
        the running service serves it as champion, the old one kept warm as `previous`.
        False when no service runs (the next start serves what the registry names)."""
        roles = self.router.roles() if self.router is not None else None
        if self.router is None or roles is None:
            return False
        with locked(self.home):
            if roles.get("champion_version") != version:
                self.router.load(version, "champion")
        return True

    def tick(self, now: float | None = None) -> Tick:
        """One look at the running rollout (no-op without one): the machine judges the
        service's logs; a rollback flips first, an advance routes the next stage."""
        router = self._live()
        with locked(self.home):
            try:
                state = read_rollout(self.home)
            except CorruptState as exc:
                seconds = self._flip_off()
                return Tick(None, None, seconds, f"{exc}: all traffic to the champion")
            if state is None or not state.active:
                return Tick(state)
            now = time.time() if now is None else now
            if not state.applied:  # resume an advance a crash interrupted
                state = self._route(state)
            roles = router.roles()
            view = ServiceView(reachable=roles is not None, **(roles or {}))
            predictions, feedback = router.logs()
            new, decision = machine.tick(state, predictions, feedback, view, now)
            flip = None
            if decision.verdict == "rollback":
                flip = self._flip_off()
                write_rollout(self.home, new)
            elif decision.verdict == "advance":
                new = self._route(new)
            else:
                write_rollout(self.home, new)
            return Tick(new, decision, flip)

    def promote_now(self, reason: str = MANUAL_PROMOTE) -> RolloutState:
        """Skip the running rollout's remaining stages: the operator's word replaces the
        test. The rollout is `promoting`; `finish` serves and records it."""
        with locked(self.home):
            state = read_rollout(self.home)
            if state is None or state.status not in ("running", "promoting"):
                raise LookupError("no rollout is running: nothing to promote")
            state = machine.promote_now(state, reason, time.time())
            write_rollout(self.home, state)
            return state

    def abort(self, reason: str, aliases: AliasStore | None = None) -> Flip:
        """Stop the running rollout: all traffic to the champion, the challenger unloaded
        from the split, the outcome recorded (aliases untouched)."""
        state = read_rollout(self.home)
        if state is None or state.status not in ("running", "promoting"):
            raise LookupError("no rollout is running: nothing to abort")
        return self.rollback(reason, aliases, settle_now=aliases is not None)

    def finish(self, rollout_id: str, aliases: AliasStore, run_id: str | None = None) -> Finished:
        """A decided rollout's last step: a promotion serves the challenger as champion, then
        moves the aliases; either verdict gets its decision record and timeline plot."""
        with locked(self.home):
            state = read_rollout(self.home)
            if state is None or state.rollout_id != rollout_id:
                raise RuntimeError(f"rollout {rollout_id} is not the current rollout")
            if state.status == "running":
                raise RuntimeError(f"rollout {state.rollout_id} is still running")
            if state.recorded:  # the CLI's promote and the sensor's run can race
                return Finished(state, repeat=True)
            if state.status == "promoting":
                try:  # traffic first: the old champion is kept warm as `previous`
                    self._live().load(state.challenger_version, "champion")
                except RouterDown as exc:
                    raise RuntimeError(
                        f"cannot serve v{state.challenger_version} ({exc}): `driftwise serve`, "
                        "then run canary_finish again"
                    ) from exc
                aliases.promote(state.challenger_version)
                state = machine.promoted(state, time.time())
            record, plot = record_outcome(self.home, state, run_id)
            state = machine.recorded(state)
            write_rollout(self.home, state)
            return Finished(state, record, plot)

    # -- the operator's moves outside a canary ------------------------------------------------

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
                state = machine.abort(state, f"manual rollback: {reason}", time.time())
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

    def admit(self, version: str, aliases: AliasStore, canary: bool = True) -> Admission:
        """The route of a version that passed the gate. With a champion being served (and
        `canary` on) it goes through the staged canary and nothing moves here; otherwise
        (the first model, or nothing served) it is promoted at the gate.

        Raises:
            RuntimeError: the service serves another version than the champion alias names
                (a canary would compare against the wrong model).
        """
        current = aliases.champion()
        roles = self.router.roles() if canary and self.router is not None else None
        if current is not None and roles is not None and current != version:
            served = roles.get("champion_version")
            if served != current:
                raise RuntimeError(
                    f"the service serves v{served} but the champion alias is v{current}: fix "
                    "serving (`driftwise serve`) before a canary"
                )
            return Admission(True, current, current, None, False)
        move = self.promote_at_gate(version, aliases)
        return Admission(False, move.champion, move.previous, move.replaced, move.changed)

    def promote_at_gate(self, version: str, aliases: AliasStore) -> Moved:
        """A gate-passed version with no served champion to canary against: the aliases
        move now (the service, when one starts, serves what they name). Under the lock, after
        any pending move, so it cannot interleave with an operator's rollback."""
        with locked(self.home):
            self._settle_locked(aliases)
            return aliases.promote(version)

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

    def _live(self) -> Router:
        if self.router is None:
            raise RouterDown("a canary needs the service's router")
        return self.router

    def _route(self, state: RolloutState) -> RolloutState:
        """Write the split ahead, send it, mark it applied; if the service cannot take it,
        the next tick re-applies it (or rolls back when the service stays away)."""
        state = machine.unapplied(state)
        write_rollout(self.home, state)  # always: an advanced state is new even if unapplied
        try:
            self._live().set_routing(*state.routing())
        except RouterDown as exc:
            log.warning("stage %s not applied yet: %s", state.current.name, exc)
            return state
        state = machine.applied(state, time.time())
        write_rollout(self.home, state)
        return state

    def _flip_off(self) -> float:
        started = time.perf_counter()
        self._live().force_off()
        return time.perf_counter() - started

    def _route_off(self) -> None:
        if self.router is not None:
            self.router.force_off()

    def _settle_locked(self, aliases: AliasStore) -> Flip | None:
        move = read_pending(self.home)
        if move is None:
            return None
        if move.kind == "abort":
            state = read_rollout(self.home)
            if state is not None and state.rollout_id == move.rollout_id and not state.recorded:
                record_outcome(self.home, state, None)
                write_rollout(self.home, machine.recorded(state))
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
