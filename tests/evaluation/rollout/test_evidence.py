"""evaluation/rollout/evidence.py on hand-written serving-log records: what is counted per
arm and per request, what is paired, and what is left out (older splits, other versions)."""

import pandas as pd

from evaluation.rollout.evidence import Thresholds, collect


def _rec(ts, rid, arm, version, **kw):
    base = {"timestamp": ts, "request_id": rid, "arm": arm, "model_version": version}
    return {**base, **kw}


def test_counts_per_request_and_text_with_feedback_and_stage_split():
    """Two texts of one failed request are one error; feedback joins by prediction id;
    a record routed under the previous split (10%) and one of a stale version are not this
    50% stage's evidence."""
    split = {"routing_mode": "canary", "routing_weight": 0.5}
    rows = [
        _rec(10, "a-0", "champion", "1", label="x", confidence=0.9, latency_ms=10, **split),
        _rec(10, "a-1", "champion", "1", label="y", confidence=0.4, latency_ms=10, **split),
        _rec(11, "b-0", "challenger", "2", error="RuntimeError", latency_ms=5, **split),
        _rec(11, "b-1", "challenger", "2", error="RuntimeError", latency_ms=5, **split),
        _rec(12, "c-0", "challenger", "2", label="x", confidence=0.8, latency_ms=99, **split),
        _rec(
            12,
            "d-0",
            "challenger",
            "2",
            label="x",
            confidence=0.8,
            latency_ms=1,
            routing_mode="canary",
            routing_weight=0.1,
        ),
        _rec(12, "e-0", "champion", "7", label="x", confidence=0.8, latency_ms=1, **split),
        _rec(5, "f-0", "champion", "1", label="x", confidence=0.8, latency_ms=1, **split),
    ]
    feedback = pd.DataFrame(
        [
            {"timestamp": 13, "request_id": "a-1", "label": "x"},
            {"timestamp": 13, "request_id": "c-0", "label": "x"},
        ]
    )
    ev = collect(
        pd.DataFrame(rows),
        feedback,
        since=10,
        champion_version="1",
        challenger_version="2",
        thresholds=Thresholds(slow_ms=50, unsure_below=0.5),
        routing=("canary", 0.5),
    )
    assert (ev.champion.requests, ev.champion.texts, ev.champion.unsure) == (1, 2, 1)
    assert (ev.champion.labelled, ev.champion.wrong) == (1, 1)
    assert (ev.challenger.requests, ev.challenger.errors, ev.challenger.slow) == (2, 1, 1)
    assert (ev.challenger.labelled, ev.challenger.wrong) == (1, 0)
    assert ev.foreign_records == 1  # version 7; the 10% record and the old one are dropped


def test_shadow_pairs_and_discordance():
    """Shadow: pairs by prediction id; disagreement and one-sided (discordant) counts."""
    rows = []
    for i, (c_label, s_label, c_conf, s_conf) in enumerate(
        [("x", "x", 0.9, 0.9), ("x", "y", 0.9, 0.3), ("y", "y", 0.3, 0.9)]
    ):
        rows.append(
            _rec(10, f"r{i}-0", "champion", "1", label=c_label, confidence=c_conf, latency_ms=10)
        )
        rows.append(
            _rec(10, f"r{i}-0", "shadow", "2", label=s_label, confidence=s_conf, latency_ms=10)
        )
    feedback = pd.DataFrame([{"timestamp": 11, "request_id": "r1-0", "label": "x"}])
    ev = collect(pd.DataFrame(rows), feedback, 0, "1", "2", Thresholds(100, 0.5))
    assert (ev.paired.pairs, ev.paired.disagree) == (3, 1)
    assert ev.paired.unsure == (1, 1) and ev.paired.wrong == (0, 1)
