"""Retrain debouncing (pure): cooldown, one in flight, de-duplication across triggers."""

from models.lineage import RUN_TAG_DETAIL, RUN_TAG_EVIDENCE, RUN_TAG_REASONS
from orchestration.sensors.guard import Evidence, decide_retrain

DRIFT = Evidence("drift", "report-abc")
NEW = Evidence("new_data", "snapshot/123")


def test_no_evidence_no_run():
    d = decide_retrain([], [], None, now=100, cooldown_s=60)
    assert not d.launch and d.skip_reason == "no trigger evidence"


def test_two_triggers_at_once_make_one_run_naming_both():
    d = decide_retrain([DRIFT, NEW], [], None, now=100, cooldown_s=60)
    assert d.launch
    assert d.tags[RUN_TAG_REASONS] == "drift,new_data"
    assert "drift:report-abc" in d.tags[RUN_TAG_EVIDENCE]
    # Same evidence in another order: same run key, so Dagster starts it only once.
    assert decide_retrain([NEW, DRIFT], [], None, now=500, cooldown_s=60).run_key == d.run_key
    assert decide_retrain([DRIFT], [], None, now=100, cooldown_s=60).run_key != d.run_key


def test_in_flight_and_cooldown_defer():
    busy = decide_retrain([DRIFT], ["run-1"], None, now=100, cooldown_s=60)
    assert not busy.launch and "in flight" in busy.skip_reason
    cooling = decide_retrain([DRIFT], [], last_start=80, now=100, cooldown_s=60)
    assert not cooling.launch and "cooldown: 40s left" in cooling.skip_reason
    after = decide_retrain([DRIFT], [], last_start=30, now=100, cooldown_s=60)
    assert after.launch
    forced = decide_retrain(
        [Evidence("schedule", "2026-11-29")], [], 80, 100, 60, ignore_cooldown=True
    )
    assert forced.launch


def test_the_kind_of_shift_is_named_on_the_run():
    """A drift retrain says what moved (covariate vs prior shift), not only "drift"."""
    covariate = Evidence("drift", "r1", "covariate shift (text, embedding)")
    prior = Evidence("drift", "r2", "prior shift (label_mix)")
    d = decide_retrain([covariate, prior], [], None, now=100, cooldown_s=60)
    assert d.tags[RUN_TAG_DETAIL] == "covariate shift (text, embedding) | prior shift (label_mix)"
    assert RUN_TAG_DETAIL not in decide_retrain([NEW], [], None, now=100, cooldown_s=60).tags
