"""Temperature scaling (Guo et al., 2017): one scalar T so softmax(logits / T) means what it
says. Fitted on the validation split at training time by minimising its negative
log-likelihood; T > 1 softens an overconfident model, T < 1 sharpens an underconfident one.
It never changes a model's answer (argmax is the same) and, for two classes, not the order of
its confidences either: what it changes is what a confidence of 0.9 means to every reader of
it (the cascade threshold, confidence monitoring, the review queue's low-confidence stratum).

Why temperature and not isotonic: one parameter cannot overfit a validation split of a few
hundred rows, and it keeps the multi-class probabilities a proper softmax.
"""

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

# Bounds of T: wider would only be reached by a degenerate validation split.
T_MIN, T_MAX = 0.05, 20.0


def nll(logits: np.ndarray, targets: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of `targets` (class indices) under softmax(logits / T)."""
    logp = log_softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1)
    return float(-logp[np.arange(len(targets)), np.asarray(targets)].mean())


def fit_temperature(logits: np.ndarray, targets: np.ndarray) -> float:
    """The T in [T_MIN, T_MAX] minimising the NLL of `targets`; 1.0 for fewer than 2 rows
    or a single class seen (nothing to learn a scale from)."""
    targets = np.asarray(targets)
    if len(targets) < 2 or len(np.unique(targets)) < 2:
        return 1.0
    found = minimize_scalar(
        lambda log_t: nll(logits, targets, float(np.exp(log_t))),
        bounds=(np.log(T_MIN), np.log(T_MAX)),
        method="bounded",
    )
    return float(np.exp(found.x))


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    return np.exp(log_softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1))


def top_label_ece(probs: np.ndarray, targets: np.ndarray, n_bins: int = 15) -> float:
    """Top-label ECE over equal-width bins: the definition evaluation/stats/metrics.py's
    `batched_ece` uses (models sits below evaluation, so training computes its own; a test
    holds the two equal)."""
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == np.asarray(targets)).astype(np.float64)
    # Right-closed bins (lo, hi], confidence 0 in the first: as batched_ece.
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    gap = np.bincount(bins, correct, n_bins) - np.bincount(bins, conf, n_bins)
    return float(np.abs(gap).sum() / max(len(conf), 1))
