"""The fast tier against the TF-IDF+LR baseline over k held-out folds, not one test split.

Why: one test split of ~2,000 rows moves macro-F1 by about ±1.5 points from draw to draw, so
one split cannot tell a tier that is 0.5 points worse from one that is 0.5 points better
(bench/baseline_vs_tiers.py prints that interval). Here the dataset's rows are dealt into
ten buckets by a hash of their row id; fold f tests on bucket 2f, selects epochs on bucket
2f+1 and trains on the other eight, so every row is held out exactly once across five folds.
Both models are the product's own (`models.training.train` with the retrain asset's epochs,
`models.baseline.TfidfBaseline`), as bench/baseline_vs_tiers.py runs them.

Printed per fold: validation and test macro-F1 of each model and the test difference; then
the mean difference with a 95% interval from the corrected resampled t-test (Nadeau and
Bengio, 2003): fold scores share most of their training rows, so the plain t-test's
variance s²/k is widened to (1/k + n_test/n_train)·s².

    .venv/bin/python bench/baseline_cv.py [--datasets vader trec docstrings] [--folds 5]
"""

import argparse
import hashlib
import tempfile
from pathlib import Path

import numpy as np
from baseline_vs_tiers import run_baseline, run_tier, snapshot_of
from scipy import stats

from data.schema import ROW_ID, SPLIT
from orchestration.cli import offline

BUCKETS = 10


def fold_split(row_ids: "np.ndarray | list[str]", fold: int) -> np.ndarray:
    """Split labels of fold `fold`: test = bucket 2f, val = bucket 2f+1, train = the rest."""
    buckets = np.array(
        [int(hashlib.sha256(f"cv:{r}".encode()).hexdigest()[:8], 16) % BUCKETS for r in row_ids]
    )
    return np.where(buckets == 2 * fold, "test", np.where(buckets == 2 * fold + 1, "val", "train"))


def corrected_interval(
    diffs: list[float], n_test: int, n_train: int, level: float = 0.95
) -> tuple[float, float, float]:
    """Mean of `diffs` and its interval by the corrected resampled t-test."""
    d = np.asarray(diffs, dtype=float)
    k = len(d)
    se = np.sqrt((1 / k + n_test / n_train) * d.var(ddof=1))
    half = stats.t.ppf(0.5 + level / 2, df=k - 1) * se
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["vader", "trec", "docstrings"])
    parser.add_argument("--folds", type=int, default=5, choices=range(2, BUCKETS // 2 + 1))
    args = parser.parse_args()
    offline.apply()

    summary = []
    for name in args.datasets:
        snapshot = snapshot_of(name)
        diffs, sizes = [], []
        print(f"\n{name}: {len(snapshot)} rows, {args.folds} folds")
        print(f"{'fold':>4} {'baseline val / test':>20} {'fast val / test':>17} {'test diff':>10}")
        for fold in range(args.folds):
            split = snapshot.assign(**{SPLIT: fold_split(snapshot[ROW_ID].tolist(), fold)})
            base = run_baseline(split)
            with tempfile.TemporaryDirectory() as tmp:
                fast = run_tier("fast", split, Path(tmp), {})
            diffs.append(fast["test"] - base["test"])
            counts = split[SPLIT].value_counts()
            sizes.append((counts["test"], counts["train"]))
            print(
                f"{fold:>4} {base['val']:>9.3f} / {base['test']:.3f} "
                f"{fast['val']:>8.3f} / {fast['test']:.3f} {diffs[-1]:>+10.3f}",
                flush=True,
            )
        n_test, n_train = (int(np.mean(c)) for c in zip(*sizes, strict=True))
        summary.append((name, *corrected_interval(diffs, n_test, n_train), diffs))

    print(f"\n{'dataset':<11} {'fast - baseline (test macro-F1)':>40} {'95% CI, corrected t':>22}")
    for name, mean, low, high, diffs in summary:
        wins = sum(d > 0 for d in diffs)
        print(
            f"{name:<11} {mean:>+15.3f} ({wins}/{len(diffs)} folds above 0) "
            f"{f'[{low:+.3f}, {high:+.3f}]':>22}"
        )


if __name__ == "__main__":
    main()
