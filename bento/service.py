"""The Driftwise service: `bentoml serve bento.service:Driftwise` (see `make serve`).

One BentoML service, one process: validation, routing (canary / shadow), cache, cascade,
sampled prediction log, feedback, admin, Prometheus metrics - and the loaded models
themselves. Texts of concurrent requests share one forward through `bento/batcher.py` (no
wait when idle, batches that grow with load); past its queue bound a request is answered
503 + Retry-After. The front door (content type, body size, one error shape, /docs) is
`bento/front_door.py`.

Why one process (issue 28): the earlier front -> worker split paid an HTTP hop, JSON and
BentoML's adaptive batcher per request; on 2 cores that cost more than the int8 forward and
the batcher's learned wait stayed high after a burst. `bench/serve_load.py` compares both.

Configuration: `bento/settings.py: ServiceSettings` (DRIFTWISE_HOME, DRIFTWISE_ADMIN_TOKEN,
DRIFTWISE_LOG_RATE, ... each with its default and bounds), read once when the service
starts and handed down; BENTOML_HOME names the model store.
"""

import asyncio
import hmac
import logging
import queue
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import bentoml
import numpy as np
from bentoml._internal.context import server_context  # pinned bentoml: the label source
from starlette.responses import JSONResponse

from bento.batcher import Batcher, Overloaded
from bento.cache import PredictionCache
from bento.engine import (
    ArmFailure,
    Cascade,
    Engine,
    FeedbackConflict,
    Scored,
    ServedModel,
    TextOutcome,
)
from bento.front_door import FrontDoor, error_body, quiet_client_errors
from bento.prediction_log import JsonlLogWriter
from bento.routing import Routing
from bento.sampling import LogSampler
from bento.schemas import (
    ClassifyRequest,
    ClassifyResponse,
    FeedbackRequest,
    LoadRequest,
    RoutingUpdate,
    fit_texts,
)
from bento.settings import ServiceSettings
from bento.state import (
    ServingState,
    deployment_version,
    read_state,
    tag_version,
    write_state,
)
from bento.store import CASCADE_KEY, KEPT_DISAGREEMENT_KEY, load_stored, load_tiers
from data.home import HomeLayout

log = logging.getLogger(__name__)

# Texts per forward. DRIFTWISE_BATCHING=0 makes every request its own forward: the
# comparison row of bench/serve_load.py, not a production setting.
MAX_BATCH = 64
RETRY_AFTER_S = "1"
# Settings that shape what follows (bento/settings.py has them all):
# - max_in_flight, the queue bound: past this many requests in flight, new ones are shed at
#   once with 503 + Retry-After instead of queueing without limit. Sized for 64+ concurrent
#   clients (bench/serve_load.py sees no shedding at 64).
# - cascade_audit_rate: the share of the texts the cascade keeps on the fast tier that the
#   accurate tier also scores (bento/engine.py): its CPU cost, and how fast a new domain is
#   noticed.
# - the dataset's length policy (data/length.py), passed by `driftwise serve` from its
#   config: the same limit and the same cut as landing and `driftwise predict`.

REQUESTS = bentoml.metrics.Counter(
    name="driftwise_requests_total",
    documentation="Classify requests by arm, model version and outcome",
    labelnames=["arm", "model_version", "outcome"],
)
PREDICTIONS = bentoml.metrics.Counter(
    name="driftwise_predictions_total",
    documentation="Texts classified, by arm, version, answering tier, cache hit",
    labelnames=["arm", "model_version", "tier", "cached"],
)
ESCALATIONS = bentoml.metrics.Counter(
    name="driftwise_cascade_escalations_total",
    documentation="Texts the cascade sent on to the accurate tier",
    labelnames=["arm", "model_version"],
)
LATENCY = bentoml.metrics.Histogram(
    name="driftwise_request_seconds",
    documentation="Classify latency inside the service",
    labelnames=["arm", "model_version"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CONFIDENCE = bentoml.metrics.Histogram(
    name="driftwise_confidence",
    documentation="Confidence of served predictions (shadow included, by arm)",
    labelnames=["arm", "model_version"],
    buckets=(0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0),
)
COST = bentoml.metrics.Counter(
    name="driftwise_cost_units_total",
    documentation="Measured CPU time of model forwards x price per core-hour",
    labelnames=["model_version", "tier"],
)
COST_PER_1K = bentoml.metrics.Gauge(
    name="driftwise_cost_units_per_1k_predictions",
    documentation="Cost units per 1,000 served predictions (cache hits included) since start",
    labelnames=["model_version"],
    multiprocess_mode="livemostrecent",  # one series per version, not one per pid
)
IN_FLIGHT = bentoml.metrics.Gauge(
    name="driftwise_in_flight_requests",
    documentation="Classify requests being served now (queue depth, for an autoscaler)",
)
TRUNCATED = bentoml.metrics.Counter(
    name="driftwise_texts_truncated_total",
    documentation="Texts cut to the dataset's max_text_chars before scoring (long_text=truncate)",
)
LOG_DROPPED = bentoml.metrics.Counter(
    name="driftwise_log_dropped_total",
    documentation="Prediction log records dropped because the writer queue was full",
)
CASCADE_AUDIT = bentoml.metrics.Gauge(
    name="driftwise_cascade_audit_disagreement",
    documentation="Recent share of audited fast-tier answers the accurate tier disagreed with",
    labelnames=["model_version"],
)
CASCADE_FALLBACK = bentoml.metrics.Gauge(
    name="driftwise_cascade_fallback",
    documentation="1 when the cascade audit made the model fall back to its accurate tier",
    labelnames=["model_version"],
)
BATCH_SIZE = bentoml.metrics.Histogram(
    name="driftwise_batch_texts",
    documentation="Texts per model forward",
    labelnames=["tier"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)


class BackgroundLog:
    """Log records written by a thread, off the request path; a full queue drops and counts."""

    def __init__(self, writer: JsonlLogWriter, max_queue: int = 10_000) -> None:
        self.writer = writer
        self._queue: queue.Queue[list[dict[str, Any]]] = queue.Queue(max_queue)
        threading.Thread(target=self._run, daemon=True, name="prediction-log").start()

    def submit(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        try:
            self._queue.put_nowait(records)
        except queue.Full:
            LOG_DROPPED.inc(len(records))

    def _run(self) -> None:
        while True:
            records = self._queue.get()
            try:
                self.writer.append(records)
            except Exception:  # a full disk must not kill the thread; the next write retries
                log.exception("prediction log write failed; %d records lost", len(records))

    def flush(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not self._queue.empty() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)  # the record being written


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(error_body(status, message), status_code=status, headers=headers)


class LoadedModels:
    """Store tag -> tier -> predictor, loaded once (thread-safe: loads run in a thread while
    the forward thread serves other models)."""

    def __init__(self, cache_dir: Path) -> None:
        self._models: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._cache = cache_dir  # exported ONNX encoders live here

    def tiers(self, tag: str) -> dict[str, Any]:
        with self._lock:
            if tag not in self._models:
                self._models[tag] = load_tiers(load_stored(tag), self._cache)
            return self._models[tag]

    def load(self, tag: str) -> dict[str, Any]:
        """Load (and warm) a store model; what the front needs to route to it."""
        stored = load_stored(tag)
        tiers = self.tiers(stored.tag)
        return {
            "tag": stored.tag,
            "name": stored.registered_name,
            "version": stored.version,
            "labels": stored.labels,
            "tiers": sorted(tiers),
            "cascade_threshold": stored.metadata.get(CASCADE_KEY),
            "cascade_kept_disagreement": stored.metadata.get(KEPT_DISAGREEMENT_KEY),
        }


class CostMeter:
    """Cost units and served predictions per model version since start: the per-1k gauge."""

    def __init__(self) -> None:
        self.units: dict[str, float] = defaultdict(float)
        self.predictions: dict[str, int] = defaultdict(int)
        self.escalated: dict[str, int] = defaultdict(int)  # model calls the cascade escalated

    def forward(self, version: str, tier: str, units: float) -> None:
        self.units[version] += units
        COST.labels(model_version=version, tier=tier).inc(units)

    def served(self, version: str, n: int) -> None:
        self.predictions[version] += n
        COST_PER_1K.labels(model_version=version).set(self.per_1k(version))

    def per_1k(self, version: str) -> float:
        n = self.predictions.get(version, 0)
        return 1000.0 * self.units.get(version, 0.0) / n if n else 0.0


@bentoml.service(
    name="driftwise",
    logging={"access": {"enabled": False}},
    traffic={"timeout": 120},
)
class Driftwise:
    def __init__(self) -> None:
        self.settings = settings = ServiceSettings()
        self.home = settings.home.resolve()
        self.layout = HomeLayout(self.home)
        self.length = settings.length
        self.engine = Engine(
            self._score,
            cache=PredictionCache(settings.cache_entries),
            sampler=LogSampler(rate=settings.log_rate),
            price_per_core_hour=settings.price_per_core_hour,
        )
        self.predictions = BackgroundLog(
            JsonlLogWriter(self.layout.prediction_log, prefix="predictions")
        )
        self.feedback_log = JsonlLogWriter(self.layout.feedback, prefix="feedback")
        self.state: ServingState | None = None
        self.models = LoadedModels(self.layout.cache)
        self.cost = CostMeter()
        self.batcher = Batcher(
            self._forward,
            max_batch=MAX_BATCH if settings.batching else 1,
            max_queue=settings.max_in_flight * MAX_BATCH,
            on_forward=self._forwarded,
        )
        self._tags: dict[str, str] = {}  # ServedModel.key -> store tag
        self._loading = asyncio.Lock()
        self._in_flight = 0
        quiet_client_errors()
        # Label BentoML's series from the first request on, before the models load lazily.
        server_context.bento_version = deployment_version(self._stored_state())

    def _stored_state(self) -> ServingState:
        state = read_state(self.home)
        if state.champion is None and self.settings.champion_tag:
            # A built Bento names its champion (bento/build.py); no state file yet.
            state.champion = self.settings.champion_tag
        return state

    def _forward(self, model_key: str, tier: str, texts: list[str]) -> np.ndarray:
        """Runs in the batcher's forward thread."""
        return self.models.tiers(self._tags[model_key])[tier].predict_proba(texts)

    def _forwarded(self, model_key: str, tier: str, n: int, cpu_seconds: float) -> None:
        version = str(tag_version(model_key))  # ServedModel.key is "<name>:v<version>"
        BATCH_SIZE.labels(tier=tier).observe(n)
        self.cost.forward(version, tier, self.engine.cost_units(cpu_seconds))

    async def _score(self, model_key: str, tier: str, texts: Sequence[str]) -> Scored:
        probs, cpu = await self.batcher.score(model_key, tier, texts)
        return Scored(probs=probs, cpu_seconds=cpu)

    async def _load(self, tag: str) -> ServedModel:
        info = await asyncio.to_thread(self.models.load, tag)
        threshold = info.get("cascade_threshold")
        has_both = {"fast", "accurate"} <= set(info["tiers"])
        model = ServedModel(
            name=info["name"],
            version=str(info["version"]),
            labels=list(info["labels"]),
            tiers=list(info["tiers"]),
            cascade=Cascade(
                float(threshold),
                expected_disagreement=info.get("cascade_kept_disagreement"),
                audit_rate=self.settings.cascade_audit_rate,
            )
            if threshold is not None and has_both
            else None,
        )
        self._tags[model.key] = info["tag"]
        return model

    async def _apply(self, state: ServingState) -> None:
        """Load what `state` names (the previous champion too: kept warm) and route to it."""
        models = {}
        for role in ("champion", "challenger", "previous"):
            tag = getattr(state, role)
            if tag:
                models[role] = await self._load(tag)
        self.engine.models = {k: v for k, v in models.items() if k != "previous"}  # type: ignore[misc]
        self.engine.routing = Routing(state.routing.mode, state.routing.challenger_weight)
        self._set_state(state)

    def _set_state(self, state: ServingState) -> None:
        self.state = state
        # BentoML labels its own series with the Bento's version, read per request; from
        # source (`bentoml serve bento.service:Driftwise`) it would be "not available", and
        # a built Bento's would go stale after a live swap. One process serves, so this holds.
        server_context.bento_version = deployment_version(state)

    async def _ready(self) -> bool:
        if self.state is None:
            async with self._loading:
                if self.state is None:
                    await self._apply(self._stored_state())
        return "champion" in self.engine.models

    def _admin(self, ctx: bentoml.Context) -> dict[str, str] | None:
        """None when the request carries the admin token; else the 401/403/404 body to answer.

        (With a Context parameter BentoML takes the status from `ctx.response`, so it is set
        there.) No token configured means admin is off: 404, as if the routes did not exist.
        """
        expected = self.settings.admin_token
        header = ctx.request.headers.get("authorization", "")
        if not expected:
            status, message = 404, "admin is disabled: DRIFTWISE_ADMIN_TOKEN is not set"
        elif not header.startswith("Bearer "):
            status, message = 401, "admin needs 'Authorization: Bearer <token>'"
        elif not hmac.compare_digest(header.removeprefix("Bearer ").encode(), expected.encode()):
            status, message = 403, "wrong admin token"
        else:
            return None
        ctx.response.status_code = status
        return {"error": message}

    @staticmethod
    def _refuse(ctx: bentoml.Context, status: int, message: str) -> dict[str, str]:
        ctx.response.status_code = status
        return {"error": message}

    @bentoml.api(route="/classify", input_spec=ClassifyRequest)
    async def classify(
        self, texts: list[str], key: str | None = None, return_probabilities: bool = False
    ) -> ClassifyResponse:
        """Label, confidence (and probabilities) for 1-64 texts, with model version and tier."""
        if not await self._ready():
            return _error(503, "no champion is being served yet", **{"Retry-After": "30"})  # type: ignore[return-value]
        try:
            texts, cut = fit_texts(texts, self.length)
        except ValueError as exc:  # over the dataset's limit under long_text = quarantine
            return JSONResponse(  # type: ignore[return-value]
                error_body(400, str(exc), field="texts", reason="text_too_long"), status_code=400
            )
        if cut:
            TRUNCATED.inc(cut)
        request = ClassifyRequest(texts=texts, key=key, return_probabilities=return_probabilities)
        if self._in_flight >= self.settings.max_in_flight:
            REQUESTS.labels(arm="", model_version="", outcome="shed").inc()
            return _error(503, "overloaded, retry shortly", **{"Retry-After": RETRY_AFTER_S})  # type: ignore[return-value]
        self._in_flight += 1
        IN_FLIGHT.inc()
        try:
            outcome = await self.engine.classify(request, uuid.uuid4().hex)
        except ArmFailure as failure:
            # The model failed, not the request: logged per arm (canary evidence), answered
            # 500 with what failed - the front itself stays up. A shed (the batcher's queue
            # is full) is load, not a model fault: 503, not logged as an error.
            if isinstance(failure.cause, Overloaded):
                REQUESTS.labels(arm="", model_version="", outcome="shed").inc()
                return _error(503, "overloaded, retry shortly", **{"Retry-After": RETRY_AFTER_S})  # type: ignore[return-value]
            version = failure.records[0]["model_version"] if failure.records else ""
            REQUESTS.labels(arm=failure.arm, model_version=version, outcome="error").inc()
            self.predictions.submit(failure.records)
            log.error("classify failed: %s", failure)
            return _error(500, f"model error ({type(failure.cause).__name__}); request logged")  # type: ignore[return-value]
        finally:
            self._in_flight -= 1
            IN_FLIGHT.dec()
        self._observe(outcome.response, outcome.seconds)
        self._observe_shadow(outcome.shadow)
        self.predictions.submit(outcome.log_records)
        return outcome.response

    def _observe(self, response: ClassifyResponse, seconds: float) -> None:
        arm, version = response.arm, response.model_version
        model = self.engine.models.get(arm)  # type: ignore[call-overload]
        audit = self.engine.audits.get(model.key) if model is not None else None
        if audit is not None and audit.rate is not None:
            CASCADE_AUDIT.labels(model_version=version).set(audit.rate)
            CASCADE_FALLBACK.labels(model_version=version).set(int(audit.fallen_back))
        REQUESTS.labels(arm=arm, model_version=version, outcome="ok").inc()
        self.cost.served(version, len(response.predictions))
        LATENCY.labels(arm=arm, model_version=version).observe(seconds)
        for p in response.predictions:
            PREDICTIONS.labels(
                arm=arm, model_version=version, tier=p.tier, cached=str(p.cached).lower()
            ).inc()
            CONFIDENCE.labels(arm=arm, model_version=version).observe(p.confidence)
            if p.escalated and not p.cached:
                ESCALATIONS.labels(arm=arm, model_version=version).inc()
                self.cost.escalated[version] += 1

    def _observe_shadow(self, shadow: list[TextOutcome]) -> None:
        challenger = self.engine.models.get("challenger")
        if challenger is not None and shadow:
            self.cost.served(challenger.version, len(shadow))
        for o in shadow:
            if challenger is not None:
                CONFIDENCE.labels(arm="shadow", model_version=challenger.version).observe(
                    o.confidence
                )

    @bentoml.api(route="/feedback", input_spec=FeedbackRequest)
    async def feedback(self, request_id: str, label: str, index: int = 0) -> dict[str, Any]:
        """The true label of prediction `index` of `request_id`; joined to what was served.
        Sending the same label again is accepted once (idempotent); a different label for an
        already labelled prediction is refused with 409."""
        try:
            record = self.engine.feedback(request_id, index, label)
        except LookupError as exc:
            return _error(404, str(exc))  # type: ignore[return-value]
        except FeedbackConflict as exc:
            return _error(409, str(exc))  # type: ignore[return-value]
        except ValueError as exc:
            return _error(422, str(exc))  # type: ignore[return-value]
        if record is None:  # the same label again: already logged
            return {"accepted": True, "request_id": f"{request_id}-{index}", "duplicate": True}
        await asyncio.to_thread(self.feedback_log.append, [record])
        return {"accepted": True, "request_id": record["request_id"], "duplicate": False}

    @bentoml.api(route="/admin/state")
    async def admin_state(self, ctx: bentoml.Context) -> dict[str, Any]:
        """What is loaded and how traffic is split (admin token)."""
        denied = self._admin(ctx)
        if denied:
            return denied
        await self._ready()
        return {
            "state": self.state.model_dump(mode="json") if self.state else None,
            "models": {
                arm: {"name": m.name, "version": m.version, "tiers": m.tiers, "policy": m.policy}
                for arm, m in self.engine.models.items()
            },
            "cascade_audit": {
                arm: self.engine.audits[m.key].status()
                for arm, m in self.engine.models.items()
                if m.key in self.engine.audits
            },
            "cost": {
                version: {
                    "cost_units": self.cost.units.get(version, 0.0),
                    "predictions": n,
                    "cost_units_per_1k": self.cost.per_1k(version),
                    "escalated": self.cost.escalated.get(version, 0),
                }
                for version, n in self.cost.predictions.items()
            },
            "cache": {
                "entries": len(self.engine.cache),
                "hits": self.engine.cache.hits,
                "misses": self.engine.cache.misses,
            },
        }

    @bentoml.api(route="/admin/routing")
    async def admin_routing(
        self, ctx: bentoml.Context, mode: str, challenger_weight: float = 0.0
    ) -> dict[str, Any]:
        """Set the traffic split; applies at once, persisted for restarts (admin token)."""
        denied = self._admin(ctx)
        if denied:
            return denied
        try:
            update = RoutingUpdate.model_validate(
                {"mode": mode, "challenger_weight": challenger_weight}
            )
        except ValueError as exc:
            return self._refuse(ctx, 400, str(exc))
        await self._ready()
        assert self.state is not None
        if update.mode != "off" and "challenger" not in self.engine.models:
            return self._refuse(ctx, 409, f"mode {update.mode!r} needs a loaded challenger")
        state = self.state.model_copy(update={"routing": update})
        self.engine.routing = Routing(update.mode, update.challenger_weight)
        self._set_state(state)
        write_state(self.home, state)
        return {"routing": update.model_dump()}

    @bentoml.api(route="/admin/load")
    async def admin_load(self, ctx: bentoml.Context, version: str, role: str) -> dict[str, Any]:
        """Load a registered version (imported into the store) as champion or challenger.

        A new champion keeps the old one warm as `previous`, so rolling back is a flip."""
        denied = self._admin(ctx)
        if denied:
            return denied
        try:
            body = LoadRequest.model_validate({"version": version, "role": role})
        except ValueError as exc:
            return self._refuse(ctx, 400, str(exc))
        await self._ready()
        assert self.state is not None
        name = self._store_name()
        if name is None:
            return self._refuse(ctx, 409, "nothing is served yet: start with `driftwise serve`")
        tag = f"{name}:v{body.version}"
        try:
            load_stored(tag)
        except (bentoml.exceptions.NotFound, FileNotFoundError):
            return self._refuse(ctx, 404, f"{tag} is not in the model store (import it first)")
        update: dict[str, Any] = {body.role: tag}
        if body.role == "champion" and self.state.champion and self.state.champion != tag:
            update["previous"] = self.state.champion
            if self.state.challenger == tag:
                update["challenger"] = None
                update["routing"] = RoutingUpdate(mode="off")
        state = self.state.model_copy(update=update)
        await self._apply(state)
        write_state(self.home, state)
        return {"state": state.model_dump(mode="json")}

    def _store_name(self) -> str | None:
        tag = self.state.champion if self.state else None
        return tag.split(":", 1)[0] if tag else None


# The front door wraps every route (bento/front_door.py); /openapi.json is BentoML's spec
# of the APIs above, retitled and with the limits and error responses added.
_service: Any = Driftwise  # a bentoml Service at run time (the decorator's stubs say the class)
_service.add_asgi_middleware(FrontDoor, spec=lambda: _service.openapi_spec.asdict())
