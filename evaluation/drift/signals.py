"""Turn the Evidently values of one check into per-signal results (score, p-value, flag)."""

import pandas as pd
from scipy.stats import ks_2samp

from evaluation.drift.config import DriftConfig, Signal
from evaluation.drift.descriptors import DESCRIPTOR_NAMES
from evaluation.drift.report import PRED_CONF, PRED_LABEL
from evaluation.drift.result import SignalResult
from evaluation.drift.stats import auc_p_value, bonferroni


def classifier_signal(
    name: Signal, auc: float, n: int, cfg: DriftConfig, critical_auc: float
) -> SignalResult:
    """Text or embedding domain classifier: score = held-out AUC, p from the AUC null."""
    # Evidently holds out half of the 2n pooled rows: n held-out rows.
    p = auc_p_value(auc, n_test=n)
    alpha = cfg.alpha(name)
    return SignalResult(
        name=name,
        score=auc,
        p_value=p,
        alpha=alpha,
        drifted=p < alpha,
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
    return SignalResult(
        name="descriptors",
        score=max(ks_stats.values()),
        p_value=p,
        alpha=cfg.descriptor_alpha,
        drifted=p < cfg.descriptor_alpha,
        method=f"KS per descriptor, Bonferroni over {len(DESCRIPTOR_NAMES)}",
        details=details,
    )


def prediction_signal(
    values: dict[str, float], ref: pd.DataFrame, cur: pd.DataFrame, cfg: DriftConfig
) -> SignalResult:
    """Predictions: class-mix and confidence p-values (Bonferroni); score = max(TVD, KS)."""
    ref_share = ref[PRED_LABEL].value_counts(normalize=True)
    cur_share = cur[PRED_LABEL].value_counts(normalize=True)
    classes = sorted(set(ref_share.index) | set(cur_share.index))
    tvd = 0.5 * sum(abs(ref_share.get(c, 0.0) - cur_share.get(c, 0.0)) for c in classes)
    conf_ks = float(ks_2samp(ref[PRED_CONF], cur[PRED_CONF]).statistic)
    p_class, p_conf = values[PRED_LABEL], values[PRED_CONF]
    details = {
        "class_tvd": float(tvd),
        "class_p": p_class,
        "confidence_ks": conf_ks,
        "confidence_p": p_conf,
        "confidence_mean_ref": float(ref[PRED_CONF].mean()),
        "confidence_mean_cur": float(cur[PRED_CONF].mean()),
    }
    details |= {f"share_ref[{c}]": float(ref_share.get(c, 0.0)) for c in classes}
    details |= {f"share_cur[{c}]": float(cur_share.get(c, 0.0)) for c in classes}
    p = bonferroni([p_class, p_conf])
    return SignalResult(
        name="prediction",
        score=max(float(tvd), conf_ks),
        p_value=p,
        alpha=cfg.prediction_alpha,
        drifted=p < cfg.prediction_alpha,
        method="class mix: chi-square homogeneity; confidence: KS; Bonferroni over 2",
        details=details,
    )
