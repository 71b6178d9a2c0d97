"""Wall time of one drift check at 1k / 10k / 100k rows per side (movies vs tweets).

Rows are drawn from the VADER pools, with replacement where the pool is smaller than the size
(100k; also 10k tweets). The embedding signal uses precomputed MiniLM vectors drawn with the
same rows (DriftSample.embeddings), so the times exclude running the encoder; the cost of
embedding the sampled rows with MiniLM is measured once and printed separately.

Two modes: the default config (equal subsamples of sample_size=1,000 rows per side: cost
and power independent of traffic volume) and sample_size=None (all rows compared).

Usage: python bench/drift_timing.py [--sizes 1000,10000,100000] [--full-up-to 100000]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _rows(pool_size: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(pool_size, size=size, replace=size > pool_size)


def main() -> None:
    from orchestration.cli import offline

    offline.apply()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument(
        "--full-up-to", type=int, default=100_000, help="largest size to run with all rows"
    )
    args = parser.parse_args()

    from drift_rates import load_pools

    from evaluation.drift.check import check_drift
    from evaluation.drift.config import DriftConfig

    pools, movie_rows = load_pools()
    movies, tweets = pools["movies"], pools["tweets"]
    rng = np.random.default_rng(0)
    print("| rows per side | mode | check s | rows compared | verdict | html s | html MB |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in [int(s) for s in args.sizes.split(",")]:
            reference = movies.sample(movie_rows[_rows(len(movie_rows), size, rng)])
            current = tweets.sample(_rows(len(tweets.texts), size, rng))
            modes = [("sample_size=1000", DriftConfig())]
            if size <= args.full_up_to:
                modes.append(("all rows", DriftConfig(sample_size=None)))
            for label, cfg in modes:
                start = time.perf_counter()
                result = check_drift(reference, current, config=cfg)
                took = time.perf_counter() - start
                start = time.perf_counter()
                html = result.save_html(Path(tmp) / f"{size}-{label}.html")
                html_s = time.perf_counter() - start
                mb = html.stat().st_size / 2**20
                print(
                    f"| {size:,} | {label} | {took:.1f} | {result.n_compared:,} | "
                    f"{result.verdict} | {html_s:.1f} | {mb:.1f} |",
                    flush=True,
                )

    from models.components.encoder import MiniLMEncoder

    encoder = MiniLMEncoder()
    texts = [movies.texts[i] for i in movie_rows[:1000]] + tweets.texts[:1000]
    start = time.perf_counter()
    encoder.embed(texts)
    took = time.perf_counter() - start
    print(
        f"\nEmbedding is excluded above (precomputed vectors, resampled with the rows). "
        f"When check_drift embeds the sampled rows itself (embed=MiniLMEncoder().embed), add "
        f"{took:.1f} s per check for 2 x 1,000 texts on this machine (~{len(texts) / took:.0f} "
        f"texts/s); pass DriftSample.embeddings for the reference to halve it."
    )


if __name__ == "__main__":
    main()
