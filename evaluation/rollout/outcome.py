"""What a finished rollout or an operator's move leaves in the decision records.

- `record_outcome`: a rollout's `canary` section (verdict, timeline, tests) and its timeline
  plot, appended to the record of the gate decision that started it.
- `record_manual`: a record of its own for a move outside a rollout (rollback, serving a
  chosen version): who, what, when, from which version, how fast traffic moved.

matplotlib and the record writer load inside the functions: the operator's lean path
(`driftwise rollback`) imports this module without paying for them.
"""

import time
from pathlib import Path
from typing import Any

from data.home import HomeLayout
from evaluation.rollout.machine import RolloutState


def record_outcome(home: Path, state: RolloutState, run_id: str | None) -> tuple[Any, Path]:
    """The canary section of the decision record and the timeline plot."""
    from evaluation.promotion.record import append_section
    from evaluation.rollout.plot import timeline_plot

    plot = timeline_plot(state, HomeLayout(home).canary_plots / f"{state.rollout_id}.png")
    record = None
    if state.record_id:
        record = append_section(
            HomeLayout(home).decisions,
            state.record_id,
            "canary",
            {
                "rollout_id": state.rollout_id,
                "verdict": state.status,
                "reasons": state.last_reasons,
                "champion": state.champion_version,
                "challenger": state.challenger_version,
                "policy": state.policy.model_dump(mode="json"),
                "thresholds": state.thresholds,
                "timeline": [
                    e.model_dump(mode="json") for e in state.timeline if e.verdict != "hold"
                ],
                "started_at": state.started_at,
                "ended_at": state.ended_at,
                "plot": str(plot),
                "dagster_run_id": run_id,
            },
        )
    return record, plot


def record_manual(
    home: Path,
    action: str,
    champion: str,
    replaced: str | None,
    reason: str,
    by: str,
    at: float | None = None,
    seconds: float | None = None,
) -> str:
    """A decision record of an operator's move; returns its id."""
    from evaluation.promotion.record import new_document, write_record

    section = {
        "action": action,
        "champion": champion,
        "replaced": replaced,
        "reason": reason,
        "by": by,
        "at": at if at is not None else time.time(),
        "seconds_to_full_traffic": round(seconds, 4) if seconds is not None else None,
    }
    return write_record(new_document({"manual": section}), HomeLayout(home).decisions).record_id
