"""Drift check: is the current traffic still like the champion's training data?

Reference = the champion's training-snapshot texts (+ its predictions on them); current = a new
batch or a window of the serving log. Four signals, each a statistical test with a p-value,
computed by one Evidently 0.7 Report so the HTML shows exactly what the summary says:

- text: Evidently's text drift (a TF-IDF domain classifier on the raw text; ROC AUC).
- descriptors: KS tests on per-text descriptors (length, out-of-vocabulary share against the
  reference vocabulary, non-alphabetic share, ...), Bonferroni over descriptors.
- embedding: Evidently's embedding drift method (ModelDriftMethod: a domain classifier) on
  sentence embeddings from the caller's `embed` function (e.g. `MiniLMEncoder().embed`). It
  runs outside the Report by default because Evidently's EmbeddingsDrift metric always fits
  a t-SNE for its plot (~10 s at 300 + 300 rows, over a minute at 1,000 + 1,000 on 2 cores);
  `DriftConfig.embedding_plot` puts it in the Report (same method, same score).
- prediction: the champion's predicted-class mix (chi-square test of homogeneity, any number
  of classes) and confidence (KS), Bonferroni over the two.

Sample size is controlled, not left to Evidently: its automatic methods switch at 1,000 rows
(and its text test turns into a fixed AUC > 0.55 rule), so verdicts flip with n. Here both
sides are subsampled (seeded) to the same size min(sample_size, n_ref, n_cur); every method
is chosen explicitly; classifier thresholds are critical AUCs from the AUC null for that
size (evaluation/drift/stats.py). Each signal therefore has a false-positive rate <= its
alpha at any n, and the verdict (drift when >= k signals drift) at most sum(alpha) / k. Fewer
than `min_samples` rows on either side gives "insufficient_data", never "no drift".

Reference predictions should be out-of-sample (the snapshot's val/test rows): a model is
over-confident on its own training rows, which would read as confidence drift.
"""

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.drift.config import DriftConfig
from evaluation.drift.descriptors import DESCRIPTOR_NAMES, Vocabulary, text_descriptors
from evaluation.drift.report import (
    PRED_CONF,
    PRED_LABEL,
    TEXT,
    TRUE_LABEL,
    ReportPlan,
    run_report,
)
from evaluation.drift.result import DriftResult, DriftVerdict, SignalResult
from evaluation.drift.signals import classifier_signal, descriptor_signal, prediction_signal

__all__ = ["DriftConfig", "DriftResult", "DriftSample", "SignalResult", "check_drift"]

log = logging.getLogger(__name__)

Embed = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class DriftSample:
    """One side of a drift check.

    Attributes:
        texts: the texts.
        predicted_labels: the champion's predicted class per text (optional).
        confidence: the champion's max class probability per text (optional, with labels).
        embeddings: precomputed embeddings [n, d] aligned with `texts` (optional; otherwise
            the check embeds only the rows it samples).
        labels: the rows' true labels (optional; a labelled batch). With labels on both
            sides the label mix is tested in the prediction family (prior shift).
    """

    texts: Sequence[str]
    predicted_labels: Sequence[str] | None = None
    confidence: Sequence[float] | np.ndarray | None = None
    embeddings: np.ndarray | None = None
    labels: Sequence[str] | None = None

    def __post_init__(self) -> None:
        # Positional copies: a pandas Series with a non-range index would otherwise be read
        # by label when rows are sampled.
        object.__setattr__(self, "texts", list(self.texts))
        if self.predicted_labels is not None:
            object.__setattr__(self, "predicted_labels", list(self.predicted_labels))
        if self.confidence is not None:
            object.__setattr__(self, "confidence", np.asarray(self.confidence, dtype=np.float64))
        if self.labels is not None:
            object.__setattr__(self, "labels", [str(label) for label in self.labels])
        n = len(self.texts)
        if not all(isinstance(t, str) for t in self.texts):
            raise TypeError("texts must all be str")
        if (self.predicted_labels is None) != (self.confidence is None):
            raise ValueError("predicted_labels and confidence come together or not at all")
        if self.predicted_labels is not None and self.confidence is not None:
            if len(self.predicted_labels) != n or len(self.confidence) != n:
                raise ValueError("predicted_labels and confidence must align with texts")
            conf = np.asarray(self.confidence)
            if not np.all(np.isfinite(conf) & (conf >= 0) & (conf <= 1)):
                raise ValueError("confidence must be finite probabilities in [0, 1]")
        if self.labels is not None and len(self.labels) != n:
            raise ValueError("labels must align with texts")
        if self.embeddings is not None and (
            self.embeddings.ndim != 2 or self.embeddings.shape[0] != n
        ):
            raise ValueError(f"embeddings must be [n={n}, d], got {self.embeddings.shape}")

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        text_column: str = TEXT,
        label_column: str | None = None,
        confidence_column: str | None = None,
    ) -> "DriftSample":
        """A side from a snapshot or prediction-log frame (predictions optional)."""
        return cls(
            texts=frame[text_column].astype(str).tolist(),
            predicted_labels=None if label_column is None else frame[label_column].tolist(),
            confidence=None if confidence_column is None else frame[confidence_column],
        )

    @property
    def has_predictions(self) -> bool:
        return self.predicted_labels is not None

    def __len__(self) -> int:
        return len(self.texts)


def check_drift(
    reference: DriftSample,
    current: DriftSample,
    *,
    embed: Embed | None = None,
    config: DriftConfig | None = None,
) -> DriftResult:
    """Compare current traffic with the reference and decide whether it drifted.

    Args:
        reference: the champion's training-snapshot texts (+ its out-of-sample predictions).
        current: the new batch or serving-log window.
        embed: texts -> [n, d] embeddings, called on the sampled rows of a side that carries
            no precomputed embeddings. Without it (and without precomputed embeddings) the
            embedding signal is skipped.
        config: sampling, significance levels and the combine rule.

    Returns:
        The verdict, one result per signal, and the Evidently snapshot (`save_html`).
    """
    cfg = config or DriftConfig()
    n_ref, n_cur = len(reference), len(current)
    if min(n_ref, n_cur) < cfg.min_samples:
        log.info("drift check: insufficient data (%d reference, %d current rows)", n_ref, n_cur)
        return DriftResult(
            verdict="insufficient_data",
            n_reference=n_ref,
            n_current=n_cur,
            n_compared=0,
            signals={},
            skipped={},
            min_drifted_signals=cfg.min_drifted_signals,
            fp_bound=None,
            config=cfg.model_dump(),
        )
    n = min(n_ref, n_cur) if cfg.sample_size is None else min(cfg.sample_size, n_ref, n_cur)
    rng = np.random.default_rng(cfg.seed)
    ref_idx = np.sort(rng.choice(n_ref, size=n, replace=False))
    cur_idx = np.sort(rng.choice(n_cur, size=n, replace=False))

    skipped: dict[str, str] = {}
    vocabulary = Vocabulary.from_texts(reference.texts)
    ref_frame = _frame(reference, ref_idx, vocabulary, in_corpus=True)
    cur_frame = _frame(current, cur_idx, vocabulary, in_corpus=False)

    ref_emb = _embeddings(reference, ref_idx, embed)
    cur_emb = _embeddings(current, cur_idx, embed)
    if ref_emb is None or cur_emb is None:
        skipped["embedding"] = "no embed function and no precomputed embeddings"
    elif ref_emb.shape[1] != cur_emb.shape[1]:
        raise ValueError(f"embedding dims differ: {ref_emb.shape[1]} vs {cur_emb.shape[1]}")
    with_embeddings = "embedding" not in skipped
    with_predictions = reference.has_predictions and current.has_predictions
    if not with_predictions:
        skipped["prediction"] = "predictions missing on the reference or current side"
    with_labels = with_predictions and reference.labels is not None and current.labels is not None
    n_signals = 2 + with_embeddings + with_predictions
    if cfg.min_drifted_signals > n_signals:
        # Otherwise the verdict could never be "drift": a silent always-pass.
        raise ValueError(
            f"min_drifted_signals={cfg.min_drifted_signals} but only {n_signals} signals can "
            f"be computed (skipped: {skipped})"
        )

    plan = ReportPlan(
        n=n,
        config=cfg,
        descriptors=DESCRIPTOR_NAMES,
        embedding_dim=ref_emb.shape[1] if with_embeddings and ref_emb is not None else 0,
        with_predictions=with_predictions,
        with_labels=with_labels,
    )
    with warnings.catch_warnings():
        # scipy notes each time KS falls back from its exact to its asymptotic p-value (ties
        # in discrete descriptors); expected here, and noise in every sensor tick's log.
        warnings.filterwarnings("ignore", message="ks_2samp: Exact calculation unsuccessful")
        values, snapshot = run_report(
            plan,
            ref_frame,
            cur_frame,
            ref_emb if with_embeddings else None,
            cur_emb if with_embeddings else None,
        )
        signals = {
            "text": classifier_signal("text", values[TEXT], n, cfg, plan.text_critical_auc),
            "descriptors": descriptor_signal(values, ref_frame, cur_frame, cfg),
        }
        if with_embeddings:
            signals["embedding"] = classifier_signal(
                "embedding", values[plan.embedding_name], n, cfg, plan.embedding_critical_auc
            )
        if with_predictions:
            signals["prediction"] = prediction_signal(
                values, ref_frame, cur_frame, cfg, plan.prediction_tests
            )

    n_drifted = sum(sig.drifted for sig in signals.values())
    k = cfg.min_drifted_signals
    fp_bound = min(1.0, sum(sig.alpha for sig in signals.values()) / k)
    verdict: DriftVerdict = "drift" if n_drifted >= k else "no_drift"
    log.info(
        "drift check (%d vs %d rows): %s, %d/%d signals", n, n, verdict, n_drifted, len(signals)
    )
    return DriftResult(
        verdict=verdict,
        n_reference=n_ref,
        n_current=n_cur,
        n_compared=n,
        signals=signals,
        skipped=skipped,
        min_drifted_signals=k,
        fp_bound=fp_bound,
        config=cfg.model_dump(),
        report=snapshot,
    )


def _frame(
    sample: DriftSample, idx: np.ndarray, vocabulary: Vocabulary, *, in_corpus: bool
) -> pd.DataFrame:
    texts = [sample.texts[i] for i in idx]
    frame = text_descriptors(texts, vocabulary, in_corpus=in_corpus)
    frame.insert(0, TEXT, texts)
    if sample.predicted_labels is not None and sample.confidence is not None:
        frame[PRED_LABEL] = [str(sample.predicted_labels[i]) for i in idx]
        frame[PRED_CONF] = np.asarray(sample.confidence, dtype=np.float64)[idx]
    if sample.labels is not None:
        frame[TRUE_LABEL] = [sample.labels[i] for i in idx]
    return frame


def _embeddings(sample: DriftSample, idx: np.ndarray, embed: Embed | None) -> np.ndarray | None:
    if sample.embeddings is not None:
        return np.asarray(sample.embeddings[idx], dtype=np.float32)
    if embed is None:
        return None
    vectors = np.asarray(embed([sample.texts[i] for i in idx]), dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(idx) or not np.all(np.isfinite(vectors)):
        raise ValueError(f"embed returned {vectors.shape} for {len(idx)} texts (or non-finite)")
    return vectors
