"""What a reviewed label is worth: our review policy vs a uniform sample, at equal budgets.

Scenario (default data, VADER): a champion trained on movie reviews meets traffic from a
shifted domain (tweets by default). Each seed:
- the champion: `models/baseline.py`'s TF-IDF + LR (the fast tier's family) on 2,000 random
  movie rows; a challenger in shadow: the same recipe on 2,000 other movie rows (so the log
  has champion/challenger disagreements, as a canary's does);
- the target domain splits 70/30 into traffic (the prediction log: every answer logged,
  weight 1) and a held-out test set;
- the queue: `evaluation/review/selection.py` with the real `ReviewPolicy` at N items
  (30% disagreement, 50% low confidence, 20% uniform) vs the same selector with all N
  uniform. Annotators are simulated by the held-out true labels;
- retrain on the champion's 2,000 rows + the N reviewed rows; macro-F1 on the test set.
Reported per N: mean macro-F1 of each arm with a 95% t-interval over seeds, the paired
difference (policy - uniform) with its interval, and the label budget each arm needs to
recover 90% of the gap between the champion (no target labels) and a model given every
traffic label of the target domain. The inclusion-weighted live-accuracy estimate of the
policy's queue (evaluation/review/estimate.py) is printed beside the champion's true
accuracy on the traffic, so the estimate's bias is visible too.

Usage: python bench/review_loop.py [--seeds 10] [--budgets 50,100,200,400,800]
       [--domain tweets|amazon|nyt]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import f1_score

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from data.vader import fetch_wheel, load_vader  # noqa: E402
from evaluation.review.estimate import reviewed_accuracy  # noqa: E402
from evaluation.review.policy import ReviewPolicy  # noqa: E402
from evaluation.review.selection import select_for_review  # noqa: E402
from models.baseline import TfidfBaseline  # noqa: E402

CHAMPION_ROWS = 2000


def _answers(model: TfidfBaseline, texts: list[str], arm: str) -> pd.DataFrame:
    probs = model.predict_proba(texts)
    classes = model.classes
    return pd.DataFrame(
        {
            "text": texts,
            "label": [classes[i] for i in probs.argmax(axis=1)],
            "confidence": probs.max(axis=1),
            "arm": arm,
            "model_version": "1" if arm == "champion" else "2",
            "request_id": [f"{arm}-{i}" for i in range(len(texts))],
            "sampling_weight": 1.0,
        }
    )


def _macro_f1(model: TfidfBaseline, test: pd.DataFrame) -> float:
    return float(f1_score(test["label"], model.predict(test["text"].tolist()), average="macro"))


def _interval(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values)
    if len(a) < 2:
        return float(a.mean()), float("nan")
    half = stats.t.ppf(0.975, len(a) - 1) * a.std(ddof=1) / np.sqrt(len(a))
    return float(a.mean()), float(half)


def load_domains(domain: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The VADER movie reviews (the champion's domain) and the shifted `domain`'s texts."""
    from bench.drift_rates import cache_dir

    df = load_vader(fetch_wheel(cache_dir()))
    movies = df[df["domain"] == "movies"].reset_index(drop=True)
    target = df[df["domain"] == domain].drop_duplicates("text").reset_index(drop=True)
    return movies, target


def split(
    movies: pd.DataFrame, target: pd.DataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Champion rows, challenger rows (movies), traffic (70%) and held-out test (target)."""
    order = rng.permutation(len(movies))
    champ_rows = movies.iloc[order[:CHAMPION_ROWS]]
    chall_rows = movies.iloc[order[CHAMPION_ROWS : 2 * CHAMPION_ROWS]]
    t_order = rng.permutation(len(target))
    cut = int(0.7 * len(target))
    return champ_rows, chall_rows, target.iloc[t_order[:cut]], target.iloc[t_order[cut:]]


def run_seed(
    movies: pd.DataFrame, target: pd.DataFrame, seed: int, budgets: list[int], rounds: int
) -> dict:
    rng = np.random.default_rng(seed)
    champ_rows, chall_rows, traffic, test = split(movies, target, rng)
    truth = dict(zip(traffic["text"], traffic["label"], strict=False))

    champion = TfidfBaseline().fit(champ_rows["text"].tolist(), champ_rows["label"].tolist())
    challenger = TfidfBaseline().fit(chall_rows["text"].tolist(), chall_rows["label"].tolist())
    texts = traffic["text"].tolist()
    log = pd.concat(
        [_answers(champion, texts, "champion"), _answers(challenger, texts, "challenger")]
    )
    served = log[log["arm"] == "champion"]
    out: dict = {
        "base": _macro_f1(champion, test),
        "true_accuracy": float((served["label"] == traffic["label"].to_numpy()).mean()),
    }
    full = TfidfBaseline().fit(
        [*champ_rows["text"], *traffic["text"]], [*champ_rows["label"], *traffic["label"]]
    )
    out["full"] = _macro_f1(full, test)
    for n in budgets:
        arms = {
            "policy": ReviewPolicy(
                daily_cap=n,
                disagreement=int(0.3 * n),
                low_confidence=int(0.5 * n),
                uniform=n - int(0.3 * n) - int(0.5 * n),
                max_confidence=1.0,
                seed=seed,
            ),
            "uniform": ReviewPolicy(
                daily_cap=n, disagreement=0, low_confidence=0, uniform=n, seed=seed
            ),
        }
        for arm, policy in arms.items():
            model, queues = champion, []
            for day in range(rounds):  # a queue a day, the model retrained in between
                per_day = policy.model_copy(
                    update={
                        k: getattr(policy, k) // rounds
                        for k in ("daily_cap", "disagreement", "low_confidence", "uniform")
                    }
                )
                queued = {k for q in queues for k in q["review_key"]}
                day_log = (
                    log
                    if day == 0
                    else pd.concat(
                        [_answers(model, texts, "champion"), log[log["arm"] == "challenger"]]
                    )
                )
                queues.append(select_for_review(day_log, per_day, f"seed-{seed}-{day}", queued))
                reviewed = pd.concat(queues, ignore_index=True)
                labels = [truth[t] for t in reviewed["text"]]
                model = TfidfBaseline().fit(
                    [*champ_rows["text"], *reviewed["text"]], [*champ_rows["label"], *labels]
                )
            out[(arm, n)] = _macro_f1(model, test)
            if arm == "policy":
                first = queues[0].assign(label=[truth[t] for t in queues[0]["text"]])
                (row,) = reviewed_accuracy(first[first["model_version"] == "1"])
                out[("estimate", n)] = (row.estimate, row.low, row.high, row.unweighted)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budgets", default="50,100,200,400,800")
    parser.add_argument("--domain", default="tweets")
    parser.add_argument("--rounds", type=int, default=1, help="daily queues, retrain between")
    args = parser.parse_args()
    budgets = [int(x) for x in args.budgets.split(",")]
    movies, target = load_domains(args.domain)
    started = time.perf_counter()
    runs = [run_seed(movies, target, seed, budgets, args.rounds) for seed in range(args.seeds)]
    base, base_h = _interval([r["base"] for r in runs])
    full, full_h = _interval([r["full"] for r in runs])
    gap = full - base
    print(
        f"movies -> {args.domain}: {len(target)} texts ({int(0.7 * len(target))} traffic), "
        f"{args.seeds} seeds, {time.perf_counter() - started:.0f} s"
    )
    print(f"champion (no {args.domain} labels): macro-F1 {base:.3f} ± {base_h:.3f}")
    print(f"every traffic label ({int(0.7 * len(target))}):  macro-F1 {full:.3f} ± {full_h:.3f}")
    header = ["N reviewed", "policy", "uniform", "policy - uniform (paired)"]
    print("| " + " | ".join([*header, "est. accuracy (policy queue) vs true"]) + " |")
    print("|---|---|---|---|---|")
    need: dict[str, int | None] = {"policy": None, "uniform": None}
    for n in budgets:
        p, ph = _interval([r[("policy", n)] for r in runs])
        u, uh = _interval([r[("uniform", n)] for r in runs])
        d, dh = _interval([r[("policy", n)] - r[("uniform", n)] for r in runs])
        est = np.mean([r[("estimate", n)][0] for r in runs])
        plain = np.mean([r[("estimate", n)][3] for r in runs])
        covered = np.mean(
            [r[("estimate", n)][1] <= r["true_accuracy"] <= r[("estimate", n)][2] for r in runs]
        )
        true = np.mean([r["true_accuracy"] for r in runs])
        print(
            f"| {n} | {p:.3f} ± {ph:.3f} | {u:.3f} ± {uh:.3f} | {d:+.3f} ± {dh:.3f} | "
            f"{est:.3f} (plain {plain:.3f}) vs {true:.3f}, interval covers {covered:.0%} |"
        )
        for arm, value in (("policy", p), ("uniform", u)):
            if need[arm] is None and value >= base + 0.9 * gap:
                need[arm] = n
    for arm, n in need.items():
        print(
            f"90% of the gap ({gap:+.3f}) recovered by {arm}: "
            + (f"N = {n}" if n else f"not within N <= {budgets[-1]}")
        )


if __name__ == "__main__":
    main()
