"""evaluation/rollout/controller.py: every move on what is served (begin, tick, promote now,
abort, finish, roll back, serve a version, settle) and their crash points. Touches: the real
rollout store, state machine and decision records in a temp home, driven through in-memory
stand-ins for our own two protocols (a router that plays the service's admin API, an alias
store that plays the registry); the MLflow-backed `RegistryAliases` and the live service
(orchestration/router.py) are exercised in tests/orchestration/test_jobs.py and the canary
process test.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from evaluation.promotion.record import load_record
from evaluation.rollout.controller import RolloutController, RouterDown, Unsettled
from evaluation.rollout.machine import start
from evaluation.rollout.policy import RolloutPolicy, Stage
from evaluation.rollout.store import read_pending, read_rollout, rollout_dir, write_rollout


@dataclass
class Router:
    """The service as the controller sees it; every call lands in the shared `events`."""

    events: list[str]
    champion: str = "2"
    previous: str | None = "1"
    challenger: str | None = None
    mode: str = "off"
    weight: float = 0.0
    up: bool = True  # False: every call fails as a dead service's would
    refuse_routing: bool = False  # True: the service is up but refuses a split

    def load(self, version: str, role: str) -> dict:
        if not self.up:
            raise RouterDown("service down")
        self.events.append(f"load {version} {role}")
        if role == "champion" and version != self.champion:
            self.champion, self.previous = version, self.champion
        if role == "challenger":
            self.challenger = version
        return {}

    def set_routing(self, mode: str, weight: float = 0.0) -> float:
        if not self.up or self.refuse_routing:
            raise RouterDown("service down")
        self.events.append(f"route {mode} {weight:g}")
        self.mode, self.weight = mode, weight
        return 0.0

    def force_off(self) -> None:
        if self.up:
            self.set_routing("off", 0.0)
        else:
            self.events.append("offline off")  # the state the service restarts from

    def served_versions(self) -> tuple[str | None, str | None]:
        return self.champion, self.previous

    def roles(self) -> dict | None:
        if not self.up:
            return None
        return {
            "champion_version": self.champion,
            "challenger_version": self.challenger,
            "mode": self.mode,
            "weight": self.weight,
        }

    def logs(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        return pd.DataFrame(), pd.DataFrame()


@dataclass
class Moved:
    champion: str
    replaced: str | None
    previous: str | None = None
    changed: bool = True


@dataclass
class Aliases:
    """The registry as the controller sees it: champion/previous aliases, gate verdicts."""

    events: list[str]
    champion_: str | None = "2"
    previous: str | None = "1"
    passed: set[str] = field(default_factory=lambda: {"1", "2", "3"})
    versions: set[str] = field(default_factory=lambda: {"1", "2", "3", "4"})
    down: bool = False  # True: the registry cannot be written (a crash before it)

    def champion(self) -> str | None:
        return self.champion_

    def rollback(self) -> Moved:
        self.events.append("aliases rollback")
        if self.previous is None:
            raise LookupError("no previous")
        old, self.champion_, self.previous = self.champion_, self.previous, self.champion_
        assert self.champion_ is not None
        return Moved(self.champion_, old)

    def promote(self, version: str) -> Moved:
        if self.down:
            raise ConnectionError("registry down")
        self.events.append(f"aliases promote {version}")
        old, self.champion_, self.previous = self.champion_, version, self.champion_
        return Moved(version, old, self.previous)

    def gate_passed(self, version: str) -> bool:
        if version not in self.versions:
            raise LookupError(f"no version {version}")
        return version in self.passed


def _world(home: Path) -> tuple[list[str], Router, Aliases, RolloutController]:
    events: list[str] = []
    router, aliases = Router(events), Aliases(events)
    return events, router, aliases, RolloutController(home, router)


def test_rollback_flips_traffic_before_the_registry_and_rolls_forward(tmp_path: Path) -> None:
    events, router, aliases, controller = _world(tmp_path)
    back = controller.rollback("bad release", aliases)
    assert events == ["load 1 champion", "aliases rollback"]  # traffic first
    assert (back.champion, back.replaced, back.pending) == ("1", "2", False)
    assert back.seconds is not None and back.seconds < 5
    assert (router.champion, aliases.champion_, aliases.previous) == ("1", "1", "2")
    manual = load_record(tmp_path / "decisions", back.record_id).sections["manual"]
    assert manual["champion"] == "1" and manual["replaced"] == "2"
    assert manual["reason"] == "bad release" and manual["seconds_to_full_traffic"] >= 0

    forward = controller.rollback("it was fine", aliases)
    assert (forward.champion, router.champion, aliases.champion_) == ("2", "2", "2")


def test_fast_rollback_leaves_a_pending_move_that_any_later_call_settles(tmp_path: Path) -> None:
    """The CLI's path: flip, write ahead, return; the settler dies before the registry."""
    events, router, aliases, controller = _world(tmp_path)
    flip = controller.rollback("fast", settle_now=False)
    assert flip.pending and router.champion == "1" and aliases.champion_ == "2"
    assert read_pending(tmp_path).target == "1"  # type: ignore[union-attr]
    # a second fast move cannot overwrite the first one's record: refused
    with pytest.raises(Unsettled):
        controller.rollback("again", settle_now=False)
    # the next caller holding the registry settles first, then makes its own move
    again = controller.rollback("and back", aliases)
    assert events == ["load 1 champion", "aliases rollback", "load 2 champion", "aliases rollback"]
    assert (again.champion, aliases.champion_, router.champion) == ("2", "2", "2")
    assert read_pending(tmp_path) is None
    assert len(list((tmp_path / "decisions").glob("*.json"))) == 2  # both moves recorded
    assert controller.settle(aliases) is None  # nothing left


def test_settling_when_the_registry_already_moved_changes_nothing(tmp_path: Path) -> None:
    events, _router, aliases, controller = _world(tmp_path)
    controller.rollback("fast", settle_now=False)
    aliases.champion_, aliases.previous = "1", "2"  # e.g. another settler got there first
    settled = controller.settle(aliases)
    assert settled is not None and settled.champion == "1"
    assert "aliases rollback" not in events


def test_the_registry_is_the_truth_when_it_disagrees_with_the_service(tmp_path: Path) -> None:
    """The service kept v1 warm, but the registry's previous is v3: v3 is served after."""
    events, router, aliases, controller = _world(tmp_path)
    aliases.previous = "3"
    done = controller.rollback("registry says v3", aliases)
    assert done.champion == "3" and router.champion == "3"
    assert events == ["load 1 champion", "aliases rollback", "load 3 champion"]


def test_no_service_means_a_registry_move_only(tmp_path: Path) -> None:
    events: list[str] = []
    aliases = Aliases(events)
    done = RolloutController(tmp_path, None).rollback("offline", aliases)
    assert (done.champion, done.seconds, events) == ("1", None, ["aliases rollback"])
    with pytest.raises(ValueError, match="alias store"):
        RolloutController(tmp_path, None).rollback("no registry")


def test_rollback_during_a_rollout_aborts_it_and_records_the_outcome(tmp_path: Path) -> None:
    events, _router, aliases, controller = _world(tmp_path)
    state = start("m", "2", "3", now=time.time(), policy=RolloutPolicy())
    write_rollout(tmp_path, state)
    flip = controller.rollback("looks wrong", settle_now=False)
    assert events == ["route off 0"] and flip.action == "rollout aborted"
    aborted = read_rollout(tmp_path)
    assert aborted is not None and aborted.status == "rolled_back" and not aborted.recorded
    assert "manual rollback: looks wrong" in aborted.timeline[-1].reasons
    controller.settle(aliases)  # the outcome (timeline plot) is written by the settler
    assert read_rollout(tmp_path).recorded  # type: ignore[union-attr]
    assert (tmp_path / "reports" / "canary" / f"{state.rollout_id}.png").exists()
    assert aliases.champion_ == "2"  # a rollout's abort never touches the aliases


def test_serve_version_needs_a_gate_passed_version_and_no_running_rollout(tmp_path: Path) -> None:
    events, router, aliases, controller = _world(tmp_path)
    with pytest.raises(LookupError, match="did not pass the promotion gate"):
        controller.serve_version("4", "untested", aliases)
    with pytest.raises(LookupError, match="no version 9"):
        controller.serve_version("9", "unknown", aliases)
    assert events == []  # nothing moved
    done = controller.serve_version("3", "serve v3", aliases)
    assert events == ["aliases promote 3", "load 3 champion"]
    assert (done.champion, done.replaced, router.champion) == ("3", "2", "3")
    write_rollout(tmp_path, start("m", "3", "1", now=time.time(), policy=RolloutPolicy()))
    with pytest.raises(LookupError, match="is running"):
        controller.serve_version("1", "mid-rollout", aliases)


# -- the staged canary ------------------------------------------------------------------------

TWO_STAGES = RolloutPolicy(
    stages=[
        Stage(name="10%", mode="canary", weight=0.1),
        Stage(name="100%", mode="canary", weight=1.0),
    ],
    bake_s=1,
    min_requests=1,
    max_silence_s=60,
)


def test_begin_writes_the_split_ahead_and_a_tick_resumes_it(tmp_path: Path) -> None:
    """A split the service did not take is on disk as not applied; the next tick sends it."""
    events, router, _aliases, controller = _world(tmp_path)
    router.refuse_routing = True
    state = controller.begin("m", "2", "3", TWO_STAGES)
    assert events == ["load 3 challenger"] and router.mode == "off"
    on_disk = read_rollout(tmp_path)
    assert on_disk is not None and not on_disk.applied and on_disk.rollout_id == state.rollout_id
    router.refuse_routing = False
    ticked = controller.tick()
    assert ticked.state is not None and ticked.state.applied
    assert (router.mode, router.weight) == ("canary", 0.1)
    assert events[-1] == "route canary 0.1"


def test_begin_supersedes_a_running_rollout_and_needs_a_live_service(tmp_path: Path) -> None:
    events, router, _aliases, controller = _world(tmp_path)
    first = controller.begin("m", "2", "3", TWO_STAGES)
    second = controller.begin("m", "2", "4", TWO_STAGES)
    history = rollout_dir(tmp_path) / "history" / f"{first.rollout_id}.json"
    assert history.exists() and "superseded by v4" in history.read_text()
    assert events == ["load 3 challenger", "route canary 0.1", "route off 0",
                      "load 4 challenger", "route canary 0.1"]  # fmt: skip
    assert read_rollout(tmp_path).rollout_id == second.rollout_id  # type: ignore[union-attr]
    router.up = False
    with pytest.raises(RouterDown, match="went away"):
        controller.begin("m", "2", "3", TWO_STAGES)
    with pytest.raises(RouterDown):
        RolloutController(tmp_path, None).begin("m", "2", "3", TWO_STAGES)


def test_a_tick_rolls_back_a_silent_service_traffic_first(tmp_path: Path) -> None:
    """Unreachable past max_silence_s: the split is forced off (offline) before the state
    says rolled back; nothing touches the aliases."""
    events, router, aliases, controller = _world(tmp_path)
    state = controller.begin("m", "2", "3", TWO_STAGES)
    router.up = False
    held = controller.tick(now=state.started_at + 30)
    assert held.decision is not None and held.decision.verdict == "hold"
    gone = controller.tick(now=state.started_at + 120)
    assert gone.decision is not None and gone.decision.verdict == "rollback"
    assert events[-1] == "offline off" and gone.flip_seconds is not None
    assert read_rollout(tmp_path).status == "rolled_back"  # type: ignore[union-attr]
    assert aliases.champion_ == "2"


def test_a_corrupt_state_is_moved_aside_with_all_traffic_to_the_champion(tmp_path: Path) -> None:
    events, _router, _aliases, controller = _world(tmp_path)
    controller.begin("m", "2", "3", TWO_STAGES)
    (rollout_dir(tmp_path) / "state.json").write_text("{not json")
    result = controller.tick()
    assert result.state is None and "all traffic to the champion" in result.note
    assert events[-1] == "route off 0" and read_rollout(tmp_path) is None


def test_promote_now_then_finish_serves_first_and_is_done_once(tmp_path: Path) -> None:
    """The operator's promote: the rollout is `promoting` with the reason on its timeline;
    finish loads the new champion before the aliases move, records, and a second finish
    (the sensor's run racing the CLI's) changes nothing."""
    events, router, aliases, controller = _world(tmp_path)
    state = controller.begin("m", "2", "3", TWO_STAGES)
    with pytest.raises(RuntimeError, match="still running"):
        controller.finish(state.rollout_id, aliases)
    promoting = controller.promote_now()
    assert promoting.status == "promoting" and promoting.timeline[-1].verdict == "promote"
    assert promoting.last_reasons == ["manual promote (driftwise promote)"]
    events.clear()
    done = controller.finish(state.rollout_id, aliases, run_id="run-1")
    assert events == ["load 3 champion", "aliases promote 3"]  # traffic first
    assert done.state.status == "promoted" and done.state.recorded and not done.repeat
    assert done.plot is not None and done.plot.exists()
    assert (router.champion, router.previous, aliases.champion_) == ("3", "2", "3")
    again = controller.finish(state.rollout_id, aliases)
    assert again.repeat and events == ["load 3 champion", "aliases promote 3"]
    with pytest.raises(LookupError, match="nothing to promote"):
        controller.promote_now()
    with pytest.raises(RuntimeError, match="not the current rollout"):
        controller.finish("another", aliases)


def test_a_finish_cut_short_is_completed_by_the_next_one(tmp_path: Path) -> None:
    """Service down: nothing moves and the rollout stays `promoting`. Registry down after
    the service took the new champion: not recorded, so the next finish completes it."""
    _events, router, aliases, controller = _world(tmp_path)
    state = controller.begin("m", "2", "3", TWO_STAGES)
    controller.promote_now()
    router.up = False
    with pytest.raises(RuntimeError, match="cannot serve v3"):
        controller.finish(state.rollout_id, aliases)
    assert aliases.champion_ == "2" and read_rollout(tmp_path).status == "promoting"  # type: ignore[union-attr]
    router.up, aliases.down = True, True
    with pytest.raises(ConnectionError):
        controller.finish(state.rollout_id, aliases)
    left = read_rollout(tmp_path)
    assert left is not None and left.status == "promoting" and not left.recorded
    assert router.champion == "3" and aliases.champion_ == "2"
    aliases.down = False
    done = controller.finish(state.rollout_id, aliases)
    assert done.state.status == "promoted" and aliases.champion_ == "3"


def test_abort_stops_the_rollout_and_records_it(tmp_path: Path) -> None:
    _events, router, aliases, controller = _world(tmp_path)
    with pytest.raises(LookupError, match="nothing to abort"):
        controller.abort("no rollout", aliases)
    state = controller.begin("m", "2", "3", TWO_STAGES)
    flip = controller.abort("the operator says no", aliases)
    assert flip.action == "rollout aborted" and router.mode == "off"
    ended = read_rollout(tmp_path)
    assert ended is not None and ended.status == "rolled_back" and ended.recorded
    assert ended.rollout_id == state.rollout_id and aliases.champion_ == "2"
    assert (tmp_path / "reports" / "canary" / f"{state.rollout_id}.png").exists()


def test_a_gate_promoted_version_is_served_when_a_service_runs(tmp_path: Path) -> None:
    events, router, _aliases, controller = _world(tmp_path)
    assert controller.serve_promoted("3") and router.champion == "3"
    assert controller.serve_promoted("3") and events == ["load 3 champion"]  # once
    router.up = False
    assert not controller.serve_promoted("4")
    assert not RolloutController(tmp_path, None).serve_promoted("4")


def test_a_gate_promotion_moves_the_aliases_after_any_pending_move(tmp_path: Path) -> None:
    """No served champion: the gate's promotion is the registry's alone; a fast rollback
    still pending is settled first, so the two moves apply in order."""
    events, _router, aliases, controller = _world(tmp_path)
    controller.rollback("fast", settle_now=False)
    moved = RolloutController(tmp_path, None).promote_at_gate("3", aliases)
    assert events == ["load 1 champion", "aliases rollback", "aliases promote 3"]
    assert (moved.champion, moved.replaced, aliases.champion_) == ("3", "1", "3")
    assert read_pending(tmp_path) is None


def test_admit_routes_a_gate_passed_version(tmp_path: Path) -> None:
    """Served champion: canary, nothing moves. Nothing served, canaries off, or the first
    model: promoted at the gate. A service out of step with the alias: refused."""
    events, router, aliases, controller = _world(tmp_path)
    canary = controller.admit("3", aliases)
    assert (canary.canary, canary.champion, canary.changed) == (True, "2", False)
    assert events == [] and aliases.champion_ == "2"

    router.champion = "1"  # the service serves v1, the alias says v2
    with pytest.raises(RuntimeError, match="serves v1 but the champion alias is v2"):
        controller.admit("3", aliases)
    assert events == []

    at_gate = controller.admit("3", aliases, canary=False)
    assert (at_gate.canary, at_gate.champion, at_gate.replaced) == (False, "3", "2")
    router.up = False
    down = controller.admit("4", aliases)
    assert (down.canary, down.champion, aliases.champion_) == (False, "4", "4")

    first = Aliases([], champion_=None, previous=None)
    new = RolloutController(tmp_path, Router([])).admit("1", first)
    assert (new.canary, new.champion, new.replaced) == (False, "1", None)
