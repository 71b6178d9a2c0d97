"""Corpus metrics of evaluation.stats.metrics against hand-computed values and scikit-learn.

Pure numpy: no files, no models. The batched (bootstrap) forms are checked against a plain
loop over the same resamples.
"""

import numpy as np
import pytest
from sklearn.metrics import f1_score, recall_score

from evaluation.stats import metrics as M

# 3 classes, 6 rows. Confusion (rows = truth): [[1,1,0],[0,2,0],[1,0,1]].
Y_TRUE = np.array([0, 0, 1, 1, 2, 2])
Y_PRED = np.array([0, 1, 1, 1, 2, 0])


def test_confusion_accuracy_recall_by_hand() -> None:
    cm = M.batched_confusion(Y_TRUE, Y_PRED, 3)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert M.accuracy(cm) == pytest.approx(4 / 6)
    assert M.per_class_recall(cm) == pytest.approx([0.5, 1.0, 0.5])


def test_macro_f1_by_hand() -> None:
    # F1 = 2TP/(2TP+FP+FN): class 0 2/4, class 1 4/5, class 2 2/3.
    cm = M.batched_confusion(Y_TRUE, Y_PRED, 3)
    assert M.per_class_f1(cm) == pytest.approx([0.5, 0.8, 2 / 3])
    assert M.macro_f1(cm) == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)


def test_absent_class_is_skipped_not_zero() -> None:
    # A 4th class nobody has or predicts: recall undefined, macro-F1 unchanged.
    cm = M.batched_confusion(Y_TRUE, Y_PRED, 4)
    assert np.isnan(M.per_class_recall(cm)[3])
    assert M.macro_f1(cm) == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)


def test_macro_f1_and_recall_match_sklearn_on_random_labels() -> None:
    rng = np.random.default_rng(3)
    t = rng.integers(0, 4, 500)
    p = np.where(rng.random(500) < 0.6, t, rng.integers(0, 5, 500))  # class 4 only predicted
    cm = M.batched_confusion(t, p, 5)
    assert M.macro_f1(cm) == pytest.approx(f1_score(t, p, average="macro"))
    rec = M.per_class_recall(cm)[:4]
    assert rec == pytest.approx(recall_score(t, p, average=None, labels=[0, 1, 2, 3]))


def test_ece_by_hand() -> None:
    conf = np.array([0.95, 0.9, 0.6, 0.55, 0.85, 0.7])
    correct = np.array([1, 0, 1, 1, 1, 0])
    # 5 bins (lo, hi]: (0.8,1]: conf .9 acc 2/3 (3 rows); (0.4,0.6]: conf .575 acc 1 (2 rows);
    # (0.6,0.8]: conf .7 acc 0 (1 row) -> 3/6*.2333 + 2/6*.425 + 1/6*.7 = 0.375
    assert M.batched_ece(conf, correct, n_bins=5) == pytest.approx(0.375)
    table = M.reliability_table(conf, correct, n_bins=5)
    assert table["count"] == [0, 0, 2, 1, 3]
    assert table["accuracy"][4] == pytest.approx(2 / 3)
    assert np.isnan(table["accuracy"][0])


def test_ece_of_perfectly_calibrated_bins_is_zero() -> None:
    conf = np.array([0.75] * 4 + [1.0] * 3)
    correct = np.array([1, 1, 1, 0, 1, 1, 1])
    assert M.batched_ece(conf, correct, n_bins=4) == pytest.approx(0.0)


def test_batched_forms_equal_a_loop_over_resamples() -> None:
    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 3, 80), rng.integers(0, 3, 80)
    conf, correct = rng.uniform(0.34, 1.0, 80), rng.random(80) < 0.5
    idx = rng.integers(0, 80, (25, 80))
    cms = M.batched_confusion(t, p, 3, idx)
    eces = M.batched_ece(conf, correct, 10, idx)
    for b in range(25):
        one = M.batched_confusion(t[idx[b]], p[idx[b]], 3)
        assert (cms[b] == one).all()
        assert eces[b] == pytest.approx(M.batched_ece(conf[idx[b]], correct[idx[b]], 10))
    assert M.macro_f1(cms) == pytest.approx([float(M.macro_f1(c)) for c in cms])


def test_entropy() -> None:
    probs = np.array([[0.5, 0.5], [1.0, 0.0], [0.9, 0.1]])
    ent = M.entropy(probs)
    assert ent == pytest.approx([np.log(2), 0.0, -(0.9 * np.log(0.9) + 0.1 * np.log(0.1))])
    assert M.entropy(probs, normalise=True)[0] == pytest.approx(1.0)
