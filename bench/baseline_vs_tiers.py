"""Held-out macro-F1 of the TF-IDF+LR baseline, the fast tier and the accurate tier, per dataset.

Every dataset becomes a training snapshot the way the product makes one
(`data.snapshot.build_snapshot`: row-id dedup, hash split 80/10/10, golden rows excluded for
the default data), and each tier is trained by the product's own `models.training.train` with
the defaults of the retrain asset (fast: 10 epochs, accurate: 20, early stopping on val
macro-F1). The baseline (`models.baseline.TfidfBaseline`) fits on the same train split.
Printed per model: validation macro-F1 (the split early stopping and checkpoint selection
looked at) beside held-out test macro-F1 (never looked at): if validation predicts test, the
two columns agree and there is no selection leakage. Last, each tier's test macro-F1 minus
the baseline's with a 95% paired bootstrap interval (the same resampled test rows for both
models, evaluation.stats.bootstrap): a difference whose interval holds 0 is within the
noise of the test split.

    .venv/bin/python bench/baseline_vs_tiers.py [--datasets vader docstrings trec]
        [--tiers fast accurate] [--fast '{"embed_dim": 64}'] [--accurate '{"max_tokens": 256}']

Datasets: `vader` = the default data (all five default batches: movies, tweets, Amazon, NYT),
`docstrings` = data.docstrings (long texts, 10 classes), `trec` = data.trec (6 classes).
MiniLM embeddings go to the shared cache ($DRIFTWISE_HOME/cache/embeddings): the first run
embeds every text (~20k short VADER snippets take minutes on 2 cores), later runs read them.
"""

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from data.schema import DOMAIN, LABEL, ROW_ID, SPLIT, TEXT, row_id
from orchestration.cli import offline

REPO = Path(__file__).resolve().parents[1]
EPOCHS = {"fast": 10, "accurate": 20}  # assets.training.TrainConfig defaults


def home() -> Path:
    return Path(os.environ.get("DRIFTWISE_HOME", REPO / ".driftwise"))


def _canonical(frame: pd.DataFrame, text: str, label: str, domain: str | None) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            TEXT: frame[text].astype(str),
            LABEL: frame[label].astype(str),
            DOMAIN: frame[domain] if domain else None,
        }
    )
    return out.assign(**{ROW_ID: out[TEXT].map(row_id)})


def snapshot_of(name: str) -> pd.DataFrame:
    """The dataset as a product training snapshot."""
    from data.snapshot import build_snapshot
    from data.vader import fetch_wheel

    cache = home() / "cache"
    if name == "vader":
        from data.default_batches import default_batches
        from data.golden_set import load_golden
        from data.vader import load_vader

        batches = default_batches(load_vader(fetch_wheel(cache)))
        rows = [_canonical(b, "text", "label", "domain") for b in batches.values()]
        return build_snapshot(rows, load_golden().row_ids)
    if name == "docstrings":
        from data.docstrings import load_library_docstrings

        frame = load_library_docstrings(cache / "datasets")
        return build_snapshot([_canonical(frame, "text", "library", None)])
    if name == "trec":
        from data.trec import load_trec_questions

        frame = load_trec_questions(fetch_wheel(cache))
        return build_snapshot([_canonical(frame, "question", "topic", None)])
    raise ValueError(f"unknown dataset {name!r}")


def run_baseline(snapshot: pd.DataFrame) -> dict[str, Any]:
    from data.snapshot import label_set
    from models.baseline import TfidfBaseline
    from models.reports import ClassificationReport

    labels = label_set(snapshot)
    started = time.perf_counter()
    model = TfidfBaseline().fit_snapshot(snapshot)
    seconds = time.perf_counter() - started
    scores = {}
    for split in ("val", "test"):
        rows = snapshot[snapshot[SPLIT] == split]
        predicted = model.predict(rows[TEXT].tolist())
        report = ClassificationReport.from_labels(rows[LABEL].tolist(), predicted, labels)
        scores[split] = report.macro_f1
        if split == "test":
            test_predictions = predicted
    return {
        "val": scores["val"],
        "test": scores["test"],
        "seconds": seconds,
        "predictions": test_predictions,
    }


def paired_difference(
    truth: list[str], ours: list[str], baseline: list[str], labels: list[str]
) -> tuple[float, float, float]:
    """Test macro-F1 of `ours` minus `baseline`: point and 95% paired bootstrap interval."""
    import numpy as np

    from evaluation.stats.bootstrap import bootstrap_samples, percentile_interval
    from evaluation.stats.metrics import batched_confusion, macro_f1

    index = {label: i for i, label in enumerate(labels)}
    y, a, b = (np.array([index[v] for v in vs]) for vs in (truth, ours, baseline))
    k = len(labels)

    def diff(idx: np.ndarray) -> np.ndarray:
        return macro_f1(batched_confusion(y, a, k, idx)) - macro_f1(batched_confusion(y, b, k, idx))

    point = float(macro_f1(batched_confusion(y, a, k)) - macro_f1(batched_confusion(y, b, k)))
    interval = percentile_interval(
        point, bootstrap_samples(diff, len(y), n_resamples=2000), 0.95, len(y)
    )
    return point, interval.low, interval.high


def run_tier(
    tier: str, snapshot: pd.DataFrame, work: Path, overrides: dict[str, Any]
) -> dict[str, Any]:
    from models.inference import load_predictor
    from models.lexical_policy import choose_lexical
    from models.spec import TrainSpec
    from models.training import train

    overrides = dict(overrides)
    lexical = None
    if tier == "accurate" and "lexical" not in overrides:
        # The product's default (`accurate_lexical: auto`), judged here on the test split:
        # the bag is on when the training split covers every domain the test rows come from.
        train_rows, test_rows = (snapshot[snapshot[SPLIT] == s] for s in ("train", "test"))
        lexical = choose_lexical("auto", train_rows[DOMAIN], test_rows[DOMAIN])
        overrides["lexical"] = lexical.lexical
    spec = TrainSpec.model_validate({"tier": tier, "max_epochs": EPOCHS[tier], **overrides})
    started = time.perf_counter()
    result = train(
        snapshot, spec, work / tier, cache_dir=home() / "cache" / "embeddings", resume=False
    )
    assert result is not None and result.test is not None
    test_rows = snapshot[snapshot[SPLIT] == "test"]
    # the served path (the bundle read back), as the gate scores it
    predictions = load_predictor(result.bundle_dir).predict(test_rows[TEXT].tolist())
    return {
        "predictions": predictions,
        "val": result.val.macro_f1,
        "test": result.test.macro_f1,
        "seconds": time.perf_counter() - started,  # embedding (first run) + fit + scoring
        "epochs": f"{result.best_epoch}/{result.epochs_completed}",
        "truncated": result.truncation.share if result.truncation else None,
        "window": spec.max_tokens,
        "lexical": spec.wide,
        **({"lexical_reason": lexical.reason} if lexical else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["vader", "docstrings", "trec"])
    parser.add_argument("--tiers", nargs="+", default=["fast", "accurate"])
    parser.add_argument("--fast", type=json.loads, default={}, help="TrainSpec overrides (JSON)")
    parser.add_argument("--accurate", type=json.loads, default={}, help="TrainSpec overrides")
    args = parser.parse_args()
    offline.apply()  # before transformers/mlflow are imported (they read it at import)
    overrides = {"fast": args.fast, "accurate": args.accurate}

    rows = []
    for name in args.datasets:
        snapshot = snapshot_of(name)
        sizes = snapshot[SPLIT].value_counts()
        row: dict[str, Any] = {
            "dataset": name,
            "classes": snapshot[LABEL].nunique(),
            "rows": f"{sizes['train']}/{sizes['val']}/{sizes.get('test', 0)}",
            "baseline": run_baseline(snapshot),
        }
        print(f"{name}: {row['rows']} rows, baseline {row['baseline']}", flush=True)
        truth = snapshot[snapshot[SPLIT] == "test"][LABEL].tolist()
        with tempfile.TemporaryDirectory() as tmp:
            for tier in args.tiers:
                row[tier] = run_tier(tier, snapshot, Path(tmp), overrides[tier])
                row[tier]["vs_baseline"] = paired_difference(
                    truth,
                    row[tier].pop("predictions"),
                    row["baseline"]["predictions"],
                    sorted(set(snapshot[LABEL])),
                )
                print(f"{name}: {tier} {row[tier]}", flush=True)
        row["baseline"].pop("predictions")
        rows.append(row)

    models = ["baseline", *args.tiers]
    head = f"{'dataset':<11} {'k':>3} {'train/val/test':>15} " + " ".join(
        f"{m + ' val / test':>22}" for m in models
    )
    print("\n" + head + f" {'accurate truncated':>34}\n" + "-" * (len(head) + 35))
    for row in rows:
        cells = []
        for m in models:
            r = row[m]
            cells.append(f"{r['val']:.3f} / {r['test']:.3f} ({r['seconds']:4.0f}s)".rjust(22))
        acc = row.get("accurate")
        trunc = (
            f"{acc['truncated']:.0%} > {acc['window']} tok"
            if acc and acc["truncated"] is not None
            else ""
        )
        if acc:
            trunc += " (wide)" if acc["lexical"] else " (encoder only)"
        print(
            f"{row['dataset']:<11} {row['classes']:>3} {row['rows']:>15} "
            + " ".join(cells)
            + f" {trunc:>34}"
        )
    print(
        "\nmacro-F1 on the snapshot's val split (early stopping / checkpoint selection) and "
        "test split (held out);\nseconds: baseline fit; tiers: train() end to end (includes "
        "embedding texts not yet cached).\n"
        f"overrides: fast {args.fast or 'none'}, accurate {args.accurate or 'none'}; epochs "
        f"(best/run): "
        + ", ".join(
            f"{r['dataset']} " + " ".join(f"{t} {r[t]['epochs']}" for t in args.tiers) for r in rows
        )
    )
    print("\ntest macro-F1, tier minus baseline (95% paired bootstrap, 2000 resamples):")
    for row in rows:
        print(
            f"{row['dataset']:<11} "
            + "  ".join(
                f"{t} {d:+.3f} [{lo:+.3f}, {hi:+.3f}]"
                for t in args.tiers
                for d, lo, hi in [row[t]["vs_baseline"]]
            )
        )


if __name__ == "__main__":
    main()
