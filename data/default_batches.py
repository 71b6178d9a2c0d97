"""The default data as a product's life: movie reviews first, other domains arriving later.

Batches (CSV, one per arrival): movies in two parts, then tweets, Amazon reviews, NYT
editorials. Each carries metadata columns (source_id, rating, received_at) to show that extra
columns travel through ingestion untouched.
"""

from pathlib import Path

import pandas as pd

from data.landing import land_frame

# (file name, domain, slice of that domain's rows, arrival date)
SCHEDULE: list[tuple[str, str, slice, str]] = [
    ("01_movies_part1.csv", "movies", slice(0, 6000), "2026-01-05"),
    ("02_movies_part2.csv", "movies", slice(6000, None), "2026-02-02"),
    ("03_tweets.csv", "tweets", slice(None), "2026-03-02"),
    ("04_amazon.csv", "amazon", slice(None), "2026-04-06"),
    ("05_nyt.csv", "nyt", slice(None), "2026-05-04"),
]
SEED = 7
FIRST_BATCHES = [name for name, domain, _, _ in SCHEDULE if domain == "movies"]


def default_batches(vader: pd.DataFrame, fraction: float = 1.0) -> dict[str, pd.DataFrame]:
    """File name -> batch frame, in arrival order.

    `fraction` < 1 keeps that share of every batch, per label (a quick look at the loop:
    embedding and training time scale with the rows). The same fraction gives the same rows.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    out: dict[str, pd.DataFrame] = {}
    for name, domain, rows, day in SCHEDULE:
        # The source files are ordered by sentiment; a fixed shuffle makes each part a fair
        # sample of its domain (the same shuffle every time, so files are byte-identical).
        pool = vader[vader["domain"] == domain].sample(frac=1.0, random_state=SEED)
        part = pool.iloc[rows].copy()
        if fraction < 1.0:  # stratified: the class mix of the batch is kept
            part = part.groupby("label", group_keys=False).sample(frac=fraction, random_state=SEED)
            part = part.sort_index()
        part["received_at"] = day
        out[name] = part[["source_id", "domain", "text", "label", "rating", "received_at"]]
    return out


def land_default_batches(
    vader: pd.DataFrame, landing: Path, names: list[str], fraction: float = 1.0
) -> list[Path]:
    """Land the named default batches (idempotent: an unchanged file is rewritten identically)."""
    batches = default_batches(vader, fraction)
    unknown = set(names) - set(batches)
    if unknown:
        raise ValueError(f"unknown default batches {sorted(unknown)}; known: {list(batches)}")
    return [land_frame(batches[n], landing, n) for n in names]
