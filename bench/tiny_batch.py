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

Rows "launched": the product's own `ingest` job on the home's real instance (our
dagster.yaml), launched the way the daemon launches it - **new interpreter** (`dagster api
execute_run`, what Dagster's DefaultRunLauncher has the code server start) against **warm**
(orchestration/launcher.py: a child forked from a forkserver that imported the Definitions,
Evidently, transformers and torch once). Wall = launch call to the run's end.

Measured on 2026-12-04 (2 cores, `--repeats 1`, other load: none):

| case | process | ingested_batch s | drift_report s | run wall s | verdict |
|---|---|---|---|---|---|
| 2 rows, default | warm | 0.27 | 0.37 | 0.90 | insufficient_data |
| 2 rows, default | fresh | 1.28 | 2.50 | 10.07 | insufficient_data |
| 100 rows, default | warm | 0.42 | 0.39 | 1.18 | insufficient_data |
| 100 rows, default | fresh | 1.01 | 2.78 | 10.40 | insufficient_data |
| 100 rows, full check | warm | 0.73 | 2.48 | 3.56 | no_drift |
| 100 rows, full check | fresh | 1.75 | 10.80 | 20.69 | no_drift |
| 2 rows, default | launched, new interpreter | 1.58 | 4.04 | 10.24 | insufficient_data |
| 2 rows, default | launched, warm | 1.30 | 0.79 | 5.03 | insufficient_data |
| 100 rows, default | launched, new interpreter | 1.38 | 2.50 | 8.68 | insufficient_data |
| 100 rows, default | launched, warm | 1.35 | 1.15 | 4.20 | insufficient_data |
| 100 rows, full check | launched, new interpreter | 1.36 | 11.09 | 16.06 | no_drift |
| 100 rows, full check | launched, warm | 1.47 | 2.29 | 6.35 | no_drift |

The warm launcher's first launch (starting the forkserver, importing everything once) took
16.8 s; launch overhead of a fresh process importing the Definitions 3.9 s; limit 1.04 s.
Before issue #9: 25-50 s for a 2-row file. A daemon-launched 100-row batch with the full
drift check: 16.1 s in a new interpreter, 6.4 s forked warm (target <= 10 s).

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


def launched_run(
    instance: object, home: Path, path: Path, min_samples: int | None, how: str
) -> dict[str, float | str]:
    """The product's `ingest` job on the home's real instance, launched as the daemon does:
    `how="spawn"` starts `dagster api execute_run` in a new interpreter (what Dagster's
    DefaultRunLauncher has the code server do), `how="warm"` goes through our
    WarmRunLauncher (a child forked from the preloaded forkserver). Wall = launch call to
    the run's end, polled every 50 ms."""
    import dagster as dg
    from dagster._core.definitions.reconstruct import ReconstructableRepository
    from dagster._grpc.types import ExecuteRunArgs
    from dagster._serdes import serialize_value

    from data.landing import batch_id_for
    from orchestration.definitions import build_definitions
    from orchestration.settings import load_settings

    assert isinstance(instance, dg.DagsterInstance)
    key = batch_id_for(path)
    instance.add_dynamic_partitions("batches", [key])
    job = build_definitions(load_settings()).resolve_job_def("ingest")
    origin = (
        ReconstructableRepository.for_module("orchestration.definitions", "defs", str(REPO_ROOT))
        .get_reconstructable_job("ingest")
        .get_python_origin()
    )
    config = {} if min_samples is None else {"min_samples": min_samples}
    run = instance.create_run_for_job(
        job_def=job,
        run_config={"ops": {"drift_report": {"config": config}}},
        tags={"dagster/partition": key},
        job_code_origin=origin,
    )
    started = time.perf_counter()
    if how == "warm":
        instance.launch_run(run.run_id, workspace=None)  # type: ignore[arg-type]
    else:
        args = ExecuteRunArgs(job_origin=origin, run_id=run.run_id, instance_ref=instance.get_ref())
        subprocess.Popen(
            [sys.executable, "-m", "dagster", "api", "execute_run", serialize_value(args)],
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    while True:
        record = instance.get_run_by_id(run.run_id)
        assert record is not None
        if record.is_finished:
            break
        time.sleep(0.05)
    wall = time.perf_counter() - started
    assert record.status == dg.DagsterRunStatus.SUCCESS, f"{how} run {run.run_id} failed"
    steps = {
        e.dagster_event.step_key: e.dagster_event.event_specific_data.duration_ms / 1000
        for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)
        if e.dagster_event is not None
    }
    verdict = (
        instance.get_latest_materialization_event(dg.AssetKey("drift_report"))
        .asset_materialization.metadata["verdict"]  # type: ignore[union-attr]
        .value
    )
    return {**steps, "wall": wall, "verdict": verdict}


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

        # Launched as the daemon launches runs, on the home's own instance (our dagster.yaml).
        import os

        import dagster as dg

        from orchestration.cli.instance import ensure_dagster_home

        os.environ["DRIFTWISE_HOME"] = str(home)  # the Definitions' resources read it
        with dg.DagsterInstance.from_config(str(ensure_dagster_home(home / "dagster"))) as inst:
            started = time.perf_counter()
            launched_run(inst, home, land(100), 50, "warm")  # starts the forkserver
            forkserver_start = time.perf_counter() - started
            for label, rows, min_samples in cases:
                for process in ("spawn", "warm"):
                    runs = [
                        launched_run(inst, home, land(rows), min_samples, process)
                        for _ in range(args.repeats)
                    ]
                    med = {
                        k: statistics.median(float(r[k]) for r in runs)
                        for k in ("ingested_batch", "drift_report", "wall")
                    }
                    name = "launched, new interpreter" if process == "spawn" else "launched, warm"
                    print(
                        f"| {label} | {name} | {med['ingested_batch']:.2f} | "
                        f"{med['drift_report']:.2f} | {med['wall']:.2f} | {runs[-1]['verdict']} |",
                        flush=True,
                    )
            inst.run_launcher.join()

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
        f"\nwarm launcher's first launch (starts the forkserver, imports once): "
        f"{forkserver_start:.2f} s\n"
        f"launch overhead (fresh process importing the Definitions): {overhead:.2f} s\n"
        f"limit (read 100-row CSV + MiniLM on 100 new texts, encoder loaded): {limit:.2f} s\n"
        "before (issue #9): 25-50 s for a 2-row file, drift 12-14 s\n"
        f"medians of {args.repeats} runs; each run lands new, never-seen rows; warm = in the "
        "measuring process (libraries loaded), fresh = a new interpreter per run (what a run "
        "launched by the daemon pays, minus the daemon's tick)"
    )


if __name__ == "__main__":
    main()
