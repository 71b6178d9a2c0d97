"""The DVC data registry: real git + real DVC in a temp folder, with a local DVC remote.

Write a batch, read it back by tag through `dvc.api`; idempotent commits; recovery from a
writer that crashed half-way; the remote really holds the data (read after the cache is gone).
"""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from data.data_registry import DataRegistry


@pytest.fixture()
def registry(tmp_path: Path) -> DataRegistry:
    reg = DataRegistry(tmp_path / "registry")
    reg.ensure()
    return reg


def _frame(n: int, start: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row_id": [f"r{i}" for i in range(start, start + n)],
            "text": [f"text {i}" for i in range(start, start + n)],
        }
    )


def test_write_then_read_back_by_tag(registry: DataRegistry):
    registry.commit_table("batches/a.parquet", _frame(3), "batch/a", "a")
    registry.commit_table("batches/a.parquet", _frame(5, 10), "batch/a2", "a2")
    assert registry.tags("batch/") == ["batch/a", "batch/a2"]
    # Each tag reads the table as it was then, not as it is now.
    assert list(registry.read_table("batches/a.parquet", "batch/a")["row_id"]) == ["r0", "r1", "r2"]
    assert len(registry.read_table("batches/a.parquet", "batch/a2")) == 5


def test_commit_is_idempotent_per_tag(registry: DataRegistry):
    first = registry.commit_table("t.parquet", _frame(2), "snap/x", "x")
    again = registry.commit_table("t.parquet", _frame(9), "snap/x", "x again")
    assert first.rev == again.rev
    assert len(registry.read_table("t.parquet", "snap/x")) == 2


def test_remote_holds_the_data(registry: DataRegistry):
    registry.commit_table("t.parquet", _frame(4), "snap/r", "r")
    shutil.rmtree(registry.root / ".dvc" / "cache")
    (registry.root / "t.parquet").unlink()
    # No cache, no workspace copy: dvc.api must fetch from the remote.
    assert len(registry.read_table("t.parquet", "snap/r")) == 4


def test_crashed_writer_leftovers_are_discarded(registry: DataRegistry):
    registry.commit_table("batches/t.parquet", _frame(2), "batch/t", "1")
    # Simulate writers that died after writing files but before committing.
    (registry.root / "batches" / "t.parquet").write_bytes(b"half written")
    (registry.root / "batches" / "ghost.parquet").write_bytes(b"never committed")
    (registry.root / "stray.parquet.dvc").write_text("outs: []\n")
    registry.commit_table("batches/u.parquet", _frame(1), "batch/u", "2")
    assert not (registry.root / "stray.parquet.dvc").exists()
    assert not (registry.root / "batches" / "ghost.parquet").exists()
    assert len(registry.read_table("batches/t.parquet", "batch/u")) == 2
    # Readers see tagged tables only.
    tables = registry.tagged_tables("batch/", lambda name: f"batches/{name}.parquet")
    assert [tag for tag, _ in tables] == ["batch/t", "batch/u"]


def test_crash_between_commit_and_tag_is_finished_on_retry(registry: DataRegistry):
    frame = _frame(3)
    registry.commit_table("batches/a.parquet", frame, "batch/a", "a")
    # A writer committed b but died before tagging it.
    registry.commit_table("batches/b.parquet", _frame(2, 50), "batch/b-tmp", "b")
    registry._git("tag", "-d", "batch/b-tmp")
    retried = registry.commit_table("batches/b.parquet", _frame(2, 50), "batch/b", "b")
    assert retried.rev == registry._git("rev-parse", "HEAD")
    assert len(registry.read_table("batches/b.parquet", "batch/b")) == 2


def test_ensure_is_idempotent_and_configures_remote(registry: DataRegistry):
    registry.ensure()
    local_cfg = (registry.root / ".dvc" / "config.local").read_text()
    assert registry.remote_url in local_cfg
    assert "analytics = False" in (registry.root / ".dvc" / "config").read_text()
    assert not registry.tags()


def test_read_cache_is_keyed_by_commit_not_by_tag_name(registry: DataRegistry):
    """The read cache (`.dvc/tmp/driftwise-tables`): a second read of a tag needs neither
    DVC's cache nor the remote; a tag name that later points at another commit reads that
    commit's table, never the cached bytes of the old one."""
    registry.commit_table("batches/a.parquet", _frame(3), "batch/a", "a")
    assert len(registry.read_table("batches/a.parquet", "batch/a")) == 3
    shutil.rmtree(registry.root / ".dvc" / "cache")
    shutil.rmtree(registry.remote_url)
    assert list(registry.read_table("batches/a.parquet", "batch/a")["row_id"]) == ["r0", "r1", "r2"]
    assert list((registry.root / ".dvc" / "tmp" / "driftwise-tables").glob("*.parquet"))

    registry._git("tag", "-d", "batch/a")  # the same name on a new commit (new content)
    registry.commit_table("batches/a.parquet", _frame(5, 10), "batch/a", "a again")
    assert list(registry.read_table("batches/a.parquet", "batch/a")["row_id"]) == [
        f"r{i}" for i in range(10, 15)
    ]
    assert registry._git("status", "--porcelain") == ""  # the cache is invisible to git
