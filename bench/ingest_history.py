"""Ingest time as the history grows: with the registry's read cache vs without it.

Every ingest reads all earlier batches (repeats and conflicts are judged against history,
`data.ingest.history_labels`). `DataRegistry.read_table` caches each table it reads by
commit and path; the baseline empties that cache before every ingest, so each earlier batch
is read through `dvc.api` again (what every ingest paid before the cache). Two fresh
registries in a temp folder, `--batches` 6-row batches each, one writer.

Usage: python bench/ingest_history.py [--batches 41] [--every 10]
"""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(REPO_ROOT))


def ingest_times(root: Path, batches: int, cached: bool) -> list[float]:
    """Seconds per `ingest_file` call, batch after batch, into a fresh registry at `root`."""
    import pandas as pd

    from data.data_registry import DataRegistry
    from data.ingest import ingest_file
    from data.schema import DatasetSpec

    spec = DatasetSpec(name="bench", labels=["a", "b"])
    registry, landing = DataRegistry(root / "registry"), root / "landing"
    landing.mkdir(parents=True)
    cache = registry.root / ".dvc" / "tmp" / "driftwise-tables"
    out = []
    for i in range(batches):
        path = landing / f"b{i}.csv"
        texts = [f"batch {i} row {j}" for j in range(6)]
        pd.DataFrame({"text": texts, "label": ["a", "b"] * 3}).to_csv(path, index=False)
        if not cached:
            shutil.rmtree(cache, ignore_errors=True)
        started = time.perf_counter()
        ingest_file(path, spec, registry, root / "quarantine")
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    from orchestration.cli import offline

    offline.apply()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=41)
    parser.add_argument("--every", type=int, default=10, help="print every Nth batch")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ours = ingest_times(Path(tmp, "cached"), args.batches, cached=True)
        base = ingest_times(Path(tmp, "uncached"), args.batches, cached=False)
    print("| batch | read cache (s) | no read cache, DVC reads (s) |")
    print("|---|---|---|")
    for i in range(0, args.batches, args.every):
        print(f"| {i + 1} | {ours[i]:.2f} | {base[i]:.2f} |")
    print(f"| all {args.batches} | {sum(ours):.1f} | {sum(base):.1f} |")


if __name__ == "__main__":
    main()
