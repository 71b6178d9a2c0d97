"""Turn the Evidently values of one check into per-signal results (score, p-value, flag)."""

import pandas as pd
from scipy.stats import ks_2samp

from evaluation.drift.config import DriftConfig, Signal
from evaluation.drift.descriptors import DESCRIPTOR_NAMES
from evaluation.drift.report import PRED_CONF, PRED_LABEL, TRUE_LABEL
from evaluation.drift.result import SignalResult
from evaluation.drift.stats import (
    auc_interval,
    auc_p_value,
    bonferroni,
    ks_interval,
    tvd_interval,
)


def _judged(
    cfg: DriftConfig, name: Signal, score: float, p: float, alpha: float
) -> tuple[bool, float | None]:
    """(drifted, floor): significant and, when the signal has a floor, at least that large."""
    floor = cfg.effect_floors.get(name)
    return p < alpha and (floor is None or score >= floor), floor


def classifier_signal(
    name: Signal, auc: float, n: int, cfg: DriftConfig, critical_auc: float
) -> SignalResult:
    """Text or embedding domain classifier: score = held-out AUC, p from the AUC null."""
    # Evidently holds out half of the 2n pooled rows: n held-out rows.
    p = auc_p_value(auc, n_test=n)
    alpha = cfg.alpha(name)
    drifted, floor = _judged(cfg, name, auc, p, alpha)
    low, high = auc_interval(auc, n)
    return SignalResult(
        name=name,
        score=auc,
        p_value=p,
        alpha=alpha,
        drifted=drifted,
        effect_low=low,
        effect_high=high,
        effect_floor=floor,
        method="domain classifier ROC AUC vs Mann-Whitney null (Evidently "
        + ("text drift, TF-IDF + SGD)" if name == "text" else "EmbeddingsDrift, ModelDriftMethod)"),
        details={"critical_auc": critical_auc},
    )


def descriptor_signal(
    values: dict[str, float], ref: pd.DataFrame, cur: pd.DataFrame, cfg: DriftConfig
) -> SignalResult:
    """Descriptors: Evidently's KS p-values, Bonferroni; score = the largest KS statistic."""
    p_values = {name: values[name] for name in DESCRIPTOR_NAMES}
    ks_stats = {name: float(ks_2samp(ref[name], cur[name]).statistic) for name in DESCRIPTOR_NAMES}
    p = bonferroni(list(p_values.values()))
    details = {f"{name}_p": pv for name, pv in p_values.items()}
    details |= {f"{name}_ks": ks for name, ks in ks_stats.items()}
    details |= {f"{name}_mean_ref": float(ref[name].mean()) for name in DESCRIPTOR_NAMES}
    details |= {f"{name}_mean_cur": float(cur[name].mean()) for name in DESCRIPTOR_NAMES}
    score = max(ks_stats.values())
    drifted, floor = _judged(cfg, "descriptors", score, p, cfg.descriptor_alpha)
    low, high = ks_interval(score, len(ref), len(cur))
    return SignalResult(
        name="descriptors",
        score=score,
        p_value=p,
        alpha=cfg.descriptor_alpha,
        drifted=drifted,
        effect_low=low,
        effect_high=high,
        effect_floor=floor,
        method=f"KS per descriptor, Bonferroni over {len(DESCRIPTOR_NAMES)}",
        details=details,
    )


def _mix(ref: pd.Series, cur: pd.Series) -> tuple[float, list[str], pd.Series, pd.Series]:
    ref_share = ref.value_counts(normalize=True)
    cur_share = cur.value_counts(normalize=True)
    classes = sorted(set(ref_share.index) | set(cur_share.index))
    tvd = 0.5 * sum(abs(ref_share.get(c, 0.0) - cur_share.get(c, 0.0)) for c in classes)
    return float(tvd), classes, ref_share, cur_share


def prediction_signal(
    values: dict[str, float],
    ref: pd.DataFrame,
    cur: pd.DataFrame,
    cfg: DriftConfig,
    n_tests: int = 2,
) -> SignalResult:
    """Predictions: class-mix and confidence p-values (+ the true label mix when both sides
    are labelled), Bonferroni over the family; score = max(TVDs, confidence KS).

    The details say which part moved: `class_mix_drifted` / `label_mix_drifted` are prior
    (label) shift, `confidence_drifted` is the model growing unsure (1.0 = yes).
    """
    tvd, classes, ref_share, cur_share = _mix(ref[PRED_LABEL], cur[PRED_LABEL])
    conf_ks = float(ks_2samp(ref[PRED_CONF], cur[PRED_CONF]).statistic)
    parts = {"class_mix": values[PRED_LABEL], "confidence": values[PRED_CONF]}
    details = {
        "class_tvd": tvd,
        "class_p": parts["class_mix"],
        "confidence_ks": conf_ks,
        "confidence_p": parts["confidence"],
        "confidence_mean_ref": float(ref[PRED_CONF].mean()),
        "confidence_mean_cur": float(cur[PRED_CONF].mean()),
    }
    details |= {f"share_ref[{c}]": float(ref_share.get(c, 0.0)) for c in classes}
    details |= {f"share_cur[{c}]": float(cur_share.get(c, 0.0)) for c in classes}
    scores = [tvd, conf_ks]
    if TRUE_LABEL in values:
        label_tvd, *_ = _mix(ref[TRUE_LABEL], cur[TRUE_LABEL])
        parts["label_mix"] = values[TRUE_LABEL]
        details |= {"label_tvd": label_tvd, "label_p": parts["label_mix"]}
        scores.append(label_tvd)
    if n_tests != len(parts):
        raise ValueError(f"{len(parts)} prediction tests computed, {n_tests} planned")
    share = cfg.prediction_alpha / n_tests
    details |= {f"{name}_drifted": float(p < share) for name, p in parts.items()}
    p = bonferroni(list(parts.values()))
    score = max(scores)
    drifted, floor = _judged(cfg, "prediction", score, p, cfg.prediction_alpha)
    # The interval of whichever distance is the score (TVD over the classes, or the KS).
    n_ref, n_cur = len(ref), len(cur)
    low, high = (
        ks_interval(score, n_ref, n_cur)
        if score == conf_ks
        else tvd_interval(score, n_ref, n_cur, max(2, len(classes)))
    )
    return SignalResult(
        name="prediction",
        score=score,
        p_value=p,
        alpha=cfg.prediction_alpha,
        drifted=drifted,
        effect_low=low,
        effect_high=high,
        effect_floor=floor,
        method="class mix"
        + (" and label mix" if "label_mix" in parts else "")
        + f": chi-square homogeneity; confidence: KS; Bonferroni over {n_tests}",
        details=details,
    )
