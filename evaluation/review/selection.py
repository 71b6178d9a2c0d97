"""Which logged predictions go to a human: targeted strata, then a uniform sample.

Design (stratified, so the reviewed labels stay an unbiased estimate of live accuracy):
- the population is one partition's logged answers, one item per normalised text
  (`data.schema.row_id`), texts queued in an earlier partition left out;
- targeted strata, in priority order, each capped: `disagreement` (two answers to the same
  text differed: champion vs challenger in a canary or shadow, or the cascade's audit vs the
  fast answer it kept), then `low_confidence` (lowest first, under `max_confidence`). Given
  the log, they are taken with certainty;
- `drifted_slice`, between the two: a simple random sample of the texts from where today's
  traffic holds far more than the champion's reference (evaluation/review/slices.py; only
  when a reference is given and the traffic moved), each with probability m_s / R_s;
- `uniform`: a simple random sample of size m from the R items left, each with
  probability m / R.
Each item's inclusion probability is that times its chance of having been logged at all
(1 / `sampling_weight`, bento/sampling.py): a Horvitz-Thompson weight over live traffic
(evaluation/review/estimate.py). A text that recurs counts as logged with its best chance,
an approximation stated here rather than hidden.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.schema import row_id
from evaluation.review.policy import ReviewPolicy
from evaluation.review.slices import SliceReport, drifted_slices

COLUMNS = [
    "review_key",
    "text",
    "predicted_label",
    "confidence",
    "model_version",
    "arm",
    "request_id",
    "other_label",
    "drift_ratio",
    "reason",
    "inclusion_probability",
    "partition",
]


def _answers(log: pd.DataFrame) -> pd.DataFrame:
    """Logged answers that carry their text and a label (errors and text-less records out)."""
    need = {"text", "label", "confidence"}
    if log.empty or not need <= set(log.columns):
        return pd.DataFrame(columns=[*need, "review_key"])
    rows = log[log["text"].notna() & log["label"].notna()].copy()
    if "error" in rows.columns:
        rows = rows[rows["error"].isna()]
    for column, default in (
        ("arm", "champion"),
        ("model_version", None),
        ("request_id", None),
        ("sampling_weight", 1.0),
        ("audit_label", None),
    ):
        if column not in rows.columns:
            rows[column] = default
    rows["sampling_weight"] = pd.to_numeric(rows["sampling_weight"], errors="coerce").fillna(1.0)
    rows["review_key"] = rows["text"].map(row_id)
    return rows


def _items(answers: pd.DataFrame) -> pd.DataFrame:
    """One item per text: the champion's answer where there is one (what users saw), with
    the text's other answer where two differed."""
    answers = answers.assign(_champion=answers["arm"] != "champion")  # False sorts first
    answers = answers.sort_values(["review_key", "_champion"], kind="stable")
    first = answers.drop_duplicates("review_key").set_index("review_key")
    labels = answers.groupby("review_key")["label"].agg(lambda s: sorted(set(map(str, s))))
    audits = answers.dropna(subset=["audit_label"])
    audit = audits[audits["audit_label"] != audits["label"]].groupby("review_key")["audit_label"]
    items = first.assign(
        p_logged=(1.0 / answers.groupby("review_key")["sampling_weight"].min()).clip(upper=1.0),
        other_label=None,
    )
    for key, seen in labels.items():
        if len(seen) > 1:
            items.at[key, "other_label"] = next(x for x in seen if x != items.at[key, "label"])
    for key, other in audit.first().items():
        if items.at[key, "other_label"] is None:
            items.at[key, "other_label"] = other
    return items.reset_index()


def _draw(partition: str, seed: int) -> np.random.Generator:
    mixed = hashlib.sha256(f"{seed}:{partition}".encode()).digest()
    return np.random.default_rng(int.from_bytes(mixed[:8], "big"))


@dataclass(frozen=True)
class Selection:
    queue: pd.DataFrame  # COLUMNS
    slices: SliceReport  # what the drifted-slice stratum found over the whole day


def select_for_review(
    log: pd.DataFrame,
    policy: ReviewPolicy,
    partition: str,
    queued: set[str] | None = None,
    reference_texts: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The partition's review queue (COLUMNS); see `review_selection`."""
    return review_selection(log, policy, partition, queued, reference_texts).queue


def review_selection(
    log: pd.DataFrame,
    policy: ReviewPolicy,
    partition: str,
    queued: set[str] | None = None,
    reference_texts: Sequence[str] | None = None,
) -> Selection:
    """The partition's review queue, at most `policy.daily_cap` items, and its slice report.

    Args:
        log: the prediction log's records of this partition (bento/engine.py's fields).
        partition: the partition key (a day), part of each item and of the uniform draw's
            seed, so re-selecting the same partition gives the same queue.
        queued: review keys queued by earlier partitions (never queued twice).
        reference_texts: the serving champion's out-of-sample training texts; without them
            there is no drifted-slice stratum.
    """
    answers = _answers(log)
    if answers.empty:
        return Selection(pd.DataFrame(columns=COLUMNS), SliceReport("no logged answers"))
    items = _items(answers)
    # Slices are found over the whole day (its traffic), then items queued before drop out.
    slices = drifted_slices(
        reference_texts or [],
        items["text"].tolist(),
        alpha=policy.drift_alpha,
        min_lift=policy.drift_min_lift,
        seed=policy.seed,
    )
    items = items.assign(drift_ratio=np.where(slices.in_slice, slices.ratio, np.nan))
    items = items[~items["review_key"].isin(queued or set())]
    items = items.sort_values(["confidence", "review_key"], kind="stable")
    reserved = min(policy.uniform, len(items))  # the uniform sample always fits
    budget = policy.daily_cap - reserved
    taken: list[pd.DataFrame] = []

    def take(mask: pd.Series, limit: int, reason: str) -> None:
        nonlocal items, budget
        chosen = items[mask].head(max(0, min(limit, budget)))
        budget -= len(chosen)
        taken.append(chosen.assign(reason=reason, inclusion_probability=chosen["p_logged"]))
        items = items.drop(chosen.index)

    def sample(mask: pd.Series, limit: int, reason: str, draw_key: str) -> None:
        # A simple random sample of the stratum: inclusion m / R within it.
        nonlocal items, budget
        pool = items[mask]
        m = max(0, min(limit, budget, len(pool)))
        if m:
            picked = _draw(draw_key, policy.seed).choice(len(pool), m, False)
            chosen = pool.iloc[np.sort(picked)]
            share = chosen["p_logged"] * m / len(pool)
            taken.append(chosen.assign(reason=reason, inclusion_probability=share))
            items = items.drop(chosen.index)
            budget -= m

    take(items["other_label"].notna(), policy.disagreement, "disagreement")
    # Drifted slices are sampled, not taken from their extreme: the highest density ratios
    # are the oddest texts, and labelling them taught less (bench/review_strategies.py).
    sample(
        items["drift_ratio"].notna(), policy.drifted, "drifted_slice", f"{partition}:drifted_slice"
    )
    take(items["confidence"] < policy.max_confidence, policy.low_confidence, "low_confidence")
    budget += reserved
    sample(items["review_key"].notna(), policy.uniform, "uniform", partition)
    queue = pd.concat(taken, ignore_index=True) if taken else pd.DataFrame()
    if queue.empty:
        return Selection(pd.DataFrame(columns=COLUMNS), slices)
    queue = queue.rename(columns={"label": "predicted_label"}).assign(partition=partition)
    return Selection(queue[COLUMNS].reset_index(drop=True), slices)
