"""Scale figures for docs/scaling.md (issue #12), side by side in one run:

1. **Ingest throughput** at 10k / 100k / 1M rows of a labelled CSV (VADER texts, made unique
   by a row suffix): the whole `ingest_file` (read, validate, dedupe, quarantine, Parquet,
   DVC add + push to a local remote, git commit + tag) beside its validation alone
   (`read_file` + `validate_batch`) and two limits: `pandas.read_csv` of the same bytes
   (parsing only) and sha256 of the bytes (one pass over memory).
2. **A drift check at 1M rows per side** (movies vs tweets, and same-source movies vs
   movies) with the default config: equal subsamples of 1,000 rows per side, so its cost
   stays flat while traffic grows; the embedding signal is off here (MiniLM costs ~20 s per
   check for 2 x 1,000 texts on 2 cores: bench/drift_timing.py).
3. **Concurrent runs on the Dagster instance**: K processes each executing small two-step
   runs for a fixed time against (a) the prod profile's PostgreSQL instance (a real
   server, `orchestration.prod.stack`) and (b) the local SQLite instance, counting runs/s and
   failed runs. Needs the [prod] extra and Debian's PostgreSQL (`make prod-venv prod-system`).

Measured on 2026-12-04 (2 shared cores; docs/scaling.md reads them):

| rows | sha256 (limit) | read_csv (limit) | validate | ingest_file (all) | ingest s |
|---|---|---|---|---|---|
| 10,000 | 15.6 M rows/s | 824 k | 83 k | 25 k | 0.4 |
| 100,000 | 15.8 M | 832 k | 109 k | 84 k | 1.2 |
| 1,000,000 | 15.9 M | 772 k | 101 k | 84 k | 11.8 |

Drift at 1M rows per side: movies vs tweets 8.9 s (drift), movies vs movies 8.3 s (no_drift),
1,000 rows compared per side (2.7 s at 10k rows).

| processes | PostgreSQL runs/s | failed | SQLite runs/s | failed |
|---|---|---|---|---|
| 1 | 3.1 | 0 | 5.0 | 0 |
| 2 | 5.5 | 0 | 7.5 | 0 |
| 4 | 5.0 | 0 | 7.5 | 0 |
| 8 | 5.2 | 0 | 8.2 | 0 |
| 16 | 5.6 | 0 | 7.5 | 0 |

Usage: python bench/scale.py [--sizes 10000,100000,1000000] [--workers 1,2,4,8] [--seconds 20]
       [--skip ingest,drift,runs]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
if str(REPO_ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(REPO_ROOT))


def _vader():  # type: ignore[no-untyped-def]
    from data.vader import fetch_wheel, load_vader

    cache = Path(os.environ.get("DRIFTWISE_HOME", REPO_ROOT / ".driftwise")) / "cache"
    return load_vader(fetch_wheel(cache))


def _csv(df, rows: int, rng: np.random.Generator) -> bytes:  # type: ignore[no-untyped-def]
    pick = df.iloc[rng.integers(0, len(df), rows)]
    frame = pick[["text", "label"]].copy()
    frame["text"] = frame["text"] + " #" + np.arange(rows).astype(str)  # unique rows
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def bench_ingest(sizes: list[int]) -> None:
    import pandas as pd

    from data.data_registry import DataRegistry
    from data.ingest import ingest_file
    from data.readers import read_file
    from data.schema import DatasetSpec
    from data.validation import validate_batch

    df = _vader()
    spec = DatasetSpec(max_file_bytes=2**31)
    rng = np.random.default_rng(0)
    print("\n## 1. Ingest throughput (rows/s; one file, 2 cores)\n")
    print(
        "| rows | MB | sha256 (limit) | read_csv (limit) | validate | ingest_file (all) | "
        "ingest s | accepted |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for rows in sizes:
        payload = _csv(df, rows, rng)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"batch_{rows}.csv"
            path.write_bytes(payload)
            t0 = time.perf_counter()
            hashlib.sha256(payload).hexdigest()
            t_sha = time.perf_counter() - t0
            t0 = time.perf_counter()
            pd.read_csv(io.BytesIO(payload), dtype=str, keep_default_na=False)
            t_pandas = time.perf_counter() - t0
            t0 = time.perf_counter()
            validated = validate_batch(read_file(path, max_bytes=spec.max_file_bytes), spec, "b")
            t_validate = time.perf_counter() - t0
            registry = DataRegistry(Path(tmp) / "registry")
            registry.ensure()  # created once per home, not per batch
            t0 = time.perf_counter()
            report = ingest_file(path, spec, registry, Path(tmp) / "quarantine")
            t_ingest = time.perf_counter() - t0
            assert report.accepted == len(validated.accepted), report
            print(
                f"| {rows:,} | {len(payload) / 2**20:.0f} | {rows / t_sha:,.0f} | "
                f"{rows / t_pandas:,.0f} | {rows / t_validate:,.0f} | {rows / t_ingest:,.0f} | "
                f"{t_ingest:.1f} | {report.accepted:,} |",
                flush=True,
            )


def bench_drift(rows: int) -> None:
    from evaluation.drift.check import DriftSample, check_drift
    from evaluation.drift.config import DriftConfig

    df = _vader()
    rng = np.random.default_rng(1)
    by_domain = {d: part for d, part in df.groupby("domain")}

    def side(domain: str) -> DriftSample:
        part = by_domain[domain]
        pick = part.iloc[rng.integers(0, len(part), rows)]
        return DriftSample(texts=pick["text"].tolist(), labels=pick["label"].tolist())

    print(f"\n## 2. One drift check at {rows:,} rows per side (default config)\n")
    print("| comparison | build samples s | check s | rows compared | verdict |")
    print("|---|---|---|---|---|")
    for label, ref, cur in (
        ("movies vs tweets", "movies", "tweets"),
        ("movies vs movies", "movies", "movies"),
    ):
        t0 = time.perf_counter()
        reference, current = side(ref), side(cur)
        t_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = check_drift(reference, current, config=DriftConfig())
        took = time.perf_counter() - t0
        print(
            f"| {label} | {t_build:.1f} | {took:.1f} | {result.n_compared:,} | {result.verdict} |",
            flush=True,
        )


def _worker(dagster_home: str, env: dict[str, str], seconds: float, out: mp.Queue) -> None:
    os.environ.update(env, DAGSTER_HOME=dagster_home)
    import dagster as dg

    # Ops with an in-memory IO manager: what is measured is the instance (run records,
    # event log writes), not a shared pickle file. (Unpartitioned *assets* on the default
    # fs IO manager race on one file across concurrent runs - "Ran out of input" - which
    # is why our ingest is partitioned per batch and retrains are one at a time.)
    @dg.op
    def first() -> int:
        return 1

    @dg.op
    def second(value: int) -> int:
        return value + 1

    @dg.job(resource_defs={"io_manager": dg.mem_io_manager})
    def scale_probe() -> None:
        second(first())

    resolved = scale_probe
    done = failed = 0
    with dg.DagsterInstance.get() as instance:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                ok = resolved.execute_in_process(
                    instance=instance, raise_on_error=False, run_config=QUIET
                ).success
                done += ok
                failed += not ok
            except Exception:  # a storage error is what this counts
                failed += 1
    out.put((done, failed))


def _instance_rate(dagster_home: Path, env: dict[str, str], workers: int, seconds: float):  # type: ignore[no-untyped-def]
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(str(dagster_home), env, seconds, out))
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 300) for _ in procs]
    for p in procs:
        p.join()
    done = sum(r[0] for r in results)
    failed = sum(r[1] for r in results)
    return done / seconds, failed


def bench_runs(workers: list[int], seconds: float) -> None:
    from orchestration.cli.instance import dagster_yaml
    from orchestration.prod.stack import down, up

    print(
        f"\n## 3. Concurrent runs on the Dagster instance ({seconds:.0f} s per cell, "
        "2-step runs executed in-process; runs/s, failed runs)\n"
    )
    print("| processes | PostgreSQL runs/s | failed | SQLite runs/s | failed |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sqlite_home, pg_home = root / "sqlite" / "dagster", root / "pg" / "dagster"
        for home, env in ((sqlite_home, "local"), (pg_home, "prod")):
            home.mkdir(parents=True)
            (home / "dagster.yaml").write_text(dagster_yaml(env))
        state = up(root / "stack", root / "pg", celery_workers=0)
        try:
            env = {"DRIFTWISE_DAGSTER_PG_URL": state.env["DRIFTWISE_DAGSTER_PG_URL"]}
            for k in workers:
                pg_rate, pg_failed = _instance_rate(pg_home, env, k, seconds)
                sq_rate, sq_failed = _instance_rate(sqlite_home, {}, k, seconds)
                print(
                    f"| {k} | {pg_rate:.1f} | {pg_failed} | {sq_rate:.1f} | {sq_failed} |",
                    flush=True,
                )
        finally:
            down(root / "stack")


def main() -> None:
    from orchestration.cli import offline

    offline.apply()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--drift-rows", type=int, default=1_000_000)
    parser.add_argument("--workers", default="1,2,4,8")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--skip", default="", help="comma list of: ingest, drift, runs")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    if "ingest" not in skip:
        bench_ingest([int(s) for s in args.sizes.split(",")])
    if "drift" not in skip:
        bench_drift(args.drift_rows)
    if "runs" not in skip and importlib.util.find_spec("dagster_postgres") is None:
        print("\n## 3. skipped: needs the [prod] extra (make prod-venv prod-system)")
    elif "runs" not in skip:
        bench_runs([int(w) for w in args.workers.split(",")], args.seconds)


if __name__ == "__main__":
    main()
