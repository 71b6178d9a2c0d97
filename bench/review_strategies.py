"""One review queue, other ways to choose it: does anything beat a uniform sample?

Same data and split as bench/review_loop.py (`load_domains`, `split`: a TF-IDF + LR
champion on 2,000 VADER movie reviews, the target domain 70% traffic / 30% held out,
annotators = the true labels), one queue of N traffic items, retrain on the champion's
rows + the N, macro-F1 on the held-out texts:
- `uniform`: a simple random sample;
- `lowconf`: the champion's N least confident answers;
- `kmeans`: diversity - k-means (k = N) over the traffic's TF-IDF, the item nearest each centre;
- `low50+kmeans`: k-means over the less confident half of the traffic.
Printed per N: each strategy's mean and its paired difference to uniform (± 1.96 SE).

Usage: python bench/review_strategies.py [--seeds 6] [--budgets 100,200,400] [--domain tweets]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import MiniBatchKMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench.review_loop import load_domains, split  # noqa: E402
from models.baseline import TfidfBaseline  # noqa: E402


def _nearest_to_centres(x, pool: np.ndarray, n: int, seed: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    km = MiniBatchKMeans(n_clusters=n, random_state=seed, n_init=3, batch_size=1024).fit(x[pool])
    dist = km.transform(x[pool])
    picked: list[int] = []
    for centre in range(n):
        picked.append(next(pool[i] for i in np.argsort(dist[:, centre]) if pool[i] not in picked))
    return np.asarray(picked)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--budgets", default="100,200,400")
    parser.add_argument("--domain", default="tweets")
    args = parser.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    movies, target = load_domains(args.domain)
    started = time.perf_counter()
    scores: dict[tuple[str, int], list[float]] = {}
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        champ, _, traffic, test = split(movies, target, rng)
        traffic = traffic.reset_index(drop=True)
        champion = TfidfBaseline().fit(champ["text"].tolist(), champ["label"].tolist())
        confidence = champion.predict_proba(traffic["text"].tolist()).max(axis=1)
        x = TfidfVectorizer(min_df=2, sublinear_tf=True).fit_transform(traffic["text"])
        for n in budgets:
            picks = {
                "uniform": rng.choice(len(traffic), n, replace=False),
                "lowconf": np.argsort(confidence)[:n],
                "kmeans": _nearest_to_centres(x, np.arange(len(traffic)), n, seed),
                "low50+kmeans": _nearest_to_centres(
                    x, np.argsort(confidence)[: len(traffic) // 2], n, seed
                ),
            }
            for name, rows in picks.items():
                chosen = traffic.iloc[rows]
                model = TfidfBaseline().fit(
                    [*champ["text"], *chosen["text"]], [*champ["label"], *chosen["label"]]
                )
                f1 = f1_score(test["label"], model.predict(test["text"].tolist()), average="macro")
                scores.setdefault((name, n), []).append(float(f1))
    print(
        f"movies -> {args.domain}, one queue, {args.seeds} seeds, "
        f"{time.perf_counter() - started:.0f} s; macro-F1 (difference to uniform, paired)"
    )
    names = ["uniform", "lowconf", "kmeans", "low50+kmeans"]
    print("| N | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for n in budgets:
        base = np.asarray(scores[("uniform", n)])
        cells = []
        for name in names:
            values = np.asarray(scores[(name, n)])
            diff = values - base
            half = 1.96 * diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else 0.0
            cells.append(f"{values.mean():.3f} ({diff.mean():+.3f} ± {half:.3f})")
        print(f"| {n} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
