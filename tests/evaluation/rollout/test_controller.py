"""evaluation/rollout/controller.py: the operator's moves and their crash points. Touches: the
real rollout store and decision records in a temp home, driven through in-memory stand-ins
for our own two protocols (a router that plays the service's admin API, an alias store that
plays the registry); the MLflow-backed `RegistryAliases` and the live service are exercised
in tests/assets/test_canary.py and the canary process test.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from evaluation.promotion.record import load_record
from evaluation.rollout.controller import RolloutController, Unsettled
from evaluation.rollout.machine import start
from evaluation.rollout.policy import RolloutPolicy
from evaluation.rollout.store import read_pending, read_rollout, write_rollout


@dataclass
class Router:
    """The service as the controller sees it; every call lands in the shared `events`."""

    events: list[str]
    champion: str = "2"
    previous: str | None = "1"
    mode: str = "off"

    def load(self, version: str, role: str) -> dict:
        self.events.append(f"load {version} {role}")
        if role == "champion" and version != self.champion:
            self.champion, self.previous = version, self.champion
        return {}

    def set_routing(self, mode: str, weight: float = 0.0) -> float:
        self.events.append(f"route {mode} {weight:g}")
        self.mode = mode
        return 0.0

    def served_versions(self) -> tuple[str | None, str | None]:
        return self.champion, self.previous


@dataclass
class Moved:
    champion: str
    replaced: str | None


@dataclass
class Aliases:
    """The registry as the controller sees it: champion/previous aliases, gate verdicts."""

    events: list[str]
    champion_: str | None = "2"
    previous: str | None = "1"
    passed: set[str] = field(default_factory=lambda: {"1", "2", "3"})
    versions: set[str] = field(default_factory=lambda: {"1", "2", "3", "4"})

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
        self.events.append(f"aliases promote {version}")
        old, self.champion_, self.previous = self.champion_, version, self.champion_
        return Moved(version, old)

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
