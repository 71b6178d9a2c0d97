"""Debouncing of retrain triggers: cooldown, one retrain in flight, de-duplication.

Several sensors can ask for a retrain (drift, performance drop, new labelled data) and a
schedule puts a floor under them. Without a guard they cause a storm of runs; with it:
- at most one retrain run queued or running at a time;
- none within `cooldown_s` of the last one's start (unless forced by the schedule floor);
- the same evidence never starts two runs (the run key is a hash of the evidence ids), and
  evidence arriving together becomes one run whose tags name every reason.
Pure: the sensors pass in what they read from the instance.
"""

import hashlib
from dataclasses import dataclass

from models.lineage import RUN_TAG_DETAIL, RUN_TAG_EVIDENCE, RUN_TAG_REASONS, RUN_TAG_TRIGGER

RETRAIN_JOB = "retrain"


@dataclass(frozen=True)
class Evidence:
    """Why a retrain is wanted: `reason` (drift | performance | new_data | schedule) and an id
    pointing at the evidence (a drift report id, a feedback window, a snapshot tag…);
    `summary` says what it found in words (for drift: which kind of shift)."""

    reason: str
    evidence_id: str
    summary: str = ""


@dataclass(frozen=True)
class RetrainDecision:
    launch: bool
    skip_reason: str | None
    run_key: str | None
    tags: dict[str, str]


def decide_retrain(
    evidence: list[Evidence],
    in_flight_run_ids: list[str],
    last_start: float | None,
    now: float,
    cooldown_s: float,
    ignore_cooldown: bool = False,
) -> RetrainDecision:
    """Turn the evidence at hand into at most one retrain run request."""
    if not evidence:
        return RetrainDecision(False, "no trigger evidence", None, {})
    reasons = sorted({e.reason for e in evidence})
    if in_flight_run_ids:
        return RetrainDecision(
            False,
            f"retrain already in flight ({in_flight_run_ids[0]}); {reasons} deferred",
            None,
            {},
        )
    if not ignore_cooldown and last_start is not None and now - last_start < cooldown_s:
        left = cooldown_s - (now - last_start)
        return RetrainDecision(False, f"cooldown: {left:.0f}s left; {reasons} deferred", None, {})
    ids = sorted(f"{e.reason}:{e.evidence_id}" for e in evidence)
    run_key = hashlib.sha256("|".join(ids).encode()).hexdigest()[:16]
    tags = {
        RUN_TAG_TRIGGER: reasons[0] if len(reasons) == 1 else "multiple",
        RUN_TAG_REASONS: ",".join(reasons),
        # Tag values are limited in length; the full list is in the run's config/logs.
        RUN_TAG_EVIDENCE: ",".join(ids)[:250],
    }
    details = sorted({e.summary for e in evidence if e.summary})
    if details:
        tags[RUN_TAG_DETAIL] = " | ".join(details)[:250]
    return RetrainDecision(True, None, run_key, tags)
