"""One classify request end to end, without BentoML: routing, cache, cascade, log records.

`bento/service.py` wires it to HTTP and to the batched model worker; tests drive it directly.
Nothing here knows how a tier computes probabilities: `Scorer` is a callable (model key,
tier, texts) -> per-text probabilities and CPU seconds, which the service points at the
worker (adaptive batching across requests happens there).
"""

import asyncio
import random
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bento.cache import PredictionCache
from bento.routing import Arm, Routing
from bento.sampling import LogSampler
from bento.schemas import ClassifyRequest, ClassifyResponse, Prediction
from data.schema import row_id


@dataclass(frozen=True)
class Scored:
    probs: np.ndarray  # [n, classes]
    cpu_seconds: np.ndarray  # [n]: each text's share of the forward's CPU time


Scorer = Callable[[str, str, Sequence[str]], Awaitable[Scored]]


@dataclass(frozen=True)
class Cascade:
    """Fast tier first; the accurate tier only where the fast tier's confidence < threshold.

    Audit: a share `audit_rate` of the texts the fast tier keeps is also scored by the
    accurate tier (the fast answer stands). Over the last `audit_window` audits, once
    `min_audits` exist, a disagreement rate above `expected_disagreement` (measured on the
    golden window the threshold was tuned on) + `tolerance` means the fast tier's confidence
    no longer means what it did - typically a new domain where it is confidently wrong - and
    the model falls back to its accurate tier (latched until the service restarts).
    """

    threshold: float
    first: str = "fast"
    then: str = "accurate"
    expected_disagreement: float | None = None
    audit_rate: float = 0.05
    tolerance: float = 0.10
    audit_window: int = 200
    min_audits: int = 50


class CascadeAudit:
    """One model's recent audits (did the kept fast answer differ from the accurate one?)."""

    def __init__(self, cascade: Cascade, seed: int | None = None) -> None:
        self.cascade = cascade
        self.recent: deque[bool] = deque(maxlen=cascade.audit_window)
        self.audits = 0
        self.fallen_back = False
        self._random = random.Random(seed)

    @property
    def bound(self) -> float:
        return (self.cascade.expected_disagreement or 0.0) + self.cascade.tolerance

    @property
    def rate(self) -> float | None:
        return sum(self.recent) / len(self.recent) if self.recent else None

    def pick(self) -> bool:
        return self._random.random() < self.cascade.audit_rate

    def record(self, disagreed: bool) -> None:
        self.recent.append(disagreed)
        self.audits += 1
        rate = self.rate
        if len(self.recent) >= self.cascade.min_audits and rate is not None and rate > self.bound:
            self.fallen_back = True

    def status(self) -> dict[str, Any]:
        return {
            "audits": self.audits,
            "recent_disagreement": self.rate,
            "bound": self.bound,
            "fallen_back": self.fallen_back,
        }


@dataclass(frozen=True)
class ServedModel:
    """A registered version as the service holds it (its tiers live in the worker)."""

    name: str
    version: str
    labels: list[str]
    tiers: list[str]
    cascade: Cascade | None = None

    @property
    def key(self) -> str:
        return f"{self.name}:v{self.version}"

    @property
    def single_tier(self) -> str:
        """The tier that answers without a cascade: the judged one (accurate when present)."""
        return "accurate" if "accurate" in self.tiers else self.tiers[0]

    @property
    def policy(self) -> str:
        """What answers, as part of the cache key: a cascade change is a different answer."""
        if self.cascade is None:
            return self.single_tier
        return f"cascade@{self.cascade.threshold:.4f}"


@dataclass(frozen=True)
class TextOutcome:
    label: str
    confidence: float
    probs: list[float]
    tier: str
    escalated: bool
    cached: bool
    cpu_seconds: float
    # The accurate tier's answer when a kept fast answer was audited (the label loop's
    # `disagreement` stratum reads it from the log: evaluation/review/selection.py).
    audit_label: str | None = None


@dataclass
class Outcome:
    """Everything one request produced: the response, log records, what metrics need."""

    response: ClassifyResponse
    log_records: list[dict[str, Any]] = field(default_factory=list)
    shadow: list[TextOutcome] = field(default_factory=list)
    seconds: float = 0.0


class ArmFailure(RuntimeError):
    """The answering model failed; `records` are the error records to log for its arm."""

    def __init__(self, arm: str, records: list[dict[str, Any]], cause: Exception) -> None:
        super().__init__(f"{arm} model failed: {type(cause).__name__}: {cause}")
        self.arm, self.records, self.cause = arm, records, cause


@dataclass
class Remembered:
    model: ServedModel
    arm: Arm
    predicted: list[str]
    labelled: dict[int, str] = field(default_factory=dict)  # index -> label fed back


class FeedbackConflict(ValueError):
    """A prediction already has a different fed-back label (HTTP 409)."""


class RecentRequests:
    """request id -> what was answered, for joining feedback (bounded, oldest evicted)."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[str, Remembered] = OrderedDict()

    def add(self, request_id: str, item: Remembered) -> None:
        self._items[request_id] = item
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def get(self, request_id: str) -> Remembered | None:
        return self._items.get(request_id)


class Engine:
    def __init__(
        self,
        scorer: Scorer,
        cache: PredictionCache[TextOutcome] | None = None,
        sampler: LogSampler | None = None,
        price_per_core_hour: float = 0.05,
        log_texts: bool = True,
        audit_seed: int | None = None,
    ) -> None:
        self.scorer = scorer
        self.cache = cache if cache is not None else PredictionCache()
        self.sampler = sampler or LogSampler()
        self.price_per_core_hour = price_per_core_hour
        self.log_texts = log_texts
        self.models: dict[Arm, ServedModel] = {}
        self.routing = Routing()
        self.recent = RecentRequests()
        self.audits: dict[str, CascadeAudit] = {}  # model key -> its cascade audit
        self.audit_seed = audit_seed

    def cost_units(self, cpu_seconds: float) -> float:
        """Cost of `cpu_seconds` of one core at the configured price (currency units)."""
        return cpu_seconds / 3600.0 * self.price_per_core_hour

    async def _score(self, model: ServedModel, tier: str, texts: list[str]) -> Scored:
        scored = await self.scorer(model.key, tier, texts)
        if scored.probs.shape != (len(texts), len(model.labels)):
            raise RuntimeError(
                f"{model.key}/{tier} returned probabilities {scored.probs.shape} for "
                f"{len(texts)} texts and {len(model.labels)} labels"
            )
        return scored

    def _outcome(
        self, model: ServedModel, probs: np.ndarray, tier: str, escalated: bool, cpu: float
    ) -> TextOutcome:
        best = int(np.argmax(probs))
        return TextOutcome(
            label=model.labels[best],
            confidence=float(probs[best]),
            probs=[float(p) for p in probs],
            tier=tier,
            escalated=escalated,
            cached=False,
            cpu_seconds=cpu,
        )

    def audit_for(self, model: ServedModel) -> CascadeAudit | None:
        if model.cascade is None:
            return None
        if model.key not in self.audits or self.audits[model.key].cascade != model.cascade:
            self.audits[model.key] = CascadeAudit(model.cascade, self.audit_seed)
        return self.audits[model.key]

    def active_cascade(self, model: ServedModel) -> Cascade | None:
        """The model's cascade, unless its audit made it fall back to the accurate tier."""
        audit = self.audit_for(model)
        return None if audit is None or audit.fallen_back else model.cascade

    async def predict_texts(self, model: ServedModel, texts: list[str]) -> list[TextOutcome]:
        """Per text: the cached answer, else the cascade (or the single tier) on the misses."""
        cascade = self.active_cascade(model)
        policy = model.policy if cascade is not None else model.single_tier
        cache_key = f"{model.key}|{policy}"
        out: list[TextOutcome | None] = []
        for text in texts:
            hit = self.cache.get(cache_key, text)
            out.append(None if hit is None else _as_cached(hit))
        misses = [i for i, o in enumerate(out) if o is None]
        if misses:
            miss_texts = [texts[i] for i in misses]
            first = cascade.first if cascade else model.single_tier
            scored = await self._score(model, first, miss_texts)
            fresh = [
                self._outcome(model, p, first, False, float(c))
                for p, c in zip(scored.probs, scored.cpu_seconds, strict=True)
            ]
            if cascade is not None:
                audit = self.audit_for(model)
                assert audit is not None
                unsure = [j for j, o in enumerate(fresh) if o.confidence < cascade.threshold]
                audited = [j for j in range(len(fresh)) if j not in set(unsure) and audit.pick()]
                second_rows = unsure + audited
                if second_rows:
                    second = await self._score(
                        model, cascade.then, [miss_texts[j] for j in second_rows]
                    )
                    for j, p, c in zip(second_rows, second.probs, second.cpu_seconds, strict=True):
                        cpu = fresh[j].cpu_seconds + float(c)
                        checked = self._outcome(model, p, cascade.then, True, cpu)
                        if j in audited:  # the fast answer stands; the audit costs its CPU
                            audit.record(checked.label != fresh[j].label)
                            fresh[j] = TextOutcome(
                                **{
                                    **vars(fresh[j]),
                                    "cpu_seconds": cpu,
                                    "audit_label": checked.label,
                                }
                            )
                        else:
                            fresh[j] = checked
            for i, o in zip(misses, fresh, strict=True):
                out[i] = o
                self.cache.put(cache_key, texts[i], o)
        return [o for o in out if o is not None]

    def _records(
        self,
        request_id: str,
        model: ServedModel,
        arm: str,
        texts: list[str],
        outcomes: list[TextOutcome],
        always: bool,
    ) -> list[dict[str, Any]]:
        records = []
        for i, (text, o) in enumerate(zip(texts, outcomes, strict=True)):
            weight = self.sampler.weight(o.confidence, always=always)
            if weight is None:
                continue
            record: dict[str, Any] = {
                "request_id": prediction_id(request_id, i),
                "arm": arm,
                "model_name": model.name,
                "model_version": model.version,
                "tier": o.tier,
                "escalated": o.escalated,
                "cached": o.cached,
                "label": o.label,
                "confidence": o.confidence,
                "cost_units": self.cost_units(o.cpu_seconds),
                "sampling_weight": weight,
                "text_sha256": row_id(text),
                **self._routing_fields(),
            }
            if o.audit_label is not None:
                record["audit_label"] = o.audit_label
            if self.log_texts:
                record["text"] = text
            records.append(record)
        return records

    def _error_records(
        self, request_id: str, model: ServedModel, arm: str, texts: list[str], exc: Exception
    ) -> list[dict[str, Any]]:
        """One record per text of a failed request (always logged: errors are evidence)."""
        return [
            {
                "request_id": prediction_id(request_id, i),
                "arm": arm,
                "model_name": model.name,
                "model_version": model.version,
                "error": type(exc).__name__,
                "sampling_weight": 1.0,
                "text_sha256": row_id(text),
                **self._routing_fields(),
            }
            for i, text in enumerate(texts)
        ]

    def _routing_fields(self) -> dict[str, Any]:
        """The split in force when the request was routed: the canary counts a stage's
        traffic by it, so requests routed under the previous stage never leak into it."""
        return {
            "routing_mode": self.routing.mode,
            "routing_weight": self.routing.challenger_weight,
        }

    @property
    def rolling_out(self) -> bool:
        """While a rollout routes traffic every request of both arms is logged (weight 1), so
        the canary's per-arm statistics are counts, not sample estimates."""
        return self.routing.mode != "off" and "challenger" in self.models

    async def classify(self, request: ClassifyRequest, request_id: str | None = None) -> Outcome:
        """Answer with the routed arm; in shadow mode the challenger scores the same texts
        (its failure is logged and never fails the request).

        Raises:
            LookupError: no champion is loaded.
            ArmFailure: the answering model failed (its error records are attached).
        """
        if "champion" not in self.models:
            raise LookupError("no champion is loaded")
        started = time.perf_counter()
        request_id = request_id or uuid.uuid4().hex
        has_challenger = "challenger" in self.models
        arm = self.routing.arm(request.key or request_id, has_challenger)
        model = self.models[arm]
        texts = request.texts
        always = arm == "challenger" or self.rolling_out
        shadowing = self.routing.shadows(has_challenger)
        answering = _timed(self.predict_texts(model, texts))
        shadow_run: Any = None
        answered: Any
        if shadowing:  # side by side: the answer waits for the slower of the two, not both
            challenger = self.models["challenger"]
            answered, shadow_run = await asyncio.gather(
                answering, _timed(self.predict_texts(challenger, texts)), return_exceptions=True
            )
        else:
            (answered,) = await asyncio.gather(answering, return_exceptions=True)
        if isinstance(answered, BaseException):
            if not isinstance(answered, Exception):
                raise answered
            records = self._error_records(request_id, model, arm, texts, answered)
            _stamp(records, time.perf_counter() - started)
            raise ArmFailure(arm, records, answered) from answered
        outcomes, _ = answered
        records = self._records(request_id, model, arm, texts, outcomes, always)
        _stamp(records, time.perf_counter() - started)
        shadow: list[TextOutcome] = []
        if shadowing:
            if isinstance(shadow_run, Exception):  # the champion's answer stands
                shadow_records = self._error_records(
                    request_id, challenger, "shadow", texts, shadow_run
                )
                _stamp(shadow_records, 0.0)
            else:
                shadow, seconds = shadow_run
                shadow_records = self._records(
                    request_id, challenger, "shadow", texts, shadow, True
                )
                _stamp(shadow_records, seconds)
            records += shadow_records
        self.recent.add(request_id, Remembered(model, arm, [o.label for o in outcomes]))
        response = ClassifyResponse(
            request_id=request_id,
            model_name=model.name,
            model_version=model.version,
            arm=arm,
            predictions=[
                Prediction(
                    label=o.label,
                    confidence=o.confidence,
                    probabilities=dict(zip(model.labels, o.probs, strict=True))
                    if request.return_probabilities
                    else None,
                    tier=o.tier,
                    escalated=o.escalated,
                    cached=o.cached,
                )
                for o in outcomes
            ],
        )
        return Outcome(response, records, shadow, time.perf_counter() - started)

    def feedback(self, request_id: str, index: int, label: str) -> dict[str, Any] | None:
        """The feedback record for prediction `index` of `request_id`; None when the same
        label was already given (one label per prediction: a retry must not count twice).

        Raises:
            LookupError: the request id is unknown (or too old to be remembered).
            FeedbackConflict: the prediction already has a different label.
            ValueError: bad index, or a label the answering model does not know.
        """
        seen = self.recent.get(request_id)
        if seen is None:
            raise LookupError(f"unknown request_id {request_id!r} (or too old to join)")
        if index >= len(seen.predicted):
            raise ValueError(
                f"request {request_id} had {len(seen.predicted)} texts, not {index + 1}"
            )
        if label not in seen.model.labels:
            raise ValueError(f"label {label!r} is not one of {seen.model.labels}")
        given = seen.labelled.get(index)
        if given == label:
            return None
        if given is not None:
            raise FeedbackConflict(
                f"prediction {prediction_id(request_id, index)} is already labelled {given!r}"
            )
        seen.labelled[index] = label
        return {
            "request_id": prediction_id(request_id, index),
            "label": label,
            "predicted": seen.predicted[index],
            "arm": seen.arm,
            "model_name": seen.model.name,
            "model_version": seen.model.version,
        }


def prediction_id(request_id: str, index: int) -> str:
    """The id of one text's prediction (what the log and feedback join on)."""
    return f"{request_id}-{index}"


async def _timed(coro: Awaitable[list[TextOutcome]]) -> tuple[list[TextOutcome], float]:
    started = time.perf_counter()
    result = await coro
    return result, time.perf_counter() - started


def _stamp(records: list[dict[str, Any]], seconds: float) -> None:
    """The request's latency and completion time on each of its records (stamped here, not
    when the background writer gets to them)."""
    now = time.time()
    for record in records:
        record["latency_ms"] = round(seconds * 1000.0, 3)
        record["timestamp"] = now


def _as_cached(o: TextOutcome) -> TextOutcome:
    return TextOutcome(o.label, o.confidence, o.probs, o.tier, o.escalated, True, 0.0)
