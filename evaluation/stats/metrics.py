"""Classification metrics on integer-coded labels, batched for the bootstrap.

Every corpus metric here is computed from a confusion matrix (or, for calibration, from
per-bin sums) with optional leading batch dimensions. The same function therefore gives the
point estimate (one matrix) and the bootstrap distribution (a stack of resampled matrices),
so the interval is always the interval *of the reported number*.

Conventions (match scikit-learn's defaults):
- confusion rows are the true class, columns the predicted class;
- macro-F1 averages F1 = 2TP / (2TP + FP + FN) over the classes that occur in the data
  (true or predicted); a class absent from both has no F1 and is skipped;
- recall of a class without support is NaN (undefined, not 0).
"""

import numpy as np

# Equal-width bins on [0, 1] (Guo et al., 2017): the usual top-label ECE.
DEFAULT_ECE_BINS = 15


def batched_confusion(
    y_true: np.ndarray, y_pred: np.ndarray, n_classes: int, idx: np.ndarray | None = None
) -> np.ndarray:
    """Confusion counts, optionally for many resamples at once.

    Args:
        y_true: True class indices, shape [n].
        y_pred: Predicted class indices, shape [n].
        n_classes: Number of classes K.
        idx: Optional resample indices, shape [B, n_b]; row b selects the rows of resample b.

    Returns:
        int64 array [K, K] without idx, else [B, K, K].
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    k2 = n_classes * n_classes
    cell = y_true * n_classes + y_pred
    if idx is None:
        return np.bincount(cell, minlength=k2).reshape(n_classes, n_classes)
    n_batch = idx.shape[0]
    # One bincount over (resample, cell) pairs: no Python loop over resamples.
    flat = (np.arange(n_batch, dtype=np.int64)[:, None] * k2 + cell[idx]).ravel()
    counts = np.bincount(flat, minlength=n_batch * k2)
    return counts.reshape(n_batch, n_classes, n_classes)


def accuracy(cm: np.ndarray) -> np.ndarray:
    """Share of correct predictions; NaN for an empty matrix. Shape [...]."""
    total = cm.sum(axis=(-2, -1))
    correct = np.trace(cm, axis1=-2, axis2=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, correct / np.maximum(total, 1), np.nan)


def per_class_recall(cm: np.ndarray) -> np.ndarray:
    """Recall of each class (NaN where the class has no support). Shape [..., K]."""
    support = cm.sum(axis=-1)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, tp / np.maximum(support, 1), np.nan)


def per_class_f1(cm: np.ndarray) -> np.ndarray:
    """F1 = 2TP/(2TP+FP+FN) per class; NaN for a class absent from truth and predictions."""
    tp = np.diagonal(cm, axis1=-2, axis2=-1).astype(np.float64)
    fn = cm.sum(axis=-1) - tp
    fp = cm.sum(axis=-2) - tp
    denom = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), np.nan)


def macro_f1(cm: np.ndarray) -> np.ndarray:
    """Unweighted mean of per-class F1 over the classes present. Shape [...]."""
    f1 = per_class_f1(cm)
    present = ~np.isnan(f1)
    n_present = present.sum(axis=-1)
    total = np.where(present, f1, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_present > 0, total / np.maximum(n_present, 1), np.nan)


def _bin_of(confidence: np.ndarray, n_bins: int) -> np.ndarray:
    # Right-closed bins (lo, hi]; confidence 0 falls into the first bin.
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)


def batched_ece(
    confidence: np.ndarray,
    correct: np.ndarray,
    n_bins: int = DEFAULT_ECE_BINS,
    idx: np.ndarray | None = None,
) -> np.ndarray:
    """Expected calibration error: sum over bins of (bin share) × |accuracy − confidence|.

    Args:
        confidence: Probability the model gave its predicted label, shape [n].
        correct: Whether that prediction was right, shape [n] (bool or 0/1).
        n_bins: Number of equal-width bins on [0, 1].
        idx: Optional resample indices [B, n_b] (see `batched_confusion`).

    Returns:
        Scalar array without idx, else [B].
    """
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    bins = _bin_of(confidence, n_bins)
    if idx is None:
        idx = np.arange(len(confidence))[None, :]
        squeeze = True
    else:
        squeeze = False
    n_batch, n_rows = idx.shape
    flat = (np.arange(n_batch, dtype=np.int64)[:, None] * n_bins + bins[idx]).ravel()
    size = n_batch * n_bins
    conf_sum = np.bincount(flat, weights=confidence[idx].ravel(), minlength=size)
    corr_sum = np.bincount(flat, weights=correct[idx].ravel(), minlength=size)
    gap = np.abs(corr_sum - conf_sum).reshape(n_batch, n_bins)
    # Σ_bins (n_bin / n) · |acc_bin − conf_bin| = Σ_bins |Σcorrect − Σconf| / n.
    ece = gap.sum(axis=1) / max(n_rows, 1) if n_rows else np.full(n_batch, np.nan)
    return ece[0] if squeeze else ece


def reliability_table(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = DEFAULT_ECE_BINS
) -> dict[str, list[float]]:
    """Per-bin count, mean confidence and accuracy (NaN for empty bins): the reliability diagram."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    bins = _bin_of(confidence, n_bins)
    count = np.bincount(bins, minlength=n_bins)
    conf_sum = np.bincount(bins, weights=confidence, minlength=n_bins)
    corr_sum = np.bincount(bins, weights=correct, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.where(count > 0, conf_sum / np.maximum(count, 1), np.nan)
        acc = np.where(count > 0, corr_sum / np.maximum(count, 1), np.nan)
    return {
        "bin_lower": np.linspace(0.0, 1.0, n_bins + 1)[:-1].tolist(),
        "bin_upper": np.linspace(0.0, 1.0, n_bins + 1)[1:].tolist(),
        "count": count.astype(float).tolist(),
        "mean_confidence": mean_conf.tolist(),
        "accuracy": acc.tolist(),
    }


def entropy(probs: np.ndarray, normalise: bool = False) -> np.ndarray:
    """Shannon entropy (nats) of each row of a probability matrix [n, K].

    With `normalise`, divide by log K so the value lies in [0, 1] whatever the class count.
    """
    probs = np.asarray(probs, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(probs > 0, probs * np.log(probs), 0.0)
    ent = -terms.sum(axis=1)
    if normalise:
        n_classes = probs.shape[1]
        return ent / np.log(n_classes) if n_classes > 1 else np.zeros_like(ent)
    return ent
