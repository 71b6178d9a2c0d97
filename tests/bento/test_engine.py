"""The serving logic without HTTP (bento/engine.py, routing.py, cache.py, sampling.py), on
real models: the TREC tiers of tests/served_models.py, loaded from the real BentoML store
and scored in-process by `models.inference` (the worker's code path, minus the batching)."""

import asyncio
import time
from collections import Counter

import numpy as np
import pytest

from bento.cache import PredictionCache
from bento.engine import Cascade, Engine, Scored, ServedModel
from bento.routing import Routing, key_position
from bento.sampling import LogSampler
from bento.schemas import ClassifyRequest
from bento.store import load_stored
from data.schema import row_id
from models.inference import load_predictor


class LocalScorer:
    """Scores with the stored bundles in this process; counts calls per (model, tier)."""

    def __init__(self, tags: dict[str, str]) -> None:
        self.predictors = {
            f"driftwise-trec:v{v}": {
                tier: load_predictor(path) for tier, path in load_stored(tag).tiers.items()
            }
            for v, tag in tags.items()
        }
        self.calls: Counter[tuple[str, str]] = Counter()

    async def __call__(self, key: str, tier: str, texts) -> Scored:
        self.calls[(key, tier)] += len(texts)
        cpu = time.process_time()
        probs = self.predictors[key][tier].predict_proba(list(texts))
        share = (time.process_time() - cpu) / max(1, len(texts))
        return Scored(probs, np.full(len(texts), share))


def _model(served, version: str, cascade: Cascade | None = None) -> ServedModel:
    stored = load_stored(served.tags[version])
    return ServedModel(served.name, version, stored.labels, sorted(stored.tiers), cascade)


@pytest.fixture()
def engine(served):
    scorer = LocalScorer(served.tags)
    eng = Engine(scorer, cache=PredictionCache(1000), sampler=LogSampler(rate=1.0, seed=0))
    eng.models = {"champion": _model(served, "1"), "challenger": _model(served, "2")}
    return eng, scorer


def run(coro):
    return asyncio.run(coro)


def test_routing_is_sticky_and_weighted():
    """Keys keep their arm; the challenger share matches the weight; raising it only moves
    champion keys over; off/shadow always answer with the champion."""
    keys = [f"user-{i}" for i in range(4000)]
    at_10 = {k: Routing("canary", 0.10).arm(k, True) for k in keys}
    assert at_10 == {k: Routing("canary", 0.10).arm(k, True) for k in keys}
    share = sum(a == "challenger" for a in at_10.values()) / len(keys)
    assert abs(share - 0.10) < 0.02  # binomial sd at n=4000 is 0.005
    at_50 = {k: Routing("canary", 0.50).arm(k, True) for k in keys}
    assert all(at_50[k] == "challenger" for k, a in at_10.items() if a == "challenger")
    assert all(Routing("shadow", 1.0).arm(k, True) == "champion" for k in keys[:50])
    assert Routing("canary", 1.0).arm("x", has_challenger=False) == "champion"
    assert 0.0 <= key_position("anything") < 1.0
    with pytest.raises(ValueError):
        Routing("canary", 1.5)


def test_shadow_scores_the_challenger_but_never_changes_the_answer(engine, served):
    eng, scorer = engine
    texts = served.questions["text"].head(20).tolist()
    plain = run(eng.classify(ClassifyRequest(texts=texts), "r1")).response
    eng.routing = Routing("shadow", 0.0)
    eng.cache = PredictionCache(0)  # no cache: the champion really runs again
    shadowed = run(eng.classify(ClassifyRequest(texts=texts), "r2"))
    assert shadowed.response.arm == "champion"
    assert [p.label for p in shadowed.response.predictions] == [p.label for p in plain.predictions]
    assert len(shadowed.shadow) == len(texts)
    assert scorer.calls[("driftwise-trec:v2", "fast")] == len(texts)
    arms = Counter(r["arm"] for r in shadowed.log_records)
    assert arms["shadow"] == len(texts)  # shadow predictions are always logged


def test_cache_never_serves_another_versions_answer(engine, served):
    eng, scorer = engine
    text = served.questions["text"].iloc[0]
    first = run(eng.classify(ClassifyRequest(texts=[text]), "a")).response.predictions[0]
    again = run(eng.classify(ClassifyRequest(texts=[text.upper() + "  "]), "b"))
    assert again.response.predictions[0].cached and not first.cached  # normalised text hit
    eng.models["champion"] = _model(served, "2")
    other = run(eng.classify(ClassifyRequest(texts=[text]), "c")).response
    assert other.model_version == "2" and not other.predictions[0].cached
    assert scorer.calls[("driftwise-trec:v2", "fast")] == 1


def test_cascade_escalates_exactly_the_unsure_texts(engine, served):
    eng, scorer = engine
    texts = served.questions["text"].head(40).tolist()
    fast = scorer.predictors["driftwise-trec:v1"]["fast"].predict_proba(texts).max(axis=1)
    threshold = float(np.median(fast))
    eng.models["champion"] = _model(served, "1", Cascade(threshold, audit_rate=0.0))
    out = run(eng.classify(ClassifyRequest(texts=texts), "r")).response.predictions
    assert [p.escalated for p in out] == [bool(c < threshold) for c in fast]
    assert {p.tier for p in out if p.escalated} == {"accurate"}
    assert {p.tier for p in out if not p.escalated} == {"fast"}
    assert scorer.calls[("driftwise-trec:v1", "accurate")] == int((fast < threshold).sum())
    # without a cascade the judged (accurate) tier answers everything
    eng.models["champion"] = _model(served, "1")
    eng.cache = PredictionCache(0)
    plain = run(eng.classify(ClassifyRequest(texts=texts[:5]), "s")).response.predictions
    assert {p.tier for p in plain} == {"accurate"}


def test_log_weights_recover_the_served_class_mix(served):
    """With a 30% uniform sample plus every low-confidence answer, the weighted class mix of
    the log estimates the mix of everything served: within 4 binomial standard errors of the
    sampled part (a fixed seed keeps the draw the same run to run)."""
    scorer = LocalScorer({"2": served.tags["2"]})
    eng = Engine(scorer, cache=PredictionCache(0), sampler=LogSampler(0.3, 0.35, seed=1))
    eng.models = {"champion": _model(served, "2")}
    texts = served.questions["text"].head(1600).tolist()
    served_labels, records = [], []
    for i in range(0, len(texts), 64):
        outcome = run(eng.classify(ClassifyRequest(texts=texts[i : i + 64]), f"r{i}"))
        served_labels += [p.label for p in outcome.response.predictions]
        records += outcome.log_records
    truth = Counter(served_labels)
    weights: Counter[str] = Counter()
    for r in records:
        weights[r["label"]] += r["sampling_weight"]
    total = sum(weights.values())
    assert abs(total - len(texts)) / len(texts) < 0.1
    for label, n in truth.items():
        p = n / len(texts)
        standard_error = (p * (1 - p) * (1 - 0.3) / (0.3 * len(texts))) ** 0.5
        assert abs(weights[label] / total - p) < 4 * standard_error, label
    assert len(records) < 0.7 * len(texts)  # it is a sample, not the whole stream


def test_feedback_joins_what_was_served_and_refuses_the_rest(engine, served):
    eng, _ = engine
    texts = served.questions["text"].head(2).tolist()
    response = run(eng.classify(ClassifyRequest(texts=texts), "req")).response
    record = eng.feedback("req", 1, "HUM")
    assert record["request_id"] == "req-1"
    assert record["predicted"] == response.predictions[1].label
    with pytest.raises(LookupError):
        eng.feedback("never-seen", 0, "HUM")
    with pytest.raises(ValueError, match="had 2 texts"):
        eng.feedback("req", 2, "HUM")
    with pytest.raises(ValueError, match="not one of"):
        eng.feedback("req", 0, "positive")


class FailingScorer(LocalScorer):
    """A real scorer whose one model version raises (a broken challenger)."""

    def __init__(self, tags: dict[str, str], broken: str) -> None:
        super().__init__(tags)
        self.broken = broken

    async def __call__(self, key: str, tier: str, texts) -> Scored:
        if key == self.broken:
            raise RuntimeError("weights do not load")
        return await super().__call__(key, tier, texts)


def test_rollout_logs_every_request_of_both_arms_with_latency(served):
    """Canary at 50%: sampling is off (weight 1 for all), each record carries latency_ms."""
    sampler = LogSampler(rate=0.05, low_confidence=0.0, seed=3)
    eng = Engine(LocalScorer(served.tags), cache=PredictionCache(0), sampler=sampler)
    eng.models = {"champion": _model(served, "1"), "challenger": _model(served, "2")}
    texts = served.questions["text"].head(30).tolist()
    eng.routing = Routing("off", 0.0)
    quiet = [run(eng.classify(ClassifyRequest(texts=[t]), f"q{i}")) for i, t in enumerate(texts)]
    # off: a 5% uniform sample (seeded) is logged, not every request
    assert sum(len(o.log_records) for o in quiet) < len(texts)
    eng.routing = Routing("canary", 0.5)
    out = [run(eng.classify(ClassifyRequest(texts=[t]), f"c{i}")) for i, t in enumerate(texts)]
    records = [r for o in out for r in o.log_records]
    assert len(records) == len(texts)
    assert {r["arm"] for r in records} == {"champion", "challenger"}
    assert all(r["sampling_weight"] == 1.0 and r["latency_ms"] > 0 for r in records)


def test_a_failing_arm_is_logged_and_a_failing_shadow_never_fails_the_request(served):
    """The answering model raising -> ArmFailure with per-text error records; the shadow
    raising -> the champion's answer stands and the shadow's error is logged."""
    from bento.engine import ArmFailure

    eng = Engine(FailingScorer(served.tags, "driftwise-trec:v2"), cache=PredictionCache(0))
    eng.models = {"champion": _model(served, "1"), "challenger": _model(served, "2")}
    texts = served.questions["text"].head(3).tolist()
    eng.routing = Routing("shadow", 0.0)
    out = run(eng.classify(ClassifyRequest(texts=texts), "s1"))
    assert out.response.arm == "champion" and len(out.response.predictions) == 3
    errors = [r for r in out.log_records if r["arm"] == "shadow"]
    assert len(errors) == 3 and {r["error"] for r in errors} == {"RuntimeError"}
    eng.routing = Routing("canary", 1.0)
    with pytest.raises(ArmFailure) as failure:
        run(eng.classify(ClassifyRequest(texts=texts), "c1"))
    assert failure.value.arm == "challenger"
    assert [r["request_id"] for r in failure.value.records] == ["c1-0", "c1-1", "c1-2"]
    assert all(r["model_version"] == "2" and "latency_ms" in r for r in failure.value.records)


def test_cascade_audit_falls_back_to_the_accurate_tier_when_the_tiers_disagree(served):
    """Every kept text audited (rate 1) against an expected disagreement of 0 + 5%: the TREC
    fast and accurate tiers disagree on more than that, so after 20 audits the model falls
    back and the accurate tier answers everything; with a realistic expectation (the
    measured rate itself) it keeps cascading."""
    texts = served.questions["text"].head(70).tolist()
    scorer = LocalScorer(served.tags)
    # measured on the 60 texts both runs send (the audits compare the same labels)
    sent = texts[:60]
    fast = scorer.predictors["driftwise-trec:v1"]["fast"].predict_proba(sent).argmax(axis=1)
    accurate = scorer.predictors["driftwise-trec:v1"]["accurate"].predict_proba(sent).argmax(1)
    disagreement = float((fast != accurate).mean())
    assert disagreement > 0.05  # the premise: two different models

    strict = Cascade(0.0, expected_disagreement=0.0, audit_rate=1.0, tolerance=0.05, min_audits=20)
    eng = Engine(scorer, cache=PredictionCache(0), audit_seed=0)
    eng.models = {"champion": _model(served, "1", strict)}
    for i, text in enumerate(texts[:60]):
        run(eng.classify(ClassifyRequest(texts=[text]), f"a{i}"))
    audit = eng.audits["driftwise-trec:v1"]
    assert audit.fallen_back and audit.audits >= 20
    after = run(eng.classify(ClassifyRequest(texts=texts[60:70]), "after")).response
    assert {p.tier for p in after.predictions} == {"accurate"}

    # judged once all 60 are audited: the measured rate itself, well within its bound
    relaxed = Cascade(
        0.0, expected_disagreement=disagreement, audit_rate=1.0, tolerance=0.15, min_audits=60
    )
    eng = Engine(scorer, cache=PredictionCache(0), audit_seed=0)
    eng.models = {"champion": _model(served, "1", relaxed)}
    out = [run(eng.classify(ClassifyRequest(texts=[t]), f"b{i}")) for i, t in enumerate(sent)]
    assert not eng.audits["driftwise-trec:v1"].fallen_back
    assert {p.tier for o in out for p in o.response.predictions} == {"fast"}
    # each audited answer's record carries the accurate tier's label (the label loop's
    # disagreement stratum): it differs from the kept answer where the tiers disagree
    records = [r for o in out for r in o.log_records]  # the sampled log: some of the 60
    assert records and all("audit_label" in r for r in records)
    tiers_differ = {row_id(t): bool(f != a) for t, f, a in zip(sent, fast, accurate, strict=True)}
    for r in records:
        assert (r["audit_label"] != r["label"]) == tiers_differ[r["text_sha256"]]
