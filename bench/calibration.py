"""The fast tier's calibration: ECE before and after its val-fitted temperature, on its own
val split and on the curated golden set (four domains, three it never saw).

Trains the fast tier (`models.training.train`, 10 epochs) on 3,000 VADER movie snippets
outside the golden set, as the loop's first model sees only movie reviews; prints the
temperature, val ECE/NLL from the bundle's metrics, then the golden ECE per domain with the
raw and the calibrated probabilities, beside the fast tier's accuracy there.

Usage: python bench/calibration.py
"""

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def main() -> None:
    from orchestration.cli import offline

    offline.apply()
    from data.golden_set import load_golden
    from data.schema import DOMAIN, LABEL, ROW_ID, TEXT, row_id
    from data.snapshot import build_snapshot
    from data.vader import fetch_wheel, load_vader
    from evaluation.stats.metrics import batched_ece
    from models.inference import load_predictor
    from models.spec import TrainSpec
    from models.training import train

    started = time.perf_counter()
    vader = load_vader(fetch_wheel(REPO_ROOT / ".driftwise" / "cache")).drop_duplicates("text")
    golden = load_golden().frame
    movies = vader[(vader["domain"] == "movies") & ~vader["text"].isin(set(golden["text"]))]
    seen = movies.sample(frac=1.0, random_state=11).iloc[:3000]
    rows = pd.DataFrame({TEXT: seen["text"], LABEL: seen["label"], DOMAIN: seen["domain"]})
    snapshot = build_snapshot([rows.assign(**{ROW_ID: seen["text"].map(row_id)})])
    with tempfile.TemporaryDirectory() as tmp:
        result = train(snapshot, TrainSpec(tier="fast", max_epochs=10), Path(tmp) / "fast")
        assert result is not None
        predictor = load_predictor(result.bundle_dir)
        m, t = predictor.config.metrics, predictor.config.temperature
        probs = predictor.predict_proba(golden["text"].tolist())
    raw = np.exp(t * np.log(np.clip(probs, 1e-300, 1.0)))
    raw /= raw.sum(axis=1, keepdims=True)
    right = np.asarray(predictor.labels)[probs.argmax(axis=1)] == golden["label"].to_numpy()
    print(
        f"fast tier on 3,000 movie snippets ({time.perf_counter() - started:.0f} s): T = {t:.2f}; "
        f"val ECE {m['val/ece_uncalibrated']:.3f} -> {m['val/ece']:.3f}, "
        f"NLL {m['val/nll_uncalibrated']:.3f} -> {m['val/nll']:.3f}\n"
    )
    print("| golden slice | rows | fast accuracy | ECE raw | ECE calibrated |")
    print("|---|---|---|---|---|")
    domains = golden["domain"].to_numpy()
    for name in ["all", *sorted(set(domains))]:
        pick = np.ones(len(golden), bool) if name == "all" else domains == name
        before = float(batched_ece(raw.max(axis=1)[pick], right[pick]))
        after = float(batched_ece(probs.max(axis=1)[pick], right[pick]))
        print(f"| {name} | {pick.sum()} | {right[pick].mean():.3f} | {before:.3f} | {after:.3f} |")


if __name__ == "__main__":
    main()
