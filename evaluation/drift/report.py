"""The Evidently 0.7 Report behind a drift check: explicit methods and thresholds per column.

Nothing here is left to Evidently's automatic method choice (which switches tests at 1,000
rows): every column gets a named method, and thresholds are set so that Evidently's own
drift flags in the HTML agree with the verdict in evaluation/drift/check.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evaluation.drift.config import DriftConfig
from evaluation.drift.stats import auc_critical_value

# Evidently (~2 s to import) is imported where a report is built: every Dagster run loads
# this module with the Definitions, and a batch too small to judge never needs it.
if TYPE_CHECKING:
    from evidently import DataDefinition, Dataset
    from evidently.legacy.core import ColumnType
    from evidently.metrics.embeddings import ModelDriftMethod

TEXT = "text"
PRED_LABEL = "predicted_label"
PRED_CONF = "confidence"
TRUE_LABEL = "label"  # a labelled batch's own labels (prior shift, beside the predicted mix)
CHI2_HOMOGENEITY = "driftwise_chi2_homogeneity"


def _chi2_homogeneity(
    reference: pd.Series, current: pd.Series, feature_type: ColumnType, threshold: float
) -> tuple[float, bool]:
    """Two-sample chi-square test of homogeneity (2 x K contingency table) -> (p, drifted)."""
    from scipy.stats import chi2_contingency

    classes = sorted(set(reference.dropna()) | set(current.dropna()))
    if len(classes) < 2:
        return 1.0, False  # one class on both sides: nothing can differ
    table = np.array(
        [[(reference == c).sum() for c in classes], [(current == c).sum() for c in classes]]
    )
    p = float(chi2_contingency(table).pvalue)
    return p, p < threshold


def _ensure_stattests_registered() -> None:
    """Register our categorical two-sample test with Evidently (idempotent; on first use).

    Why our own: Evidently's "chisquare" and "g_test" are goodness-of-fit tests that treat
    the reference shares as known constants, which inflates the false-positive rate when the
    reference is itself a sample of the same size; its valid alternative ("TVD", a 1,000-draw
    permutation test in Python) costs ~10 s per check at 1,000 rows.
    """
    from evidently.legacy.calculations.stattests import registry as stattest_registry
    from evidently.legacy.core import ColumnType

    try:
        stattest_registry.get_registered_stattest(CHI2_HOMOGENEITY, ColumnType.Categorical)
        return
    except stattest_registry.StatTestNotFoundError:
        pass
    test = stattest_registry.StatTest(
        name=CHI2_HOMOGENEITY,
        display_name="chi-square homogeneity p_value",
        allowed_feature_types=[ColumnType.Categorical],
        default_threshold=0.05,
    )
    stattest_registry.register_stattest(test, _chi2_homogeneity)


@dataclass(frozen=True)
class ReportPlan:
    """What to put in the report for one check.

    Attributes:
        n: rows per side (equal-size subsamples).
        config: the check's configuration (significance levels).
        descriptors: descriptor column names.
        embedding_dim: embedding width; 0 = no embedding signal.
        with_predictions: add the predicted-class and confidence columns.
        with_labels: add the true-label column (both sides labelled; needs predictions).
    """

    n: int
    config: DriftConfig
    descriptors: tuple[str, ...]
    embedding_dim: int
    with_predictions: bool
    with_labels: bool = False
    embedding_name: str = "embedding"

    @property
    def embedding_in_report(self) -> bool:
        return self.embedding_dim > 0 and self.config.embedding_plot

    @property
    def embedding_columns(self) -> list[str]:
        return [f"emb_{i:04d}" for i in range(self.embedding_dim)]

    @property
    def text_critical_auc(self) -> float:
        # Evidently's text drift holds out half of the 2n pooled rows: n test rows.
        return auc_critical_value(self.config.text_alpha, n_test=self.n)

    @property
    def embedding_critical_auc(self) -> float:
        return auc_critical_value(self.config.embedding_alpha, n_test=self.n)

    def embedding_method(self) -> ModelDriftMethod:
        from evidently.metrics.embeddings import ModelDriftMethod

        # Evidently's domain classifier on embeddings, judged against our critical AUC.
        return ModelDriftMethod(threshold=self.embedding_critical_auc, bootstrap=False)

    def metrics(self) -> list[Any]:
        from evidently.metrics import EmbeddingsDrift, ValueDrift

        cfg = self.config
        metrics: list[Any] = [
            # "abs" = compare the held-out AUC with our threshold (the null-distribution critical
            # value for this n), instead of the 0.55 constant or a 1,000-draw simulation.
            ValueDrift(
                column=TEXT, method="abs_text_content_drift", threshold=self.text_critical_auc
            )
        ]
        per_descriptor = cfg.descriptor_alpha / len(self.descriptors)
        metrics += [
            ValueDrift(column=d, method="ks", threshold=per_descriptor) for d in self.descriptors
        ]
        if self.embedding_in_report:
            metrics.append(
                EmbeddingsDrift(
                    embeddings_name=self.embedding_name, drift_method=self.embedding_method()
                )
            )
        if self.with_predictions:
            # Bonferroni inside the prediction family: class mix, confidence (+ label mix).
            share = cfg.prediction_alpha / self.prediction_tests
            metrics.append(ValueDrift(column=PRED_LABEL, method=CHI2_HOMOGENEITY, threshold=share))
            metrics.append(ValueDrift(column=PRED_CONF, method="ks", threshold=share))
            if self.with_labels:
                metrics.append(
                    ValueDrift(column=TRUE_LABEL, method=CHI2_HOMOGENEITY, threshold=share)
                )
        return metrics

    @property
    def prediction_tests(self) -> int:
        return 3 if self.with_labels else 2

    def definition(self) -> DataDefinition:
        from evidently import DataDefinition

        numerical = list(self.descriptors)
        categorical: list[str] = []
        if self.with_predictions:
            numerical.append(PRED_CONF)
            categorical.append(PRED_LABEL)
        if self.with_labels:
            categorical.append(TRUE_LABEL)
        embeddings = (
            {self.embedding_name: self.embedding_columns} if self.embedding_in_report else None
        )
        return DataDefinition(
            text_columns=[TEXT],
            numerical_columns=numerical,
            categorical_columns=categorical,
            embeddings=embeddings,
        )


def _dataset(plan: ReportPlan, frame: pd.DataFrame, emb: np.ndarray | None) -> Dataset:
    from evidently import Dataset

    if plan.embedding_in_report and emb is not None:
        emb_frame = pd.DataFrame(emb, columns=plan.embedding_columns, index=frame.index)
        frame = pd.concat([frame, emb_frame], axis=1)
    return Dataset.from_pandas(frame, data_definition=plan.definition())


def run_report(
    plan: ReportPlan,
    ref: pd.DataFrame,
    cur: pd.DataFrame,
    ref_emb: np.ndarray | None,
    cur_emb: np.ndarray | None,
) -> tuple[dict[str, float], Any]:
    """Run the report; return {column or embedding name: Evidently value} and the snapshot.

    The value is what the method returns: a p-value for the KS and chi-square tests, a
    held-out ROC AUC for the two domain classifiers. Without `embedding_plot` the embedding
    classifier is Evidently's same ModelDriftMethod called directly (no t-SNE).
    """
    from evidently import Report

    _ensure_stattests_registered()
    report = Report(plan.metrics())
    snapshot = report.run(
        current_data=_dataset(plan, cur, cur_emb), reference_data=_dataset(plan, ref, ref_emb)
    )
    values: dict[str, float] = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        key = config.get("column") or config.get("embeddings_name")
        values[str(key)] = float(metric["value"])
    if plan.embedding_dim and not plan.embedding_in_report:
        if ref_emb is None or cur_emb is None:
            raise ValueError("embedding_dim > 0 but embeddings missing")
        columns = plan.embedding_columns
        auc, _, _ = plan.embedding_method()(
            pd.DataFrame(cur_emb, columns=columns), pd.DataFrame(ref_emb, columns=columns)
        )
        values[plan.embedding_name] = float(auc)
    expected = {TEXT, *plan.descriptors}
    expected |= {plan.embedding_name} if plan.embedding_dim else set()
    expected |= {PRED_LABEL, PRED_CONF} if plan.with_predictions else set()
    expected |= {TRUE_LABEL} if plan.with_labels else set()
    missing = expected - values.keys()
    if missing:
        raise RuntimeError(f"Evidently report lacks results for {sorted(missing)}")
    return values, snapshot
