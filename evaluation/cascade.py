"""The cascade policy: the fast tier answers, the accurate tier only where the fast tier is
unsure. Tuned on the golden set to stay within a tolerance of the accurate tier's accuracy (at 95%
confidence) with the fewest escalations.

The threshold is chosen on the golden rows with a statistical margin (`_choose`) and
would still look better there than anywhere else, so the policy also carries a two-fold
estimate: tuned on one half, measured on the other (both ways, averaged) - the numbers to
expect in domain. Out of domain the fast tier's confidence means less (it can be confidently
wrong, so the escalation rate alone does not show it): serving audits a sample of the texts
the fast tier keeps against the accurate tier and falls back to the accurate tier when they
disagree more than `kept_disagreement` - measured here, on the window the policy carries -
allows (bento/engine.py, `CascadeAudit`).
"""

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

_Z95 = 1.6448536269514722  # one-sided 95% normal quantile

if TYPE_CHECKING:
    from evaluation.stats.predictions import Predictions


@dataclass(frozen=True)
class CascadePolicy:
    threshold: float | None  # None: no threshold reaches the target short of escalating all
    escalation_rate: float  # on the tuning rows
    cascade_accuracy: float
    accurate_accuracy: float
    fast_accuracy: float
    holdout_escalation_rate: float  # two-fold: tuned on one half, measured on the other
    holdout_accuracy_gap: float  # cascade minus accurate accuracy, two-fold (<0 = loss)
    tolerance: float
    rows: int
    window: str  # what it was tuned on, e.g. "golden/trec/v1"
    # Of the rows the fast tier keeps (confidence >= threshold), the share where the two
    # tiers' labels differ: what serving's audit expects to see in domain (None: unknown).
    kept_disagreement: float | None = None
    # The fast tier's top-label ECE on the tuning rows as served (its bundle's temperature,
    # fitted on the val split: models/calibration.py) and before that temperature.
    fast_ece: float | None = None
    fast_ece_uncalibrated: float | None = None
    fast_temperature: float | None = None
    # Share escalated per slice of the tuning rows (the golden set's domains): the in-domain
    # rate is the one the cascade saves most on.
    escalation_by_slice: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _choose(
    conf: np.ndarray, fast_ok: np.ndarray, acc_ok: np.ndarray, tolerance: float
) -> float | None:
    """Smallest-escalation threshold whose cascade is not worse than the accurate tier by
    more than `tolerance`, at 95% one-sided confidence.

    Why a bound and not the point estimate: the cascade differs from the accurate tier only
    on the rows it keeps on the fast tier, by d_i = fast_ok_i - acc_ok_i there (0 elsewhere).
    The smallest threshold whose *observed* mean reaches the target is the one that got
    there by luck (measured in bench/serve_cascade.py: tuned to the accurate tier's accuracy
    on 800 rows, 3.3 points below it on fresh rows). Requiring the lower bound of mean(d)
    to clear -tolerance escalates as much as the evidence needs."""
    d_all = fast_ok.astype(float) - acc_ok.astype(float)
    n = len(conf)
    # Escalating "conf < t": every distinct confidence is a candidate cut; 0 escalates none.
    for t in [0.0, *np.unique(conf)]:
        d = np.where(conf < t, 0.0, d_all)
        bound = d.mean() - _Z95 * d.std(ddof=1) / np.sqrt(n)
        if bound >= -tolerance - 1e-12:
            return float(t)
    return None


def _apply(t: float | None, conf: np.ndarray, fast_ok: np.ndarray, acc_ok: np.ndarray):
    escalate = np.ones_like(conf, dtype=bool) if t is None else conf < t
    return float(escalate.mean()), float(np.where(escalate, acc_ok, fast_ok).mean())


def tune_cascade(
    fast_confidence: np.ndarray,
    fast_correct: np.ndarray,
    accurate_correct: np.ndarray,
    window: str,
    tolerance: float = 0.01,
    seed: int = 0,
    tiers_disagree: np.ndarray | None = None,
) -> CascadePolicy:
    """The fewest-escalation threshold on row-aligned golden predictions of both tiers whose
    accuracy loss against the accurate tier is <= `tolerance` (default 1 point, the runtime
    policy's) at 95% confidence; see `_choose`."""
    conf = np.asarray(fast_confidence, dtype=np.float64)
    fast_ok = np.asarray(fast_correct, dtype=bool)
    acc_ok = np.asarray(accurate_correct, dtype=bool)
    if not (len(conf) == len(fast_ok) == len(acc_ok)) or len(conf) < 4:
        raise ValueError("need >= 4 row-aligned predictions of both tiers")
    if not 0.0 <= tolerance < 1.0:
        raise ValueError("tolerance must be within [0, 1)")
    threshold = _choose(conf, fast_ok, acc_ok, tolerance)
    rate, accuracy = _apply(threshold, conf, fast_ok, acc_ok)
    order = np.random.default_rng(seed).permutation(len(conf))
    halves = (order[: len(conf) // 2], order[len(conf) // 2 :])
    kept_disagreement = None
    if tiers_disagree is not None:
        kept = np.ones_like(conf, dtype=bool) if threshold is None else conf >= threshold
        differ = np.asarray(tiers_disagree, dtype=bool)
        kept_disagreement = float(differ[kept].mean()) if kept.any() else 0.0
    rates, gaps = [], []
    for tune, test in (halves, halves[::-1]):
        t = _choose(conf[tune], fast_ok[tune], acc_ok[tune], tolerance)
        r, a = _apply(t, conf[test], fast_ok[test], acc_ok[test])
        rates.append(r)
        gaps.append(a - float(acc_ok[test].mean()))
    return CascadePolicy(
        threshold=threshold,
        escalation_rate=rate,
        cascade_accuracy=accuracy,
        accurate_accuracy=float(acc_ok.mean()),
        fast_accuracy=float(fast_ok.mean()),
        holdout_escalation_rate=float(np.mean(rates)),
        holdout_accuracy_gap=float(np.mean(gaps)),
        tolerance=tolerance,
        rows=len(conf),
        window=window,
        kept_disagreement=kept_disagreement,
    )


def tune_from_predictions(
    fast: "Predictions",
    accurate: "Predictions",
    y_true: tuple[str, ...],
    window: str,
    fast_temperature: float = 1.0,
    slices: dict[str, str] | None = None,
) -> CascadePolicy:
    """`tune_cascade` on row-aligned fast/accurate golden predictions (aligned by row id),
    with the fast tier's calibration (`fast_temperature`: what its probabilities were divided
    by) and the escalation per slice (`slices`: row id -> slice name, e.g. the domain)."""
    from evaluation.stats.metrics import batched_ece

    if fast.row_ids is None or accurate.row_ids is None:
        raise ValueError("golden predictions need row ids to be aligned")
    where = {rid: i for i, rid in enumerate(fast.row_ids)}
    order = [where[rid] for rid in accurate.row_ids]
    fast_labels = np.asarray(fast.labels)[order]
    probs = fast.probs[order]
    fast_conf = probs.max(axis=1)
    truth = np.asarray(y_true)
    accurate_labels = np.asarray(accurate.labels)
    fast_ok = fast_labels == truth
    policy = tune_cascade(
        fast_conf,
        fast_ok,
        accurate_labels == truth,
        window,
        tiers_disagree=fast_labels != accurate_labels,
    )
    # softmax(T * log p) undoes the temperature: the probabilities before calibration.
    raw = np.exp(fast_temperature * np.log(np.clip(probs, 1e-300, 1.0)))
    raw /= raw.sum(axis=1, keepdims=True)
    escalated = (
        np.ones(len(order), bool) if policy.threshold is None else fast_conf < policy.threshold
    )
    by_slice = None
    if slices is not None:
        names = np.asarray([slices.get(rid, "") for rid in accurate.row_ids])
        by_slice = {
            str(name): round(float(escalated[names == name].mean()), 4)
            for name in sorted(set(names))
        }
    return replace(
        policy,
        fast_ece=round(float(batched_ece(fast_conf, fast_ok)), 4),
        fast_ece_uncalibrated=round(float(batched_ece(raw.max(axis=1), fast_ok)), 4),
        fast_temperature=round(fast_temperature, 4),
        escalation_by_slice=by_slice,
    )


def served_against_baseline(
    fast: "Predictions",
    accurate: "Predictions",
    y_true: tuple[str, ...],
    threshold: float | None,
    baseline_low: float | None,
) -> dict[str, Any]:
    """The cascade's golden macro-F1 as it would serve (fast tier where its confidence is at
    least `threshold`, the accurate tier elsewhere), beside the TF-IDF+LR baseline's interval
    low bound. `below` is True when the served answer is under that bound: the gate judged
    the accurate tier, so a cascade that loses more than it would ship below the baseline is
    not served (the accurate tier answers alone)."""
    from sklearn.metrics import f1_score

    if fast.row_ids is None or accurate.row_ids is None:
        raise ValueError("golden predictions need row ids to be aligned")
    where = {rid: i for i, rid in enumerate(fast.row_ids)}
    order = [where[rid] for rid in accurate.row_ids]
    fast_labels = np.asarray(fast.labels)[order]
    keep = (
        np.zeros(len(order), dtype=bool)
        if threshold is None
        else fast.probs.max(axis=1)[order] >= threshold
    )
    served = np.where(keep, fast_labels, np.asarray(accurate.labels))
    f1 = float(f1_score(np.asarray(y_true), served, average="macro"))
    return {
        "served_macro_f1": round(f1, 4),
        "baseline_low": None if baseline_low is None else round(baseline_low, 4),
        "below": baseline_low is not None and f1 < baseline_low,
    }
