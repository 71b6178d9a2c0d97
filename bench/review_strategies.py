"""One review queue, other ways to choose it: does anything beat a uniform sample?

Same data and split as bench/review_loop.py (`load_domains`, `split`: a TF-IDF + LR
champion on 2,000 VADER movie reviews, the target domain 70% traffic / 30% held out,
annotators = the true labels), one queue of N traffic items, retrain on the champion's
rows + the N, macro-F1 on the held-out texts:
- `uniform`: a simple random sample;
- `lowconf`: the champion's N least confident answers;
- `kmeans`: diversity - k-means (k = N) over the traffic's TF-IDF, the item nearest each centre;
- `low50+kmeans`: k-means over the less confident half of the traffic;
- `drifted`: the review queue's drifted-slice stratum (evaluation/review/slices.py): the
  traffic items with the highest density ratio against the champion's texts, then uniform.
Printed per N: each strategy's mean and its paired difference to uniform (± 1.96 SE).

`--in-domain-share S` mixes the traffic as production sees a new segment arrive: the other
2,000 movie reviews (never trained on) are S of it, the target domain the rest.

Usage: python bench/review_strategies.py [--seeds 6] [--budgets 100,200,400] [--domain tweets]
       [--in-domain-share 0.8]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import MiniBatchKMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench.review_loop import load_domains, split  # noqa: E402
from evaluation.review.slices import drifted_slices  # noqa: E402
from models.baseline import TfidfBaseline  # noqa: E402


def _nearest_to_centres(x, pool: np.ndarray, n: int, seed: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    km = MiniBatchKMeans(n_clusters=n, random_state=seed, n_init=3, batch_size=1024).fit(x[pool])
    dist = km.transform(x[pool])
    picked: list[int] = []
    for centre in range(n):
        picked.append(next(pool[i] for i in np.argsort(dist[:, centre]) if pool[i] not in picked))
    return np.asarray(picked)


def _drifted_then_uniform(
    ratio: np.ndarray, n: int, rng: np.random.Generator, top_first: bool = False
) -> np.ndarray:
    """As the queue does: a random sample of the items at a density ratio >= 2 (or the
    highest first), the rest uniform."""
    over = np.flatnonzero(ratio >= 2.0)
    if top_first:
        top = over[np.argsort(-ratio[over])][:n]
    else:
        top = rng.choice(over, min(n, len(over)), replace=False)
    rest = np.setdiff1d(np.arange(len(ratio)), top)
    return np.concatenate([top, rng.choice(rest, n - len(top), replace=False)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--budgets", default="100,200,400")
    parser.add_argument("--domain", default="tweets")
    parser.add_argument("--in-domain-share", type=float, default=0.0)
    args = parser.parse_args()
    if not 0.0 <= args.in_domain_share < 1.0:
        parser.error("--in-domain-share must be in [0, 1)")
    budgets = [int(b) for b in args.budgets.split(",")]
    movies, target = load_domains(args.domain)
    started = time.perf_counter()
    scores: dict[tuple[str, int], list[float]] = {}
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        champ, other_movies, traffic, test = split(movies, target, rng)
        if args.in_domain_share:
            share = args.in_domain_share
            new = traffic.sample(round(len(other_movies) * (1 - share) / share), random_state=seed)
            traffic = pd.concat([other_movies, new])
        traffic = traffic.reset_index(drop=True)
        ratio = drifted_slices(champ["text"].tolist(), traffic["text"].tolist()).ratio
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
                "drifted": _drifted_then_uniform(ratio, n, rng),
                "drifted-top": _drifted_then_uniform(ratio, n, rng, top_first=True),
            }
            for name, rows in picks.items():
                chosen = traffic.iloc[rows]
                model = TfidfBaseline().fit(
                    [*champ["text"], *chosen["text"]], [*champ["label"], *chosen["label"]]
                )
                f1 = f1_score(test["label"], model.predict(test["text"].tolist()), average="macro")
                scores.setdefault((name, n), []).append(float(f1))
    mix = f"{args.in_domain_share:.0%} movies + " if args.in_domain_share else ""
    print(
        f"movies -> {mix}{args.domain}, one queue, {args.seeds} seeds, "
        f"{time.perf_counter() - started:.0f} s; macro-F1 (difference to uniform, paired)"
    )
    names = ["uniform", "lowconf", "kmeans", "low50+kmeans", "drifted", "drifted-top"]
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
