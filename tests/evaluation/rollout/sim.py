"""Synthetic serving-log records shaped exactly like bento/engine.py writes them, for the
pure rollout tests (the integration test drives a real `bentoml serve` instead)."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bento.routing import key_position


@dataclass(frozen=True)
class Model:
    version: str
    accuracy: float = 0.8
    error_rate: float = 0.0
    latency_ms: float = 20.0
    confidence: float = 0.8


LABELS = ("a", "b", "c")


def traffic(
    rng: np.random.Generator,
    champion: Model,
    challenger: Model,
    mode: str,
    weight: float,
    n_requests: int,
    start: float,
    rate_per_s: float = 10.0,
    feedback_share: float = 0.5,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`n_requests` one-text requests routed as the service routes them; returns
    (prediction records, feedback records)."""
    preds, feedback = [], []
    for i in range(n_requests):
        ts = start + i / rate_per_s
        request = f"r{rng.integers(1 << 62):x}"
        truth = LABELS[rng.integers(len(LABELS))]
        live_challenger = mode == "canary" and key_position(request) < weight
        answering = challenger if live_challenger else champion
        arms = [("challenger" if live_challenger else "champion", answering)]
        if mode == "shadow":
            arms.append(("shadow", challenger))
        labels = {}
        for arm, model in arms:
            record = {
                "timestamp": ts,
                "request_id": f"{request}-0",
                "arm": arm,
                "model_version": model.version,
                "latency_ms": float(rng.exponential(model.latency_ms)),
                "sampling_weight": 1.0,
            }
            if rng.random() < model.error_rate:
                record["error"] = "RuntimeError"
            else:
                right = rng.random() < model.accuracy
                label = truth if right else LABELS[(LABELS.index(truth) + 1) % len(LABELS)]
                labels[arm] = label
                record["label"] = label
                record["confidence"] = float(np.clip(rng.normal(model.confidence, 0.1), 0, 1))
            preds.append(record)
        answered = arms[0][0]
        if answered in labels and rng.random() < feedback_share:
            feedback.append(
                {
                    "timestamp": ts + 1,
                    "request_id": f"{request}-0",
                    "label": truth,
                    "predicted": labels[answered],
                    "arm": answered,
                    "model_version": answering.version,
                }
            )
    return pd.DataFrame(preds), pd.DataFrame(feedback)
